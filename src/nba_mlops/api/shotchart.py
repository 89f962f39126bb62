"""A player's shots from the store against the model: the data of the analyst's view.

Each of a player's stored shots comes with what the champion expected of it: the shot
is scored with its point-in-time context from the store's history (the same context it
had when the model was trained or evaluated), so the expected rate of a zone is what the
model would have said before each shot, not a fit to the outcome. Per zone the answer
gives attempts, make rate, expected rate and points above expected (the shot's value
times made minus expected, summed), with the league's make rate from the same zone.

Reads filter the store's Parquet parts by player (and season) instead of reading
seasons whole; one player's scored shots and the league's zone table are kept in small
caches that a new data version or a new champion makes stale.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from nba_mlops import court
from nba_mlops.config import Settings
from nba_mlops.data.schema import GAME_EVENT_ID, GAME_ID, SHOT_ZONE_BASIC, TRAINING_COLUMNS
from nba_mlops.data.store import ShotStore, shot_keys
from nba_mlops.features.columns import CONTEXT_COLUMNS
from nba_mlops.features.serving import to_model_frame
from nba_mlops.features.snapshots import FeatureSnapshots, season_start

# What a shot chart reads from the store: what training reads, and the season's label.
CHART_COLUMNS: Final = (*TRAINING_COLUMNS, "season")
ZONES: Final = tuple(z for z in SHOT_ZONE_BASIC)
# The scored shots kept: at most 64 answers and 200,000 shots (a star's career is
# ~30,000 shots, 24 MB; a season ~2,000).
_CACHE_SIZE: Final = 64
_CACHE_ROWS: Final = 200_000


class PlayerNotFoundError(LookupError):
    """The store holds no shot of this player (in the seasons asked for)."""


@dataclass(frozen=True)
class ZoneFigures:
    zone: str
    attempts: int
    makes: int
    make_rate: float | None
    expected_rate: float | None
    points_above_expected: float | None
    league_attempts: int
    league_make_rate: float | None


@dataclass(frozen=True)
class ScopeFigures:
    scope: str  # "current", "season" or "career"
    season: str | None
    zones: list[ZoneFigures]
    total: ZoneFigures


def _is_text(kind: pa.DataType) -> bool:
    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _value(shot_type: pd.Series) -> np.ndarray:
    return np.where(shot_type.astype("object").to_numpy() == "3PT Field Goal", 3, 2)


def _zone(shots: pd.DataFrame) -> np.ndarray:
    zones = shots["shot_zone_basic"].astype("object")
    missing = zones.isna().to_numpy()
    if missing.any():
        derived = court.zone_basic(shots["loc_x"].to_numpy(), shots["loc_y"].to_numpy())
        zones = zones.where(~missing, pd.Series(derived, index=shots.index))
    return np.asarray(zones.to_numpy(), dtype=object)


class ShotChart:
    """Player shots and zone figures of one data directory, scored by a given model."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = ShotStore(settings)
        self.snapshots = FeatureSnapshots(settings)
        self._lock = threading.Lock()
        self._players: OrderedDict[tuple[Any, ...], pd.DataFrame] = OrderedDict()
        self._league: tuple[Any, pd.DataFrame] | None = None

    # --- what the store holds --------------------------------------------------------------
    def _stamp(self) -> tuple[int, int]:
        """Changes whenever an ingestion commits (the log only grows)."""
        try:
            stat = self.store.versions_path.stat()
        except FileNotFoundError:
            return (0, 0)
        return (stat.st_size, stat.st_mtime_ns)

    def seasons(self) -> list[str]:
        return self.store.seasons()

    def _files(self, seasons: Sequence[str] | None) -> list[str]:
        return [str(self.store.root / p.path) for p in self.store.parts(seasons) if p.rows]

    def _read_player(self, player_id: int, seasons: Sequence[str] | None) -> pd.DataFrame:
        """The player's stored shots. Text columns are read as the Parquet file's own
        dictionaries, not as a string per row (a third of the time of a season's file);
        a file is read at all only when its player ids hold the player, and a career's
        files are read two at a time."""

        def read(path: str) -> pa.Table | None:
            ids = pq.read_table(path, columns=["player_id"])["player_id"]
            if not pc.any(pc.equal(ids, player_id)).as_py():
                return None
            schema = pq.read_schema(path)
            text = [c for c in CHART_COLUMNS if _is_text(schema.field(c).type)]
            table = pq.read_table(path, columns=list(CHART_COLUMNS), read_dictionary=text)
            table = table.filter(pc.equal(table["player_id"], player_id))
            return table.combine_chunks().unify_dictionaries()

        files = self._files(seasons)
        if len(files) > 1:
            with ThreadPoolExecutor(max_workers=2) as pool:
                found = list(pool.map(read, files))
        else:
            found = [read(path) for path in files]
        tables = [t for t in found if t is not None and t.num_rows]
        if not tables:
            return pd.DataFrame(columns=list(CHART_COLUMNS))
        frame: pd.DataFrame = pa.concat_tables(tables, promote_options="permissive").to_pandas()
        for column in frame.columns:
            if isinstance(frame[column].dtype, pd.CategoricalDtype):
                frame[column] = frame[column].astype(object)
        return frame

    def _context(self, shots: pd.DataFrame) -> pd.DataFrame:
        """The stored history's context of ``shots`` (missing where it has none yet)."""
        columns = list(CONTEXT_COLUMNS)
        empty = pd.DataFrame(np.nan, index=shots.index, columns=columns, dtype="float32")
        snapshot = self.snapshots.current()
        if snapshot is None or shots.empty:
            return empty
        years = sorted(int(s) for s in np.unique(shots["season_start_year"].to_numpy()))
        found = snapshot.context(years, games=shots[GAME_ID].to_numpy("int64"))
        keys = shot_keys(shots[GAME_ID].to_numpy(), shots[GAME_EVENT_ID].to_numpy())
        found_keys = shot_keys(found[GAME_ID].to_numpy(), found[GAME_EVENT_ID].to_numpy())
        position = pd.Index(found_keys).get_indexer(pd.Index(keys))
        values = found.loc[:, columns].to_numpy("float32")
        out = np.full((len(shots), len(columns)), np.nan, dtype="float32")
        hit = position >= 0
        out[hit] = values[position[hit]]
        return pd.DataFrame(out, index=shots.index, columns=columns)

    # --- a player's shots, scored ---------------------------------------------------------
    def player_shots(
        self, player_id: int, season: str | None, model: Any, model_version: str | None
    ) -> pd.DataFrame:
        """The player's shots (of ``season``, or the career) in time order, with ``zone``,
        ``value`` and the model's ``expected`` (NaN without a model)."""
        key = (self._stamp(), model_version, player_id, season)
        career_key = (*key[:3], None)
        with self._lock:
            cached = self._players.get(key)
            career = self._players.get(career_key) if season is not None else None
            if cached is not None:
                self._players.move_to_end(key)
                return cached
        if career is not None:  # the career is scored already: a season is a slice of it
            shots = career[career["season"] == season].reset_index(drop=True)
            if shots.empty:
                raise PlayerNotFoundError(f"no shot of player {player_id} in {season}")
            return shots
        shots = self._read_player(player_id, [season] if season else None)
        if shots.empty:
            raise PlayerNotFoundError(
                f"no shot of player {player_id}" + (f" in {season}" if season else "")
            )
        order = np.lexsort(
            (
                shots[GAME_EVENT_ID].to_numpy(),
                shots[GAME_ID].to_numpy(),
                shots["game_date"].to_numpy(),
            )
        )
        shots = shots.iloc[order].reset_index(drop=True)
        shots["zone"] = _zone(shots)
        shots["value"] = _value(shots["shot_type"])
        expected = np.full(len(shots), np.nan)
        if model is not None:
            frame = pd.concat([shots, self._context(shots)], axis=1)
            expected = np.asarray(model.predict_proba(to_model_frame(frame))[:, 1], dtype="float64")
        shots["expected"] = expected
        with self._lock:
            self._players[key] = shots
            while len(self._players) > 1 and (
                len(self._players) > _CACHE_SIZE
                or sum(len(f) for f in self._players.values()) > _CACHE_ROWS
            ):
                self._players.popitem(last=False)
        return shots

    def shot_inputs(
        self,
        player_id: int,
        season: str | None,
        game_id: int,
        game_event_id: int,
        model: Any,
        model_version: str | None,
    ) -> tuple[pd.Series, pd.DataFrame]:
        """One of the player's shots and its model input row (with its stored context)."""
        shots = self.player_shots(player_id, season, model, model_version)
        match = np.flatnonzero(
            (shots[GAME_ID].to_numpy() == game_id)
            & (shots[GAME_EVENT_ID].to_numpy() == game_event_id)
        )
        if len(match) == 0:
            raise PlayerNotFoundError(
                f"no shot {game_id}/{game_event_id} of player {player_id}"
                + (f" in {season}" if season else "")
            )
        row = shots.iloc[[int(match[0])]]
        frame = pd.concat([row, self._context(row)], axis=1)
        return row.iloc[0], to_model_frame(frame)

    # --- the league's zones ---------------------------------------------------------------
    def league_zones(self) -> pd.DataFrame:
        """Attempts and makes by season and zone over every stored shot."""
        stamp = self._stamp()
        with self._lock:
            if self._league is not None and self._league[0] == stamp:
                return self._league[1]
        files = self._files(None)
        if not files:
            table = pd.DataFrame(columns=["season", "zone", "attempts", "makes"])
        else:
            # Grouped by Arrow: a fifth of the time of the same in pandas on 4 million
            # rows (ingestion fills every stored shot's zone from its location).
            counts = (
                ds.dataset(files, format="parquet")
                .to_table(columns=["season", "shot_zone_basic", "shot_made_flag"])
                .group_by(["season", "shot_zone_basic"])
                .aggregate([("shot_made_flag", "count"), ("shot_made_flag", "sum")])
                .to_pandas()
            )
            table = pd.DataFrame(
                {
                    "season": counts["season"].astype(str),
                    "zone": counts["shot_zone_basic"].astype(object),
                    "attempts": counts["shot_made_flag_count"].astype("int64"),
                    "makes": counts["shot_made_flag_sum"].astype("int64"),
                }
            )
        with self._lock:
            self._league = (stamp, table)
        return table

    # --- figures --------------------------------------------------------------------------
    def zone_figures(
        self, shots: pd.DataFrame, league: pd.DataFrame
    ) -> tuple[list[ZoneFigures], ZoneFigures]:
        """Per zone (and in total) figures of ``shots`` beside ``league``'s (same seasons)."""
        made = shots["shot_made_flag"].to_numpy("float64")
        expected = shots["expected"].to_numpy("float64")
        value = shots["value"].to_numpy("float64")
        zone = shots["zone"].to_numpy()
        league_by_zone = league.groupby("zone")[["attempts", "makes"]].sum()

        def figures(
            name: str, mask: np.ndarray, league_attempts: int, league_makes: int
        ) -> ZoneFigures:
            n = int(mask.sum())
            scored = mask & ~np.isnan(expected)
            return ZoneFigures(
                zone=name,
                attempts=n,
                makes=int(made[mask].sum()),
                make_rate=float(made[mask].mean()) if n else None,
                expected_rate=float(expected[scored].mean()) if scored.any() else None,
                points_above_expected=(
                    float((value[scored] * (made[scored] - expected[scored])).sum())
                    if scored.any()
                    else (0.0 if n == 0 else None)
                ),
                league_attempts=league_attempts,
                league_make_rate=league_makes / league_attempts if league_attempts else None,
            )

        league_attempts = league_by_zone["attempts"].to_dict()
        league_makes = league_by_zone["makes"].to_dict()
        zones = []
        for name in ZONES:
            attempts = int(league_attempts.get(name, 0))
            makes = int(league_makes.get(name, 0))
            if attempts == 0 and not (zone == name).any():
                continue
            zones.append(figures(name, zone == name, attempts, makes))
        total = figures(
            "All",
            np.ones(len(shots), dtype=bool),
            int(league_by_zone["attempts"].sum()),
            int(league_by_zone["makes"].sum()),
        )
        return zones, total

    def scopes(
        self, player_id: int, season: str | None, model: Any, model_version: str | None
    ) -> tuple[str, list[ScopeFigures]]:
        """The player's name and figures for the current season, ``season`` and career."""
        career = self.player_shots(player_id, None, model, model_version)
        league = self.league_zones()
        stored = self.seasons()
        latest = stored[-1] if stored else str(career["season"].max())
        wanted: list[tuple[str, str | None]] = [("current", latest)]
        if season is not None:
            wanted.append(("season", season))
        wanted.append(("career", None))
        out = []
        for scope, label in wanted:
            shots = career if label is None else career[career["season"] == label]
            seasons_league = league if label is None else league[league["season"] == label]
            zones, total = self.zone_figures(shots, seasons_league)
            out.append(ScopeFigures(scope=scope, season=label, zones=zones, total=total))
        name = str(career["player_name"].iloc[-1])
        return name, out


def season_label_ok(label: str) -> bool:
    """``2015-16``: a start year and the next year's last two digits."""
    try:
        start = season_start(label)
    except (ValueError, IndexError):
        return False
    return len(label) == 7 and label[4] == "-" and label[5:] == f"{(start + 1) % 100:02d}"
