"""Batch scoring: any shot file ingestion accepts, scored by the champion in chunks.

The file is read once, as a stream of raw slices, and scored in two passes. The first
pass prepares the slices (coerced, repaired, validated) and keeps what the shot history
needs: each shot's point-in-time context (the shooter's skill as of the game, the game
so far) comes from the store and the file's earlier shots
(``features.snapshots.context_for``), as it did for the shots the model was trained and
evaluated on; a slice whose shots the store holds needs only their keys. The second pass
scores each slice with its context; the output holds the slices' rows with their
probabilities in file order, so it is the same whatever the number of workers.

A large file (``serving.large_file_rows``, a million rows by default) is prepared and
scored by worker processes, one per core, with the champion's compiled forest
(``inference.compiled``): the forest is native code that needs no interpreter, but
preparing rows is pandas work that a single interpreter would serialise. Its slices wait
between the passes in files (as read, and prepared), on /dev/shm where there is room, and
each worker writes its slice's output lines, which this process copies in order. A slice
whose shots the store holds needs no history: its worker looks up their stored context
and scores it in the first pass, and its lines go out while the file is still read. A
new shot found later sends every slice from the first one with shots of its season or
a later one to the second pass. A
smaller file (a day's or a season's shots) keeps its slices in memory between the passes
and is scored in this process, from the champion's scoring bundle (``inference.rows``:
no scikit-learn, SciPy or MLflow to import) by its compiled forest, or by LightGBM's own
predictor until the forest is compiled; it needs no fork server.

Workers are forked from a fork server (``inference.workers``), never from this process,
which may run threads of its own. Memory stays bounded: at
most two slices per worker are in flight, the rest wait in files.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import io
import os
import shutil
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.csv as pa_csv

from nba_mlops.config import Settings
from nba_mlops.data.ingest import (
    MalformedLine,
    PreparedShots,
    ShotTable,
    iter_shot_tables,
    open_source,
    prepare_shots,
)
from nba_mlops.data.schema import GAME_EVENT_ID, GAME_ID
from nba_mlops.features.columns import CONTEXT_COLUMNS, MODEL_INPUT_COLUMNS
from nba_mlops.features.serving import to_model_frame
from nba_mlops.inference import workers as worker_processes
from nba_mlops.inference.compiled import (
    TOLERANCE,
    compile_in_background,
    compile_scorer,
    compiled_cache_dir,
)
from nba_mlops.inference.rows import RowScorer
from nba_mlops.lifeline import exit_with_process
from nba_mlops.log import dump_stacks_on_sigusr1, get_logger
from nba_mlops.stops import stops_held

if TYPE_CHECKING:
    from nba_mlops.features.snapshots import Snapshot

_P = ParamSpec("_P")
_T = TypeVar("_T")

logger = get_logger(__name__)

OUTPUT_COLUMNS = ("make_probability", "prediction", "model_version")
# What scored a file (``BatchReport.scorer``).
COMPILED, LIGHTGBM, MODEL = "compiled forest", "LightGBM", "model"
# Rows of the first slice scored both ways before a compiled forest is trusted.
AGREEMENT_ROWS = 2_000


@dataclass(frozen=True)
class BatchReport:
    source: Path
    output: Path
    rejected_output: Path | None
    rows_read: int
    rows_scored: int
    rows_rejected: int
    model_version: int
    seconds: float  # reading, preparing, scoring and writing the file
    load_seconds: float = 0.0  # loading the model (and its compiled forest), once per run
    workers: int = 1
    scorer: str = MODEL  # COMPILED, LIGHTGBM or MODEL

    @property
    def compiled(self) -> bool:
        return self.scorer == COMPILED

    @property
    def rows_per_second(self) -> float:
        return self.rows_scored / self.seconds if self.seconds else float("nan")

    def summary(self) -> str:
        rejected = (
            f", {self.rows_rejected:,} rows could not be scored (see {self.rejected_output})"
            if self.rows_rejected
            else ""
        )
        how = f"{self.scorer}, {self.workers} worker(s)"
        return (
            f"scored {self.rows_scored:,} of {self.rows_read:,} shots with champion "
            f"v{self.model_version} in {self.seconds:.1f} s ({self.rows_per_second:,.0f} "
            f"shots/s; {how}; model loaded in {self.load_seconds:.1f} s) into "
            f"{self.output}{rejected}"
        )


@dataclass(frozen=True)
class _Job:
    """What a worker needs besides the slice (inherited by forked workers)."""

    scorer: Any
    mapping: dict[str, str]
    version: int
    settings: Settings | None = None  # where the store is (the workers' first pass)
    owner: int = 0  # the process that scores the file: a worker ends with it
    # the store's computed history (current when the file's scoring began): a worker
    # looks up the context of a slice whose shots the store holds in it
    snapshot: Snapshot | None = None
    # score a slice in the first pass when its context is stored (the file's output is
    # then written while it is read; see ``_Slice.final``)
    speculate: bool = False


@dataclass(frozen=True)
class _Scored:
    """A slice's accepted rows (positions in the slice), their probabilities, rejections."""

    positions: np.ndarray
    probability: np.ndarray
    rejected: pd.DataFrame
    rows_read: int


# The job of a worker process, set once by the pool's initializer.
_JOB: _Job | None = None


def _install_job(job: _Job) -> None:
    global _JOB
    _JOB = job
    dump_stacks_on_sigusr1()  # as the command that started it does
    if job.owner:  # a command killed outright (SIGKILL, out of memory) leaves no worker
        exit_with_process(job.owner)


def _history_columns(prepared: PreparedShots) -> pd.DataFrame:
    """A slice's accepted shots, with the columns the shot history reads."""
    from nba_mlops.features.snapshots import HISTORY_INPUT_COLUMNS

    return prepared.shots.loc[:, list(HISTORY_INPUT_COLUMNS)]


