"""The online feature table: the shot history as of the last ingest, for the API.

Every ingest publishes the store's history (:mod:`.snapshots`) into the application
database (``online_*`` tables, written in one transaction): each tally's sums per key
after its last stored shot, the league's counts of the last seasons, and the shots of
the latest games. The application database is the right home for it: every API replica
and the prediction service already hold a connection to it (SQLite on a laptop,
PostgreSQL in production), it is transactional (a request sees one ingest's state or
the next one's, never a mix) and it needs no server of its own. A serving process keeps
a copy in memory (:class:`OnlineFeatures`, about 100,000 small rows on the full data),
so a look-up is a few dictionary reads, and reloads it when the published data version
changes. Redis would serve reads as fast but keeps nothing durable here, and a feature
store library (Feast and the like) would add a registry and a materialisation job around
the same two tables.

What a request gets (``docs/model.md`` has the table):

* the league's expected rate of the shot: always (zone, action type, season);
* the shooter's skill and form as of the last ingest: with ``player_id``;
* the opponent's defence and the team's offence this season: with the teams and
  home/away (``team_id``, ``home_team``, ``away_team``, ``is_home``);
* the game so far: with ``game_id`` when that game's earlier shots were ingested (and
  ``game_event_id`` for the play-by-play gap to the previous shot).

Everything else stays missing, which the model was trained to handle.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import pandas as pd

from nba_mlops.config import Settings
from nba_mlops.data.schema import TEAM_ID_BY_ABBREVIATION
from nba_mlops.data.store import ShotStore
from nba_mlops.features.columns import SEQUENCE_COLUMNS, SKILL_COLUMNS
from nba_mlops.features.history import (
    LEAGUE_SEASONS,
    TALLIES,
    LeagueTable,
    elapsed_seconds,
    league_table,
    skill_features,
)
from nba_mlops.features.snapshots import FeatureSnapshots, Snapshot, season_label
from nba_mlops.log import get_logger

logger = get_logger(__name__)

KEY_SEPARATOR: Final = "|"
# Games of the latest season whose shots are published for the game-so-far context.
GAMES_KEPT: Final = 300
# Games whose shots one serving process keeps in memory.
GAMES_CACHED: Final = 512
_ZERO: Final = (0.0, 0.0, 0.0)

# A request's shots: ``serving.canonical_shots``' frame or ``serving.shot_columns``' arrays.
Shots = pd.DataFrame | Mapping[str, Any]


def _keys(frame: pd.DataFrame, columns: Sequence[str]) -> pd.Series:
    """One text key per row: the key columns' values joined by ``KEY_SEPARATOR``."""
    text = frame[columns[0]].astype("object").astype(str)
    for column in columns[1:]:
        text = text + KEY_SEPARATOR + frame[column].astype("object").astype(str)
    return text


# --- publishing -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Published:
    data_version: str
    latest_season: int
    tallies: int
    league: int
    game_shots: int
    games: int
    unchanged: bool = False

    def summary(self) -> str:
        if self.unchanged:
            return f"online features already hold data version {self.data_version[:8]}"
        return (
            f"online features of data version {self.data_version[:8]} (latest season "
            f"{season_label(self.latest_season)}): {self.tallies:,} shooter and team rows, "
            f"{self.games:,} recent games"
        )


def publish(settings: Settings, snapshot: Snapshot | None = None) -> Published:
    """Publish the store's current history into the application database."""
    from nba_mlops.db.migrate import migrated_database

    snapshot = snapshot or FeatureSnapshots(settings).refresh()
    last_season = max(snapshot.seasons, default=0)
    with migrated_database(settings) as db:
        return _publish(settings, db, snapshot, last_season)


