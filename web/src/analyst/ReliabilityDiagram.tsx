import type { ReliabilityBin } from "../api/types";

const SIZE = 240;
const PAD = 34;

/** Predicted against observed make rate by probability bin; the diagonal is perfect calibration. */
export function ReliabilityDiagram({ bins, title }: { bins: ReliabilityBin[]; title: string }) {
  const filled = bins.filter((b) => b.shots > 0 && b.mean_predicted !== null && b.make_rate !== null);
  const most = Math.max(1, ...filled.map((b) => b.shots));
  const x = (p: number) => PAD + p * (SIZE - PAD - 8);
  const y = (p: number) => SIZE - PAD - p * (SIZE - PAD - 8);
  const line = filled.map((b) => `${x(b.mean_predicted!)},${y(b.make_rate!)}`).join(" ");
  return (
    <figure className="reliability" data-testid="reliability-diagram">
      <svg viewBox={`0 0 ${SIZE} ${SIZE}`} role="img" aria-label={`${title}: predicted against made, by bin`}>
        <rect x={x(0)} y={y(1)} width={x(1) - x(0)} height={y(0) - y(1)} className="reliability__frame" />
        <line x1={x(0)} y1={y(0)} x2={x(1)} y2={y(1)} className="reliability__diagonal" />
        {[0, 0.5, 1].map((t) => (
          <g key={t}>
            <text x={x(t)} y={SIZE - PAD + 14} textAnchor="middle" className="reliability__tick">
              {t}
            </text>
            <text x={PAD - 6} y={y(t) + 4} textAnchor="end" className="reliability__tick">
              {t}
            </text>
          </g>
        ))}
        <text x={(x(0) + x(1)) / 2} y={SIZE - 4} textAnchor="middle" className="reliability__axis">
          predicted
        </text>
        <text x={10} y={(y(0) + y(1)) / 2} textAnchor="middle" className="reliability__axis" transform={`rotate(-90 10 ${(y(0) + y(1)) / 2})`}>
          made
        </text>
        {filled.map((b) => (
          <rect
            key={`bar-${b.bin_low}`}
            className="reliability__count"
            x={x(b.bin_low) + 1}
            width={Math.max(1, x(b.bin_high) - x(b.bin_low) - 2)}
            y={y(0) - (b.shots / most) * 40}
            height={(b.shots / most) * 40}
          />
        ))}
        <polyline points={line} className="reliability__line" />
        {filled.map((b) => (
          <circle
            key={b.bin_low}
            data-testid="reliability-point"
            cx={x(b.mean_predicted!)}
            cy={y(b.make_rate!)}
            r={4}
            className="reliability__point"
          >
            <title>
              {`${b.bin_low.toFixed(1)}-${b.bin_high.toFixed(1)}: ${b.shots} shots, predicted ${(
                b.mean_predicted! * 100
              ).toFixed(1)}%, made ${(b.make_rate! * 100).toFixed(1)}%`}
            </title>
          </circle>
        ))}
      </svg>
      <figcaption className="muted">{title}. Bars: shots per bin.</figcaption>
    </figure>
  );
}
