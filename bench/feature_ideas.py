"""What each candidate feature or training change moves on the season after the data.

    NBA_MLOPS_HOME=<full-data home> uv run python bench/feature_ideas.py [IDEA ...]
        [--seasons 2020,2022] [--rows 1200000] [--through-last] [--by-season]

For each season N: a LightGBM with fixed parameters fits the latest ``--rows`` shots of
the seasons up to N-2 with the production features plus the idea's, stops early on N-1,
and scores N (with ``--through-last`` it is fitted again, with as many trees, on the
latest rows up to N-1: a model that ends the season before the one it scores). Every
candidate is computed point in time with the history's own tallies: a shooter's
record before the game, the game's earlier shots. Prints one Markdown row per idea with
each season's log loss and AUC and the mean AUC's change from the production features
("base") in the same run. Ideas: ``base``, ``all``, ``all-<name>``, a candidate's name,
``weight<decay>`` (each earlier season weighs ``decay`` times the next), ``from<year>``
(fit on seasons from ``year`` on), ``params:<k>=<v>,...`` (other LightGBM parameters).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.metrics import log_loss, roc_auc_score

from nba_mlops.config import get_settings
from nba_mlops.features import history
from nba_mlops.features.transformers import ShotFeatures
from nba_mlops.training.dataset import load_shots, model_input

PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.08,
    "num_leaves": 63,
    "min_child_samples": 300,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "max_bin": 127,
    "n_estimators": 2000,
    "verbose": -1,
    "random_state": 0,
}


def candidates(shots: pd.DataFrame) -> pd.DataFrame:
    """Candidate features of ``shots`` (in time order), each from earlier shots only."""
    work = history.working_frame(shots)
    history._add_expected(work, history.league_counts(work))
    work["area"] = history._categories(shots["shot_zone_area"].fillna("unknown"))
    work["range"] = history._categories(shots["shot_zone_range"].fillna("unknown"))
    work["value"] = np.where(work["three"], "3", "2")
    bins = np.minimum(np.nan_to_num(work["distance"].to_numpy()) // 3, 9).astype(int)
    work["distance_bin"] = bins.astype(str)
    out: dict[str, np.ndarray] = {}

    def before_game(frame: pd.DataFrame, keys: tuple[str, ...], half: float | None) -> np.ndarray:
        tally = history.Tally("candidate", keys, half)
        start = history._empty_tally(tally).drop(columns="season_seen")
        sums, _ = history._run_tally(frame, tally, start)
        return sums

    def excess(name: str, keys: tuple[str, ...], smoothing: float, half: float | None = None):
        sums = before_game(work, keys, half)
        out[name] = sums[:, 2] / (sums[:, 0] + smoothing)

    # skill by finer shot types, shrunk toward the league's expectation by attempts
    excess("shooter_zone_side", ("player", "zone", "area"), 50.0)
    excess("shooter_range", ("player", "range"), 50.0)
    excess("shooter_value", ("player", "value"), 50.0)
    excess("shooter_distance", ("player", "distance_bin"), 50.0)
    # form with other recency decays (production: a half-life of 250 shots)
    excess("form_50", ("player",), 20.0, 50.0)
    excess("form_1000", ("player",), 100.0, 1000.0)
    excess("form_by_value", ("player", "value"), 30.0, 150.0)
    # the opponent's defence and the team's offence this season by zone
    excess("defence_by_zone", ("opponent", "season", "zone"), 100.0)
    excess("offence_by_zone", ("team", "season", "zone"), 100.0)

    # the shooter's shot profile: share of threes and of restricted-area shots so far
    def share(name: str, flag: np.ndarray) -> None:
        profile = work.copy()
        profile["made"] = np.where(np.isnan(work["made"]), np.nan, flag.astype("float64"))
        profile["expected"] = 0.0
        sums = before_game(profile, ("player",), None)
        out[name] = (sums[:, 1] + 3.0) / (sums[:, 0] + 10.0)

    share("three_share", work["three"].to_numpy())
    share("rim_share", shots["shot_zone_basic"].to_numpy() == "Restricted Area")

    # the game so far: time since the shooter's first shot, the team's and the shooter's
    # makes above expected
    elapsed = pd.Series(
        history.elapsed_seconds(
            work["period"].to_numpy("float64"), work["clock"].to_numpy("float64")
        )
    )
    own = [work["player"], work["game"]]
    out["seconds_since_first_shot"] = (
        elapsed - elapsed.groupby(own, sort=False).transform("first")
    ).to_numpy()
    above = pd.Series(np.where(np.isnan(work["made"]), 0.0, work["made"] - work["expected"]))
    team = [work["team"], work["game"]]
    for name, keys, smoothing in (
        ("team_game_excess", team, 10.0),
        ("own_game_excess", own, 3.0),
    ):
        before = above.groupby(keys, sort=False).cumsum() - above
        out[name] = (before / (work.groupby(keys, sort=False).cumcount() + smoothing)).to_numpy()

    # rest: days since the team's previous game (unknown where the date is)
    date = pd.to_datetime(shots["game_date"], errors="coerce")
    games = pd.DataFrame({"team": work["team"], "game": work["game"], "date": date})
    games = games.drop_duplicates(["team", "game"]).sort_values(["team", "game"])
    games["rest"] = (games["date"] - games.groupby("team")["date"].shift(1)).dt.days.clip(upper=10)
    rest = games[["team", "game"]].assign(rest=games["rest"])
    joined = work[["team", "game"]].merge(rest, how="left", on=["team", "game"])
    out["rest_days"] = joined["rest"].to_numpy("float64")
    return pd.DataFrame(out).astype("float32")


def run(
    shots: pd.DataFrame,
    extra: pd.DataFrame,
    seasons: list[int],
    rows: int,
    through_last: bool,
    columns: list[str],
    params: dict[str, Any],
    weight: float | None = None,
    first_season: int = 0,
) -> list[tuple[int, float, float]]:
    season = shots["season_start_year"].to_numpy()
    y = shots["shot_made_flag"].to_numpy("int64")
    results = []
    for n in seasons:
        train = np.flatnonzero((season <= n - 2) & (season >= first_season))[-rows:]
        stop = np.flatnonzero(season == n - 1)
        test = np.flatnonzero(season == n)
        features = ShotFeatures().fit(shots.iloc[train][["action_type"]])

        def frame(rows_: np.ndarray, features: ShotFeatures = features) -> pd.DataFrame:
            x = features.transform(model_input(shots.iloc[rows_]))
            for c in columns:
                x[c] = extra[c].to_numpy()[rows_]
            return x

        weights = weight ** (n - 2 - season[train]) if weight else None
        model = lgb.LGBMClassifier(**params)
        model.fit(
            frame(train),
            y[train],
            sample_weight=weights,
            eval_X=(frame(stop),),
            eval_y=(y[stop],),
            callbacks=[lgb.early_stopping(50, verbose=False)],
        )
        if through_last:
            latest = np.flatnonzero((season <= n - 1) & (season >= first_season))[-rows:]
            model = lgb.LGBMClassifier(**(params | {"n_estimators": model.best_iteration_}))
            model.fit(frame(latest), y[latest])
        p = model.predict_proba(frame(test))[:, 1]
        results.append((n, float(log_loss(y[test], p)), float(roc_auc_score(y[test], p))))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("ideas", nargs="*", default=["base", "all"])
    parser.add_argument("--seasons", default="2020,2022")
    parser.add_argument("--rows", type=int, default=1_200_000)
    parser.add_argument("--through-last", action="store_true")
    parser.add_argument(
        "--by-season", action="store_true", help="first, the shot kind's AUC season by season"
    )
    args = parser.parse_args()
    seasons = [int(s) for s in args.seasons.split(",")]
    started = time.perf_counter()
    shots, version = load_shots(get_settings())
    extra = candidates(shots)
    print(
        f"# {platform.node()}, {os.cpu_count()} cores, data {version[:8]}, "
        f"{len(shots):,} shots; candidates computed in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    if args.by_season:
        # how much the shot's kind alone separates makes from misses, season by season:
        # the AUC of the league's expected rate for its zone and action type
        print("| season | shots | make rate | AUC of the league's expected rate |")
        print("|---|---:|---:|---:|")
        for season, rows in shots.groupby("season_start_year"):
            if len(rows) >= 100_000:
                auc = roc_auc_score(rows["shot_made_flag"], rows["league_expected"])
                label = f"{season}-{(int(season) + 1) % 100:02d}"
                rate = rows["shot_made_flag"].mean()
                print(f"| {label} | {len(rows):,} | {rate:.3f} | {auc:.4f} |")
        print(flush=True)
    ideas = args.ideas if "base" in args.ideas else ["base", *args.ideas]
    header = " | ".join(f"{n}-{(n + 1) % 100:02d} log loss | AUC" for n in seasons)
    print(f"| idea | {header} | mean AUC | vs base |")
    print("|---|" + "---:|---:|" * len(seasons) + "---:|---:|", flush=True)
    base_auc: float | None = None
    for idea in ideas:
        columns: list[str] = []
        params = dict(PARAMS)
        options: dict[str, Any] = {}
        if idea == "all":
            columns = list(extra.columns)
        elif idea.startswith("all-"):
            columns = [c for c in extra.columns if c != idea[4:]]
        elif idea in extra.columns:
            columns = [idea]
        elif idea.startswith("weight"):
            options["weight"] = float(idea[6:])
        elif idea.startswith("from"):
            options["first_season"] = int(idea[4:])
        elif idea.startswith("params:"):
            for pair in idea[7:].split(","):
                key, value = pair.split("=")
                cast: Callable[[str], Any] = type(PARAMS.get(key, 0.0))
                params[key] = cast(float(value)) if cast is int else cast(value)
        elif idea != "base":
            parser.error(f"unknown idea {idea!r}; candidates: {', '.join(extra.columns)}")
        results = run(
            shots, extra, seasons, args.rows, args.through_last, columns, params, **options
        )
        mean_auc = float(np.mean([auc for _, _, auc in results]))
        if idea == "base":
            base_auc = mean_auc
        cells = " | ".join(f"{loss:.4f} | {auc:.4f}" for _, loss, auc in results)
        change = mean_auc - base_auc if base_auc is not None else 0.0
        print(f"| {idea} | {cells} | {mean_auc:.4f} | {change:+.4f} |", flush=True)


if __name__ == "__main__":
    main()
