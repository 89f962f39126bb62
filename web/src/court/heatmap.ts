import { COURT, shotValue } from "./geometry";

/** One heat-map cell: a rectangle on the court, scored at its centre. */
export interface HeatCell {
  /** Centre, sent to the model. */
  x: number;
  y: number;
  /** Top-left corner and size, drawn. */
  x0: number;
  y0: number;
  width: number;
  height: number;
  value: 2 | 3;
}

/** Cells of `stepFt` feet covering the half court; edge cells are cut at the lines. */
export function heatmapGrid(stepFt: number): HeatCell[] {
  if (!(stepFt > 0)) throw new RangeError("step must be positive");
  const step = stepFt * 10;
  const cells: HeatCell[] = [];
  for (let y0 = COURT.baselineY; y0 < COURT.halfCourtY - 1e-9; y0 += step) {
    const height = Math.min(step, COURT.halfCourtY - y0);
    for (let x0 = COURT.xMin; x0 < COURT.xMax - 1e-9; x0 += step) {
      const width = Math.min(step, COURT.xMax - x0);
      const x = round1(x0 + width / 2);
      const y = round1(y0 + height / 2);
      cells.push({ x, y, x0, y0, width, height, value: shotValue({ x, y }) });
    }
  }
  return cells;
}

function round1(v: number): number {
  return Math.round(v * 10) / 10;
}

/** Sequential colour ramp, dark blue (low) to red (high), readable over the wood. */
const STOPS: [number, [number, number, number]][] = [
  [0, [37, 52, 148]],
  [0.25, [44, 127, 184]],
  [0.5, [65, 182, 160]],
  [0.7, [237, 201, 81]],
  [0.85, [244, 134, 66]],
  [1, [200, 30, 45]],
];

/** Colour for a position 0..1 on the ramp (clamped). */
export function rampColor(t: number): string {
  const v = Number.isFinite(t) ? Math.min(1, Math.max(0, t)) : 0;
  for (let i = 1; i < STOPS.length; i++) {
    const [t1, c1] = STOPS[i]!;
    const [t0, c0] = STOPS[i - 1]!;
    if (v <= t1) {
      const f = (v - t0) / (t1 - t0);
      const mix = c0.map((c, k) => Math.round(c + (c1[k]! - c) * f));
      return `rgb(${mix[0]}, ${mix[1]}, ${mix[2]})`;
    }
  }
  const last = STOPS[STOPS.length - 1]![1];
  return `rgb(${last[0]}, ${last[1]}, ${last[2]})`;
}

export interface Domain {
  min: number;
  max: number;
}

/** A colour domain around the values, widened to multiples of `unit`, never empty. */
export function niceDomain(values: number[], unit: number): Domain {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return { min: 0, max: unit };
  let min = Math.floor(Math.min(...finite) / unit) * unit;
  let max = Math.ceil(Math.max(...finite) / unit) * unit;
  if (max - min < unit) {
    min = Math.max(0, min - unit);
    max = min + 2 * unit;
  }
  return { min: round6(min), max: round6(max) };
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6 + 0; // + 0 turns -0 into 0
}

/** Colour for a value within a domain. */
export function colorFor(value: number, domain: Domain): string {
  return rampColor((value - domain.min) / (domain.max - domain.min));
}

/** Legend values at a round step (…, 0.05, 0.1, 0.2, 0.25, 0.5, 1, …) inside the domain, 3 to 6 of them. */
export function legendTicks(domain: Domain): number[] {
  const span = domain.max - domain.min;
  if (!(span > 0)) return [domain.min];
  const magnitude = 10 ** Math.floor(Math.log10(span));
  const steps = [0.1, 0.2, 0.25, 0.5, 1, 2, 2.5, 5].map((m) => m * magnitude);
  const step = steps.find((s) => span / s <= 5) ?? span;
  const first = Math.ceil(domain.min / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let t = first; t <= domain.max + 1e-9; t += step) ticks.push(round6(t));
  return ticks;
}

/** Where a value sits along the legend bar, 0..1. */
export function legendPosition(value: number, domain: Domain): number {
  return (value - domain.min) / (domain.max - domain.min);
}
