import type { Player, SeasonType, ShotRequest } from "./api/types";
import type { CourtPoint } from "./court/geometry";
import { formatClock, formatPeriod } from "./format";

/**
 * Action types offered on the page, in the title-case spelling the store and the model
 * use (ingestion and serving both normalise feeds that write "Pullup Jump Shot").
 */
export const ACTION_TYPES: { value: string; label: string }[] = [
  { value: "Jump Shot", label: "Jump Shot" },
  { value: "Pullup Jump Shot", label: "Pullup Jump Shot" },
  { value: "Step Back Jump Shot", label: "Step Back Jump Shot" },
  { value: "Fadeaway Jump Shot", label: "Fadeaway Jump Shot" },
  { value: "Turnaround Jump Shot", label: "Turnaround Jump Shot" },
  { value: "Running Jump Shot", label: "Running Jump Shot" },
  { value: "Floating Jump Shot", label: "Floating Jump Shot" },
  { value: "Driving Floating Jump Shot", label: "Driving Floating Jump Shot" },
  { value: "Layup Shot", label: "Layup Shot" },
  { value: "Driving Layup Shot", label: "Driving Layup Shot" },
  { value: "Running Layup Shot", label: "Running Layup Shot" },
  { value: "Cutting Layup Shot", label: "Cutting Layup Shot" },
  { value: "Driving Finger Roll Layup Shot", label: "Driving Finger Roll Layup Shot" },
  { value: "Reverse Layup Shot", label: "Reverse Layup Shot" },
  { value: "Putback Layup Shot", label: "Putback Layup Shot" },
  { value: "Tip Layup Shot", label: "Tip Layup Shot" },
  { value: "Dunk Shot", label: "Dunk Shot" },
  { value: "Driving Dunk Shot", label: "Driving Dunk Shot" },
  { value: "Cutting Dunk Shot", label: "Cutting Dunk Shot" },
  { value: "Alley Oop Dunk Shot", label: "Alley Oop Dunk Shot" },
  { value: "Hook Shot", label: "Hook Shot" },
  { value: "Turnaround Hook Shot", label: "Turnaround Hook Shot" },
];

export const PERIODS: { value: number; label: string }[] = [
  { value: 1, label: "1st quarter" },
  { value: 2, label: "2nd quarter" },
  { value: 3, label: "3rd quarter" },
  { value: 4, label: "4th quarter" },
  { value: 5, label: "Overtime" },
  { value: 6, label: "2nd overtime" },
  { value: 7, label: "3rd overtime" },
  { value: 8, label: "4th overtime" },
];

export type HomeAway = "home" | "away" | "unknown";

/** Everything about a shot except where it is taken from. */
export interface ShotContext {
  playerId: number | null;
  period: number;
  minutes: number;
  seconds: number;
  homeAway: HomeAway;
  seasonType: SeasonType;
  actionType: string;
  gameDate: string;
}

export const DEFAULT_CONTEXT: ShotContext = {
  playerId: null,
  period: 1,
  minutes: 6,
  seconds: 0,
  homeAway: "home",
  seasonType: "Regular Season",
  actionType: "Jump Shot",
  gameDate: "",
};

/** Minutes in a period: 12 in regulation, 5 in overtime. */
export function periodMinutes(period: number): number {
  return period > 4 ? 5 : 12;
}

/** Keep the clock inside the period (12:00 at most, 5:00 in overtime). */
export function clampClock(context: ShotContext): ShotContext {
  const max = periodMinutes(context.period);
  const minutes = Math.min(max, Math.max(0, Math.trunc(context.minutes) || 0));
  const seconds = minutes === max ? 0 : Math.min(59, Math.max(0, Math.trunc(context.seconds) || 0));
  return { ...context, minutes, seconds };
}

/** The request body for a shot from `point` in `context`; "Any player" omits player fields. */
export function buildShotRequest(
  point: CourtPoint,
  context: ShotContext,
  player: Player | null,
): ShotRequest {
  const clock = clampClock(context);
  const shot: ShotRequest = {
    loc_x: Math.round(point.x),
    loc_y: Math.round(point.y),
    period: clock.period,
    minutes_remaining: clock.minutes,
    seconds_remaining: clock.seconds,
    action_type: clock.actionType,
    season_type: clock.seasonType,
  };
  if (player) {
    shot.player_id = player.player_id;
    shot.player_name = player.player_name;
    if (player.team_name) shot.team_name = player.team_name;
  }
  if (clock.homeAway !== "unknown") shot.is_home = clock.homeAway === "home";
  if (/^\d{4}-\d{2}-\d{2}$/.test(clock.gameDate)) shot.game_date = clock.gameDate;
  return shot;
}

/** A short human summary of a context, e.g. "Any player · Q4 2:00 · Jump Shot". */
export function describeContext(context: ShotContext, player: Player | null): string {
  const period = formatPeriod(context.period);
  const clock = formatClock(context.minutes, context.seconds);
  const label = ACTION_TYPES.find((a) => a.value === context.actionType)?.label ?? context.actionType;
  const where = context.homeAway === "unknown" ? "" : ` · ${context.homeAway}`;
  const season = context.seasonType === "Playoffs" ? " · playoffs" : "";
  return `${player ? player.player_name : "Any player"} · ${period} ${clock} · ${label}${where}${season}`;
}
