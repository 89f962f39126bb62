import { useCallback, useEffect, useState } from "react";
import type { ApiClient } from "../api/client";
import type { CurrentModel } from "../api/types";
import { formatDateTime } from "../format";
import { QualityBySlice } from "../analyst/QualityBySlice";
import { ErrorNotice } from "./ErrorNotice";
import { Loading } from "./Spinner";

const METRICS: { key: string; label: string; help: string; percent?: boolean }[] = [
  { key: "holdout_log_loss", label: "Log loss", help: "Lower is better; how the model is chosen." },
  { key: "holdout_brier", label: "Brier score", help: "Mean squared error of the probability; lower is better." },
  { key: "holdout_roc_auc", label: "ROC AUC", help: "How well makes rank above misses; 0.5 is chance." },
  { key: "holdout_ece", label: "Calibration error", help: "Gap between stated and observed make rates; lower is better.", percent: true },
  { key: "holdout_accuracy", label: "Accuracy", help: "Share called right at 50%; always-miss scores about 55-58%.", percent: true },
];

/** The champion model the API is serving, with its holdout metrics. */
export function ModelView({ api }: { api: ApiClient }) {
  const [model, setModel] = useState<CurrentModel | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    setLoading(true);
    setError(null);
    try {
      setModel(await api.currentModel());
    } catch (err) {
      setModel(null);
      setError(err);
    } finally {
      setLoading(false);
    }
  }, [api]);

  useEffect(() => {
    void load();
  }, [load]);

  return (
    <section className="panel model" aria-labelledby="model-title" aria-busy={loading}>
      <div className="panel__header">
        <h2 className="panel__title" id="model-title">
          Model in service
        </h2>
        <button type="button" className="button button--small" onClick={() => void load()} disabled={loading}>
          Refresh
        </button>
      </div>
      {loading && <Loading text="Loading model details…" />}
      <ErrorNotice error={error} onRetry={() => void load()} testId="model-error" />
      {model && (
        <>
          <dl className="facts facts--wide" data-testid="model-facts">
            <div>
              <dt>Name</dt>
              <dd>{model.name}</dd>
            </div>
            <div>
              <dt>Version</dt>
              <dd data-testid="model-version">{String(model.version)}</dd>
            </div>
            <div>
              <dt>Promoted</dt>
              <dd>{formatDateTime(model.promoted_at)}</dd>
            </div>
          </dl>
          <h3>Holdout metrics</h3>
          <p className="muted">Measured on the latest games, which the model never saw in training.</p>
          <table className="table table--metrics">
            <thead>
              <tr>
                <th scope="col">Metric</th>
                <th scope="col" className="num">
                  Value
                </th>
                <th scope="col">Meaning</th>
              </tr>
            </thead>
            <tbody>
              {METRICS.map((m) => {
                const value = model.metrics?.[m.key];
                return (
                  <tr key={m.key}>
                    <th scope="row">{m.label}</th>
                    <td className="num">
                      {typeof value !== "number" ? "—" : m.percent ? `${(value * 100).toFixed(1)}%` : value.toFixed(4)}
                    </td>
                    <td className="muted">{m.help}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          <QualityBySlice quality={model.quality ?? null} live={model.live_reliability ?? null} />
        </>
      )}
    </section>
  );
}