class _Kept:
    """The slices of a file scored in this process, kept between the two passes (with
    their prepared shots where the first pass prepared them) while they hold at most
    ``limit`` rows: a season's file is then read and prepared once instead of twice."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.rows = 0
        self.complete = True
        self._slices: list[tuple[ShotTable, PreparedShots | None]] = []

    def add(self, piece: ShotTable, prepared: PreparedShots | None) -> None:
        if not self.complete:
            return
        self.rows += piece.table.num_rows
        if self.rows > self.limit:  # too big to hold: the second pass reads it again
            self.complete = False
            self._slices.clear()
            return
        self._slices.append((piece, prepared))

    def scored(self, job: _Job, context: pd.DataFrame) -> Iterator[tuple[ShotTable, _Scored]]:
        """Each kept slice scored with its rows' context, in file order; a slice is let go
        once scored."""
        self._slices.sort(key=lambda kept: kept[0].offset)
        slices, self._slices = self._slices, []
        slices.reverse()
        while slices:
            piece, prepared = slices.pop()
            yield piece, _score_here(job, piece, prepared, context)
            del piece, prepared


def _score_here(
    job: _Job, piece: ShotTable, prepared: PreparedShots | None, context: pd.DataFrame
) -> _Scored:
    """Score a slice in this process (preparing it unless the first pass did) with its
    rows' context (``context``: every shot of the file, by position)."""
    if prepared is None:
        prepared = piece.prepare(job.mapping, require_label=False)
    # the context at the precision a worker gets it (``_context_file``): float32
    rows = context.reindex(prepared.shots.index).loc[:, list(CONTEXT_COLUMNS)]
    return _score_shots(job, piece, prepared.shots, rows.to_numpy("float32"), prepared.rejected)


def _score_shots(
    job: _Job,
    piece: ShotTable,
    shots: pd.DataFrame,
    context: np.ndarray,
    rejected: pd.DataFrame,
) -> _Scored:
    """Score a slice's prepared shots (indexed by file position) with their context
    (a row per shot, in ``CONTEXT_COLUMNS`` order)."""
    positions = shots.index.to_numpy() - piece.offset
    if len(positions):
        columns = {name: context[:, i] for i, name in enumerate(CONTEXT_COLUMNS)}
        probability = job.scorer.predict_proba(to_model_frame(shots, context=columns))[:, 1]
    else:
        probability = np.zeros(0)
    # a malformed line is read (and rejected) though the reader skipped it
    return _Scored(positions, probability, rejected, piece.table.num_rows + len(piece.malformed))


def _csv_rows(piece: ShotTable, scored: _Scored, version: int, sink: Any) -> None:
    """Write the slice's accepted rows as read, with the three output columns, as CSV
    lines to ``sink`` (a file or buffer)."""
    out = _rows_at(piece.table, scored.positions)
    probability = scored.probability
    out = out.append_column("make_probability", pa.array(np.round(probability, 6)))
    out = out.append_column("prediction", pa.array((probability >= 0.5).astype("int8")))
    out = out.append_column(
        "model_version", pa.array(np.full(out.num_rows, version, dtype="int64"))
    )
    if out.num_rows:
        pa_csv.write_csv(out, sink, pa_csv.WriteOptions(include_header=False))


def _rows_at(table: pa.Table, positions: np.ndarray) -> pa.Table:
    """The rows of ``table`` at ``positions``. Rows are rejected one here and one there:
    the runs of rows between them are taken as slices of ``table`` (no copy), where
    gathering the rows one by one would copy every value of the slice."""
    steps = np.diff(positions)
    if (steps <= 0).any():  # not in file order
        return table.take(pa.array(positions, type=pa.int64()))
    if len(positions) == table.num_rows:  # the usual case: nothing rejected
        return table
    if len(positions) == 0:
        return table.slice(0, 0)
    breaks = np.flatnonzero(steps != 1) + 1
    starts = positions[np.concatenate([[0], breaks])]
    ends = positions[np.concatenate([breaks - 1, [len(positions) - 1]])] + 1
    return pa.concat_tables(
        [table.slice(start, end - start) for start, end in zip(starts, ends, strict=True)]
    )


# -- a large file: its slices prepared and scored by worker processes -------------------------
# Each slice goes to a worker through a file (on /dev/shm where there is room: see
# ``_handover_dir``), not pickled through a pipe: one copy instead of three. The files
# are kept between the two passes, so the file is read and prepared once: the first pass
# leaves each slice as read (``<n>.arrow``), its prepared shots (``<n>.shots.arrow``)
# and, when the store holds every shot of it, their stored context looked up by the
# worker (``<n>.context.npy``). A slice scored in the first pass (its lines are
# ``<n>.csv``) keeps only the first: its lines nearly always stand, and in the rare case
# they do not (a later slice holds a new shot of its season), the second pass prepares
# it again. When every slice has its context, the file holds no new shot and no history
# is computed; otherwise this process computes the context of every row of the file
# (``context.npy``). The second pass leaves the other slices' output lines, and this
# process copies each slice's lines into the output in file order.
@dataclass(frozen=True)
class _Prepared:
    """A worker's first pass over a slice: where its prepared shots are (None when it
    scored the slice at once), its rejected rows, whether the store holds every shot of
    it, and then where its rows' stored context is (None when scored at once) or how
    many rows it scored at once (``_Job.speculate``: their lines are beside)."""

    shots: str | None
    rejected: pd.DataFrame
    stored: bool = False
    context: str | None = None  # by position in the slice
    scored: int | None = None
    last_season: int = 0  # the latest season of its accepted shots
    new_from: int | None = None  # the earliest season of its shots the store does not hold

    def final(self, new_from: int | None) -> bool:
        """Whether its lines from pass 1 stand, the file's shots the store does not hold
        being from season ``new_from`` on (None: it holds them all). ``context_for``
        computes the history again from the earliest new shot's season on; the shots
        of earlier seasons keep their stored context, the one this slice was scored
        with."""
        return self.scored is not None and (new_from is None or self.last_season < new_from)


@dataclass(frozen=True)
class _Slice:
    """A slice of a large file between the passes: where it is in the file, its file as
    read, and what pass 1 found."""

    offset: int
    rows: int
    raw: str
    found: _Prepared
    malformed: int = 0  # its lines the reader skipped (rejected, read all the same)

    @property
    def read(self) -> int:
        """The lines of the file it stands for: its rows and its malformed lines."""
        return self.rows + self.malformed


