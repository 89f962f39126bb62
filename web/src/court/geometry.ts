/**
 * Half-court geometry in the NBA shot-chart coordinate system.
 *
 * Units are tenths of a foot with the basket at (0, 0); x runs from -250 (the shooter's
 * left sideline, "Left Side") to 250, y from -47.5 (baseline) to 422.5 (half court).
 * The court is drawn with the basket at the top of the screen, so one SVG unit is one
 * court unit and screen y grows with court y. Mirrors `nba_mlops.court` on the server,
 * which derives the same zones for the model from the raw location.
 */

export interface CourtPoint {
  x: number;
  y: number;
}

export interface PixelPoint {
  px: number;
  py: number;
}

export interface Size {
  width: number;
  height: number;
}

/** A rectangle in court units (what the SVG viewBox shows). */
export interface ViewBox {
  x: number;
  y: number;
  width: number;
  height: number;
}

export const COURT = {
  xMin: -250,
  xMax: 250,
  baselineY: -47.5,
  halfCourtY: 422.5,
  /** Three-point arc radius: 23.75 ft. */
  arcRadius: 237.5,
  /** Corner three: 22 ft from the basket. */
  cornerX: 220,
  /** Paint: 16 ft wide, 19 ft from the baseline. */
  paintHalfWidth: 80,
  paintTopY: 142.5,
  freeThrowRadius: 60,
  restrictedRadius: 40,
  rimRadius: 7.5,
  /** The backboard is 4 ft in from the baseline and 6 ft wide. */
  backboardY: -7.5,
  backboardHalfWidth: 30,
  centerCircleRadius: 60,
  centerCircleInnerRadius: 20,
} as const;

/** Where the corner straights meet the arc: y = sqrt(23.75^2 - 22^2) ft. */
export const ARC_CORNER_Y = Math.sqrt(COURT.arcRadius ** 2 - COURT.cornerX ** 2);

/**
 * Zone-label thresholds, the same constants as `nba_mlops.court` (fitted there on the
 * NBA's own labels). The stats zones follow the labels, not the paint: the corner zone
 * ends at y = 87.5, the paint zone at y = 138.5, and the back-court area and range start
 * at y = 397.5 while the "Backcourt" basic zone starts at y = 419.5.
 */
export const ZONE_LIMITS = {
  cornerZoneTopY: 87.5,
  paintZoneTopY: 138.5,
  shortRange: 80,
  midRange: 160,
  backCourtAreaY: 397.5,
  backcourtZoneY: 419.5,
  /** Up to 16 ft a shot is "Center" inside +/-30 degrees of straight on. */
  shortCenterAngle: 30,
  /** Beyond 16 ft: Center inside 18 degrees, Side Center up to 54, Side beyond. */
  longCenterAngle: 18,
  longSideCenterAngle: 54,
} as const;

/** The drawn area: the half court plus a small apron so edge lines are not clipped. */
export const COURT_VIEW: ViewBox = {
  x: COURT.xMin - 8,
  y: COURT.baselineY - 8,
  width: COURT.xMax - COURT.xMin + 16,
  height: COURT.halfCourtY - COURT.baselineY + 16,
};

export type ShotType = "2PT Field Goal" | "3PT Field Goal";
export type ZoneBasic =
  | "Restricted Area"
  | "In The Paint (Non-RA)"
  | "Mid-Range"
  | "Left Corner 3"
  | "Right Corner 3"
  | "Above the Break 3"
  | "Backcourt";
export type ZoneArea =
  | "Center(C)"
  | "Left Side(L)"
  | "Right Side(R)"
  | "Left Side Center(LC)"
  | "Right Side Center(RC)"
  | "Back Court(BC)";
export type ZoneRange = "Less Than 8 ft." | "8-16 ft." | "16-24 ft." | "24+ ft." | "Back Court Shot";

export interface ShotLocation {
  x: number;
  y: number;
  distanceFt: number;
  value: 2 | 3;
  shotType: ShotType;
  zoneBasic: ZoneBasic;
  zoneArea: ZoneArea;
  zoneRange: ZoneRange;
}

/** Screen pixel (relative to the drawn element's top-left corner) to court units. */
export function pixelToCourt(pixel: PixelPoint, size: Size, view: ViewBox = COURT_VIEW): CourtPoint {
  return {
    x: view.x + (pixel.px / size.width) * view.width,
    y: view.y + (pixel.py / size.height) * view.height,
  };
}

/** Court units to a screen pixel relative to the drawn element's top-left corner. */
export function courtToPixel(point: CourtPoint, size: Size, view: ViewBox = COURT_VIEW): PixelPoint {
  return {
    px: ((point.x - view.x) / view.width) * size.width,
    py: ((point.y - view.y) / view.height) * size.height,
  };
}

