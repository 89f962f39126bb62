"""Verification from the data: a season's shots against a million stored predictions.

    uv run python bench/bench_verification.py [--shots 500000] [--predictions 1000000]
                                              [--backend postgres|sqlite|both]
                                              [--postgres postgresql://postgres@127.0.0.1:5432/test]
                                              [--data ../shared/data/shots]

Builds an application database (a fresh PostgreSQL database, dropped afterwards, and/or
a SQLite file in a temporary folder) holding ``--predictions`` predictions as the API
stores them: half of them of the season's shots (one each), a quarter of another
season's games, a quarter without shot ids. Then times what every ingest runs after the
store commits a file (``nba_mlops.db.verification.verify_shots``):

* the season: ``--shots`` shots (1,230 games of ~407 play-by-play events, ids shaped like
  the NBA's), each with one stored prediction waiting for its outcome;
* the same again: nothing left to verify (the idempotent re-run an ingest of a file
  already seen makes);
* a day: 2,500 shots of the other season, each with a waiting prediction.

The shots' ids are shaped like the NBA's by default. With ``--data`` (a folder of season
files, ``shots_*.csv.gz``) they are real: the newest seasons' shots, up to ``--shots``
(two and a bit seasons for 500,000), and the season before them as the other one (its
first 2,500 shots by date for the day).

Prints one Markdown table for docs/benchmarks.md, with the machine and the date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[1]
GAMES = 1_230
SEASON_GAME = 22300001  # 2023-24 regular season, game 1
OTHER_GAME = 22200001


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    name = f"nba_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def season_shots(count: int, first_game: int, seed: int) -> tuple[np.ndarray, ...]:
    """``count`` shots spread over 1,230 games: game ids, event ids, outcomes (47% made)."""
    rng = np.random.default_rng(seed)
    per_game = -(-count // GAMES)
    games = np.repeat(np.arange(first_game, first_game + GAMES, dtype=np.int64), per_game)
    events = np.tile(np.arange(2, 2 + per_game, dtype=np.int64), GAMES)
    order = rng.permutation(games.size)[:count]
    made = (rng.random(count) < 0.47).astype(np.int64)
    return games[order], events[order], made


def other_season(total: int) -> tuple[np.ndarray, ...]:
    """The other season's shots that a quarter of the predictions are about."""
    return season_shots(total // 4, OTHER_GAME, seed=7)


def _season_file(path: Path) -> pd.DataFrame:
    """A season file's shots with ids and outcome, in game date order."""
    ids = ["Game ID", "Game Event ID", "Shot Made Flag"]
    frame = pd.read_csv(path, usecols=[*ids, "Game Date"]).dropna(subset=ids)  # dates may lack
    frame = frame[frame["Shot Made Flag"].isin((0, 1))]
    return frame.sort_values(["Game Date", "Game ID", "Game Event ID"], kind="stable")


def _ids(frame: pd.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(
        frame[c].to_numpy(dtype=np.int64) for c in ("Game ID", "Game Event ID", "Shot Made Flag")
    )


def real_seasons(
    data: Path, count: int
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...], str]:
    """Real shots: the newest seasons of ``data`` up to ``count`` shots, and the season
    before them; and what they are, in words."""
    files = sorted(data.glob("shots_*.csv.gz"), reverse=True)
    taken: list[pd.DataFrame] = []
    names: list[str] = []
    while files and sum(len(f) for f in taken) < count:
        path = files.pop(0)
        taken.append(_season_file(path))
        names.append(path.name.split("_")[1].split(".")[0])
    if not files:
        raise SystemExit(f"{data} holds fewer than {count:,} shots and one more season")
    season = pd.concat(taken[::-1]).iloc[-count:]  # the newest shots
    other = files[0].name.split("_")[1].split(".")[0]
    words = (
        f"real shots: {len(season):,} of {', '.join(sorted(names))} "
        f"({season['Game ID'].nunique():,} games); other season {other}"
    )
    return _ids(season), _ids(_season_file(files[0])), words


def store_predictions(
    url: str, total: int, season: tuple[np.ndarray, ...], other: tuple[np.ndarray, ...]
) -> float:
    """``total`` predictions: half of the season's shots, a quarter of another season's
    games, a quarter without ids; returns the seconds the inserts took."""
    from nba_mlops.config import Settings
    from nba_mlops.db import migrate
    from nba_mlops.db.session import Database
    from nba_mlops.db.writer import insert_rows

    settings = Settings(home=Path(tempfile.gettempdir()), database_url=url)
    migrate.upgrade(settings)
    db = Database(settings)
    games, events, _ = season
    of_season = min(total // 2, games.size)
    other_games, other_events, _ = (a[: total // 4] for a in other)
    rng = np.random.default_rng(3)
    now = dt.datetime.now(dt.UTC)
    started = time.perf_counter()
    try:
        batch: list[dict[str, object]] = []
        for i in range(total):
            record: dict[str, object] = {
                "loc_x": int(rng.integers(-250, 250)),
                "loc_y": int(rng.integers(-50, 400)),
                "period": 1 + i % 4,
                "minutes_remaining": i % 12,
                "seconds_remaining": i % 60,
                "action_type": "Jump Shot",
                "player_id": 201939,
                "season_type": "Regular Season",
                "game_date": "2024-01-15",
            }
            if i < of_season:
                record |= {"game_id": int(games[i]), "game_event_id": int(events[i])}
            elif i - of_season < other_games.size:
                j = i - of_season
                record |= {"game_id": int(other_games[j]), "game_event_id": int(other_events[j])}
            probability = float(rng.random())
            batch.append(
                {
                    "user_id": None,
                    "input": record,
                    "probability": probability,
                    "label": int(probability >= 0.5),
                    "model_version": "3",
                    "latency_ms": 1.0,
                    "created_at": now,
                }
            )
            if len(batch) == 20_000 or i == total - 1:
                with db.engine.begin() as connection:
                    insert_rows(connection, batch)
                batch = []
        if db.backend == "postgresql":
            with db.engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE predictions")
    finally:
        db.dispose()
    return time.perf_counter() - started


def timed_verification(url: str, shots: tuple[np.ndarray, ...]) -> tuple[float, int]:
    from nba_mlops.config import Settings
    from nba_mlops.db.session import Database
    from nba_mlops.db.verification import verify_shots

    db = Database(Settings(home=Path(tempfile.gettempdir()), database_url=url))
    try:
        started = time.perf_counter()
        done = verify_shots(db, *shots)
        return time.perf_counter() - started, done.verified
    finally:
        db.dispose()


def run(
    backend: str,
    url: str,
    args: argparse.Namespace,
    season: tuple[np.ndarray, ...],
    other: tuple[np.ndarray, ...],
) -> list[str]:
    setup = store_predictions(url, args.predictions, season, other)
    print(f"{backend}: {args.predictions:,} predictions stored in {setup:.0f} s", flush=True)
    rows = []
    day = tuple(a[:2_500] for a in other)
    for what, shots in (
        (f"a season: {season[0].size:,} shots", season),
        ("the same season again", season),
        ("2,500 shots of another season (a day)", day),
    ):
        seconds, verified = timed_verification(url, shots)
        rows.append(f"| {backend} | {what} | {verified:,} | {seconds:.2f} |")
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shots", type=int, default=500_000)
    parser.add_argument("--predictions", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["postgres", "sqlite", "both"], default="both")
    parser.add_argument("--data", type=Path, default=None, help="real shots: season files")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "NBA_MLOPS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    print(
        f"machine: {platform.node()} {platform.machine()}, {psutil.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}\n",
        flush=True,
    )
    if args.data is None:
        season = season_shots(args.shots, SEASON_GAME, seed=1)
        other = other_season(args.predictions)
        print(f"shots with ids shaped like the NBA's: {season[0].size:,} ({GAMES:,} games)\n")
    else:
        season, other, words = real_seasons(args.data, args.shots)
        print(words + "\n", flush=True)
    rows = ["| database | shots verified against the table | predictions verified | s |",
            "|---|---|---:|---:|"]  # fmt: skip
    if args.backend in ("postgres", "both"):
        with postgres_database(args.postgres) as url:
            rows += run("PostgreSQL", url, args, season, other)
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            rows += run("SQLite", f"sqlite:///{Path(folder) / 'app.db'}", args, season, other)
    print("\n" + "\n".join(rows))


if __name__ == "__main__":
    main()
