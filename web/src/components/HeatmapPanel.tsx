import { useId } from "react";
import { type Domain, legendPosition, legendTicks, rampColor } from "../court/heatmap";
import { formatPercent } from "../format";
import { ErrorNotice } from "./ErrorNotice";
import { Loading } from "./Spinner";

export type HeatMode = "probability" | "points";

export interface HeatmapState {
  loading: boolean;
  done: number;
  total: number;
  error: unknown;
  /** What the drawn map was made for, or null when none is drawn. */
  drawnFor: string | null;
  domain: Domain | null;
  best: string | null;
}

interface HeatmapPanelProps {
  state: HeatmapState;
  mode: HeatMode;
  stepFt: number;
  onModeChange: (mode: HeatMode) => void;
  onStepChange: (stepFt: number) => void;
  onDraw: () => void;
  onCancel: () => void;
  onClear: () => void;
}

export const GRID_STEPS: { value: number; label: string }[] = [
  { value: 3, label: "3 ft (fast)" },
  { value: 2, label: "2 ft" },
  { value: 1.5, label: "1.5 ft (fine)" },
];

/** Controls and colour legend for the whole-court heat map. */
export function HeatmapPanel(props: HeatmapPanelProps) {
  const { state, mode, stepFt } = props;
  const stepId = useId();
  return (
    <section className="panel heatmap" aria-labelledby="heatmap-title">
      <h2 className="panel__title" id="heatmap-title">
        Heat map
      </h2>
      <p className="muted">Scores every spot on the half court for the shooter and situation chosen.</p>
      <div className="heatmap__controls">
        <fieldset className="segmented" aria-label="Colour the map by">
          {(["probability", "points"] as HeatMode[]).map((m) => (
            <label key={m} className={mode === m ? "is-active" : ""}>
              <input
                type="radio"
                name="heat-mode"
                value={m}
                checked={mode === m}
                onChange={() => props.onModeChange(m)}
              />
              {m === "probability" ? "Make probability" : "Expected points"}
            </label>
          ))}
        </fieldset>
        <div className="field field--inline">
          <label htmlFor={stepId}>Grid</label>
          <select id={stepId} value={stepFt} onChange={(e) => props.onStepChange(Number(e.target.value))}>
            {GRID_STEPS.map((s) => (
              <option key={s.value} value={s.value}>
                {s.label}
              </option>
            ))}
          </select>
        </div>
      </div>
      <div className="button-row">
        <button
          type="button"
          className="button button--primary"
          onClick={props.onDraw}
          disabled={state.loading}
          data-testid="draw-heatmap"
        >
          {state.drawnFor ? "Redraw heat map" : "Draw heat map"}
        </button>
        {state.loading && (
          <button type="button" className="button" onClick={props.onCancel}>
            Stop
          </button>
        )}
        {!state.loading && state.drawnFor && (
          <button type="button" className="button" onClick={props.onClear}>
            Clear
          </button>
        )}
      </div>
      {state.loading && (
        <div>
          <Loading text={`Scoring ${state.total.toLocaleString()} spots… ${state.done.toLocaleString()} done`} />
          <progress max={state.total} value={state.done} aria-label="Heat map progress" />
        </div>
      )}
      <ErrorNotice error={state.error} onRetry={props.onDraw} testId="heatmap-error" />
      {state.domain && state.drawnFor && (
        <div className="legend" data-testid="heatmap-legend">
          <p className="legend__title">
            {mode === "probability" ? "Make probability" : "Expected points per shot"}
          </p>
          <div
            className="legend__bar"
            style={{
              background: `linear-gradient(to right, ${[0, 0.25, 0.5, 0.7, 0.85, 1]
                .map((t) => `${rampColor(t)} ${t * 100}%`)
                .join(", ")})`,
            }}
            aria-hidden="true"
          />
          <ol className="legend__ticks" aria-label="Colour scale, low to high">
            {legendTicks(state.domain).map((t) => (
              <li key={t} style={{ left: `${legendPosition(t, state.domain!) * 100}%` }}>
                {mode === "probability" ? formatPercent(t) : t.toFixed(1)}
              </li>
            ))}
          </ol>
          <p className="hint">For: {state.drawnFor}</p>
          {state.best && <p className="hint">{state.best}</p>}
        </div>
      )}
    </section>
  );
}
