"""The daily loop on the full data: live quality from real outcomes, day by day.

    uv run python bench/bench_daily.py [--data ../shared/data/shots] [--home DIR]
                                       [--season 2022-23] [--days 30] [--families lightgbm]

Builds a home (or reuses ``--home`` when it already has a champion) whose store holds
every season of ``--data`` before ``--season`` and whose champion was trained on it
(``nba-mlops train``; ``--families`` picks the candidates, LightGBM alone by default to
save time: it is the champion of the full training). Then runs ``--days`` simulated days
of ``--season`` exactly as ``nba-mlops simulate`` does: each day's shots are scored
through the serving path and stored as predictions before the day is ingested, and the
ingest verifies them from the data.

Prints, for docs/monitoring.md: the champion's holdout figures; per day, the shots, the
seconds each step took, and live log loss, accuracy and calibration error beside what
the constant scores on the same shots; the same over all days; the ``nba_live_*`` and
``nba_model_holdout_*`` lines of ``/metrics`` after one refresh; where the HTML report
went.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

from nba_mlops.config import Settings

ROOT = Path(__file__).resolve().parents[1]


def season_of(path: Path) -> str:
    return path.name.split("_")[1].split(".")[0]


def build_home(settings: Settings, data: Path, season: str) -> None:
    from nba_mlops.pipeline import run_ingest, run_training

    files = sorted(p for p in data.glob("shots_*.csv.gz") if season_of(p) < season)
    started = time.perf_counter()
    reports = run_ingest(settings, files)
    seconds = time.perf_counter() - started
    print(
        f"ingested {sum(r.rows_new for r in reports):,} shots of {len(files)} seasons "
        f"({season_of(files[0])} to {season_of(files[-1])}) in {seconds:.0f} s",
        flush=True,
    )
    started = time.perf_counter()
    report = run_training(settings)
    print(f"trained in {time.perf_counter() - started:.0f} s: {report.summary()}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "shots")
    parser.add_argument("--home", type=Path, default=None)
    parser.add_argument("--season", default="2022-23")
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--families", default="lightgbm")
    args = parser.parse_args()

    os.environ["NBA_MLOPS_TRAINING__FAMILIES"] = str(args.families.split(",")).replace("'", '"')
    from nba_mlops.daily import simulate_day
    from nba_mlops.log import setup_logging
    from nba_mlops.monitoring.build import build_monitoring_report, champion_info
    from nba_mlops.monitoring.quality import live_quality

    home = args.home or ROOT / "var" / "bench-daily"
    settings = Settings(home=home)
    settings.ensure_dirs()
    setup_logging(settings, console=False)
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, load average {os.getloadavg()[0]:.1f}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; home {home}\n",
        flush=True,
    )
    try:
        champion = champion_info(settings)
        print(f"reusing champion v{champion.version} of {home}", flush=True)
    except LookupError:
        build_home(settings, args.data, args.season)
        champion = champion_info(settings)
    holdout = champion.holdout
    print(
        f"champion v{champion.version} on its holdout: log loss {holdout.get('log_loss', 0):.4f} "
        f"(constant {holdout.get('constant_log_loss', 0):.4f}), accuracy "
        f"{holdout.get('accuracy', 0):.4f} (constant {holdout.get('constant_accuracy', 0):.4f}), "
        f"ECE {holdout.get('ece', 0):.4f}\n",
        flush=True,
    )
    source = args.data / f"shots_{args.season}.csv.gz"
    print("| day | shots | score s | ingest s | log loss | constant | accuracy | constant | ECE |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    outcomes: list[int] = []
    probabilities: list[float] = []
    for _ in range(args.days):
        started = time.perf_counter()
        day = simulate_day(settings, source)
        if day.delivery.nothing_left:
            print("the season is used up")
            break
        total = time.perf_counter() - started
        scoring = day.scorings[-1]
        q = day.quality
        if q is None:
            print(f"| {day.delivery.dates[0]} | {scoring.rows:,} | not scored: {scoring.skipped}")
            continue
        print(
            f"| {day.delivery.dates[0]} | {q.count:,} | {scoring.seconds:.1f} | "
            f"{total - scoring.seconds:.1f} | {q.log_loss:.4f} | {q.constant_log_loss:.4f} | "
            f"{q.accuracy:.3f} | {q.constant_accuracy:.3f} | {q.ece:.3f} |",
            flush=True,
        )
        outcomes_day, probabilities_day = _run_rows(settings, scoring.run)
        outcomes += outcomes_day
        probabilities += probabilities_day
    every = live_quality(outcomes, probabilities)
    print(
        f"| all days | {every.count:,} | | | {every.log_loss:.4f} | {every.constant_log_loss:.4f} "
        f"| {every.accuracy:.3f} | {every.constant_accuracy:.3f} | {every.ece:.3f} |\n"
    )
    print_metrics(settings)
    report = build_monitoring_report(settings, settings.reports_dir / "bench-daily.html")
    print(f"\nmonitoring report: {report}")
    if args.home is None:
        print(f"(home kept for a rerun with --home {home}; remove it with rm -r {home})")


def _run_rows(settings: Settings, run: str) -> tuple[list[int], list[float]]:
    from sqlalchemy import select

    from nba_mlops.db.models import Prediction, ShotOutcome
    from nba_mlops.db.session import Database
    from nba_mlops.db.verification import SHOT_OF_PREDICTION

    db = Database(settings)
    try:
        with db.session() as session:
            rows = session.execute(
                select(ShotOutcome.made, Prediction.probability)
                .join(ShotOutcome, SHOT_OF_PREDICTION)
                .where(Prediction.run == run)
            ).all()
    finally:
        db.dispose()
    return [int(r[0]) for r in rows], [float(r[1]) for r in rows]


def print_metrics(settings: Settings) -> None:
    """The live and holdout lines of /metrics after one refresh, as the API exports them."""
    from nba_mlops import metrics
    from nba_mlops.db.session import Database
    from nba_mlops.monitoring.refresh import MetricsRefresher

    db = Database(settings)
    try:
        MetricsRefresher(settings, db).refresh_once()
    finally:
        db.dispose()
    text, _ = metrics.render_latest()
    wanted = ("nba_live_", "nba_model_holdout_", "nba_label_")
    for line in text.decode().splitlines():
        if line.startswith(wanted):
            print(line)


if __name__ == "__main__":
    main()
