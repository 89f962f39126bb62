import { type KeyboardEvent, type PointerEvent, useId, useRef, useState } from "react";
import { formatPercent } from "../format";
import {
  ARC_CORNER_Y,
  COURT,
  COURT_VIEW,
  type CourtPoint,
  clampToCourt,
  describeShot,
  pixelToCourt,
} from "./geometry";
import { colorFor, type Domain, type HeatCell } from "./heatmap";

export interface ShotMarker {
  key: string;
  x: number;
  y: number;
  /** Make probability 0..1, or null while the request is in flight. */
  probability: number | null;
  latest: boolean;
}

export interface HeatLayer {
  cells: HeatCell[];
  values: number[];
  domain: Domain;
}

interface CourtProps {
  markers: ShotMarker[];
  heat: HeatLayer | null;
  cursor: CourtPoint;
  onCursorChange: (point: CourtPoint) => void;
  onShoot: (point: CourtPoint) => void;
  disabled?: boolean;
}

const KEY_STEP = 10; // one foot
const KEY_STEP_FAST = 50; // five feet

const MARKER_LOW = { min: 0.2, max: 0.7 };

/** The half court, drawn to scale in court units (basket at the top). */
export function Court({ markers, heat, cursor, onCursorChange, onShoot, disabled }: CourtProps) {
  const pointerDown = useRef<{ x: number; y: number } | null>(null);
  const helpId = useId();
  const cursorInfoId = useId();
  // Announced to screen readers only when the keyboard moves the cursor, not on every mouse move.
  const [announcement, setAnnouncement] = useState("");

  function courtPointFromEvent(event: PointerEvent<SVGSVGElement>): CourtPoint {
    const rect = event.currentTarget.getBoundingClientRect();
    return clampToCourt(
      pixelToCourt(
        { px: event.clientX - rect.left, py: event.clientY - rect.top },
        { width: rect.width, height: rect.height },
      ),
    );
  }

  function handlePointerMove(event: PointerEvent<SVGSVGElement>) {
    if (event.pointerType === "mouse") onCursorChange(courtPointFromEvent(event));
  }

  function handlePointerDown(event: PointerEvent<SVGSVGElement>) {
    pointerDown.current = { x: event.clientX, y: event.clientY };
  }

  function handlePointerUp(event: PointerEvent<SVGSVGElement>) {
    const start = pointerDown.current;
    pointerDown.current = null;
    // A drag (scrolling on a phone) is not a shot.
    if (!start || Math.hypot(event.clientX - start.x, event.clientY - start.y) > 10) return;
    const point = courtPointFromEvent(event);
    onCursorChange(point);
    if (!disabled) onShoot(point);
  }

  function handleKeyDown(event: KeyboardEvent<SVGSVGElement>) {
    const step = event.shiftKey ? KEY_STEP_FAST : KEY_STEP;
    const moves: Record<string, [number, number]> = {
      ArrowLeft: [-step, 0],
      ArrowRight: [step, 0],
      // The basket is at the top: up moves toward it.
      ArrowUp: [0, -step],
      ArrowDown: [0, step],
    };
    const move = moves[event.key];
    if (move) {
      event.preventDefault();
      const next = clampToCourt({ x: cursor.x + move[0], y: cursor.y + move[1] });
      onCursorChange(next);
      setAnnouncement(describeCursor(next));
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      if (!disabled) onShoot(cursor);
    } else if (event.key === "Home") {
      event.preventDefault();
      onCursorChange({ x: 0, y: 0 });
      setAnnouncement(describeCursor({ x: 0, y: 0 }));
    }
  }

  const view = `${COURT_VIEW.x} ${COURT_VIEW.y} ${COURT_VIEW.width} ${COURT_VIEW.height}`;
  const threePoint = `M ${-COURT.cornerX} ${COURT.baselineY} L ${-COURT.cornerX} ${ARC_CORNER_Y}
    A ${COURT.arcRadius} ${COURT.arcRadius} 0 0 0 ${COURT.cornerX} ${ARC_CORNER_Y}
    L ${COURT.cornerX} ${COURT.baselineY}`;
  const ra = COURT.restrictedRadius;
  const restricted = `M ${-ra} ${COURT.backboardY} L ${-ra} 0 A ${ra} ${ra} 0 0 0 ${ra} 0 L ${ra} ${COURT.backboardY}`;
  const ft = COURT.freeThrowRadius;
  const ftY = COURT.paintTopY;
  const hc = COURT.halfCourtY;

  return (
    <figure className="court-figure">
      <svg
        className={`court${disabled ? " court--busy" : ""}`}
        viewBox={view}
        preserveAspectRatio="xMidYMid meet"
        role="application"
        tabIndex={0}
        aria-label="Half court. Click a spot, or use the arrow keys to move the cursor and press Enter to shoot from it."
        aria-describedby={`${helpId} ${cursorInfoId}`}
        aria-busy={disabled || undefined}
        data-view={view}
        onPointerMove={handlePointerMove}
        onPointerDown={handlePointerDown}
        onPointerUp={handlePointerUp}
        onKeyDown={handleKeyDown}
      >
        <defs>
          <pattern id="court-planks" width="60" height="470" patternUnits="userSpaceOnUse" x="-250">
            <rect width="60" height="470" fill="#d9a66b" />
            <rect x="0" width="15" height="470" fill="#dcab70" />
            <rect x="15" width="15" height="470" fill="#d29d62" />
            <rect x="30" width="15" height="470" fill="#ddae75" />
            <rect x="45" width="15" height="470" fill="#d5a166" />
            <g stroke="#b9834c" strokeOpacity="0.35" strokeWidth="0.6">
              <line x1="15" y1="0" x2="15" y2="470" />
              <line x1="30" y1="0" x2="30" y2="470" />
              <line x1="45" y1="0" x2="45" y2="470" />
              <line x1="60" y1="0" x2="60" y2="470" />
              <line x1="0" y1="120" x2="15" y2="120" />
              <line x1="15" y1="300" x2="30" y2="300" />
              <line x1="30" y1="60" x2="45" y2="60" />
              <line x1="45" y1="210" x2="60" y2="210" />
              <line x1="0" y1="400" x2="15" y2="400" />
              <line x1="30" y1="380" x2="45" y2="380" />
            </g>
          </pattern>
          <radialGradient id="court-sheen" cx="0.5" cy="0.35" r="0.8">
            <stop offset="0" stopColor="#fff" stopOpacity="0.18" />
            <stop offset="1" stopColor="#000" stopOpacity="0.12" />
          </radialGradient>
        </defs>

        <rect
          x={COURT_VIEW.x}
          y={COURT_VIEW.y}
          width={COURT_VIEW.width}
          height={COURT_VIEW.height}
          fill="#7a4b25"
        />
        <rect x={COURT.xMin} y={COURT.baselineY} width={500} height={hc - COURT.baselineY} fill="url(#court-planks)" />
        <rect
          className="court__paint"
          x={-COURT.paintHalfWidth}
          y={COURT.baselineY}
          width={COURT.paintHalfWidth * 2}
          height={ftY - COURT.baselineY}
        />
        <path
          className="court__paint"
          d={`M ${-COURT.centerCircleInnerRadius} ${hc} A ${COURT.centerCircleInnerRadius} ${COURT.centerCircleInnerRadius} 0 0 1 ${COURT.centerCircleInnerRadius} ${hc} Z`}
        />

        {heat && (
          <g className="court__heat" data-testid="heatmap" aria-hidden="true">
            {heat.cells.map((cell, i) => (
              <rect
                key={`${cell.x0},${cell.y0}`}
                x={cell.x0}
                y={cell.y0}
                width={cell.width}
                height={cell.height}
                fill={colorFor(heat.values[i] ?? Number.NaN, heat.domain)}
              />
            ))}
          </g>
        )}

        <rect x={COURT_VIEW.x} y={COURT_VIEW.y} width={COURT_VIEW.width} height={COURT_VIEW.height} fill="url(#court-sheen)" pointerEvents="none" />

        <g className="court__lines" aria-hidden="true">
          <rect x={COURT.xMin} y={COURT.baselineY} width={500} height={hc - COURT.baselineY} />
          <rect
            x={-COURT.paintHalfWidth}
            y={COURT.baselineY}
            width={COURT.paintHalfWidth * 2}
            height={ftY - COURT.baselineY}
          />
          <line x1={-60} y1={COURT.baselineY} x2={-60} y2={ftY} />
          <line x1={60} y1={COURT.baselineY} x2={60} y2={ftY} />
          <path d={`M ${-ft} ${ftY} A ${ft} ${ft} 0 0 0 ${ft} ${ftY}`} />
          <path d={`M ${-ft} ${ftY} A ${ft} ${ft} 0 0 1 ${ft} ${ftY}`} strokeDasharray="10 8" />
          <path d={restricted} />
          <path d={threePoint} />
          <line x1={COURT.xMin} y1={hc} x2={COURT.xMax} y2={hc} />
          <path d={`M ${-COURT.centerCircleRadius} ${hc} A 60 60 0 0 1 ${COURT.centerCircleRadius} ${hc}`} />
          <path d={`M -20 ${hc} A 20 20 0 0 1 20 ${hc}`} />
          {/* Coaching box hash marks, 28 ft from the baseline. */}
          <line x1={COURT.xMin} y1={232.5} x2={COURT.xMin + 30} y2={232.5} />
          <line x1={COURT.xMax - 30} y1={232.5} x2={COURT.xMax} y2={232.5} />
          <line
            className="court__backboard"
            x1={-COURT.backboardHalfWidth}
            y1={COURT.backboardY}
            x2={COURT.backboardHalfWidth}
            y2={COURT.backboardY}
          />
          <line className="court__neck" x1={0} y1={COURT.backboardY} x2={0} y2={-COURT.rimRadius} />
          <circle className="court__rim" cx={0} cy={0} r={COURT.rimRadius} />
        </g>

        <g className="court__markers">
          {markers.map((m) => (
            <g
              key={m.key}
              className={`shot-marker${m.latest ? " shot-marker--latest" : ""}`}
              data-testid="shot-marker"
              data-probability={m.probability ?? ""}
              transform={`translate(${m.x} ${m.y})`}
            >
              <circle
                r={m.latest ? 9 : 7}
                fill={m.probability === null ? "#fff" : colorFor(m.probability, MARKER_LOW)}
              />
              <text
                x={labelOffsetX(m.x)}
                y={m.y < 40 ? 28 : -15}
                textAnchor={m.x < -190 ? "start" : m.x > 190 ? "end" : "middle"}
                className="shot-marker__label"
              >
                {m.probability === null ? "…" : formatPercent(m.probability)}
              </text>
            </g>
          ))}
        </g>

        <g
          className="court__cursor"
          transform={`translate(${cursor.x} ${cursor.y})`}
          aria-hidden="true"
          pointerEvents="none"
        >
          <circle r={11} />
          <line x1={-16} y1={0} x2={-6} y2={0} />
          <line x1={6} y1={0} x2={16} y2={0} />
          <line x1={0} y1={-16} x2={0} y2={-6} />
          <line x1={0} y1={6} x2={0} y2={16} />
        </g>
      </svg>
      <figcaption>
        <span id={helpId} className="visually-hidden">
          Arrow keys move the cursor one foot, with Shift five feet; up is toward the basket. Home
          returns to the basket. Enter or Space shoots.
        </span>
        <span id={cursorInfoId} className="court-cursor-info" data-testid="cursor-info">
          Cursor: {describeCursor(cursor)}
        </span>
        <span className="visually-hidden" aria-live="polite">
          {announcement}
        </span>
      </figcaption>
    </figure>
  );
}

function describeCursor(point: CourtPoint): string {
  const where = describeShot(point);
  return `${where.distanceFt.toFixed(1)} ft · ${where.value}PT · ${where.zoneBasic} · ${where.zoneArea}`;
}

/** Labels near a sideline lean inward so they stay on the court. */
function labelOffsetX(x: number): number {
  if (x < -190) return -8;
  if (x > 190) return 8;
  return 0;
}
