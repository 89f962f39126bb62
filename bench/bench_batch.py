"""predict-batch on every shot of the shared data set in one CSV: throughput and the peak
memory of all its processes together (workers included).

    uv run python bench/bench_batch.py --home DIR [--data ../shared/data/shots]

``DIR`` is a home with a champion trained on the full data (``bench/bench_model.py
--home DIR`` leaves one). The first run compiles the champion's trees; the figures of the
runs after it are the usual case. Prints one Markdown row per run.
"""

from __future__ import annotations

import argparse
import os
import platform
import threading
import time
from pathlib import Path

import psutil

from bench_model import concat_seasons

ROOT = Path(__file__).resolve().parents[1]


class TreePeak:
    """Samples the RSS of this process and its children until stopped."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            try:
                total = sum(p.memory_info().rss for p in (me, *me.children(recursive=True)))
                self.peak = max(self.peak, total)
            except psutil.Error:
                pass
            time.sleep(0.05)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "shots")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    from nba_mlops.config import Settings
    from nba_mlops.inference.batch import predict_batch

    source = args.home / "all-seasons.csv"
    if not source.exists():
        print(f"writing {source} ...", flush=True)
        concat_seasons(args.data, source)
    size_mb = source.stat().st_size / 2**20
    print(
        f"\nmachine: {platform.node()} {os.cpu_count()} cores, python "
        f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}; "
        f"{source.name}: {size_mb:,.0f} MB"
    )
    print(
        "\n| run | rows scored | rejected | scoring s | shots/s | load + compile s "
        "| peak RSS, all processes |\n|---:|---:|---:|---:|---:|---:|---:|"
    )
    settings = Settings(home=args.home)
    out = args.home / "all-seasons.scored.csv"
    for run in range(1, args.runs + 1):
        with TreePeak() as peak:
            report = predict_batch(settings, source, out)
        print(
            f"| {run} | {report.rows_scored:,} | {report.rows_rejected:,} | "
            f"{report.seconds:.1f} | {report.rows_per_second:,.0f} | "
            f"{report.load_seconds:.1f} | {peak.peak / 2**20:,.0f} MB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