/** Keep a point on the half court (inside the lines). */
export function clampToCourt(point: CourtPoint): CourtPoint {
  return {
    x: Math.min(COURT.xMax, Math.max(COURT.xMin, point.x)),
    y: Math.min(COURT.halfCourtY, Math.max(COURT.baselineY, point.y)),
  };
}

export function isOnHalfCourt(point: CourtPoint): boolean {
  return (
    point.x >= COURT.xMin &&
    point.x <= COURT.xMax &&
    point.y >= COURT.baselineY &&
    point.y <= COURT.halfCourtY
  );
}

/** Distance from the basket in court units (tenths of a foot). */
export function distance(point: CourtPoint): number {
  return Math.hypot(point.x, point.y);
}

/** Distance from the basket in feet. */
export function distanceFt(point: CourtPoint): number {
  return distance(point) / 10;
}

/** Angle from straight on (the basket-to-half-court axis), in degrees, 0..180. */
function angleFromCenterDeg(point: CourtPoint): number {
  return (Math.atan2(Math.abs(point.x), point.y) * 180) / Math.PI;
}

/** In the corner strip below `topY`, at least 22 ft to the side of the basket. */
function inCornerStrip(point: CourtPoint, topY: number): boolean {
  return Math.abs(point.x) >= COURT.cornerX && point.y <= topY;
}

/** In the stats "Corner 3" zone (which ends a little below the painted corner line). */
function inCornerZone(point: CourtPoint): boolean {
  return inCornerStrip(point, ZONE_LIMITS.cornerZoneTopY);
}

/** 3 beyond the arc (23.75 ft) or in the corners (22 ft, up to where the arc starts), else 2. */
export function shotValue(point: CourtPoint): 2 | 3 {
  if (inCornerStrip(point, ARC_CORNER_Y)) return 3;
  return distance(point) >= COURT.arcRadius ? 3 : 2;
}

export function shotType(point: CourtPoint): ShotType {
  return shotValue(point) === 3 ? "3PT Field Goal" : "2PT Field Goal";
}

export function zoneBasic(point: CourtPoint): ZoneBasic {
  const r = distance(point);
  if (point.y >= ZONE_LIMITS.backcourtZoneY) return "Backcourt";
  if (inCornerZone(point)) return point.x < 0 ? "Left Corner 3" : "Right Corner 3";
  if (r >= COURT.arcRadius) return "Above the Break 3";
  if (r < COURT.restrictedRadius) return "Restricted Area";
  if (Math.abs(point.x) <= COURT.paintHalfWidth && point.y <= ZONE_LIMITS.paintZoneTopY) {
    return "In The Paint (Non-RA)";
  }
  return "Mid-Range";
}

export function zoneArea(point: CourtPoint): ZoneArea {
  const left = point.x < 0;
  const side: ZoneArea = left ? "Left Side(L)" : "Right Side(R)";
  const sideCenter: ZoneArea = left ? "Left Side Center(LC)" : "Right Side Center(RC)";
  const angle = angleFromCenterDeg(point);
  const r = distance(point);
  if (point.y >= ZONE_LIMITS.backCourtAreaY) return "Back Court(BC)";
  if (inCornerZone(point)) return side;
  if (r <= ZONE_LIMITS.shortRange) return "Center(C)";
  if (r <= ZONE_LIMITS.midRange) return angle < ZONE_LIMITS.shortCenterAngle ? "Center(C)" : side;
  if (angle < ZONE_LIMITS.longCenterAngle) return "Center(C)";
  if (r >= COURT.arcRadius) return sideCenter;
  return angle < ZONE_LIMITS.longSideCenterAngle ? sideCenter : side;
}

export function zoneRange(point: CourtPoint): ZoneRange {
  const r = distance(point);
  if (point.y >= ZONE_LIMITS.backCourtAreaY) return "Back Court Shot";
  if (inCornerZone(point) || r >= COURT.arcRadius) return "24+ ft.";
  if (r <= ZONE_LIMITS.shortRange) return "Less Than 8 ft.";
  return r <= ZONE_LIMITS.midRange ? "8-16 ft." : "16-24 ft.";
}

/** Everything the page shows about a spot on the court. */
export function describeShot(point: CourtPoint): ShotLocation {
  const value = shotValue(point);
  return {
    x: point.x,
    y: point.y,
    distanceFt: distanceFt(point),
    value,
    shotType: value === 3 ? "3PT Field Goal" : "2PT Field Goal",
    zoneBasic: zoneBasic(point),
    zoneArea: zoneArea(point),
    zoneRange: zoneRange(point),
  };
}

/** Expected points of a shot: make probability times its value. */
export function expectedPoints(probability: number, value: 2 | 3): number {
  return probability * value;
}