def _handover(piece: ShotTable, folder: str) -> str:
    """Write a slice where a worker maps it instead of receiving it through a pipe."""
    fd, path = tempfile.mkstemp(dir=folder, suffix=".arrow")
    with os.fdopen(fd, "wb") as handle:
        _write_table(piece.table, handle)
    return path


def _write_table(table: pa.Table, handle: Any) -> None:
    with pa.ipc.new_stream(handle, table.schema) as out:
        out.write_table(table)


def _read_table(path: str) -> pa.Table:
    with pa.memory_map(path) as source:
        return pa.ipc.open_stream(source).read_all()


def _beside(path: str, suffix: str) -> str:
    """The file of the same slice as ``path`` (a handover file) with another suffix."""
    return path.removesuffix(".arrow") + suffix


# The store's keys a worker has read (``_prepare_in_worker``), once per season.
_STORED: _StoredKeys | None = None


def _prepare_in_worker(
    path: str, malformed: list[MalformedLine], offset: int
) -> tuple[_Prepared, pd.DataFrame]:
    """Pass 1 in a worker: prepare the slice handed over at ``path``; score it at once
    when the store holds its shots (and ``_Job.speculate``), else keep its shots beside
    it for pass 2, with the columns the model reads (and their stored context where
    looked up). Returns what it found and the history's rows of the slice (only their
    keys when the store holds every shot of it)."""
    global _STORED
    assert _JOB is not None and _JOB.settings is not None, "batch worker started without a job"
    piece = ShotTable(_read_table(path), malformed, offset)
    prepared = piece.prepare(_JOB.mapping, require_label=False)
    shots = prepared.shots
    if _STORED is None:
        _STORED = _StoredKeys(_JOB.settings, _JOB.snapshot)
    # the accepted shots (a rejected row needs no context)
    keys = _STORED.keys_frame(
        shots[GAME_ID].to_numpy("int64"),
        shots[GAME_EVENT_ID].to_numpy("int64"),
        shots.index.to_numpy(),
    )
    seasons = shots["season_start_year"].to_numpy("int64")
    unstored = _STORED.unstored(keys)
    if unstored.any():
        new_from = int(seasons[unstored].min())
        found = _Prepared(_keep_shots(path, shots), prepared.rejected, new_from=new_from)
        return found, _history_columns(prepared)
    last_season = int(seasons.max()) if len(seasons) else 0
    context = _STORED.stored_context(keys)
    if context is None:
        found = _Prepared(_keep_shots(path, shots), prepared.rejected, last_season=last_season)
        return found, keys
    # every row's context (NaN for rows without a valid key), by position in the slice
    matrix = np.full((piece.table.num_rows, len(CONTEXT_COLUMNS)), np.nan, dtype=np.float32)
    matrix[keys.index.to_numpy() - offset] = context
    if _JOB.speculate:
        rows = matrix[shots.index.to_numpy() - offset]
        scored = _write_lines(path, piece, _score_shots(_JOB, piece, shots, rows, _NO_REJECTIONS))
        found = _Prepared(None, prepared.rejected, True, scored=scored, last_season=last_season)
        return found, keys
    context_path = _beside(path, ".context.npy")
    np.save(context_path, matrix)
    kept = _keep_shots(path, shots)
    return _Prepared(kept, prepared.rejected, True, context_path, last_season=last_season), keys


def _keep_shots(path: str, shots: pd.DataFrame) -> str:
    """Write a slice's prepared shots, with the columns the model reads, beside its
    handover file ``path`` for pass 2; where they are."""
    wanted = [c for c in shots.columns if c in MODEL_INPUT_COLUMNS or c == "game_date"]
    kept = _beside(path, ".shots.arrow")
    with Path(kept).open("wb") as handle:
        _write_table(pa.Table.from_pandas(shots.loc[:, wanted], preserve_index=True), handle)
    return kept


def _write_lines(path: str, piece: ShotTable, scored: _Scored) -> int:
    """Write a slice's output lines beside its handover file ``path``; how many rows."""
    assert _JOB is not None, "batch worker started without a job"
    with pa.OSFile(_beside(path, ".csv"), "wb") as out:  # Arrow writes: no Python copy
        _csv_rows(piece, scored, _JOB.version, out)
    return len(scored.positions)


def _score_kept(
    path: str, shots_path: str | None, context_path: str, first: int, offset: int
) -> int:
    """Pass 2 in a worker: score the slice kept at ``path`` with its prepared shots
    (prepared again when not kept) and their context (the rows of ``context_path`` by file
    position less ``first``), and write its output lines beside it; how many rows it
    scored."""
    assert _JOB is not None, "batch worker started without a job"
    piece = ShotTable(_read_table(path), [], offset)
    if shots_path is None:  # scored in pass 1, but a later slice changed its history
        shots = piece.prepare(_JOB.mapping, require_label=False).shots
    else:
        shots = _read_table(shots_path).to_pandas()
    context = _context_rows(context_path, first, shots.index)
    return _write_lines(path, piece, _score_shots(_JOB, piece, shots, context, _NO_REJECTIONS))


_NO_REJECTIONS = pd.DataFrame({"row": pd.Series(dtype="Int64"), "reason": pd.Series(dtype=str)})


def _first_pass(
    pieces: Iterator[ShotTable], pool: ProcessPoolExecutor, workers: int, folder: str
) -> Iterator[tuple[_Slice, pd.DataFrame]]:
    """Every slice handed to the workers to be prepared, in file order: each slice kept
    and the history's rows of it (only the keys where the store holds every shot of it:
    their context is stored). At most two slices per worker are in flight."""
    pending: deque[tuple[ShotTable, str, Future[tuple[_Prepared, pd.DataFrame]]]] = deque()

    def oldest() -> tuple[_Slice, pd.DataFrame]:
        piece, path, future = pending.popleft()
        found, history = future.result()
        kept = _Slice(piece.offset, piece.table.num_rows, path, found, len(piece.malformed))
        return kept, history

    for piece in pieces:
        path = _handover(piece, folder)
        future = pool.submit(_prepare_in_worker, path, piece.malformed, piece.offset)
        pending.append((piece, path, future))
        while len(pending) >= 2 * workers:
            yield oldest()
    while pending:
        yield oldest()


