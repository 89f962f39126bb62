import { useEffect, useState } from "react";
import { type ApiClient, type Session, api as defaultApi, sessionStore } from "./api/client";
import { describeError } from "./api/errors";
import { AuthView } from "./components/AuthView";
import { CourtView } from "./components/CourtView";
import { HistoryView } from "./components/HistoryView";
import { PlayersView } from "./analyst/PlayersView";
import { ModelView } from "./components/ModelView";
import { VerifyView } from "./components/VerifyView";

export type View = "court" | "players" | "history" | "verify" | "model";

const VIEWS: { id: View; label: string }[] = [
  { id: "court", label: "Court" },
  { id: "players", label: "Players" },
  { id: "history", label: "History" },
  { id: "verify", label: "Verify" },
  { id: "model", label: "Model" },
];

function viewFromHash(hash: string): View {
  const id = hash.replace(/^#/, "");
  return VIEWS.some((v) => v.id === id) ? (id as View) : "court";
}

export function App({ api = defaultApi }: { api?: ApiClient }) {
  const [session, setSession] = useState<Session | null>(() => sessionStore.load());
  const [notice, setNotice] = useState<string | null>(null);
  const [view, setView] = useState<View>(() => viewFromHash(window.location.hash));

  useEffect(() => {
    // Any request that comes back 401 ends the session: back to log in, saying why.
    api.onUnauthorized = (error) => {
      setSession(null);
      setNotice(describeError(error));
    };
    return () => {
      api.onUnauthorized = () => {};
    };
  }, [api]);

  useEffect(() => {
    // Only section names switch sections (the skip link's "#main" must not).
    const onHash = () => {
      const id = window.location.hash.replace(/^#/, "");
      if (VIEWS.some((v) => v.id === id)) setView(id as View);
    };
    window.addEventListener("hashchange", onHash);
    return () => window.removeEventListener("hashchange", onHash);
  }, []);

  if (!session) {
    return (
      <AuthView
        api={api}
        notice={notice}
        onSignedIn={(s) => {
          setNotice(null);
          setSession(s);
        }}
      />
    );
  }

  function go(next: View) {
    setView(next);
    if (window.location.hash !== `#${next}`) window.history.replaceState(null, "", `#${next}`);
  }

  function logout() {
    api.logout();
    setSession(null);
    setNotice("You have logged out.");
  }

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="topbar__brand">
          <span className="topbar__ball" aria-hidden="true" />
          <span>
            <strong>Shot make probability</strong>
            <span className="topbar__sub">nba-mlops</span>
          </span>
        </div>
        <nav className="topbar__nav" aria-label="Sections">
          {VIEWS.map((v) => (
            <button
              key={v.id}
              type="button"
              className={view === v.id ? "is-active" : ""}
              aria-current={view === v.id ? "page" : undefined}
              onClick={() => go(v.id)}
            >
              {v.label}
            </button>
          ))}
        </nav>
        <div className="topbar__user">
          <span className="topbar__name" data-testid="signed-in-user">
            {session.username}
          </span>
          <button type="button" className="button button--small button--ghost" onClick={logout}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {/* The court keeps its shots and heat map while other sections are open. */}
        <div hidden={view !== "court"}>
          <CourtView api={api} />
        </div>
        {view === "players" && <PlayersView api={api} />}
        {view === "history" && <HistoryView api={api} />}
        {view === "verify" && <VerifyView api={api} />}
        {view === "model" && <ModelView api={api} />}
      </main>
      <footer className="footer">
        Probabilities come from the model currently in service; court drawn to scale in NBA
        shot-chart coordinates.
      </footer>
    </div>
  );
}
