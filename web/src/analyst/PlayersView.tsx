import { useCallback, useEffect, useState } from "react";
import type { ApiClient } from "../api/client";
import type { ChartShot, Player, PlayerShots, PlayerZones, ShotExplanation } from "../api/types";
import { ErrorNotice } from "../components/ErrorNotice";
import { Loading } from "../components/Spinner";
import { ExplanationBars } from "./ExplanationBars";
import { PlayerChart, shotKey } from "./PlayerChart";
import { ZoneTable } from "./ZoneTable";

interface PanelProps {
  api: ApiClient;
  players: Player[];
  initial: number | null;
  side: string;
}

/** One player: pick, season, shot chart, zones, and the explanation of a clicked shot. */
export function PlayerPanel({ api, players, initial, side }: PanelProps) {
  const [playerId, setPlayerId] = useState<number | null>(initial);
  const [season, setSeason] = useState<string | null>(null);
  const [zones, setZones] = useState<PlayerZones | null>(null);
  const [shots, setShots] = useState<PlayerShots | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [selected, setSelected] = useState<ChartShot | null>(null);
  const [explained, setExplained] = useState<ShotExplanation | null>(null);
  const [explaining, setExplaining] = useState(false);

  useEffect(() => setPlayerId((current) => current ?? initial), [initial]);

  const load = useCallback(
    async (id: number, chosen: string | null) => {
      setLoading(true);
      setError(null);
      setSelected(null);
      setExplained(null);
      try {
        const found = await api.playerZones(id, chosen);
        const pick = chosen ?? found.seasons.at(-1) ?? null;
        const withSeason = chosen ? found : await api.playerZones(id, pick);
        setZones(withSeason);
        setSeason(pick);
        setShots(await api.playerShots(id, pick));
      } catch (err) {
        setZones(null);
        setShots(null);
        setError(err);
      } finally {
        setLoading(false);
      }
    },
    [api],
  );

  useEffect(() => {
    if (playerId !== null) void load(playerId, null);
  }, [playerId, load]);

  async function explain(shot: ChartShot) {
    if (playerId === null) return;
    setSelected(shot);
    setExplained(null);
    setExplaining(true);
    try {
      setExplained(await api.shotExplanation(playerId, shot.game_id, shot.game_event_id, shot.season));
    } catch (err) {
      setError(err);
    } finally {
      setExplaining(false);
    }
  }

  const selectId = `player-${side}`;
  const seasonId = `season-${side}`;
  return (
    <section className="panel player-panel" aria-label={`Player ${side}`} data-testid={`player-panel-${side}`} aria-busy={loading}>
      <div className="player-panel__pickers">
        <label htmlFor={selectId}>Player</label>
        <select
          id={selectId}
          value={playerId ?? ""}
          onChange={(e) => {
            setSeason(null);
            setPlayerId(e.target.value ? Number(e.target.value) : null);
          }}
        >
          <option value="">Choose a player…</option>
          {players.map((p) => (
            <option key={p.player_id} value={p.player_id}>
              {p.player_name}
            </option>
          ))}
        </select>
        {zones && (
          <>
            <label htmlFor={seasonId}>Season</label>
            <select
              id={seasonId}
              value={season ?? ""}
              onChange={(e) => playerId !== null && void load(playerId, e.target.value || null)}
            >
              {zones.seasons.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </>
        )}
      </div>
      {loading && <Loading text="Loading the player's shots…" />}
      <ErrorNotice error={error} onRetry={() => playerId !== null && void load(playerId, season)} testId={`player-error-${side}`} />
      {shots && zones && !loading && (
        <>
          <p className="muted" data-testid={`player-summary-${side}`}>
            {zones.player_name}, {season}: {shots.total} shots. ○ made, × missed, over the model's expected rate
            from each spot (blue low, red high). Click a shot to see why the model rates it so.
          </p>
          <PlayerChart
            shots={shots.shots}
            selected={selected ? shotKey(selected) : null}
            onSelect={(s) => void explain(s)}
            label={`${zones.player_name}'s shots in ${season}`}
          />
          {selected && (
            <div className="player-panel__why" data-testid={`why-${side}`}>
              <h3>
                Why {explained?.expected != null ? `${(explained.expected * 100).toFixed(0)}%` : "…"}: {selected.action_type},{" "}
                {selected.zone} ({selected.made ? "made" : "missed"})
              </h3>
              {explaining && <Loading text="Explaining…" />}
              {explained && <ExplanationBars explanation={explained.explanation} />}
            </div>
          )}
          {zones.scopes
            .filter((scope, _, all) => scope.scope !== "season" || !all.some((o) => o.scope === "current" && o.season === scope.season))
            .map((scope) => (
              <ZoneTable key={scope.scope} scope={scope} />
            ))}
        </>
      )}
    </section>
  );
}

/** Two players side by side, from the players the champion was trained on. */
export function PlayersView({ api }: { api: ApiClient }) {
  const [players, setPlayers] = useState<Player[]>([]);
  const [error, setError] = useState<unknown>(null);

  useEffect(() => {
    api
      .players(200)
      .then(setPlayers)
      .catch(setError);
  }, [api]);

  return (
    <div className="players-view">
      <ErrorNotice error={error} testId="players-error" />
      <div className="players-view__pair">
        <PlayerPanel api={api} players={players} initial={players[0]?.player_id ?? null} side="left" />
        <PlayerPanel api={api} players={players} initial={null} side="right" />
      </div>
    </div>
  );
}
