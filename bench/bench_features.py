"""What point-in-time context costs and what it is worth, with the full-data champion.

    uv run python bench/bench_features.py --home DIR [--data ../shared/data/shots]

``DIR`` is a home where the full data was ingested and a champion trained
(``nba-mlops ingest ../shared/data/shots/*.csv.gz`` then ``nba-mlops train``). Prints:

1. the online look-up per request, in this process: building the model's frame for one
   shot with the online table against without it (the plain model), median of many
   calls, and the model's own scoring time beside it;
2. ``predict-batch`` on the latest season's file, which the store holds (its context is
   read from the stored history), and on the same file against a store that ends before
   that season (the context is computed from the checkpoint and the file itself): wall
   time, throughput, and the log loss each gives beside the holdout log loss that
   training reported for the champion.

Speed is reported beside a baseline measured in the same run (the machine's speed varies
from day to day).
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pandas as pd
from sklearn.metrics import log_loss

ROOT = Path(__file__).resolve().parents[1]


def _median_ms(call: object, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()  # type: ignore[operator]
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def online_lookup(settings: object, repeats: int) -> None:
    from nba_mlops.data.store import ShotStore
    from nba_mlops.db.session import Database
    from nba_mlops.features.online import OnlineFeatures
    from nba_mlops.inference.predictor import build_model_frame, single_threaded
    from nba_mlops.registry import Registry

    db = Database(settings)  # type: ignore[arg-type]
    started = time.perf_counter()
    online = OnlineFeatures.load(db)
    load_s = time.perf_counter() - started
    assert online is not None, "nothing published: run `nba-mlops features refresh`"
    model, version = Registry(settings).load_model()  # type: ignore[arg-type]
    single_threaded(model)
    stored = ShotStore(settings).read(seasons=["2022-23"])  # type: ignore[arg-type]
    game = stored[stored["game_id"] == stored["game_id"].max()]
    shooter = game.iloc[len(game) // 2]
    bare = {"loc_x": -120, "loc_y": 150, "period": 3, "minutes_remaining": 4}
    full = {
        **bare,
        "player_id": int(shooter["player_id"]),
        "team_id": int(shooter["team_id"]),
        "home_team": str(shooter["home_team"]),
        "away_team": str(shooter["away_team"]),
        "is_home": bool(shooter["is_home"]),
        "game_id": int(shooter["game_id"]),
        "game_event_id": int(game["game_event_id"].max()) + 1,
        "game_date": "2023-04-09",
    }
    build_model_frame([full], online)  # warm the game cache
    rows = []
    for name, record, table in (
        ("location only, no online table (the plain model)", bare, None),
        ("location only, online table", bare, online),
        ("shooter, teams and game, no online table", full, None),
        ("shooter, teams and game, online table", full, online),
    ):
        frame_ms = _median_ms(lambda r=record, t=table: build_model_frame([r], t), repeats)
        frame = build_model_frame([record], table)
        score_ms = _median_ms(lambda f=frame: model.predict_proba(f), repeats)
        rows.append((name, frame_ms, score_ms))
    print(f"online table: {len(online.tallies['player']):,} shooters, loaded in {load_s:.2f} s")
    print(f"champion v{version}; one shot, median of {repeats} calls\n")
    print("| request | build the frame, ms | score it, ms |")
    print("|---|---:|---:|")
    for name, frame_ms, score_ms in rows:
        print(f"| {name} | {frame_ms:.3f} | {score_ms:.3f} |")
    added = rows[3][1] - rows[2][1]
    print(f"\nthe look-up adds {added:.3f} ms to a request with shooter, teams and game")
    db.dispose()


def batch_paths(settings: object, keep: Path | None) -> None:
    from nba_mlops.config import Settings
    from nba_mlops.data.schema import STORE_COLUMNS
    from nba_mlops.data.store import ShotStore
    from nba_mlops.evaluation import _as_file
    from nba_mlops.inference.batch import predict_batch
    from nba_mlops.registry import Registry

    assert isinstance(settings, Settings)
    champion = Registry(settings).champion()
    assert champion.run_id is not None, f"champion v{champion.version} has no run"
    version = champion.version
    reported = Registry(settings).run(champion.run_id).metrics["holdout_log_loss"]
    store = ShotStore(settings)
    latest = store.seasons()[-1]
    work = Path(tempfile.mkdtemp(prefix="bench-features-", dir=keep))
    try:
        season = store.read(columns=list(STORE_COLUMNS), seasons=[latest])
        source = work / f"shots_{latest}.csv"
        _as_file(season, source)
        # a store that ends before the season, same registry (the champion is the same)
        before = settings.model_copy(update={"home": work / "before"})
        before.ensure_dirs()
        shutil.copytree(settings.mlflow_dir, before.mlflow_dir, dirs_exist_ok=True)
        past = ShotStore(before)
        with past.lock():
            past.append(
                store.read(columns=list(STORE_COLUMNS), seasons=store.seasons()[:-1]),
                {"source": "bench: the store before its latest season"},
            )
        from nba_mlops.features.snapshots import FeatureSnapshots

        started = time.perf_counter()
        FeatureSnapshots(before).refresh()
        history_s = time.perf_counter() - started
        print(
            f"\nhistory of the store before {latest} computed in {history_s:.1f} s "
            f"({past.data_version().rows:,} shots)\n"
        )
        print("| file | store | wall s (model loaded) | shots/s | log loss | reported holdout |")
        print("|---|---|---:|---:|---:|---:|")
        for label, home in (("holds the season", settings), ("ends before it", before)):
            for attempt in (1, 2):
                out = work / f"scored-{attempt}.csv"
                started = time.perf_counter()
                report = predict_batch(home, source, out, version=version)
                wall = time.perf_counter() - started
                scored = pd.read_csv(out, usecols=["Shot Made Flag", "make_probability"])
                loss = log_loss(scored["Shot Made Flag"], scored["make_probability"])
                print(
                    f"| {latest}, {report.rows_scored:,} shots (run {attempt}) | {label} | "
                    f"{wall:.1f} ({report.load_seconds:.1f}) | {report.rows_per_second:,.0f} | "
                    f"{loss:.5f} | {reported:.5f} |"
                )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--home", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=2000)
    parser.add_argument("--skip-batch", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    from nba_mlops.config import Settings
    from nba_mlops.log import setup_logging

    settings = Settings(home=args.home)
    setup_logging(settings, console=False)
    print(
        f"machine: {platform.node()} {platform.machine()}, Python {platform.python_version()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n"
    )
    online_lookup(settings, args.repeats)
    if not args.skip_batch:
        batch_paths(settings, args.workdir)


if __name__ == "__main__":
    main()