def _publish(settings: Settings, db: Any, snapshot: Snapshot, last_season: int) -> Published:
    from nba_mlops.db import online as db_online

    current = db_online.read_snapshot(db)
    if (
        current is not None
        and current["data_version"] == snapshot.data_version
        and current["feature_version"] == snapshot.feature_version
    ):
        unchanged = Published(snapshot.data_version, last_season, 0, 0, 0, 0, unchanged=True)
        logger.info(unchanged.summary())
        return unchanged
    latest = snapshot.ledger().latest()
    tallies: list[dict[str, Any]] = []
    for tally in TALLIES:
        frame = latest.tally(tally.name)
        if frame.empty:
            continue
        rows = pd.DataFrame(
            {
                "tally": tally.name,
                "key": _keys(frame, tally.keys).to_numpy(),
                "season": frame["season_seen"].to_numpy("int64"),
                "n": frame["n"].to_numpy("float64"),
                "made": frame["made"].to_numpy("float64"),
                "excess": frame["excess"].to_numpy("float64"),
            }
        )
        tallies.extend(_records(rows))
    league = latest.league[latest.league["season"] >= last_season - LEAGUE_SEASONS]
    league_rows = _records(league.loc[:, ["season", "zone", "action", "n", "made"]])
    games = _latest_game_shots(settings, last_season)
    keep = sorted(games["game_id"].unique().tolist()) if len(games) else []
    already = db_online.stored_games(db)
    counts = games["game_id"].value_counts() if len(games) else pd.Series(dtype="int64")
    changed = [int(str(g)) for g, n in counts.items() if already.get(int(str(g))) != int(n)]
    new = games[games["game_id"].isin(changed)] if len(games) else games
    db_online.publish(
        db,
        {
            "data_version": snapshot.data_version,
            "feature_version": snapshot.feature_version,
            "latest_season": last_season,
        },
        tallies,
        league_rows,
        _records(new),
        keep,
    )
    published = Published(
        snapshot.data_version, last_season, len(tallies), len(league_rows), len(games), len(keep)
    )
    logger.info(published.summary())
    return published


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _latest_game_shots(settings: Settings, season: int) -> pd.DataFrame:
    """The shots of the latest season's last ``GAMES_KEPT`` games, as published."""
    columns = [
        "game_id",
        "game_event_id",
        "period",
        "minutes_remaining",
        "seconds_remaining",
        "player_id",
        "team_id",
        "shot_made_flag",
        "shot_type",
        "loc_x",
        "loc_y",
    ]
    shots = ShotStore(settings).read(columns=columns, seasons=[season_label(season)])
    if shots.empty:
        return pd.DataFrame(columns=["game_id"])
    games = np.sort(shots["game_id"].unique())[-GAMES_KEPT:]
    shots = shots[shots["game_id"].isin(games)]
    team = shots["team_id"].astype("Int64")
    return pd.DataFrame(
        {
            "game_id": shots["game_id"].to_numpy("int64"),
            "game_event_id": shots["game_event_id"].to_numpy("int64"),
            "period": shots["period"].to_numpy("int64"),
            "clock": (shots["minutes_remaining"] * 60 + shots["seconds_remaining"]).to_numpy(
                "int64"
            ),
            "player_id": shots["player_id"].to_numpy("int64"),
            "team_id": [None if pd.isna(t) else int(t) for t in team],
            "made": shots["shot_made_flag"].to_numpy("int64"),
            "three": (shots["shot_type"].astype("object") == "3PT Field Goal").to_numpy(),
            "distance": np.hypot(
                shots["loc_x"].to_numpy("float64"), shots["loc_y"].to_numpy("float64")
            )
            / 10.0,
        }
    )


