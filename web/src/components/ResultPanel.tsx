import { useState } from "react";
import { ExplanationBars } from "../analyst/ExplanationBars";
import type { ExplainedPrediction, Prediction, ShotRequest } from "../api/types";
import { type ShotLocation, expectedPoints } from "../court/geometry";
import { formatFeet, formatPercent, formatPoints } from "../format";
import { ErrorNotice } from "./ErrorNotice";
import { Loading } from "./Spinner";

export interface ShotResult {
  shot: ShotLocation;
  contextLabel: string;
  prediction: Prediction | null;
  error: unknown;
  loading: boolean;
  /** What was sent, to ask again with an explanation. */
  request?: ShotRequest;
}

interface ResultPanelProps {
  result: ShotResult | null;
  onRetry: () => void;
  onExplain?: (request: ShotRequest) => Promise<ExplainedPrediction>;
}

/** "Why this probability?": the model's contributions for the shot, on request. */
function Why({ request, onExplain }: { request: ShotRequest; onExplain: (r: ShotRequest) => Promise<ExplainedPrediction> }) {
  const [state, setState] = useState<{ loading: boolean; found: ExplainedPrediction | null; error: unknown }>({
    loading: false,
    found: null,
    error: null,
  });
  async function ask() {
    setState({ loading: true, found: null, error: null });
    try {
      setState({ loading: false, found: await onExplain(request), error: null });
    } catch (error) {
      setState({ loading: false, found: null, error });
    }
  }
  return (
    <div className="result__why" data-testid="result-why">
      {!state.found && (
        <button type="button" className="button button--small" onClick={() => void ask()} disabled={state.loading}>
          Why this probability?
        </button>
      )}
      {state.loading && <Loading text="Explaining…" />}
      <ErrorNotice error={state.error} onRetry={() => void ask()} testId="why-error" />
      {state.found && <ExplanationBars explanation={state.found.explanation} />}
    </div>
  );
}

/** The latest shot: probability, value, zone, distance, expected points. */
export function ResultPanel({ result, onRetry, onExplain }: ResultPanelProps) {
  return (
    <section className="panel result" aria-labelledby="result-title" data-testid="result-panel">
      <h2 className="panel__title" id="result-title">
        Shot
      </h2>
      <p className="visually-hidden" aria-live="polite">
        {result?.prediction
          ? `${formatPercent(result.prediction.probability, 1)} make probability for a ${result.shot.value}-point shot from ${formatFeet(result.shot.distanceFt)}, ${result.shot.zoneBasic}.`
          : ""}
      </p>
      {!result && <p className="muted">Click the court (or focus it and press Enter) to score a shot.</p>}
      {result && (
        <>
          {result.loading && <Loading text="Asking the model…" />}
          <ErrorNotice error={result.error} onRetry={onRetry} testId="predict-error" />
          {result.prediction && (
            <div className="result__headline">
              <span className="result__probability" data-testid="result-probability">
                {formatPercent(result.prediction.probability, 1)}
              </span>
              <span className={`badge ${result.prediction.prediction === 1 ? "badge--make" : "badge--miss"}`}>
                {result.prediction.prediction === 1 ? "Likely make" : "Likely miss"}
              </span>
            </div>
          )}
          <p className="result__context">{result.contextLabel}</p>
          <dl className="facts">
            <div>
              <dt>Value</dt>
              <dd data-testid="result-value">{result.shot.value === 3 ? "3PT" : "2PT"}</dd>
            </div>
            <div>
              <dt>Distance</dt>
              <dd>{formatFeet(result.shot.distanceFt)}</dd>
            </div>
            <div>
              <dt>Zone</dt>
              <dd data-testid="result-zone">{result.shot.zoneBasic}</dd>
            </div>
            <div>
              <dt>Area</dt>
              <dd>{result.shot.zoneArea}</dd>
            </div>
            <div>
              <dt>Range</dt>
              <dd>{result.shot.zoneRange}</dd>
            </div>
            <div>
              <dt>Expected points</dt>
              <dd data-testid="result-expected">
                {result.prediction
                  ? formatPoints(expectedPoints(result.prediction.probability, result.shot.value))
                  : "—"}
              </dd>
            </div>
            {result.prediction && (
              <>
                <div>
                  <dt>Model version</dt>
                  <dd>{result.prediction.model_version}</dd>
                </div>
                <div>
                  <dt>Prediction</dt>
                  <dd>#{result.prediction.prediction_id}</dd>
                </div>
              </>
            )}
          </dl>
          {result.prediction && result.request && onExplain && (
            <Why key={result.prediction.prediction_id} request={result.request} onExplain={onExplain} />
          )}
        </>
      )}
    </section>
  );
}
