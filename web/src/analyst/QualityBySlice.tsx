import { useState } from "react";
import type { ModelQuality, ReliabilityBin } from "../api/types";
import { ReliabilityDiagram } from "./ReliabilityDiagram";

const SLICE_LABEL: Record<string, string> = {
  zone: "Zone",
  shot_type: "Shot type",
  period: "Period",
  playoffs: "Playoffs",
  season: "Season",
  shooter_volume: "Shooter volume",
};

/** Live predictions' reliability, once some of their outcomes are known. */
function LiveReliability({ live }: { live: ReliabilityBin[] | null }) {
  const shots = live ? live.reduce((n, b) => n + b.shots, 0) : 0;
  if (!live || shots === 0) {
    return (
      <p className="muted" data-testid="live-reliability-empty">
        No live prediction of this version has a known outcome yet.
      </p>
    );
  }
  return <ReliabilityDiagram bins={live} title={`Live predictions with a known outcome, ${shots.toLocaleString()} shots`} />;
}

/** The champion's reliability diagrams (holdout, live) and its holdout figures by slice. */
export function QualityBySlice({
  quality,
  live = null,
}: {
  quality: ModelQuality | null;
  live?: ReliabilityBin[] | null;
}) {
  const names = quality ? Object.keys(quality.slices) : [];
  const [slice, setSlice] = useState(names[0] ?? "zone");
  if (!quality) {
    return (
      <>
        <p className="muted" data-testid="quality-missing">
          No quality by slice for this version: run <code>nba-mlops evaluate --save-quality</code>.
        </p>
        <LiveReliability live={live} />
      </>
    );
  }
  const rows = quality.slices[slice] ?? [];
  return (
    <div className="quality" data-testid="quality">
      <h3>Calibration on the holdout</h3>
      <div className="quality__diagrams">
        <ReliabilityDiagram bins={quality.reliability} title={`Holdout, ${quality.overall.shots.toLocaleString()} shots`} />
        <LiveReliability live={live} />
      </div>
      <h3>Quality by slice</h3>
      <div className="button-row" role="group" aria-label="Slice">
        {names.map((name) => (
          <button
            key={name}
            type="button"
            className={`button button--small${name === slice ? " is-active" : ""}`}
            aria-pressed={name === slice}
            onClick={() => setSlice(name)}
          >
            {SLICE_LABEL[name] ?? name}
          </button>
        ))}
      </div>
      <div className="table-wrap">
        <table className="table" data-testid="slice-table">
          <thead>
            <tr>
              <th scope="col">{SLICE_LABEL[slice] ?? slice}</th>
              <th scope="col" className="num">Shots</th>
              <th scope="col" className="num">Log loss</th>
              <th scope="col" className="num">Calibration error</th>
              <th scope="col" className="num">Accuracy</th>
              <th scope="col" className="num">Predicted</th>
              <th scope="col" className="num">Made</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.value ?? ""}>
                <th scope="row">{r.value}</th>
                <td className="num">{r.shots.toLocaleString()}</td>
                <td className="num">{r.log_loss.toFixed(4)}</td>
                <td className="num">{(r.ece * 100).toFixed(1)}%</td>
                <td className="num">{(r.accuracy * 100).toFixed(1)}%</td>
                <td className="num">{(r.mean_predicted * 100).toFixed(1)}%</td>
                <td className="num">{(r.make_rate * 100).toFixed(1)}%</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
