/** Display formats shared by the panels. */

export function formatPercent(probability: number, digits = 0): string {
  return `${(probability * 100).toFixed(digits)}%`;
}

export function formatPoints(points: number): string {
  return `${points.toFixed(2)} pts`;
}

export function formatFeet(feet: number): string {
  return `${feet.toFixed(1)} ft`;
}

/** A timestamp from the API in the reader's locale; the raw text when it does not parse. */
export function formatDateTime(value: string | null | undefined): string {
  if (!value) return "—";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return value;
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function formatClock(minutes: unknown, seconds: unknown): string {
  const m = Number(minutes);
  const s = Number(seconds);
  if (!Number.isFinite(m) || !Number.isFinite(s)) return "—";
  return `${m}:${String(s).padStart(2, "0")}`;
}

export function formatPeriod(period: unknown): string {
  const p = Number(period);
  if (!Number.isFinite(p)) return "—";
  if (p <= 4) return `Q${p}`;
  return p === 5 ? "OT" : `${p - 4}OT`;
}
