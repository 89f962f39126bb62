"""Where ``predict-batch`` spends its time on one file: the moments each phase of
``inference.batch.predict_batch`` starts and ends, timed inside one run of it.

    uv run python bench/batch_phases.py FILE [--home DIR]

``--home`` (default: ``NBA_MLOPS_HOME``) must hold a champion whose forest is compiled
(``bench/bench_batch.py`` leaves one in its work folder). The output goes to a temporary
folder. Printed: seconds since the start at which the first pass, the shot history's
context, the context matrix and the second pass begin and end (the output is written
during both passes: a slice the store holds is scored in the first), the command's
summary, and this process's CPU time (the workers' is theirs: they are forked from the
fork server).
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()


def mark(name: str) -> None:
    print(f"{time.perf_counter() - STARTED:7.2f} s  {name}", flush=True)


def timed(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        mark(f"{name} starts")
        result = function(*args, **kwargs)
        mark(f"{name} ends")
        return result

    return call


def timed_stream(function: Callable[..., Iterator[Any]], name: str) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Iterator[Any]:
        mark(f"{name} starts")
        yield from function(*args, **kwargs)
        mark(f"{name} ends")

    return call


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path)
    parser.add_argument("--home", type=Path, default=None)
    args = parser.parse_args()
    if args.home is not None:
        os.environ["NBA_MLOPS_HOME"] = str(args.home)

    from nba_mlops.config import Settings
    from nba_mlops.features import snapshots
    from nba_mlops.inference import batch

    snapshots.context_for = timed(snapshots.context_for, "context of the shots")
    batch._context_file = timed(batch._context_file, "context matrix")
    batch._first_pass = timed_stream(batch._first_pass, "first pass")
    batch._second_pass = timed_stream(batch._second_pass, "second pass")
    with tempfile.TemporaryDirectory() as folder:
        report = batch.predict_batch(Settings(), args.file, Path(folder) / "scored.csv")
    mark("done")
    print(report.summary())
    own = resource.getrusage(resource.RUSAGE_SELF)
    print(f"this process: {own.ru_utime:.1f} CPU-s user, {own.ru_stime:.1f} system")


if __name__ == "__main__":
    main()
