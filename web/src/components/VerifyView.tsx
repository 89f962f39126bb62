import { useCallback, useEffect, useState } from "react";
import type { ApiClient } from "../api/client";
import { ApiError } from "../api/errors";
import type { UnverifiedPrediction } from "../api/types";
import { describeShot } from "../court/geometry";
import { formatClock, formatDateTime, formatFeet, formatPercent, formatPeriod } from "../format";
import { ErrorNotice } from "./ErrorNotice";
import { Loading } from "./Spinner";

/** Record what really happened to a random prediction that has no outcome yet. */
export function VerifyView({ api }: { api: ApiClient }) {
  const [item, setItem] = useState<UnverifiedPrediction | null>(null);
  const [empty, setEmpty] = useState(false);
  const [loading, setLoading] = useState(true);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [message, setMessage] = useState<string | null>(null);

  const load = useCallback(async () => {
    setLoading(true);
    setError(null);
    setEmpty(false);
    try {
      setItem(await api.randomUnverified());
    } catch (err) {
      setItem(null);
      if (err instanceof ApiError && err.kind === "not_found") setEmpty(true);
      else setError(err);
    } finally {
      setLoading(false);
    }
  }, [api]);

  useEffect(() => {
    void load();
  }, [load]);

  async function record(made: boolean) {
    if (!item) return;
    setSaving(true);
    setError(null);
    try {
      const reply = await api.verify(item.prediction_id, made);
      setMessage(`${reply.message} — recorded as ${made ? "made" : "missed"}.`);
      setItem(null);
    } catch (err) {
      if (err instanceof ApiError && (err.kind === "conflict" || err.kind === "not_found")) {
        // Someone else verified it first (or it is gone): offer the next one.
        setMessage(`${err.detail}. Here is another one.`);
        void load();
      } else {
        setError(err);
      }
    } finally {
      setSaving(false);
    }
  }

  const input = item?.input_parameters ?? {};
  const x = Number(input.loc_x);
  const y = Number(input.loc_y);
  const spot = item && Number.isFinite(x) && Number.isFinite(y) ? describeShot({ x, y }) : null;

  return (
    <section className="panel verify" aria-labelledby="verify-title" aria-busy={loading || saving}>
      <h2 className="panel__title" id="verify-title">
        Verify a prediction
      </h2>
      <p className="muted">
        Tell the model what really happened. Verified outcomes measure its live accuracy and feed
        retraining.
      </p>
      {message && (
        <p className="notice notice--success" role="status" data-testid="verify-message">
          {message}
        </p>
      )}
      {loading && <Loading text="Finding a prediction to verify…" />}
      <ErrorNotice error={error} onRetry={item ? undefined : () => void load()} testId="verify-error" />
      {empty && (
        <p className="notice notice--info" data-testid="verify-empty">
          No unverified predictions left. Make a few on the court first.
        </p>
      )}
      {item && (
        <article className="verify__card" data-testid="verify-card">
          <h3>Prediction #{item.prediction_id}</h3>
          <dl className="facts">
            <div>
              <dt>Model said</dt>
              <dd>
                {formatPercent(item.probability, 1)} ·{" "}
                {item.model_prediction === 1 ? "likely make" : "likely miss"}
              </dd>
            </div>
            <div>
              <dt>Made at</dt>
              <dd>{formatDateTime(item.date_time)}</dd>
            </div>
            <div>
              <dt>Player</dt>
              <dd>{typeof input.player_name === "string" ? input.player_name : "Any player"}</dd>
            </div>
            <div>
              <dt>Shot</dt>
              <dd>{typeof input.action_type === "string" ? input.action_type : "—"}</dd>
            </div>
            <div>
              <dt>Spot</dt>
              <dd>{spot ? `${formatFeet(spot.distanceFt)} · ${spot.value}PT · ${spot.zoneBasic}` : "—"}</dd>
            </div>
            <div>
              <dt>Game</dt>
              <dd>
                {formatPeriod(input.period)} {formatClock(input.minutes_remaining, input.seconds_remaining)}
                {typeof input.season_type === "string" ? ` · ${input.season_type}` : ""}
              </dd>
            </div>
          </dl>
          <div className="button-row" role="group" aria-label="What happened?">
            <button
              type="button"
              className="button button--make"
              disabled={saving}
              onClick={() => void record(true)}
            >
              It went in
            </button>
            <button
              type="button"
              className="button button--miss"
              disabled={saving}
              onClick={() => void record(false)}
            >
              It missed
            </button>
            <button type="button" className="button" disabled={saving} onClick={() => void load()}>
              Skip
            </button>
          </div>
          {saving && <Loading text="Saving…" />}
        </article>
      )}
      {!item && !loading && (
        <button type="button" className="button" onClick={() => void load()}>
          {message ? "Verify another" : "Look again"}
        </button>
      )}
    </section>
  );
}
