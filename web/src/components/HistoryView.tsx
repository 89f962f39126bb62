import { useCallback, useEffect, useState } from "react";
import type { ApiClient } from "../api/client";
import type { PredictionPage, StoredPrediction } from "../api/types";
import { describeShot } from "../court/geometry";
import { formatClock, formatDateTime, formatFeet, formatPercent, formatPeriod } from "../format";
import { ErrorNotice } from "./ErrorNotice";
import { Loading } from "./Spinner";

const PAGE = 20;

/** The signed-in user's recent predictions, newest first. */
export function HistoryView({ api }: { api: ApiClient }) {
  const [offset, setOffset] = useState(0);
  const [page, setPage] = useState<PredictionPage | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(
    async (at: number) => {
      setLoading(true);
      setError(null);
      try {
        setPage(await api.predictions(PAGE, at));
      } catch (err) {
        setError(err);
      } finally {
        setLoading(false);
      }
    },
    [api],
  );

  useEffect(() => {
    void load(offset);
  }, [load, offset]);

  const total = page?.total ?? 0;
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + PAGE, total);

  return (
    <section className="panel history" aria-labelledby="history-title" aria-busy={loading}>
      <div className="panel__header">
        <h2 className="panel__title" id="history-title">
          Recent predictions
        </h2>
        <button type="button" className="button button--small" onClick={() => void load(offset)} disabled={loading}>
          Refresh
        </button>
      </div>
      {loading && <Loading text="Loading your predictions…" />}
      <ErrorNotice error={error} onRetry={() => void load(offset)} testId="history-error" />
      {page && page.items.length === 0 && !loading && (
        <p className="muted">No predictions yet. Click the court to make one.</p>
      )}
      {page && page.items.length > 0 && (
        <>
          <div className="table-wrap">
            <table className="table" data-testid="history-table">
              <caption className="visually-hidden">
                Your predictions {first} to {last} of {total}
              </caption>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">When</th>
                  <th scope="col">Player</th>
                  <th scope="col">Shot</th>
                  <th scope="col">Spot</th>
                  <th scope="col">Game</th>
                  <th scope="col" className="num">
                    Probability
                  </th>
                  <th scope="col">Outcome</th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((item) => (
                  <HistoryRow key={item.prediction_id} item={item} />
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages of predictions">
            <button
              type="button"
              className="button button--small"
              disabled={loading || offset === 0}
              onClick={() => setOffset(Math.max(0, offset - PAGE))}
            >
              Newer
            </button>
            <span>
              {first}–{last} of {total.toLocaleString()}
            </span>
            <button
              type="button"
              className="button button--small"
              disabled={loading || offset + PAGE >= total}
              onClick={() => setOffset(offset + PAGE)}
            >
              Older
            </button>
          </nav>
        </>
      )}
    </section>
  );
}

function HistoryRow({ item }: { item: StoredPrediction }) {
  const input = item.input ?? {};
  const x = Number(input.loc_x);
  const y = Number(input.loc_y);
  const spot = Number.isFinite(x) && Number.isFinite(y) ? describeShot({ x, y }) : null;
  return (
    <tr>
      <td data-label="#">{item.prediction_id}</td>
      <td data-label="When">{formatDateTime(item.created_at)}</td>
      <td data-label="Player">{typeof input.player_name === "string" ? input.player_name : "Any player"}</td>
      <td data-label="Shot">{typeof input.action_type === "string" ? input.action_type : "—"}</td>
      <td data-label="Spot">{spot ? `${formatFeet(spot.distanceFt)} · ${spot.value}PT · ${spot.zoneBasic}` : "—"}</td>
      <td data-label="Game">
        {formatPeriod(input.period)} {formatClock(input.minutes_remaining, input.seconds_remaining)}
      </td>
      <td data-label="Probability" className="num">
        {formatPercent(item.probability, 1)}
      </td>
      <td data-label="Outcome">
        {item.verified_outcome === null || item.verified_outcome === undefined ? (
          <span className="muted">Not verified</span>
        ) : item.verified_outcome === 1 ? (
          <span className="badge badge--make">Made</span>
        ) : (
          <span className="badge badge--miss">Missed</span>
        )}
      </td>
    </tr>
  );
}
