"""Where batch scoring's worker processes come from: a fork server, and how large a file
must be to need them.

Workers are forked from a fork server (a fresh process that runs no Python thread but its
main one), never from the process that scores the file: by the time a file is scored
there (after training, in the pipeline or the orchestrator) that process runs threads of
its own, and a child forked while one of them holds a lock would wait for it forever.

The server imports what a worker needs once (about a second and a half of work: pandas,
Arrow, pandera's first preparation of rows, the compiled forest's runtime), so it pays to
start it as soon as a large file is seen: ``nba-mlops predict-batch`` starts it before it
imports anything heavy itself. This module imports nothing heavy, so that calling it
first costs nothing.
"""

from __future__ import annotations

import functools
import multiprocessing as mp
import os
import zlib
from multiprocessing.context import BaseContext
from pathlib import Path

# What a worker imports to score: the scoring module, what unpickling its job needs (the
# feature step, LightGBM's predictor, the compiled forest's loader), and a module that
# runs the first preparation of rows once. The fork server imports them once; each
# worker forked from it starts with them.
WORKER_MODULES = (
    "nba_mlops.inference.batch",
    "nba_mlops.features.transformers",
    "nba_mlops.inference.booster",
    "lleaves",
    "nba_mlops.inference.warm_workers",
)
# A worker re-runs the main script of the process that started it (``nba-mlops`` imports
# the CLI, a server or a test runner imports its own): "__main__" has the fork server
# import that script once, as multiprocessing's default preload does, so that no worker
# does it again, whichever program started the scoring.
MAIN_SCRIPT = "__main__"

# Bytes of a CSV file's content read to estimate its rows.
_ESTIMATE_BYTES = 1 << 20


def can_fork() -> bool:
    """Whether this system has fork servers (not Windows)."""
    return "forkserver" in mp.get_all_start_methods()


def fork_server() -> BaseContext:
    """The fork server's context, the server started here if it is not running yet (it
    imports the workers' modules while the caller goes on)."""
    from multiprocessing import forkserver

    context = mp.get_context("forkserver")
    context.set_forkserver_preload([*WORKER_MODULES, MAIN_SCRIPT])
    forkserver.ensure_running()
    return context


def estimated_size(path: Path) -> tuple[int, int]:
    """Roughly how many rows the shot file ``path`` holds and how many bytes of text they
    are, without reading it: Parquet says so (its bytes are counted as 200 a row); a CSV
    file's size (a gzipped one's uncompressed size, see :func:`_gzip_text`) over the
    length of its first lines. (1, size) for a file too short to tell. Worked out once per
    version of the file: the command asks before its imports, the scoring again."""
    found = path.stat()
    return _estimated_size(path.resolve(), found.st_mtime_ns, found.st_size)


@functools.lru_cache(maxsize=16)
def _estimated_size(path: Path, mtime_ns: int, size: int) -> tuple[int, int]:
    with path.open("rb") as raw:
        magic = raw.read(4)
    if magic == b"PAR1":
        import pyarrow.parquet as pq

        rows = int(pq.ParquetFile(path).metadata.num_rows)
        return rows, rows * 200
    if magic.startswith(b"\x1f\x8b"):
        size, head = _gzip_text(path)
    else:
        with path.open("rb") as handle:
            head = handle.read(_ESTIMATE_BYTES)
    lines = head.count(b"\n")
    if lines < 2:
        return 1, size
    return int(size / (len(head) / lines)), size


# Compressed bytes decompressed to measure a gzipped file's compression ratio.
_RATIO_BYTES = 1 << 20


def _gzip_text(path: Path) -> tuple[int, bytes]:
    """A gzipped file's uncompressed size, and its first ``_ESTIMATE_BYTES`` of text.
    Its trailer holds the size of its last member only, modulo 4 GiB: exact for the usual
    file (one member, under 4 GiB), far off for a file of several members (two files
    concatenated, say) or a truncated one. The size its first bytes' compression ratio
    gives decides: the trailer's value (plus whole multiples of 4 GiB) where it is near
    it, the ratio's otherwise. (Its compressed size and no text when it cannot be read;
    EOFError when it ends before its first ``_ESTIMATE_BYTES`` of text.)"""
    size = path.stat().st_size
    with path.open("rb") as raw:
        start = raw.read(_RATIO_BYTES)
        raw.seek(-4, os.SEEK_END)
        trailer = int.from_bytes(raw.read(4), "little")
    inflate = zlib.decompressobj(wbits=31)
    try:
        text = inflate.decompress(start)
    except zlib.error:
        return size, b""
    if len(start) == size and not inflate.eof and len(text) < _ESTIMATE_BYTES:
        raise EOFError(f"{path} ends before its compressed text does")
    used = len(start) - len(inflate.unused_data)
    by_ratio = size * len(text) / max(used, 1)
    nearest = trailer + round(max(by_ratio - trailer, 0) / (1 << 32)) * (1 << 32)
    total = nearest if 0.5 * by_ratio <= nearest <= 2 * by_ratio else int(by_ratio)
    return total, text[:_ESTIMATE_BYTES]


def start_for(path: Path, large_file_rows: int) -> bool:
    """Start the fork server now if ``path`` is a file large enough for workers
    (``serving.large_file_rows`` rows or more, by :func:`estimated_size`) and this
    machine has more than one core; whether it did. A file that cannot be read starts
    nothing: the scoring says what is wrong with it."""
    if (os.cpu_count() or 1) < 2 or not can_fork() or not path.is_file():
        return False  # a pipe, say, is not opened here: it could wait for ever
    try:
        if estimated_size(path)[0] < large_file_rows:
            return False
    except (OSError, EOFError, ValueError, zlib.error):
        return False
    fork_server()
    return True
