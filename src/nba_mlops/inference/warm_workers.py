"""Imported once by batch scoring's fork server (``inference.workers.WORKER_MODULES``):
prepares a few rows of the bundled sample so that the lazy set-up of the first
preparation (pandera registering its checks and importing hypothesis, about 1 s) is
done in the server, and every worker forked from it starts with it done.

The server ends when the process that started it ends. It then leaves at once instead of
tearing down the modules it imported (a third of a second, during which whoever reads
the command's output still waits for it): it holds nothing to save.

Everything here stays on this thread: the rows are parsed with the ``csv`` module, not
Arrow's reader, so that the server runs no other thread when it forks.
"""

from __future__ import annotations

import atexit
import csv
import gzip
import itertools
import logging
import os
import sys

import pyarrow as pa

from nba_mlops.config import bundled_sample_path
from nba_mlops.data.ingest import open_source, prepare_shots
from nba_mlops.features.serving import to_model_frame
from nba_mlops.log import get_logger

WARM_ROWS = 64


def warm_up() -> None:
    """Prepare and frame ``WARM_ROWS`` rows of the bundled sample, and forget them."""
    path = bundled_sample_path()
    source = open_source(path, require_label=False)
    with gzip.open(path, "rt", encoding="utf-8", newline="") as text:
        rows = list(itertools.islice(csv.reader(text), WARM_ROWS + 1))
    header, values = rows[0], rows[1:]
    table = pa.table(
        {
            name: pa.array(column, pa.string())
            for name, column in zip(header, zip(*values, strict=True), strict=True)
        }
    )
    to_model_frame(prepare_shots(table, source.mapping, require_label=False).shots)


try:
    warm_up()
except Exception as error:  # a cold worker is slower, never wrong: scoring goes on
    get_logger(__name__).debug("batch workers start cold: %s", error)


def _leave_at_once() -> None:
    """The server's last exit handler (the first to run): flush what it logged and
    printed, and end without Python's teardown. (Workers forked from it end through ``os._exit``
    and run no exit handler.)"""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()
    os._exit(0)


atexit.register(_leave_at_once)