# --- looking up -------------------------------------------------------------------------------
@dataclass
class OnlineFeatures:
    """One serving process's copy of the online tables (read-only once loaded)."""

    data_version: str
    latest_season: int
    tallies: dict[str, dict[str, tuple[float, float, float]]]
    league: pd.DataFrame
    db: Any = field(default=None, repr=False)  # for the shots of recent games
    _tables: dict[int, LeagueTable] = field(default_factory=dict, repr=False)
    _games: OrderedDict[int, np.ndarray | None] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def load(cls, db: Any) -> OnlineFeatures | None:
        """The published tables, or None when nothing was published yet."""
        from nba_mlops.db import online as db_online

        snapshot = db_online.read_snapshot(db)
        if snapshot is None:
            return None
        tallies: dict[str, dict[str, tuple[float, float, float]]] = {t.name: {} for t in TALLIES}
        for name, key, _season, n, made, excess in db_online.read_tallies(db):
            tallies.setdefault(name, {})[key] = (n, made, excess)
        league = pd.DataFrame(
            db_online.read_league(db), columns=["season", "zone", "action", "n", "made"]
        )
        return cls(snapshot["data_version"], int(snapshot["latest_season"]), tallies, league, db)

    def table(self, season: int) -> LeagueTable:
        with self._lock:
            found = self._tables.get(season)
            if found is None:
                found = self._tables[season] = league_table(self.league, season)
            return found

    def context(self, frame: Shots, records: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """Context columns for requests: ``frame`` as ``serving.canonical_shots`` or
        ``serving.shot_columns`` builds it from ``records``, whose ``game_id``,
        ``game_event_id``, ``team_id``, ``home_team`` and ``away_team`` (any may be
        absent) say which game and teams. Plain arrays and dictionaries: one request costs
        a few dictionary reads, no frame operations."""
        n = len(records)
        season = _numbers(frame, "season_start_year", n).astype("int64")
        zone = np.asarray(frame["shot_zone_basic"], dtype=object)
        action = np.asarray(frame["action_type"], dtype=object)
        prior = np.empty(n)
        expected = np.empty(n)
        for s in set(season.tolist()):
            rows = season == s
            prior[rows], expected[rows] = self.table(int(s)).rates(zone[rows], action[rows])

        player = _numbers(frame, "player_id", n)
        is_home = _numbers(frame, "is_home", n)
        team = np.array([_id(r.get("team_id")) for r in records], dtype="int64")
        home = np.array([_team(r.get("home_team")) for r in records], dtype="int64")
        away = np.array([_team(r.get("away_team")) for r in records], dtype="int64")
        opponent = np.where(is_home == 1, away, np.where(is_home == 0, home, -1))
        values = {
            "player": ["" if p != p else str(int(p)) for p in player],
            "zone": [str(z) for z in zone],
            "action": [str(a) for a in action],
            "season": [str(s) for s in season],
            "team": [str(t) if t >= 0 else "" for t in team],
            "opponent": [str(o) if o >= 0 else "" for o in opponent],
        }
        sums: dict[str, np.ndarray] = {}
        for tally in TALLIES:
            found = self.tallies.get(tally.name, {})
            out = np.zeros((n, 3))
            for i in range(n):
                parts = [values[k][i] for k in tally.keys]
                if "" in parts:
                    continue
                if tally.by_season and season[i] != self.latest_season:
                    continue  # a season the tables hold no shots of yet
                out[i] = found.get(KEY_SEPARATOR.join(parts), _ZERO)
            sums[tally.name] = out
        context = skill_features(sums, prior, expected)
        unknown_player = np.isnan(player)
        for column in SKILL_COLUMNS:
            context[column] = np.where(unknown_player, np.nan, context[column])
        context["opponent_allowed_excess"] = np.where(
            opponent < 0, np.nan, context["opponent_allowed_excess"]
        )
        context["team_season_excess"] = np.where(team < 0, np.nan, context["team_season_excess"])
        context.update(self._sequence(frame, records, team, player))
        return context

    # -- the game so far ------------------------------------------------------------------
    def _game_rows(self, game_ids: Sequence[int]) -> dict[int, np.ndarray | None]:
        """Each game's published shots as an array (None: the game is not published)."""
        from nba_mlops.db import online as db_online

        wanted = sorted(set(game_ids))
        found: dict[int, np.ndarray | None] = {}
        with self._lock:
            missing = [g for g in wanted if g not in self._games]
            for g in wanted:
                if g in self._games:
                    found[g] = self._games[g]
                    self._games.move_to_end(g)
        if missing and self.db is not None:
            rows = db_online.read_game_shots(self.db, missing)
            table = np.array(
                [[np.nan if v is None else float(v) for v in r] for r in rows], dtype="float64"
            ).reshape(-1, len(db_online.GAME_SHOT_COLUMNS))
            with self._lock:
                for g in missing:
                    shots = table[table[:, 0] == g] if len(table) else table
                    value = shots if len(shots) else None
                    found[g] = self._games[g] = value
                    while len(self._games) > GAMES_CACHED:
                        self._games.popitem(last=False)
        return found

    def _sequence(
        self,
        frame: Shots,
        records: Sequence[Mapping[str, Any]],
        team: np.ndarray,
        player: np.ndarray,
    ) -> dict[str, np.ndarray]:
        n = len(records)
        out = {c: np.full(n, np.nan) for c in SEQUENCE_COLUMNS}
        game = np.array([_id(r.get("game_id")) for r in records], dtype="int64")
        if not (game >= 0).any():
            return out
        event = np.array([_id(r.get("game_event_id")) for r in records], dtype="float64")
        event[event < 0] = np.nan
        period = _numbers(frame, "period", n)
        clock = _numbers(frame, "minutes_remaining", n) * 60 + _numbers(
            frame, "seconds_remaining", n
        )
        games = self._game_rows([int(g) for g in game[game >= 0]])
        for i in np.flatnonzero(game >= 0):
            rows = games.get(int(game[i]))
            if rows is None:
                continue
            values = game_sequence(rows, period[i], clock[i], event[i], player[i], float(team[i]))
            for column, value in values.items():
                out[column][i] = value
        return out


def game_sequence(
    rows: np.ndarray, period: float, clock: float, event: float, player: float, team: float
) -> dict[str, float]:
    """The game-so-far context of one shot from its game's stored shots (``rows``: the
    ``db.online.GAME_SHOT_COLUMNS`` as floats), as ``history`` computes it for a file:
    the shots before it in time order are those earlier in (period, clock, event id)."""
    r_event, r_period, r_clock = rows[:, 1], rows[:, 2], rows[:, 3]
    r_player, r_team, r_made, r_three, r_distance = (
        rows[:, 4],
        rows[:, 5],
        rows[:, 6],
        rows[:, 7],
        rows[:, 8],
    )
    event_key = np.inf if np.isnan(event) else event
    earlier = (r_period < period) | (
        (r_period == period) & ((r_clock > clock) | ((r_clock == clock) & (r_event < event_key)))
    )
    index = np.flatnonzero(earlier)
    # time order of the earlier shots, as the history sorts a game
    index = index[np.lexsort((r_event[index], -r_clock[index], r_period[index]))]
    elapsed = elapsed_seconds(np.array([period]), np.array([clock]))[0]
    result = {
        "game_prior_attempts": 0.0,
        "game_prior_makes": 0.0,
        "prev_shot_made": -1.0,
        "seconds_since_own_shot": -1.0,
        "seconds_since_game_shot": -1.0,
        "events_since_game_shot": -1.0,
        "game_shot_distance": -1.0,
        "game_shot_same_team": -1.0,
        "game_shot_same_player": -1.0,
        "game_shot_made": -1.0,
        "field_goal_margin": 0.0 if team >= 0 else np.nan,
    }
    if np.isnan(player):
        for name in ("game_prior_attempts", "game_prior_makes", "prev_shot_made"):
            result[name] = np.nan
        result["seconds_since_own_shot"] = np.nan
    if not len(index):
        return result
    last = index[-1]
    last_elapsed = elapsed_seconds(r_period[[last]], r_clock[[last]])[0]
    result["seconds_since_game_shot"] = max(elapsed - last_elapsed, 0.0)
    result["events_since_game_shot"] = event - r_event[last] if not np.isnan(event) else np.nan
    result["game_shot_distance"] = r_distance[last]
    if team < 0 or np.isnan(r_team[last]):
        result["game_shot_same_team"] = np.nan
    else:
        result["game_shot_same_team"] = float(r_team[last] == team)
    result["game_shot_same_player"] = float(r_player[last] == player)
    result["game_shot_made"] = r_made[last]
    points = r_made[index] * np.where(r_three[index] == 1, 3.0, 2.0)
    if team >= 0:
        mine_team = r_team[index] == team
        result["field_goal_margin"] = float(2 * points[mine_team].sum() - points.sum())
    if not np.isnan(player):
        mine = index[r_player[index] == player]
        result["game_prior_attempts"] = float(len(mine))
        result["game_prior_makes"] = float(np.nansum(r_made[mine]))
        if len(mine):
            own = mine[-1]
            result["prev_shot_made"] = r_made[own]
            own_elapsed = elapsed_seconds(r_period[[own]], r_clock[[own]])[0]
            result["seconds_since_own_shot"] = max(elapsed - own_elapsed, 0.0)
    return result


def _numbers(frame: Shots, column: str, n: int) -> np.ndarray:
    if column not in frame:
        return np.full(n, np.nan)
    values = frame[column]
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        return values
    numbers: np.ndarray = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(
        "float64", na_value=np.nan
    )
    return numbers


def _id(value: Any) -> int:
    """An NBA id from a request field (-1 when absent or not a whole number)."""
    if value is None or isinstance(value, bool):
        return -1
    try:
        number = int(value)
    except (TypeError, ValueError):
        return -1
    return number if number >= 0 and number == value else -1


def _team(abbreviation: Any) -> int:
    """The NBA team id of a team abbreviation (-1 when unknown)."""
    if not isinstance(abbreviation, str):
        return -1
    return TEAM_ID_BY_ABBREVIATION.get(abbreviation.strip().upper(), -1)
