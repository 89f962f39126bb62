import { type FormEvent, useEffect, useId, useState } from "react";
import type { ApiClient, Session } from "../api/client";
import { ApiError, describeError } from "../api/errors";
import { Spinner } from "./Spinner";

type Mode = "login" | "signup";

interface AuthViewProps {
  api: ApiClient;
  notice: string | null;
  onSignedIn: (session: Session) => void;
}

/** Log in, or create an account and log straight in. */
export function AuthView({ api, notice, onSignedIn }: AuthViewProps) {
  const [mode, setMode] = useState<Mode>("login");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [waitUntil, setWaitUntil] = useState<number | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const userId = useId();
  const passId = useId();
  const userHelpId = useId();

  // Count down a 429's Retry-After so the person sees when they may try again.
  useEffect(() => {
    if (waitUntil === null) return;
    const timer = window.setInterval(() => {
      const t = Date.now();
      setNow(t);
      if (t >= waitUntil) setWaitUntil(null);
    }, 250);
    return () => window.clearInterval(timer);
  }, [waitUntil]);

  const waitSeconds = waitUntil === null ? 0 : Math.max(0, Math.ceil((waitUntil - now) / 1000));

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy || waitSeconds > 0) return;
    setError(null);
    setInfo(null);
    setBusy(true);
    try {
      if (mode === "signup") {
        await api.signup(username.trim(), password);
        setInfo("Account created. Logging you in…");
      }
      const session = await api.login(username.trim(), password);
      onSignedIn(session);
    } catch (err) {
      setError(authMessage(err, mode));
      if (err instanceof ApiError && err.kind === "rate_limited") {
        const seconds = err.retryAfterSeconds ?? 30;
        setNow(Date.now());
        setWaitUntil(Date.now() + seconds * 1000);
      }
    } finally {
      setBusy(false);
    }
  }

  function switchMode(next: Mode) {
    setMode(next);
    setError(null);
    setInfo(null);
  }

  return (
    <main className="auth" id="main">
      <section className="auth__card" aria-labelledby="auth-title">
        <div className="auth__brand" aria-hidden="true">
          <BallIcon />
        </div>
        <h1 id="auth-title">Shot make probability</h1>
        <p className="auth__lead">
          Pick a spot on the court, a player and the game situation: the model tells you how likely
          the shot is to go in.
        </p>
        {notice && (
          <p className="notice notice--warning" role="alert" data-testid="auth-notice">
            {notice}
          </p>
        )}
        <div className="segmented" role="group" aria-label="Log in or sign up">
          <button
            type="button"
            aria-pressed={mode === "login"}
            className={mode === "login" ? "is-active" : ""}
            onClick={() => switchMode("login")}
          >
            Log in
          </button>
          <button
            type="button"
            aria-pressed={mode === "signup"}
            className={mode === "signup" ? "is-active" : ""}
            onClick={() => switchMode("signup")}
          >
            Sign up
          </button>
        </div>
        <form onSubmit={submit} aria-busy={busy} noValidate={false}>
          <label htmlFor={userId}>Username</label>
          <input
            id={userId}
            name="username"
            autoComplete="username"
            required
            minLength={3}
            maxLength={50}
            pattern="[A-Za-z0-9_.@+\-]+"
            title="3-50 letters, digits or _ . @ + -"
            aria-describedby={mode === "signup" ? userHelpId : undefined}
            value={username}
            onChange={(e) => setUsername(e.target.value)}
          />
          {mode === "signup" && (
            <p id={userHelpId} className="hint hint--field">
              3-50 letters, digits or _ . @ + -
            </p>
          )}
          <label htmlFor={passId}>Password</label>
          <input
            id={passId}
            name="password"
            type="password"
            autoComplete={mode === "login" ? "current-password" : "new-password"}
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
          {error && (
            <p className="notice notice--error" role="alert" data-testid="auth-error">
              {error}
              {waitSeconds > 0 && ` (${waitSeconds} s)`}
            </p>
          )}
          {info && !error && (
            <p className="notice notice--info" role="status">
              {info}
            </p>
          )}
          <button className="button button--primary" type="submit" disabled={busy || waitSeconds > 0}>
            {busy ? <Spinner label={mode === "login" ? "Logging in" : "Creating account"} /> : null}
            {mode === "login" ? "Log in" : "Create account"}
          </button>
        </form>
      </section>
    </main>
  );
}

function authMessage(error: unknown, mode: Mode): string {
  if (error instanceof ApiError) {
    if (error.kind === "unauthorized") return "Wrong username or password.";
    if (error.kind === "forbidden") return `${error.detail}.`.replace(/\.\.$/, ".");
    if (error.kind === "conflict") return "That username is taken. Pick another, or log in.";
    if (error.kind === "validation" && error.fields.length === 0) return error.detail;
  }
  const text = describeError(error);
  return mode === "signup" && !(error instanceof ApiError) ? `Could not sign up: ${text}` : text;
}

function BallIcon() {
  return (
    <svg viewBox="0 0 48 48" width="48" height="48">
      <circle cx="24" cy="24" r="22" fill="#e07a2f" stroke="#5a2a0c" strokeWidth="2" />
      <path
        d="M2 24h44M24 2v44M8 8c8 6 8 26 0 32M40 8c-8 6-8 26 0 32"
        fill="none"
        stroke="#5a2a0c"
        strokeWidth="2"
      />
    </svg>
  );
}
