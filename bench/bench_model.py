"""Full pipeline on the whole shared data set: wall time and peak memory per stage, and
the champion's holdout quality beside both baselines.

    uv run python bench/bench_model.py [--data ../shared/data/shots] [--home DIR]
    uv run python bench/bench_model.py --home DIR --predict-only   # DIR from a full run

Each stage runs in its own process so its peak RSS is its own. Prints a Markdown table
for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing as mp
import os
import platform
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _stage(name: str, home: str, data: str, queue: Any) -> None:
    from nba_mlops.config import Settings
    from nba_mlops.log import setup_logging

    settings = Settings(home=Path(home))
    settings.ensure_dirs()
    setup_logging(settings, console=False)
    started = time.perf_counter()
    detail: dict[str, Any] = {}
    if name == "ingest":
        from nba_mlops.data.ingest import ingest_file

        files = sorted(Path(data).glob("*.csv.gz"))
        reports = [ingest_file(settings, f) for f in files]
        detail = {
            "rows": sum(r.rows_read for r in reports),
            "new": sum(r.rows_new for r in reports),
            "quarantined": sum(r.rows_quarantined for r in reports),
        }
    elif name == "train":
        from nba_mlops.pipeline import run_training

        report = run_training(settings)
        detail = {"report": report.summary()}
        detail["candidates"] = [
            (c.family, c.validation_log_loss, c.holdout, c.holdout_without_context, c.fit_seconds)
            for c in report.candidates
        ]
        detail["baselines"] = (report.baselines.constant, report.baselines.distance_only)
    elif name == "predict_batch":
        from nba_mlops.inference.batch import predict_batch

        source = Path(home) / "big.csv"
        report = predict_batch(settings, source, Path(home) / "scored.csv")
        detail = {
            "rows": report.rows_scored,
            "rows_per_s": round(report.rows_per_second),
            "scoring_s": round(report.seconds, 1),
            "load_and_compile_s": round(report.load_seconds, 1),
            "workers": report.workers,
            "compiled": report.compiled,
        }
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put({"stage": name, "seconds": seconds, "peak_rss_mb": peak, **detail})


def _run(name: str, home: Path, data: Path) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_stage, args=(name, str(home), str(data), queue))
    proc.start()
    result: dict[str, Any] = queue.get()
    proc.join()
    return result


def concat_seasons(data: Path, target: Path, seasons: int = 0) -> int:
    """The latest ``seasons`` season files of ``data`` (0: all), as they are, in one plain
    CSV with one header; returns its row count."""
    files = sorted(data.glob("*.csv.gz"))[-seasons:] if seasons else sorted(data.glob("*.csv.gz"))
    rows = 0
    with target.open("wb") as out:
        for number, path in enumerate(files):
            with gzip.open(path, "rb") as source:
                header = source.readline()
                if number == 0:
                    out.write(header)
                for line in source:
                    out.write(line)
                    rows += 1
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "shots")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--score-seasons", type=int, default=8)
    parser.add_argument(
        "--predict-only",
        action="store_true",
        help="only the predict-batch stage, on the champion and file an earlier run left in --home",
    )
    args = parser.parse_args()
    if args.predict_only:
        if args.home is None or not (args.home / "big.csv").is_file():
            parser.error("--predict-only needs the --home of an earlier full run")
        r = _run("predict_batch", args.home, args.data)
        print(
            f"\nmachine: {platform.node()} {os.cpu_count()} cores, python "
            f"{platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}\n"
            f"predict-batch: {r['rows']:,} shots, {r['rows_per_s']:,} shots/s "
            f"(scoring {r['scoring_s']} s, load and compile {r['load_and_compile_s']} s, "
            f"{r['workers']} workers, compiled {r['compiled']}), wall {r['seconds']:.1f} s, "
            f"peak RSS {r['peak_rss_mb']:.0f} MB"
        )
        return
    home = args.home or Path(tempfile.mkdtemp(prefix="nba-bench-"))
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    results = [_run("ingest", home, args.data), _run("train", home, args.data)]
    concat_seasons(args.data, home / "big.csv", args.score_seasons)
    results.append(_run("predict_batch", home, args.data))

    print(
        f"\nmachine: {platform.node()} {os.cpu_count()} cores, python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    print("\n| stage | wall s | peak RSS MB | detail |\n|---|---:|---:|---|")
    for r in results:
        shown = ("rows", "new", "quarantined", "rows_per_s", "scoring_s", "load_and_compile_s")
        detail = {k: v for k, v in r.items() if k in (*shown, "workers", "compiled")}
        print(f"| {r['stage']} | {r['seconds']:.1f} | {r['peak_rss_mb']:.0f} | {detail} |")
    total = sum(r["seconds"] for r in results[:2])
    print(f"\ningest + train: {total:.0f} s")
    train = results[1]
    print(
        "\n| model | holdout log loss | AUC | accuracy | Brier | ECE | without context log loss |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    const, dist = train["baselines"]
    for name, m in (("constant make rate", const), ("logistic on distance", dist)):
        print(
            f"| {name} | {m['log_loss']:.4f} | {m['roc_auc']:.3f} | {m['accuracy']:.3f} | "
            f"{m['brier']:.4f} | {m['ece']:.4f} | |"
        )
    for family, val, hold, bare, secs in train["candidates"]:
        print(
            f"| {family} (val {val:.4f}, {secs:.0f} s) | {hold['log_loss']:.4f} | "
            f"{hold['roc_auc']:.3f} | {hold['accuracy']:.3f} | {hold['brier']:.4f} | "
            f"{hold['ece']:.4f} | {bare['log_loss']:.4f} |"
        )
    print("\n" + train["report"])


if __name__ == "__main__":
    main()
