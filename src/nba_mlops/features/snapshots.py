"""The shot store's history, kept on disk beside it and current with every ingest.

For one data version of the store this folder holds every stored shot's context (one
Parquet file per season, with the shot's keys) and the history's ledgers, which are its
checkpoints at the start of every season (see :class:`~.history.HistoryState`):

    store/features/CURRENT                        which snapshot is current (JSON)
    store/features/<snapshot>/context/<season>.parquet
    store/features/<snapshot>/ledger/<name>.parquet
    store/features/<snapshot>/manifest.json        data version, feature version, parts

An ingest that appends newer shots recomputes only from the first season it touched,
starting from the ledgers; anything else (a new feature version, a store rebuilt)
recomputes everything. A snapshot is written into a new folder and made current by
replacing ``CURRENT`` atomically, so a crash leaves the previous snapshot in use.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from nba_mlops.config import Settings
from nba_mlops.data.schema import GAME_EVENT_ID, GAME_ID
from nba_mlops.data.store import ShotStore, keys_in, shot_keys, sync_folder
from nba_mlops.features.columns import CONTEXT_COLUMNS
from nba_mlops.features.history import (
    TALLIES,
    HistoryState,
    compute_context,
)
from nba_mlops.log import get_logger

logger = get_logger(__name__)

# Bump whenever the history computation changes what it writes: every snapshot of an
# older feature version is then recomputed from scratch.
FEATURE_VERSION: Final = "3"
# Store columns the history reads.
HISTORY_INPUT_COLUMNS: Final = (
    "game_id",
    "game_event_id",
    "player_id",
    "team_id",
    "period",
    "minutes_remaining",
    "seconds_remaining",
    "action_type",
    "shot_type",
    "shot_zone_basic",
    "loc_x",
    "loc_y",
    "shot_made_flag",
    "home_team",
    "away_team",
    "season_start_year",
    "is_home",
)
_CURRENT: Final = "CURRENT"
_MANIFEST: Final = "manifest.json"


def season_label(start_year: int) -> str:
    return f"{start_year}-{(start_year + 1) % 100:02d}"


def season_start(label: str) -> int:
    return int(label[:4])


@dataclass(frozen=True)
class Snapshot:
    """One computed history of the store (a folder under ``store/features``)."""

    path: Path
    data_version: str
    feature_version: str
    parts: tuple[str, ...]
    seasons: tuple[int, ...]
    rows: int
    seconds: float

    def context(
        self, seasons: Sequence[int] | None = None, games: npt.ArrayLike | None = None
    ) -> pd.DataFrame:
        """Stored shots' context with their ``game_id``/``game_event_id`` (of ``games``
        only, when given: read with the filter pushed down to the files)."""
        wanted = self.seasons if seasons is None else [s for s in seasons if s in self.seasons]
        files = [self.path / "context" / f"{s}.parquet" for s in wanted]
        if not files:
            return _empty_context()
        dataset = ds.dataset([str(f) for f in files], format="parquet")
        if games is None:  # one Arrow table for every season: no concatenation in pandas
            whole: pd.DataFrame = dataset.to_table().to_pandas()
            return whole
        chosen = pc.field(GAME_ID).isin(pa.array(np.unique(np.asarray(games, dtype="int64"))))
        table = dataset.to_table(filter=chosen)
        frame: pd.DataFrame = table.to_pandas()
        return frame

    def ledger(self) -> HistoryState:
        """The ledgers: checkpoints of the history at the start of every season."""
        folder = self.path / "ledger"
        tallies = {t.name: _read(folder / f"{t.name}.parquet") for t in TALLIES}
        return HistoryState(tallies, _read(folder / "league.parquet"))


def _read(path: Path) -> pd.DataFrame:
    frame = pd.read_parquet(path)
    for column in frame.columns:  # text keys come back as Arrow strings: compare as objects
        if frame[column].dtype == "string" or str(frame[column].dtype) == "str":
            frame[column] = frame[column].astype("object")
    return frame


def _empty_context() -> pd.DataFrame:
    frame = pd.DataFrame(
        {GAME_ID: pd.Series(dtype="int64"), GAME_EVENT_ID: pd.Series(dtype="int64")}
    )
    for column in CONTEXT_COLUMNS:
        frame[column] = pd.Series(dtype="float32")
    return frame


class FeatureSnapshots:
    """The snapshots of one data directory's store."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.store_dir / "features"
        self.store = ShotStore(settings)

    # --- reading ---------------------------------------------------------------------------
    def current(self) -> Snapshot | None:
        """The snapshot in use (possibly behind the store), or None."""
        pointer = self.root / _CURRENT
        try:
            name = json.loads(pointer.read_text(encoding="utf-8"))["snapshot"]
            manifest = json.loads((self.root / name / _MANIFEST).read_text(encoding="utf-8"))
        except (OSError, ValueError, KeyError):
            return None
        return Snapshot(
            path=self.root / name,
            data_version=manifest["data_version"],
            feature_version=manifest["feature_version"],
            parts=tuple(manifest["parts"]),
            seasons=tuple(manifest["seasons"]),
            rows=int(manifest["rows"]),
            seconds=float(manifest.get("seconds", 0.0)),
        )

    def is_current(self, snapshot: Snapshot | None) -> bool:
        return (
            snapshot is not None
            and snapshot.feature_version == FEATURE_VERSION
            and snapshot.data_version == self.store.data_version().hash
        )

    # --- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def refresh(self) -> Snapshot:
        """The snapshot of what the store holds now, computed if it is not there yet."""
        with self._lock():
            previous = self.current()
            if self.is_current(previous):
                assert previous is not None
                return previous
            started = time.perf_counter()
            with self.store.lock():  # a consistent view: parts, version and rows together
                parts = self.store.parts()
                version = self.store.data_version().hash
                from_season = self._first_changed_season(previous, parts)
                labels = sorted({p.season for p in parts if p.rows})
                if from_season is not None:
                    labels = [s for s in labels if season_start(s) >= from_season]
                shots = self.store.read(columns=list(HISTORY_INPUT_COLUMNS), seasons=labels)
            ledger = previous.ledger() if (previous and from_season is not None) else None
            context, after = compute_context(shots, ledger)
            seasons_now = sorted({season_start(p.season) for p in parts if p.rows})
            snapshot = self._write(
                previous if from_season is not None else None,
                shots,
                context,
                after,
                version=version,
                parts=[p.path for p in parts],
                seasons=seasons_now,
                seconds=time.perf_counter() - started,
            )
            logger.info(
                "history of data version %s: %d shots, %s (%.1f s)",
                version[:8],
                snapshot.rows,
                "recomputed from season " + season_label(from_season)
                if from_season is not None
                else "computed from scratch",
                snapshot.seconds,
            )
            return snapshot

    def _first_changed_season(self, previous: Snapshot | None, parts: Sequence[Any]) -> int | None:
        """The first season whose shots changed since ``previous`` (None: recompute all)."""
        if previous is None or previous.feature_version != FEATURE_VERSION:
            return None
        known = set(previous.parts)
        current = [p.path for p in parts]
        if not known <= set(current):  # parts disappeared: the store was rebuilt
            return None
        added = [p for p in parts if p.path not in known and p.rows]
        if not added:
            return max(previous.seasons, default=0) + 1
        return min(season_start(p.season) for p in added)

    def _write(
        self,
        previous: Snapshot | None,
        shots: pd.DataFrame,
        context: pd.DataFrame,
        after: HistoryState,
        *,
        version: str,
        parts: list[str],
        seasons: list[int],
        seconds: float,
    ) -> Snapshot:
        name = f"{version[:12]}-f{FEATURE_VERSION}-{uuid.uuid4().hex[:8]}"
        temp = self.root / f".tmp-{name}"
        (temp / "context").mkdir(parents=True)
        (temp / "ledger").mkdir()
        computed = sorted(int(s) for s in np.unique(shots["season_start_year"].to_numpy()))
        for season in seasons:
            target = temp / "context" / f"{season}.parquet"
            if season in computed:
                rows = shots["season_start_year"].to_numpy() == season
                frame = context.loc[rows].astype("float32")
                frame.insert(0, GAME_EVENT_ID, shots.loc[rows, GAME_EVENT_ID].to_numpy("int64"))
                frame.insert(0, GAME_ID, shots.loc[rows, GAME_ID].to_numpy("int64"))
                _write_parquet(frame.reset_index(drop=True), target)
            elif (
                previous is not None and (previous.path / "context" / f"{season}.parquet").exists()
            ):
                os.link(previous.path / "context" / f"{season}.parquet", target)
            else:
                raise RuntimeError(f"no history for season {season_label(season)}")
        for tally, frame in after.tallies.items():
            _write_parquet(frame, temp / "ledger" / f"{tally}.parquet")
        _write_parquet(after.league, temp / "ledger" / "league.parquet")
        rows = sum(pq.ParquetFile(f).metadata.num_rows for f in (temp / "context").iterdir())
        manifest = {
            "data_version": version,
            "feature_version": FEATURE_VERSION,
            "parts": parts,
            "seasons": seasons,
            "rows": rows,
            "seconds": round(seconds, 2),
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (temp / _MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        _fsync_tree(temp)
        final = self.root / name
        temp.rename(final)
        pointer = self.root / f".{_CURRENT}.tmp"
        pointer.write_text(json.dumps({"snapshot": name}), encoding="utf-8")
        with pointer.open("rb") as handle:
            os.fsync(handle.fileno())
        pointer.replace(self.root / _CURRENT)
        sync_folder(self.root)
        self._remove_others(keep=name)
        snapshot = self.current()
        assert snapshot is not None
        return snapshot

    def _remove_others(self, keep: str) -> None:
        for path in self.root.iterdir():
            if path.is_dir() and path.name != keep:
                shutil.rmtree(path, ignore_errors=True)


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path, compression="zstd")


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_file():
            with path.open("rb") as handle:
                os.fsync(handle.fileno())
        else:
            sync_folder(path)
    sync_folder(root)


def context_for(settings: Settings, shots: pd.DataFrame) -> pd.DataFrame:
    """The point-in-time context of any shots (canonical rows, such as a batch file's),
    against the store: each shot's context comes from the stored shots and the given
    ones before it, never from later ones or itself. A shot the store already holds
    (same game and event id) is the stored shot, as ingestion would have it; the first
    of repeated rows counts.

    Stored shots before the first new one keep their stored context; from that shot's
    season on, the history is recomputed over the store's shots and the new ones from the
    ledger's checkpoint, which costs a season of the store at most for new games of the
    latest season, and nothing but the new rows for a new season."""
    columns = list(CONTEXT_COLUMNS)
    if shots.empty:
        return pd.DataFrame({c: pd.Series(dtype="float32") for c in columns}, index=shots.index)
    snapshot = FeatureSnapshots(settings).refresh()
    keys = shot_keys(shots[GAME_ID].to_numpy(), shots[GAME_EVENT_ID].to_numpy())
    seasons = shots["season_start_year"].to_numpy("int64")
    present = sorted(int(s) for s in np.unique(seasons))
    # The snapshot holds every stored shot of its seasons with its context: its keys say
    # which shots are stored. Keys are looked up by a sorted search (the whole store's
    # 4.1M against as many: a fraction of hashing them).
    table = snapshot.context(present)
    values = table.loc[:, columns]
    value_keys = shot_keys(table[GAME_ID].to_numpy(), table[GAME_EVENT_ID].to_numpy())
    order = np.argsort(value_keys, kind="stable")
    new = ~keys_in(keys, value_keys[order])
    if new.any():  # the first of repeated new rows counts
        new[np.flatnonzero(new)[pd.Series(keys[new]).duplicated().to_numpy()]] = False
        first = int(seasons[new].min())
        labels = [season_label(s) for s in snapshot.seasons if first <= s <= max(present)]
        history = ShotStore(settings).read(columns=list(HISTORY_INPUT_COLUMNS), seasons=labels)
        union = pd.concat([history, shots.loc[new, list(HISTORY_INPUT_COLUMNS)]], ignore_index=True)
        recomputed, _ = compute_context(union, snapshot.ledger())
        union_keys = shot_keys(union[GAME_ID].to_numpy(), union[GAME_EVENT_ID].to_numpy())
        # stored shots of earlier seasons
        unchanged = ~keys_in(value_keys, np.sort(union_keys))
        values = pd.concat(
            [values[unchanged], recomputed.loc[:, columns].astype("float32")],
            ignore_index=True,
        )
        value_keys = np.concatenate([value_keys[unchanged], union_keys])
        order = np.argsort(value_keys, kind="stable")
    ordered = value_keys[order]
    found = keys_in(keys, ordered)
    if not found.all():  # cannot happen: every shot is stored or recomputed
        raise LookupError(f"{int((~found).sum())} shots got no context")
    position = order[np.searchsorted(ordered, keys)]
    result = values.iloc[position]
    result.index = shots.index
    return result
