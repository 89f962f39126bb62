"""The append-only shot store: Parquet parts partitioned by season, versioned by a log.

Layout under ``settings.shots_dir``: ``season=2022-23/part-<uuid>.parquet``. A part
belongs to the store only once the ingestion that wrote it is recorded in
``store/versions.jsonl``; that append is the commit. Parts are written into a hidden
temporary folder, made durable, moved into place with ``os.replace`` (and the move made
durable by syncing the folder) and committed last, so an ingestion that fails at any point
leaves the previous store as it was (moved parts are taken back, and parts a hard crash
left uncommitted are removed by the next ingestion).

A commit is one JSON line ending in a newline, synced with its folder before the ingestion
reports success. A crash, a full disk or a power loss during the append can leave a torn
last line; it never committed. Before the next commit (and before uncommitted parts are
removed) :meth:`ShotStore.repair_log` cuts the torn tail off, keeping its bytes beside
the log as ``versions.jsonl.torn-<time>``, so that the next record starts on a line of its
own instead of being glued onto the torn one and lost.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from nba_mlops.config import Settings
from nba_mlops.data.schema import (
    CANONICAL_DTYPES,
    GAME_EVENT_ID,
    GAME_ID,
    KEY_COLUMNS,
    STORE_COLUMNS,
)
from nba_mlops.data.validation import empty_shots_frame
from nba_mlops.log import get_logger

logger = get_logger(__name__)

VERSIONS_FILE: Final = "versions.jsonl"
_TEMP_PREFIX: Final = ".tmp-"
# One integer per shot key; event ids stay below 2**20 (the schema caps them at 999,999).
_EVENT_BITS: Final = 20
EVENT_BITS: Final = _EVENT_BITS  # a key's game id is ``key >> EVENT_BITS``


def shot_keys(game_ids: npt.ArrayLike, event_ids: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """One int64 per (game id, game event id), for fast set operations."""
    games = np.asarray(game_ids, dtype=np.int64)
    events = np.asarray(event_ids, dtype=np.int64)
    return (games << _EVENT_BITS) | events


def keys_in(keys: npt.NDArray[np.int64], ordered: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Which of ``keys`` are among ``ordered`` (sorted keys): ``numpy.isin`` by a sorted
    search, which for the whole store's 4.1M keys against as many takes a tenth of the
    time of numpy's hashing."""
    if not len(ordered):
        return np.zeros(len(keys), dtype=bool)
    where = np.minimum(np.searchsorted(ordered, keys), len(ordered) - 1)
    found: npt.NDArray[np.bool_] = ordered[where] == keys
    return found


@dataclass(frozen=True)
class DataVersion:
    """What the store holds: a content hash of its parts, and its row counts."""

    hash: str
    rows: int
    rows_by_season: dict[str, int]
    created_at: dt.datetime | None

    @property
    def short(self) -> str:
        """The first 8 characters of the hash, for logs and summaries."""
        return self.hash[:8]


@dataclass(frozen=True)
class Part:
    """One committed Parquet file of the store."""

    path: str  # relative to the shots folder, e.g. "season=2022-23/part-<uuid>.parquet"
    season: str
    rows: int
    sha256: str


@dataclass
class _Log:
    parts: list[Part] = field(default_factory=list)
    last: dict[str, Any] | None = None


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file's content, in hex (read a megabyte at a time): what the
    store's parts and the ingest log record of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write_part(shots: pd.DataFrame, path: Path) -> None:
    """Write one season's new rows as a Parquet file (and make it durable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(shots, preserve_index=False)
    pq.write_table(table, path, compression="zstd")
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def sync_folder(path: Path) -> None:
    """Make the creation, removal or renaming of entries in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _committed_length(data: bytes) -> int:
    """How many leading bytes of the log are whole records (the rest is a torn tail).

    A last line without its newline still counts when it is a complete JSON record: the
    write finished and only the newline is missing.
    """
    end = data.rfind(b"\n") + 1
    tail = data[end:]
    if tail.strip():
        try:
            if isinstance(json.loads(tail), dict):
                return len(data)
        except ValueError:
            pass
    return end