def _context_file(context: pd.DataFrame, rows: int, folder: str) -> str:
    """Every row's context (NaN for rows without) in one float32 matrix by file position,
    which workers map instead of receiving it."""
    path = str(Path(folder) / "context.npy")
    matrix = np.lib.format.open_memmap(
        path, mode="w+", dtype=np.float32, shape=(rows, len(CONTEXT_COLUMNS))
    )
    matrix[:] = np.nan
    matrix[context.index.to_numpy()] = context.loc[:, list(CONTEXT_COLUMNS)].to_numpy("float32")
    matrix.flush()
    del matrix
    return path


def _context_rows(path: str, first: int, index: pd.Index) -> np.ndarray:
    """The context of rows ``index`` (file positions), a row each in ``CONTEXT_COLUMNS``
    order, from a context matrix file whose rows start at file position ``first``: the
    whole file's (0) or one slice's (its offset)."""
    matrix = np.load(path, mmap_mode="r")
    return np.asarray(matrix[index.to_numpy() - first])


def _lines_of(kept: _Slice) -> Path:
    """The file of a slice's output lines, written by the worker that scored it."""
    return Path(_beside(kept.raw, ".csv"))


def _second_pass(
    slices: list[_Slice],
    pool: ProcessPoolExecutor,
    workers: int,
    context_path: str | None,
    new_from: int | None,
) -> Iterator[_Written]:
    """Every slice's lines, in file order: a slice scored in pass 1 whose lines stand
    (``_Slice.final``) as it is, the others scored by the workers with their rows'
    context from ``context_path`` (every row of the file) or, when None, from their own
    context file. A slice's files are removed once its lines are handed on."""
    pending: deque[tuple[_Slice, Future[int]]] = deque()

    def oldest() -> _Written:
        kept, future = pending.popleft()
        scored = future.result()
        for path in (kept.raw, kept.found.shots, kept.found.context):
            if path is not None:
                Path(path).unlink(missing_ok=True)
        return _Written(_lines_of(kept), kept.read, scored, kept.found.rejected)

    slices = slices[::-1]
    while slices:
        kept = slices.pop()
        found = kept.found
        if found.final(new_from):
            future: Future[int] = Future()
            future.set_result(found.scored or 0)
        else:
            if context_path is None:
                assert found.context is not None, "a slice without its context"
                context, first = found.context, kept.offset
            else:
                context, first = context_path, 0
            future = pool.submit(_score_kept, kept.raw, found.shots, context, first, kept.offset)
        pending.append((kept, future))
        while len(pending) >= 2 * workers:
            yield oldest()
    while pending:
        yield oldest()


class _Workers(ProcessPoolExecutor):
    """A process pool whose submits a stop (Ctrl-C, SIGTERM) does not cut in two: a
    submit may start a worker, and one started but not yet recorded by the pool would
    take the shutdown message meant for another (``nba_mlops.stops``)."""

    def submit(self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_T]:
        with stops_held():
            return super().submit(fn, *args, **kwargs)


def _start_pool(job: _Job, workers: int) -> _Workers:
    """``workers`` processes forked from the fork server, each handed ``job`` once."""
    with stops_held():  # the fork server started whole or not at all
        return _Workers(
            workers,
            mp_context=worker_processes.fork_server(),
            initializer=_install_job,
            initargs=(job,),
        )


# /dev/shm holds a large file's slices between the passes only where it has room for
# them (``need``) with a wide margin (containers often get 64 MB); the system temp folder
# (page cache, then disk) works anywhere.
HANDOVER_MIN_FREE = 1 << 30


def _handover_dir(need: int = 0) -> str | None:
    shm = Path("/dev/shm")
    try:
        if shm.is_dir() and shutil.disk_usage(shm).free >= need + HANDOVER_MIN_FREE:
            return str(shm)
    except OSError:
        pass
    return None


# A handover folder is named after the process that made it: one left behind by a
# process that was killed (its files can hold gigabytes of /dev/shm, which is memory) is
# removed by the next large file scored on the machine.
HANDOVER_PREFIX = "nba-batch-"


class BatchSpaceError(RuntimeError):
    """No folder has room for a large file's slices between the passes."""


def _handover_folder(need: int, parent: str | None = None) -> tempfile.TemporaryDirectory[str]:
    """A new handover folder for ``need`` bytes: in ``parent`` when given, else on
    /dev/shm when it has room (``_handover_dir``), else in the system temp folder
    (:class:`BatchSpaceError` when that has no room either). The folders of processes
    that no longer run are removed first."""
    temp = tempfile.gettempdir()
    # /dev/shm however full: a folder left there may be what fills it
    for root in {parent} if parent is not None else {temp, "/dev/shm"}:
        if Path(root).is_dir():
            _remove_stale(Path(root))
    if parent is None:
        parent = _handover_dir(need)
    if parent is None:
        parent = temp
        free = shutil.disk_usage(temp).free
        if free < need:
            raise BatchSpaceError(
                f"this file needs about {need / 2**30:.1f} GiB of temporary space for its "
                f"slices while it is scored; {temp} has {free / 2**30:.1f} GiB free (point "
                "TMPDIR at a folder with room, or split the file)"
            )
    return tempfile.TemporaryDirectory(dir=parent, prefix=f"{HANDOVER_PREFIX}{os.getpid()}-")


