afterEach(() => { sessionStorage.clear(); });
