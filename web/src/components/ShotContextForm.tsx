import { useId, useMemo, useState } from "react";
import type { Player, SeasonType } from "../api/types";
import {
  ACTION_TYPES,
  type HomeAway,
  PERIODS,
  type ShotContext,
  clampClock,
  periodMinutes,
} from "../shot-context";
import { ErrorNotice } from "./ErrorNotice";
import { Loading } from "./Spinner";

interface ShotContextFormProps {
  context: ShotContext;
  onChange: (context: ShotContext) => void;
  players: Player[];
  playersLoading: boolean;
  playersError: unknown;
  onRetryPlayers: () => void;
}

const MAX_OPTIONS = 500;

/** Filter players by any part of name or team, case and accent blind. */
export function filterPlayers(players: Player[], query: string): Player[] {
  const q = fold(query.trim());
  if (!q) return players;
  return players.filter((p) => fold(`${p.player_name} ${p.team_name ?? ""}`).includes(q));
}

function fold(text: string): string {
  return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
}

/** Who shoots, and the game situation. */
export function ShotContextForm({
  context,
  onChange,
  players,
  playersLoading,
  playersError,
  onRetryPlayers,
}: ShotContextFormProps) {
  const [query, setQuery] = useState("");
  const ids = {
    search: useId(),
    player: useId(),
    period: useId(),
    minutes: useId(),
    seconds: useId(),
    action: useId(),
    season: useId(),
    date: useId(),
    count: useId(),
  };
  const filtered = useMemo(() => filterPlayers(players, query), [players, query]);
  const selected = players.find((p) => p.player_id === context.playerId) ?? null;
  // Keep the chosen player visible even when the filter would hide them.
  const options = useMemo(() => {
    const list = filtered.slice(0, MAX_OPTIONS);
    if (selected && !list.includes(selected)) list.unshift(selected);
    return list;
  }, [filtered, selected]);

  const set = (patch: Partial<ShotContext>) => onChange(clampClock({ ...context, ...patch }));
  const maxMinutes = periodMinutes(context.period);

  function onSearch(value: string) {
    setQuery(value);
    // One match: choose it, so typing a name is enough.
    const matches = filterPlayers(players, value);
    if (value.trim() && matches.length === 1) set({ playerId: matches[0]!.player_id });
  }

  return (
    <fieldset className="panel context-form">
      <legend className="panel__title">Shooter and situation</legend>

      <div className="field">
        <label htmlFor={ids.search}>Find a player</label>
        <input
          id={ids.search}
          type="search"
          placeholder="Name or team"
          autoComplete="off"
          value={query}
          aria-describedby={ids.count}
          onChange={(e) => onSearch(e.target.value)}
        />
        <span id={ids.count} className="hint" aria-live="polite">
          {playersLoading
            ? "Loading players…"
            : query
              ? `${filtered.length} of ${players.length} players match`
              : `${players.length} players, most shots first`}
        </span>
      </div>

      <div className="field">
        <label htmlFor={ids.player}>Player</label>
        <select
          id={ids.player}
          data-testid="player-select"
          value={context.playerId ?? ""}
          onChange={(e) => set({ playerId: e.target.value === "" ? null : Number(e.target.value) })}
        >
          <option value="">Any player (league average)</option>
          {options.map((p) => (
            <option key={p.player_id} value={p.player_id}>
              {p.player_name}
              {p.team_name ? ` — ${p.team_name}` : ""}
              {p.shots ? ` (${p.shots.toLocaleString()} shots)` : ""}
            </option>
          ))}
        </select>
        {playersLoading && <Loading text="Loading players…" />}
        <ErrorNotice error={playersError} onRetry={onRetryPlayers} testId="players-error" />
      </div>

      <div className="field">
        <label htmlFor={ids.action}>Shot type</label>
        <select id={ids.action} value={context.actionType} onChange={(e) => set({ actionType: e.target.value })}>
          {ACTION_TYPES.map((a) => (
            <option key={a.value} value={a.value}>
              {a.label}
            </option>
          ))}
        </select>
      </div>

      <div className="field-row">
        <div className="field">
          <label htmlFor={ids.period}>Period</label>
          <select id={ids.period} value={context.period} onChange={(e) => set({ period: Number(e.target.value) })}>
            {PERIODS.map((p) => (
              <option key={p.value} value={p.value}>
                {p.label}
              </option>
            ))}
          </select>
        </div>
        <div className="field field--clock">
          <span className="label" id={`${ids.minutes}-label`}>
            Clock left
          </span>
          <div className="clock" role="group" aria-labelledby={`${ids.minutes}-label`}>
            <input
              id={ids.minutes}
              type="number"
              inputMode="numeric"
              min={0}
              max={maxMinutes}
              aria-label="Minutes left in the period"
              value={context.minutes}
              onChange={(e) => set({ minutes: Number(e.target.value) })}
            />
            <span aria-hidden="true">:</span>
            <input
              id={ids.seconds}
              type="number"
              inputMode="numeric"
              min={0}
              max={59}
              aria-label="Seconds left in the minute"
              value={String(context.seconds).padStart(2, "0")}
              onChange={(e) => set({ seconds: Number(e.target.value) })}
            />
          </div>
        </div>
      </div>

      <div className="field-row">
        <div className="field">
          <label htmlFor={ids.season}>Season</label>
          <select
            id={ids.season}
            value={context.seasonType}
            onChange={(e) => set({ seasonType: e.target.value as SeasonType })}
          >
            <option value="Regular Season">Regular season</option>
            <option value="Playoffs">Playoffs</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.date}>Game date</label>
          <input
            id={ids.date}
            type="date"
            min="1996-10-01"
            value={context.gameDate}
            aria-describedby={`${ids.date}-hint`}
            onChange={(e) => set({ gameDate: e.target.value })}
          />
          <span id={`${ids.date}-hint`} className="visually-hidden">
            Optional; sets the season the model assumes. Today when empty.
          </span>
        </div>
      </div>

      <fieldset className="field radio-group">
        <legend className="label">Shooter's team plays</legend>
        {(["home", "away", "unknown"] as HomeAway[]).map((value) => (
          <label key={value} className="radio">
            <input
              type="radio"
              name="home-away"
              value={value}
              checked={context.homeAway === value}
              onChange={() => set({ homeAway: value })}
            />
            {value === "home" ? "At home" : value === "away" ? "Away" : "Not set"}
          </label>
        ))}
      </fieldset>
    </fieldset>
  );
}