def _remove_stale(root: Path) -> None:
    for folder in root.glob(f"{HANDOVER_PREFIX}*-*"):
        pid = folder.name[len(HANDOVER_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not psutil.pid_exists(int(pid)):
            logger.info("removing %s, left by a batch scoring that was stopped", folder)
            shutil.rmtree(folder, ignore_errors=True)


class _StoredKeys:
    """The store's shot keys, read once per season, to tell slices the store holds; read
    from ``snapshot`` (the store's computed history, which holds every stored shot) when
    given, with each shot's stored context."""

    def __init__(self, settings: Settings, snapshot: Snapshot | None = None) -> None:
        self.settings = settings
        self.snapshot = snapshot
        self._seasons: dict[int, np.ndarray] = {}  # sorted keys
        self._context: dict[int, np.ndarray] = {}  # their context (from the snapshot)

    @functools.cached_property
    def _cache(self) -> Path | None:
        """Where the snapshot's look-ups are kept (found once, when other snapshots'
        are removed); None without a snapshot."""
        return None if self.snapshot is None else _lookup_folder(self.settings, self.snapshot)

    def _read(self, seasons: list[int]) -> None:
        from nba_mlops.data.repair import season_parts
        from nba_mlops.data.store import EVENT_BITS, ShotStore, shot_keys
        from nba_mlops.features.snapshots import season_label

        missing = [s for s in seasons if s not in self._seasons]
        if self._cache is not None:
            for season in list(missing):
                cached = _cached_lookup(self._cache, season)
                if cached is not None:
                    self._seasons[season], self._context[season] = cached
                    missing.remove(season)
        if not missing:
            return
        values = None
        if self.snapshot is not None:
            table = self.snapshot.context(missing)
            keys = shot_keys(table[GAME_ID].to_numpy(), table[GAME_EVENT_ID].to_numpy())
            values = table.loc[:, list(CONTEXT_COLUMNS)].to_numpy(np.float32)
        else:
            keys = ShotStore(self.settings).key_array([season_label(s) for s in missing])
        of = season_parts(keys >> EVENT_BITS)[0]
        for season in missing:
            chosen = np.flatnonzero(of == season)
            order = chosen[np.argsort(keys[chosen], kind="stable")]
            self._seasons[season] = keys[order]
            if values is not None:
                self._context[season] = values[order]
                if self._cache is not None:
                    _keep_lookup(self._cache, season, self._seasons[season], self._context[season])

    def _sorted_keys(self, seasons: list[int]) -> np.ndarray:
        """The stored keys of ``seasons``, sorted (a season's file looks up only its own)."""
        self._read(seasons)
        parts = [self._seasons[s] for s in seasons]
        return parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))

    def stored_context(self, keys: pd.DataFrame) -> np.ndarray | None:
        """The stored context (float32, in ``CONTEXT_COLUMNS`` order) of shots the store
        holds (``keys_frame``), each its stored shot's (a key repeated in the store
        counts its first row); None without a snapshot."""
        if self.snapshot is None:
            return None
        wanted = _keys_of(keys)
        seasons = keys["season_start_year"].to_numpy()
        result = np.empty((len(keys), len(CONTEXT_COLUMNS)), dtype=np.float32)
        for season in np.unique(seasons).tolist():
            self._read([season])
            rows = np.flatnonzero(seasons == season)
            found = np.searchsorted(self._seasons[season], wanted[rows])
            result[rows] = self._context[season][found]
        return result

    def keys_if_all_stored(self, piece: ShotTable, mapping: dict[str, str]) -> pd.DataFrame | None:
        """The slice's keys and seasons (``keys_frame``, by file position) when the store
        holds every shot of it that has a valid key, else None."""
        from nba_mlops.data.validation import coerce_integer

        source = {canonical: name for name, canonical in mapping.items()}
        games, bad_games = coerce_integer(piece.table.column(source[GAME_ID]))
        events, bad_events = coerce_integer(piece.table.column(source[GAME_EVENT_ID]))
        game = games.to_numpy(zero_copy_only=False)
        event = events.to_numpy(zero_copy_only=False)
        valid = ~bad_games & ~bad_events & ~np.isnan(game.astype("float64"))
        valid &= ~np.isnan(event.astype("float64"))
        if not valid.any():
            return None
        keys = self.keys_frame(
            game[valid].astype("int64"),
            event[valid].astype("int64"),
            np.flatnonzero(valid) + piece.offset,
        )
        return None if self.unstored(keys).any() else keys

    def unstored(self, keys: pd.DataFrame) -> np.ndarray:
        """Which of the shots (``keys_frame``) the store does not hold."""
        from nba_mlops.data.store import keys_in

        present = np.unique(keys["season_start_year"].to_numpy()).tolist()
        if not present:
            return np.zeros(0, dtype=bool)
        return ~keys_in(_keys_of(keys), self._sorted_keys(present))

    @staticmethod
    def keys_frame(game: np.ndarray, event: np.ndarray, positions: np.ndarray) -> pd.DataFrame:
        """The shots' ids and seasons, indexed by their positions in the file: what the
        history and the look-ups read."""
        from nba_mlops.data.repair import season_parts

        return pd.DataFrame(
            {GAME_ID: game, GAME_EVENT_ID: event, "season_start_year": season_parts(game)[0]},
            index=positions,
        )


def _keys_of(keys: pd.DataFrame) -> np.ndarray:
    """The ``shot_keys`` of a ``keys_frame``."""
    from nba_mlops.data.store import shot_keys

    return shot_keys(keys[GAME_ID].to_numpy(), keys[GAME_EVENT_ID].to_numpy())


# A season's stored shots, as a batch worker looks them up (keys sorted, their context in
# the same order), kept per snapshot in the home's cache: reading them from the snapshot
# costs each worker tens of milliseconds a season, mapping them next time almost nothing.
_LOOKUP_CACHE = "stored-context"


