"""Ingest every shared shot file into a fresh temporary home and report the cost.

    uv run python bench/bench_ingest.py [--data ../shared/data/shots] [--keep]

Prints rows, wall and CPU seconds, rows per second, peak RSS, the time spent validating, the
repairs made and the rows quarantined, then the time to read the whole store back.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from nba_mlops.config import Settings
from nba_mlops.data.ingest import ingest_file, summarise
from nba_mlops.data.store import ShotStore
from nba_mlops.log import setup_logging

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "shots")
    parser.add_argument("--keep", action="store_true", help="keep the temporary home")
    args = parser.parse_args()
    files = sorted(args.data.glob("*.csv*")) + sorted(args.data.glob("*.parquet"))
    if not files:
        raise SystemExit(f"no shot files under {args.data}")

    home = Path(tempfile.mkdtemp(prefix="bench-ingest-")) / "home"
    settings = Settings(home=home)
    settings.ensure_dirs()
    setup_logging(settings, console=False)
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        reports = [ingest_file(settings, path) for path in files]
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        rows = sum(r.rows_read for r in reports)
        repairs: Counter[str] = Counter()
        for report in reports:
            repairs.update(report.repairs)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        read_started = time.perf_counter()
        stored = len(ShotStore(settings).read())
        read_seconds = time.perf_counter() - read_started

        print(f"files:             {len(files)} ({args.data})")
        print(f"cores:             {os.cpu_count()} (load {os.getloadavg()[0]:.1f} at the end)")
        print(f"rows:              {rows:,}")
        print(f"wall:              {wall:.1f} s ({rows / wall:,.0f} rows/s)")
        # CPU time (all threads) is the steadier figure on a shared, busy machine.
        print(f"cpu:               {cpu:.1f} s")
        print(f"validation:        {sum(r.validation_seconds for r in reports):.1f} s")
        print(f"peak RSS:          {peak_mb:,.0f} MB")
        print(f"rows new:          {sum(r.rows_new for r in reports):,}")
        print(f"rows quarantined:  {sum(r.rows_quarantined for r in reports):,}")
        print(f"rows repaired:     {sum(r.rows_repaired for r in reports):,}")
        for kind, count in sorted(repairs.items()):
            print(f"  {kind:32s} {count:,}")
        print(f"read back:         {stored:,} rows in {read_seconds:.1f} s")
        print(summarise(reports))
    finally:
        if args.keep:
            print(f"home kept at {home}")
        else:
            shutil.rmtree(home.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
