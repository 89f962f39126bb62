"""Who may use the API: password hashing, bearer tokens, users and login rate limits."""