def _lookup_folder(settings: Settings, snapshot: Snapshot) -> Path:
    """The cache folder of ``snapshot``'s look-ups; other snapshots' are removed (a
    snapshot never changes, and the one in use is the store's current one)."""
    root = settings.home / "cache" / _LOOKUP_CACHE
    folder = root / snapshot.path.name
    if root.is_dir():
        for other in root.iterdir():
            if other.name != folder.name:
                shutil.rmtree(other, ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _cached_lookup(folder: Path, season: int) -> tuple[np.ndarray, np.ndarray] | None:
    keys, context = folder / f"{season}.keys.npy", folder / f"{season}.context.npy"
    try:
        return np.load(keys, mmap_mode="r"), np.load(context, mmap_mode="r")
    except (OSError, ValueError):  # not there yet, or unreadable: read the snapshot
        return None


def _keep_lookup(folder: Path, season: int, keys: np.ndarray, context: np.ndarray) -> None:
    """Write a season's look-up, each file under a private name first, then renamed:
    the context before the keys, so that a reader finding the keys finds both."""
    with contextlib.suppress(OSError):  # a cache: scoring goes on without it
        for name, array in (("context", context), ("keys", keys)):
            temporary = folder / f"{season}.{name}.{os.getpid()}.tmp.npy"
            np.save(temporary, array)
            temporary.replace(folder / f"{season}.{name}.npy")


def _agreed(scorer: Any, *, mark: bool = False) -> bool:
    """Whether a compiled forest gave its model's probabilities on the first rows of a
    file scored before (``mark``: it just did). The mark sits beside the compiled code,
    whose cache key covers the trees, the compiler and the CPU; other scorers have none."""
    files = getattr(scorer, "files", None)
    if files is None:
        return False
    marker = Path(files.cache_file).with_suffix(".agreed")
    if mark:
        with contextlib.suppress(OSError):
            marker.touch()
    return marker.exists()


def _trusted(model: Any, scorer: Any, rows: pd.DataFrame) -> bool:
    """Whether ``scorer`` reproduces ``model`` on the first rows of the file."""
    if rows.empty:
        return True
    difference = scorer.agrees_with(model, to_model_frame(rows))
    if difference > TOLERANCE:
        logger.warning(
            "the compiled forest differs from the model by %.2g: scoring without it",
            difference,
        )
        return False
    return True


def predict_batch(
    settings: Settings,
    source: Path,
    output: Path,
    *,
    chunk_rows: int = 150_000,
    version: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
    compiled: bool = True,
    workers: int | None = None,
) -> BatchReport:
    """Score ``source`` into ``output`` (CSV): the input columns plus ``make_probability``,
    ``prediction`` and ``model_version``. Rows that cannot be scored go, with the reason,
    to ``<output stem>.rejected.csv``; nothing is skipped silently.

    Each shot is scored with its point-in-time context: the shot history of the store
    and of the file's earlier shots (see the module's docstring).

    With ``compiled`` (the default) a LightGBM champion is scored without its Python
    layers (a compiled forest checked against the model's own probabilities on the first
    rows of the first file it scores): a
    file of ``serving.large_file_rows`` or more by ``workers`` processes (one per core)
    with its trees compiled to native code (see ``inference.compiled``), a smaller one by
    LightGBM's predictor in this process. The trees are compiled once per model, never
    in this call: when they are not compiled yet, a process of their own compiles them in
    the background, and this file is scored by LightGBM's predictor meanwhile.
    Without ``compiled``, the saved model scores the file in this process.
    As with any multiprocessing code, a script that calls this must guard its entry
    point (``if __name__ == "__main__":``): the workers import the script's main module."""
    from nba_mlops.features.snapshots import FeatureSnapshots, context_for
    from nba_mlops.inference.rows import cached_row_scorer
    from nba_mlops.registry.serialization import load_model

    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be 1 or more, not {chunk_rows}")
    if output.is_dir():  # found now, not once the whole file is scored
        raise IsADirectoryError(f"the output {output} is a folder: name a file to write")
    workers = max(1, workers if workers is not None else (os.cpu_count() or 1))
    if not worker_processes.can_fork():  # Windows: score in this process
        workers = 1
    estimate, size = (0, 0)
    if compiled:
        # a file that is no shot file is refused before anything else
        checked = open_source(source, require_label=False)
        estimate, size = worker_processes.estimated_size(checked.path)
    large = compiled and estimate >= settings.serving.large_file_rows
    if not large:
        workers = 1
    if workers > 1:
        # it imports the workers' modules while the model loads (``nba-mlops
        # predict-batch`` started it already, before its own imports)
        worker_processes.fork_server()
    loading = time.perf_counter()
    # The registry is imported here, not at the top: batch workers import this module,
    # and they need no registry (MLflow alone takes seconds to import).
    from nba_mlops.registry import Registry

    folder, version = Registry(settings).download_model(version)
    model: Any = None
    scorer: Any = None
    rows: RowScorer | None = None
    if compiled:
        # A champion scored before comes from its scoring bundle, without unpickling it.
        threads = 1 if workers > 1 else (os.cpu_count() or 1)
        rows, model = cached_row_scorer(
            settings.home, folder, lambda: load_model(folder), n_jobs=threads
        )
    if rows is not None:
        scorer = compile_scorer(
            rows, compiled_cache_dir(settings), n_jobs=threads, cached_only=True
        )
        if scorer is None:
            scorer = rows
            if estimate >= settings.serving.compile_from_rows:
                logger.info(
                    "the champion's trees are not compiled yet: scoring with LightGBM's own "
                    "predictor, compiling them in the background for the next file"
                )
                compile_in_background(settings, version)
    if scorer is None and model is None:
        model = load_model(folder)
    load_seconds = time.perf_counter() - loading

    started = time.perf_counter()
    shot_source, pieces = iter_shot_tables(source, chunk_rows, require_label=False)
    pool = None
    with contextlib.ExitStack() as cleanup:
        first = next(pieces)
        second = next(pieces, None)
        if second is None:
            workers = 1  # a file of one slice: not worth the processes
        job = _Job(
            scorer if scorer is not None else model,
            shot_source.mapping,
            version,
            settings,
            os.getpid(),
        )
        handover = ""
        if scorer is not None and workers > 1:
            # Where the slices wait between the passes (removed once the workers are
            # gone). Context: 4 bytes per row and column; each slice as read and its
            # prepared shots: less than twice its text; the lines of the slices scored
            # in pass 1 that wait for an earlier one: at most the output's size.
            need = 4 * size + 4 * len(CONTEXT_COLUMNS) * estimate
            handover = cleanup.enter_context(_handover_folder(need))
            # Each worker is one core: its forest runs single-threaded. It looks up the
            # stored context of the slices the store holds in the store's history and,
            # unless the compiled forest is still to be checked, scores them at once.
            one_core = dataclasses.replace(
                job,
                scorer=dataclasses.replace(scorer, n_jobs=1),
                snapshot=FeatureSnapshots(settings).refresh(),
                speculate=scorer is rows or _agreed(scorer),
            )
            pool = _start_pool(one_core, workers)
            cleanup.callback(lambda: _shut_down(pool))

        def all_pieces(pieces: Iterator[ShotTable]) -> Iterator[ShotTable]:
            yield first
            if second is not None:
                yield second
                yield from pieces

        header = pa.schema([*first.table.schema, *_output_fields()])
        out = cleanup.enter_context(_writing(header, output, on_chunk))

        # pass 1: the file's shots, for the history. A slice whose shots the store
        # holds needs only their keys (their context is stored); others are prepared.
        # The workers prepare every slice of a large file and keep it, prepared, for
        # pass 2; a slice the store holds they score at once, and its lines go to the
        # output while the file is read, as long as no earlier slice holds a new shot.
        # A file scored in this process keeps its slices, prepared where this pass
        # prepared them, for pass 2 instead of reading and preparing them again (up to
        # serving.large_file_rows rows; beyond that it is read again).
        history: list[tuple[int, pd.DataFrame]] = []  # by slice offset
        kept: _Kept | None = None
        slices: list[_Slice] = []
        new_from: int | None = None  # the earliest season of the file's new shots
        if pool is not None:
            for kept_slice, rows_of in _first_pass(all_pieces(pieces), pool, workers, handover):
                slices.append(kept_slice)
                history.append((kept_slice.offset, rows_of))
                found = kept_slice.found
                out.reject(found.rejected)
                if found.new_from is not None:
                    new_from = min(found.new_from, new_from or found.new_from)
                if out.slices == len(slices) - 1 and found.final(new_from):
                    out.lines(_lines_of(kept_slice), kept_slice.read, found.scored or 0)
            # A new shot found later may change the history of a season written already:
            # the lines from the first slice that does not stand on are scored again.
            streamed = out.slices
            out.keep(
                next((i for i, s in enumerate(slices) if not s.found.final(new_from)), streamed)
            )
            for i in range(out.slices, streamed):  # their lines files are gone
                found = dataclasses.replace(slices[i].found, scored=None)
                slices[i] = dataclasses.replace(slices[i], found=found)
        else:
            kept = _Kept(settings.serving.large_file_rows)
            stored = _StoredKeys(settings)
            for piece in all_pieces(pieces):
                keys = stored.keys_if_all_stored(piece, shot_source.mapping)
                if keys is None:
                    prepared = piece.prepare(shot_source.mapping, require_label=False)
                    kept.add(piece, prepared)
                    history.append((piece.offset, _history_columns(prepared)))
                    del prepared
                else:
                    kept.add(piece, None)
                    history.append((piece.offset, keys))
        history.sort(key=lambda entry: entry[0])

        def whole_context() -> pd.DataFrame:
            shots = pd.concat([rows for _, rows in history]) if history else pd.DataFrame()
            return context_for(settings, shots)

        # The workers looked up the stored context of each slice the store holds: where
        # that is every slice, the file holds no new shot and each shot's context is its
        # stored shot's, which is what ``context_for`` would find.
        stored_only = bool(slices) and new_from is None and all(s.found.stored for s in slices)
        context = None if stored_only else whole_context()
        if scorer is not None and scorer is not rows and not _agreed(scorer):
            # a compiled forest not checked yet (no slice was scored in pass 1): check it
            # against the model
            head = prepare_shots(
                first.table.slice(0, AGREEMENT_ROWS), shot_source.mapping, require_label=False
            ).shots
            if context is not None:
                head_context = context.reindex(head.index)
            else:
                looked_up = slices[0].found.context
                assert looked_up is not None
                head_context = pd.DataFrame(
                    _context_rows(looked_up, slices[0].offset, head.index),
                    columns=list(CONTEXT_COLUMNS),
                    index=head.index,
                )
            sample = pd.concat([head, head_context], axis=1)
            if _trusted(model if model is not None else rows, scorer, sample):
                _agreed(scorer, mark=not head.empty)
            else:
                scorer = None
        if scorer is None:
            workers = 1  # the row scorer or the saved model scores in this process
            if rows is not None:
                scorer = rows = dataclasses.replace(rows, n_jobs=os.cpu_count() or 1)
            elif model is None:
                model = load_model(folder)
            job = dataclasses.replace(job, scorer=scorer if scorer is not None else model)
            if pool is not None:
                pool.shutdown(cancel_futures=True)
                pool = None
        if context is None and pool is None:  # the workers gave way to this process
            context = whole_context()
        history.clear()

        # pass 2: score every slice not written yet with its rows' context
        if pool is not None:
            context_path = None  # each slice's own, which the workers looked up
            if context is not None:
                total = slices[-1].offset + slices[-1].rows
                context_path = _context_file(context, total, handover)
                del context
            for written in _second_pass(
                slices[out.slices :], pool, workers, context_path, new_from
            ):
                out.lines(written.lines, written.rows_read, written.rows_scored)
        else:
            assert context is not None
            scored: Iterator[tuple[ShotTable, _Scored]]
            if kept is not None and kept.complete:
                scored = kept.scored(job, context)
            else:  # too big to keep, or its workers gave way to this process: read it again
                _, again = iter_shot_tables(source, chunk_rows, require_label=False)
                scored = ((piece, _score_here(job, piece, None, context)) for piece in again)
            for written in _lines(scored, version):
                if not slices:  # the workers' first pass wrote the rejected rows
                    out.reject(written.rejected)
                out.lines(written.lines, written.rows_read, written.rows_scored)
    counts = out.counts()
    rows_read, rows_scored, rows_rejected, rejected_path = counts
    report = BatchReport(
        source=source,
        output=output,
        rejected_output=rejected_path if rows_rejected else None,
        rows_read=rows_read,
        rows_scored=rows_scored,
        rows_rejected=rows_rejected,
        model_version=version,
        seconds=time.perf_counter() - started,
        load_seconds=load_seconds,
        workers=workers,
        scorer=_scorer_name(scorer),
    )
    logger.info(report.summary())
    return report


@dataclass(frozen=True)
class _Written:
    """A scored slice ready for the output: its output lines (or the file a worker wrote
    them to), how many rows it read and scored, and its rejected rows."""

    lines: bytes | Path
    rows_read: int
    rows_scored: int
    rejected: pd.DataFrame


def _lines(scored: Iterator[tuple[ShotTable, _Scored]], version: int) -> Iterator[_Written]:
    """Slices scored in this process, as output lines."""
    for piece, result in scored:
        lines = io.BytesIO()
        _csv_rows(piece, result, version, lines)
        yield _Written(
            lines.getvalue(),
            result.rows_read,
            len(result.positions),
            result.rejected,
        )


def _shut_down(pool: ProcessPoolExecutor | None) -> None:
    if pool is not None:
        pool.shutdown(cancel_futures=True)


class _Output:
    """The output as it is written, slice by slice in file order, through a
    ``.partial`` file, and the rejected rows beside it (``.rejected.csv``, also through a
    ``.partial`` file): both replace what was there only once complete (``close``)."""

    def __init__(
        self, header: pa.Schema, output: Path, on_chunk: Callable[[int], None] | None
    ) -> None:
        output.parent.mkdir(parents=True, exist_ok=True)
        self.output = output
        self.partial = output.with_name(output.name + ".partial")
        self.rejected_path = output.with_name(output.stem + ".rejected.csv")
        self.rejected_partial = self.rejected_path.with_name(self.rejected_path.name + ".partial")
        self.rejected_partial.unlink(missing_ok=True)
        self.on_chunk = on_chunk
        self.header = header
        self.rows_read = self.rows_scored = self.rows_rejected = 0
        # before each slice's lines: the output's size and the rows read and scored
        self._marks: list[tuple[int, int, int]] = []
        self._out: Any = None

    def start(self) -> None:
        """Create the ``.partial`` file and write the header."""
        # unbuffered: a worker's lines are copied in by the kernel (``_append``), and each
        # write here is a slice's lines at once
        self._out = self.partial.open("wb", buffering=0)
        buffer = io.BytesIO()
        pa_csv.write_csv(self.header.empty_table(), buffer)
        self._out.write(buffer.getvalue())

    @property
    def slices(self) -> int:
        """How many slices' lines are written."""
        return len(self._marks)

    def reject(self, rejected: pd.DataFrame) -> None:
        """Add a slice's rejected rows (in file order, as the lines)."""
        if len(rejected):
            first = self.rows_rejected == 0
            rejected.to_csv(
                self.rejected_partial, mode="w" if first else "a", header=first, index=False
            )
            self.rows_rejected += len(rejected)

    def lines(self, lines: bytes | Path, rows_read: int, rows_scored: int) -> None:
        """Add the next slice's lines (a worker's file of them is removed once copied)."""
        self._marks.append((self._out.tell(), self.rows_read, self.rows_scored))
        if isinstance(lines, Path):
            _append(lines, self._out)
            lines.unlink()
        else:
            self._out.write(lines)
        self.rows_read += rows_read
        self.rows_scored += rows_scored
        if self.on_chunk:
            self.on_chunk(rows_read)

    def keep(self, slices: int) -> None:
        """Keep the lines of the first ``slices`` slices only: the later ones are to be
        written again (their progress is counted again)."""
        if slices < len(self._marks):
            size, self.rows_read, self.rows_scored = self._marks[slices]
            del self._marks[slices:]
            self._out.seek(size)
            self._out.truncate()

    def close(self) -> None:
        """Put the complete output (and its rejected rows, if any) in place."""
        self._out.close()
        self.partial.replace(self.output)
        if self.rows_rejected:
            self.rejected_partial.replace(self.rejected_path)
        else:
            self.rejected_path.unlink(missing_ok=True)

    def discard(self) -> None:
        if self._out is not None:
            self._out.close()
        self.partial.unlink(missing_ok=True)
        self.rejected_partial.unlink(missing_ok=True)

    def counts(self) -> tuple[int, int, int, Path]:
        """Rows read, scored and rejected, and where the rejected rows are."""
        return self.rows_read, self.rows_scored, self.rows_rejected, self.rejected_path


@contextlib.contextmanager
def _writing(
    header: pa.Schema, output: Path, on_chunk: Callable[[int], None] | None
) -> Iterator[_Output]:
    """An output to write, put in place when the block ends normally (else discarded,
    however early: a Ctrl-C or SIGTERM may come while its file is being created)."""
    out = _Output(header, output, on_chunk)
    try:
        out.start()
        yield out
        out.close()
    finally:
        out.discard()


# Bytes copied at a time from a worker's output lines into the output file, where the
# kernel cannot copy them itself.
COPY_BYTES = 4 << 20


def _append(source: Path, out: Any) -> None:
    """Append the file ``source`` to ``out`` (an unbuffered file) at its position: copied
    by the kernel (``sendfile``), not through this process's memory, where the system
    can; read and written otherwise."""
    with source.open("rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        sent = 0
        with contextlib.suppress(OSError, AttributeError):  # no sendfile between files
            while sent < size:
                done = os.sendfile(out.fileno(), handle.fileno(), sent, size - sent)
                if done == 0:
                    break
                sent += done
        handle.seek(sent)
        shutil.copyfileobj(handle, out, COPY_BYTES)


def _scorer_name(scorer: Any) -> str:
    from nba_mlops.inference.compiled import CompiledModel
    from nba_mlops.inference.rows import RowScorer

    if isinstance(scorer, CompiledModel):
        return COMPILED
    return LIGHTGBM if isinstance(scorer, RowScorer) else MODEL


def _output_fields() -> list[pa.Field]:
    return [
        pa.field("make_probability", pa.float64()),
        pa.field("prediction", pa.int8()),
        pa.field("model_version", pa.int64()),
    ]