def version_of(parts: Sequence[Part], created_at: dt.datetime | None) -> DataVersion:
    """The data version of a set of parts: the hash of their sorted content hashes."""
    digest = hashlib.sha256("\n".join(sorted(p.sha256 for p in parts)).encode())
    by_season: dict[str, int] = {}
    for part in parts:
        by_season[part.season] = by_season.get(part.season, 0) + part.rows
    return DataVersion(
        hash=digest.hexdigest(),
        rows=sum(by_season.values()),
        rows_by_season=dict(sorted(by_season.items())),
        created_at=created_at,
    )


class ShotStore:
    """Read and append the season-partitioned shot store of one data directory."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.shots_dir
        self.versions_path = settings.store_dir / VERSIONS_FILE

    # --- reading ----------------------------------------------------------------------------
    def _log(self) -> _Log:
        log = _Log()
        if not self.versions_path.exists():
            return log
        with self.versions_path.open(encoding="utf-8", errors="replace") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    # Only a crash while appending leaves a broken line: it never committed.
                    logger.warning("%s line %d is incomplete", self.versions_path, number)
                    continue
                log.parts.extend(Part(**p) for p in record.get("parts", []))
                log.last = record
        return log

    def parts(self, seasons: Sequence[str] | None = None) -> list[Part]:
        """The committed parts, optionally only those of some seasons."""
        parts = self._log().parts
        if seasons is not None:
            wanted = set(seasons)
            parts = [p for p in parts if p.season in wanted]
        return parts

    def history(self) -> list[dict[str, Any]]:
        """Every ingestion record, oldest first."""
        if not self.versions_path.exists():
            return []
        records = []
        for line in self.versions_path.read_text(encoding="utf-8", errors="replace").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                records.append(json.loads(line))
        return records

    def seasons(self) -> list[str]:
        """Seasons with at least one stored shot, oldest first."""
        return sorted({p.season for p in self.parts() if p.rows})

    def read(
        self, columns: Sequence[str] | None = None, seasons: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """The stored shots (canonical columns and dtypes), optionally some columns/seasons."""
        wanted = list(columns) if columns is not None else list(STORE_COLUMNS)
        unknown = set(wanted) - set(STORE_COLUMNS)
        if unknown:
            raise KeyError(f"not store columns: {sorted(unknown)}")
        files = [str(self.root / p.path) for p in self.parts(seasons) if p.rows]
        if not files:
            return empty_shots_frame().loc[:, wanted]
        table = ds.dataset(files, format="parquet").to_table(columns=wanted)
        frame: pd.DataFrame = table.to_pandas()
        # Parquet keeps timestamps in milliseconds at best: restore the canonical dtypes.
        changed = {
            c: CANONICAL_DTYPES[c] for c in wanted if str(frame[c].dtype) != CANONICAL_DTYPES[c]
        }
        if changed:
            frame = frame.astype(changed)
        return frame

    def keys(self, seasons: Sequence[str] | None = None) -> pd.DataFrame:
        """``game_id`` and ``game_event_id`` of every stored shot."""
        return self.read(columns=list(KEY_COLUMNS), seasons=seasons)

    def key_array(self, seasons: Sequence[str] | None = None) -> npt.NDArray[np.int64]:
        """Stored keys as :func:`shot_keys` integers."""
        keys = self.keys(seasons)
        return shot_keys(keys[GAME_ID].to_numpy(), keys[GAME_EVENT_ID].to_numpy())

    def data_version(self) -> DataVersion:
        """The version of what the store holds now (created when that content first was)."""
        log = self._log()
        created = log.last.get("version_created_at", log.last["created_at"]) if log.last else None
        return version_of(log.parts, dt.datetime.fromisoformat(created) if created else None)

    # --- writing ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the store's write lock (one ingestion at a time, across processes)."""
        self.settings.store_dir.mkdir(parents=True, exist_ok=True)
        with (self.settings.store_dir / ".lock").open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def repair_log(self) -> Path | None:
        """Cut a torn last record off the log (call under the lock); where it was kept.

        The torn bytes never committed (see the module docstring); they are kept beside
        the log for inspection, and the parts they named are removed as uncommitted.
        """
        if not self.versions_path.exists():
            return None
        data = self.versions_path.read_bytes()
        keep = _committed_length(data)
        if keep == len(data) and (not data or data.endswith(b"\n")):
            return None
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        kept = self.versions_path.with_name(f"{VERSIONS_FILE}.torn-{stamp}")
        if keep < len(data):
            kept.write_bytes(data[keep:])
            logger.warning(
                "%s ended in a torn record (%d bytes, never committed): cut off, kept in %s",
                self.versions_path,
                len(data) - keep,
                kept.name,
            )
        with self.versions_path.open("r+b") as handle:
            handle.truncate(keep)
            if keep and not data[:keep].endswith(b"\n"):
                handle.seek(keep)
                handle.write(b"\n")  # a whole record that only lacked its newline
            handle.flush()
            os.fsync(handle.fileno())
        sync_folder(self.versions_path.parent)
        return kept if keep < len(data) else None

    def remove_uncommitted(self) -> list[Path]:
        """Delete temporary folders and part files no commit names (call under the lock)."""
        self.repair_log()
        removed: list[Path] = []
        if not self.root.exists():
            return removed
        for temp in self.root.glob(f"{_TEMP_PREFIX}*"):
            shutil.rmtree(temp, ignore_errors=True)
            removed.append(temp)
        committed = {p.path for p in self._log().parts}
        for part in self.root.glob("season=*/*.parquet"):
            if part.relative_to(self.root).as_posix() not in committed:
                part.unlink()
                removed.append(part)
        if removed:
            logger.warning("removed %d uncommitted store files", len(removed))
        return removed

    def append(
        self,
        shots: pd.DataFrame,
        record: dict[str, Any],
        on_part: Callable[[int, int], None] | None = None,
    ) -> DataVersion:
        """Add new shots (canonical frame, keys not yet stored) and commit ``record``.

        Call under :meth:`lock`. Returns the new data version, also written in the record.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        temp = self.root / f"{_TEMP_PREFIX}{uuid.uuid4().hex}"
        written: list[Part] = []
        moved: list[Path] = []
        try:
            seasons = sorted(shots["season"].unique().tolist()) if len(shots) else []
            for number, season in enumerate(seasons, start=1):
                rows = shots[shots["season"] == season]
                relative = f"season={season}/part-{uuid.uuid4().hex}.parquet"
                _write_part(rows.loc[:, list(STORE_COLUMNS)], temp / relative)
                written.append(Part(relative, season, len(rows), file_sha256(temp / relative)))
                if on_part is not None:
                    on_part(number, len(seasons))
            for part in written:
                target = self.root / part.path
                target.parent.mkdir(parents=True, exist_ok=True)
                (temp / part.path).replace(target)
                moved.append(target)
            for folder in {target.parent for target in moved} | {self.root}:
                sync_folder(folder)
            return self._commit(written, record)
        except BaseException:
            for target in moved:
                target.unlink(missing_ok=True)
            raise
        finally:
            shutil.rmtree(temp, ignore_errors=True)

    def _commit(self, written: list[Part], record: dict[str, Any]) -> DataVersion:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        previous = self.data_version()
        version = version_of([*self._log().parts, *written], now)
        if version.hash == previous.hash and previous.created_at is not None:
            # Nothing new: the store still holds the version it already had.
            version = dataclasses.replace(version, created_at=previous.created_at)
        line = {
            **record,
            "version": version.hash,
            "rows": version.rows,
            "rows_by_season": version.rows_by_season,
            "created_at": now.isoformat(),
            "version_created_at": (version.created_at or now).isoformat(),
            "parts": [p.__dict__ for p in written],
        }
        self.settings.store_dir.mkdir(parents=True, exist_ok=True)
        self.repair_log()
        created = not self.versions_path.exists()
        with self.versions_path.open("ab") as handle:
            start = handle.tell()
            try:
                handle.write((json.dumps(line, sort_keys=False) + "\n").encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            except BaseException:
                # Take the partial record back when we still can (e.g. the disk is full);
                # if not, the next commit's repair_log cuts it off.
                with contextlib.suppress(OSError):
                    handle.truncate(start)
                    os.fsync(handle.fileno())
                raise
        if created:
            sync_folder(self.versions_path.parent)
        return version
