import { useId } from "react";
import type { ChartShot } from "../api/types";
import { ARC_CORNER_Y, COURT, COURT_VIEW } from "../court/geometry";
import { colorFor } from "../court/heatmap";

/** Square bins of the expected-rate map, in court units (3 ft). */
export const BIN = 30;
const EXPECTED_DOMAIN = { min: 0.2, max: 0.7 };

export interface ExpectedBin {
  x0: number;
  y0: number;
  shots: number;
  expected: number;
}

/** Mean model expectation of the shots in each bin (bins without shots are left out). */
export function expectedBins(shots: ChartShot[], size = BIN): ExpectedBin[] {
  const bins = new Map<string, { x0: number; y0: number; n: number; sum: number }>();
  for (const s of shots) {
    if (s.expected === null) continue;
    const x0 = Math.floor(s.loc_x / size) * size;
    const y0 = Math.floor(s.loc_y / size) * size;
    const key = `${x0},${y0}`;
    const bin = bins.get(key) ?? { x0, y0, n: 0, sum: 0 };
    bin.n += 1;
    bin.sum += s.expected;
    bins.set(key, bin);
  }
  return [...bins.values()].map((b) => ({ x0: b.x0, y0: b.y0, shots: b.n, expected: b.sum / b.n }));
}

interface Props {
  shots: ChartShot[];
  selected: string | null;
  onSelect: (shot: ChartShot) => void;
  label: string;
}

export const shotKey = (s: ChartShot) => `${s.game_id}-${s.game_event_id}`;

/** The player's made (○) and missed (×) shots over the model's expected rate from each spot. */
export function PlayerChart({ shots, selected, onSelect, label }: Props) {
  const view = `${COURT_VIEW.x} ${COURT_VIEW.y} ${COURT_VIEW.width} ${COURT_VIEW.height}`;
  const threePoint = `M ${-COURT.cornerX} ${COURT.baselineY} L ${-COURT.cornerX} ${ARC_CORNER_Y}
    A ${COURT.arcRadius} ${COURT.arcRadius} 0 0 0 ${COURT.cornerX} ${ARC_CORNER_Y}
    L ${COURT.cornerX} ${COURT.baselineY}`;
  const onCourt = shots.filter((s) => s.loc_y < COURT.halfCourtY);
  const clip = `court-${useId().replace(/[^a-zA-Z0-9_-]/g, "")}`;
  return (
    <svg className="player-chart" viewBox={view} role="img" aria-label={label} data-testid="player-chart">
      <defs>
        <clipPath id={clip}>
          <rect x={COURT.xMin} y={COURT.baselineY} width={500} height={COURT.halfCourtY - COURT.baselineY} />
        </clipPath>
      </defs>
      <rect x={COURT.xMin} y={COURT.baselineY} width={500} height={COURT.halfCourtY - COURT.baselineY} className="player-chart__floor" />
      <g aria-hidden="true" data-testid="expected-map" clipPath={`url(#${clip})`}>
        {expectedBins(onCourt).map((b) => (
          <rect
            key={`${b.x0},${b.y0}`}
            x={b.x0}
            y={b.y0}
            width={BIN}
            height={BIN}
            fill={colorFor(b.expected, EXPECTED_DOMAIN)}
            opacity={0.55}
          />
        ))}
      </g>
      <g className="player-chart__lines" aria-hidden="true">
        <rect x={COURT.xMin} y={COURT.baselineY} width={500} height={COURT.halfCourtY - COURT.baselineY} />
        <rect x={-COURT.paintHalfWidth} y={COURT.baselineY} width={COURT.paintHalfWidth * 2} height={COURT.paintTopY - COURT.baselineY} />
        <path d={threePoint} />
        <circle cx={0} cy={0} r={COURT.rimRadius} />
      </g>
      <g>
        {onCourt.map((s) => {
          const key = shotKey(s);
          const active = key === selected;
          return (
            <g
              key={key}
              data-testid={s.made ? "shot-made" : "shot-missed"}
              className={`player-shot${active ? " is-selected" : ""}`}
              transform={`translate(${s.loc_x} ${s.loc_y})`}
              onClick={() => onSelect(s)}
            >
              <title>{`${s.action_type}, ${s.zone}, ${s.made ? "made" : "missed"}${
                s.expected === null ? "" : `, expected ${(s.expected * 100).toFixed(0)}%`
              }`}</title>
              {s.made ? (
                <circle r={active ? 8 : 5} className="player-shot__made" />
              ) : (
                <path d={active ? "M -7 -7 L 7 7 M -7 7 L 7 -7" : "M -4 -4 L 4 4 M -4 4 L 4 -4"} className="player-shot__missed" />
              )}
            </g>
          );
        })}
      </g>
    </svg>
  );
}
