import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { type ApiClient, predictMany } from "../api/client";
import type { Player } from "../api/types";
import { Court, type HeatLayer, type ShotMarker } from "../court/Court";
import { type CourtPoint, describeShot } from "../court/geometry";
import { type HeatCell, heatmapGrid, niceDomain } from "../court/heatmap";
import { formatFeet, formatPercent } from "../format";
import { DEFAULT_CONTEXT, type ShotContext, buildShotRequest, describeContext } from "../shot-context";
import { type HeatMode, HeatmapPanel, type HeatmapState } from "./HeatmapPanel";
import { ResultPanel, type ShotResult } from "./ResultPanel";
import { ShotContextForm } from "./ShotContextForm";

const MAX_MARKERS = 12;

interface DrawnHeat {
  cells: HeatCell[];
  probabilities: number[];
  label: string;
}

const IDLE_HEAT: HeatmapState = {
  loading: false,
  done: 0,
  total: 0,
  error: null,
  drawnFor: null,
  domain: null,
  best: null,
};

/** The court, the shooter and situation, the latest result and the heat map. */
export function CourtView({ api }: { api: ApiClient }) {
  const [context, setContext] = useState<ShotContext>(DEFAULT_CONTEXT);
  const [players, setPlayers] = useState<Player[]>([]);
  const [playersLoading, setPlayersLoading] = useState(true);
  const [playersError, setPlayersError] = useState<unknown>(null);
  const [cursor, setCursor] = useState<CourtPoint>({ x: 0, y: 150 });
  const [markers, setMarkers] = useState<ShotMarker[]>([]);
  const [result, setResult] = useState<ShotResult | null>(null);
  const [lastPoint, setLastPoint] = useState<CourtPoint | null>(null);
  const [heatMode, setHeatMode] = useState<HeatMode>("probability");
  const [stepFt, setStepFt] = useState(2);
  const [heat, setHeat] = useState<DrawnHeat | null>(null);
  const [heatProgress, setHeatProgress] = useState({ loading: false, done: 0, total: 0, error: null as unknown });
  const shotCounter = useRef(0);
  const heatAbort = useRef<AbortController | null>(null);

  const loadPlayers = useCallback(async () => {
    setPlayersLoading(true);
    setPlayersError(null);
    try {
      setPlayers(await api.players(500));
    } catch (err) {
      setPlayersError(err);
    } finally {
      setPlayersLoading(false);
    }
  }, [api]);

  useEffect(() => {
    void loadPlayers();
    return () => heatAbort.current?.abort();
  }, [loadPlayers]);

  const player = players.find((p) => p.player_id === context.playerId) ?? null;
  const contextLabel = describeContext(context, player);

  const shoot = useCallback(
    async (point: CourtPoint) => {
      const key = `shot-${++shotCounter.current}`;
      const rounded = { x: Math.round(point.x), y: Math.round(point.y) };
      const shot = describeShot(rounded);
      const label = contextLabel;
      setLastPoint(rounded);
      setMarkers((all) => [
        ...all.slice(-(MAX_MARKERS - 1)).map((m) => ({ ...m, latest: false })),
        { key, ...rounded, probability: null, latest: true },
      ]);
      setResult({ shot, contextLabel: label, prediction: null, error: null, loading: true });
      try {
        const request = buildShotRequest(rounded, context, player);
        const prediction = await api.predict(request);
        setMarkers((all) => all.map((m) => (m.key === key ? { ...m, probability: prediction.probability } : m)));
        setResult({ shot, contextLabel: label, prediction, error: null, loading: false, request });
      } catch (err) {
        setMarkers((all) => all.filter((m) => m.key !== key));
        setResult({ shot, contextLabel: label, prediction: null, error: err, loading: false });
      }
    },
    [api, context, player, contextLabel],
  );

  async function drawHeatmap() {
    heatAbort.current?.abort();
    const controller = new AbortController();
    heatAbort.current = controller;
    const cells = heatmapGrid(stepFt);
    const label = contextLabel;
    const shots = cells.map((c) => buildShotRequest({ x: c.x, y: c.y }, context, player));
    setHeatProgress({ loading: true, done: 0, total: shots.length, error: null });
    try {
      const predictions = await predictMany(api, shots, {
        signal: controller.signal,
        purpose: "grid", // map cells, not shots: kept out of history and verification
        onProgress: (done, total) => setHeatProgress((s) => ({ ...s, done, total })),
      });
      setHeat({ cells, probabilities: predictions.map((p) => p.probability), label });
      setHeatProgress({ loading: false, done: shots.length, total: shots.length, error: null });
    } catch (err) {
      const aborted = err instanceof DOMException && err.name === "AbortError";
      setHeatProgress({ loading: false, done: 0, total: 0, error: aborted ? null : err });
    } finally {
      if (heatAbort.current === controller) heatAbort.current = null;
    }
  }

  const layer: HeatLayer | null = useMemo(() => {
    if (!heat) return null;
    const values = heat.cells.map((c, i) =>
      heatMode === "probability" ? heat.probabilities[i]! : heat.probabilities[i]! * c.value,
    );
    return { cells: heat.cells, values, domain: niceDomain(values, heatMode === "probability" ? 0.05 : 0.1) };
  }, [heat, heatMode]);

  const heatState: HeatmapState = {
    ...IDLE_HEAT,
    ...heatProgress,
    drawnFor: heat?.label ?? null,
    domain: layer?.domain ?? null,
    best: layer ? bestSpot(layer, heatMode) : null,
  };

  return (
    <div className="court-layout">
      <div className="court-layout__court">
        <Court
          markers={markers}
          heat={layer}
          cursor={cursor}
          onCursorChange={setCursor}
          onShoot={(p) => void shoot(p)}
        />
        <div className="court-toolbar">
          <span className="hint">Shooting as: {contextLabel}</span>
          {markers.length > 0 && (
            <button type="button" className="button button--small" onClick={() => setMarkers([])}>
              Clear shots
            </button>
          )}
        </div>
      </div>
      <div className="court-layout__side">
        <ResultPanel
          result={result}
          onRetry={() => lastPoint && void shoot(lastPoint)}
          onExplain={(request) => api.explain(request)}
        />
        <ShotContextForm
          context={context}
          onChange={setContext}
          players={players}
          playersLoading={playersLoading}
          playersError={playersError}
          onRetryPlayers={() => void loadPlayers()}
        />
        <HeatmapPanel
          state={heatState}
          mode={heatMode}
          stepFt={stepFt}
          onModeChange={setHeatMode}
          onStepChange={setStepFt}
          onDraw={() => void drawHeatmap()}
          onCancel={() => heatAbort.current?.abort()}
          onClear={() => setHeat(null)}
        />
      </div>
    </div>
  );
}

function bestSpot(layer: HeatLayer, mode: HeatMode): string | null {
  let best = -1;
  layer.values.forEach((v, i) => {
    if (best < 0 || v > layer.values[best]!) best = i;
  });
  const cell: HeatCell | undefined = layer.cells[best];
  if (!cell) return null;
  const spot = describeShot(cell);
  const value = layer.values[best]!;
  const what = mode === "probability" ? formatPercent(value) : `${value.toFixed(2)} pts`;
  return `Best spot: ${what} at ${formatFeet(spot.distanceFt)} (${spot.zoneBasic})`;
}
