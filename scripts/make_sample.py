"""Rebuild the bundled demo sample from the full shot files in ``../shared/data``.

The sample is every row of the original project's seed sample plus all shots of a fixed,
seeded draw of whole games from the three latest seasons, so that the latest season can
serve as a real holdout and sequence features see complete games. Run from the project
root: ``uv run python scripts/make_sample.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
OUT = Path(__file__).resolve().parents[1] / "src" / "nba_mlops" / "sample"
GAMES_PER_SEASON = {"2020-21": 50, "2021-22": 50, "2022-23": 70}


def main() -> int:
    frames = [pd.read_csv(SHARED / "seed_sample" / "shots_seed_sample.csv")]
    rng = np.random.default_rng(2023)
    for season, n_games in GAMES_PER_SEASON.items():
        shots = pd.read_csv(SHARED / "shots" / f"shots_{season}.csv.gz")
        games = np.sort(shots["Game ID"].unique())
        chosen = rng.choice(games, size=n_games, replace=False)
        frames.append(shots[shots["Game ID"].isin(chosen)])
    sample = pd.concat(frames, ignore_index=True).drop_duplicates(["Game ID", "Game Event ID"])
    OUT.mkdir(parents=True, exist_ok=True)
    sample.to_csv(
        OUT / "shots_sample.csv.gz", index=False, compression={"method": "gzip", "mtime": 0}
    )
    print(f"wrote {len(sample):,} shots to {OUT / 'shots_sample.csv.gz'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
