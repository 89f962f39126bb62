"""How long one player's season of shots takes to answer: ``GET /players/{id}/shots``.

    python bench/bench_players.py --store ../full/store --model-home HOME [--season 2015-16]

``--store``: a shot store with its history (a full-data home's ``store``), read only.
``--model-home``: a home whose MLflow registry has a champion (e.g. the test suite's
trained sample). The API runs in this process on a temporary home that links the store;
each of the season's most frequent shooters is asked for once with an empty cache (the
answer is read, scored and serialised) and once more from the cache; then, as the page
asks, the next shooters' zones (their careers, read and scored) and then their season's
shots. Prints the times.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow.dataset as ds
from fastapi.testclient import TestClient

from nba_mlops.api.app import create_app
from nba_mlops.config import ServingSettings, Settings
from nba_mlops.data.store import ShotStore


def _top_shooters(settings: Settings, season: str, n: int) -> list[int]:
    store = ShotStore(settings)
    files = [str(store.root / p.path) for p in store.parts([season]) if p.rows]
    table = ds.dataset(files, format="parquet").to_table(columns=["player_id"])
    counts = table.group_by("player_id").aggregate([("player_id", "count")]).to_pandas()
    top = counts.sort_values("player_id_count", ascending=False).head(n)
    return [int(p) for p in top["player_id"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--model-home", type=Path, required=True)
    parser.add_argument("--season", default="2015-16")
    parser.add_argument("--players", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-players-") as folder:
        home = Path(folder)
        (home / "store").symlink_to(args.store.resolve())
        uri = f"sqlite:///{(args.model_home / 'mlflow' / 'mlflow.db').resolve()}"
        secret = "bench-" + "x" * 40
        settings = Settings(
            home=home,
            serving=ServingSettings(reload_interval_s=3600.0, refresh_interval_s=0.0),
            MLFLOW_TRACKING_URI=uri,
            NBA_MLOPS_JWT_SECRET=secret,
        )
        players = _top_shooters(settings, args.season, args.players)
        cold: list[float] = []
        warm: list[float] = []
        sizes: list[int] = []
        zones: list[float] = []
        after_zones: list[float] = []
        others = _top_shooters(settings, args.season, 2 * args.players)[args.players :]
        with TestClient(create_app(settings)) as client:
            # the first request of a process also imports and warms what every one uses
            client.get(f"/players/{players[-1]}/shots", params={"season": args.season})
            for player in players:
                for times in (cold, warm):
                    started = time.perf_counter()
                    response = client.get(
                        f"/players/{player}/shots", params={"season": args.season, "limit": 5000}
                    )
                    times.append(time.perf_counter() - started)
                    response.raise_for_status()
                sizes.append(int(response.json()["total"]))
            # The page's order: a player's zones (career and league), then the season's shots.
            started = time.perf_counter()
            client.get(f"/players/{others[0]}/zones").raise_for_status()
            league_and_first = time.perf_counter() - started
            for player in others[1:]:
                started = time.perf_counter()
                client.get(
                    f"/players/{player}/zones", params={"season": args.season}
                ).raise_for_status()
                zones.append(time.perf_counter() - started)
                started = time.perf_counter()
                client.get(
                    f"/players/{player}/shots", params={"season": args.season, "limit": 5000}
                ).raise_for_status()
                after_zones.append(time.perf_counter() - started)
        print(f"{len(players)} most frequent shooters of {args.season}, one season each")
        print(f"shots per answer: {min(sizes)}-{max(sizes)}")
        print(f"first zones of the process (league's zones, a career): {league_and_first:.2f} s")
        for name, times in (
            ("first ask (read, score)", cold),
            ("again (cached)", warm),
            ("zones (a career, scored)", zones),
            ("shots after the zones", after_zones),
        ):
            ms = sorted(t * 1000 for t in times)
            print(f"{name:26s} median {statistics.median(ms):6.1f} ms  max {ms[-1]:6.1f} ms")


if __name__ == "__main__":
    main()
