"""Shooter skill and sequence context computed only from earlier shots.

Every value for a shot uses shots that happened before it: skill uses the shooter's
earlier *games* (so nothing from the same game leaks in), sequence context uses earlier
shots of the same game. The rates are smoothed towards the league rate of the zone so a
shooter with three attempts does not look like a 100% shooter.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from nba_mlops.data.schema import TARGET

# Pseudo-attempts of league-average shooting added to every shooter's record.
SMOOTHING_ATTEMPTS = 25.0
ZONE_COLUMN = "shot_zone_basic"


def shot_order(shots: pd.DataFrame) -> pd.DataFrame:
    """Sort shots in the order they happened.

    Game ids grow through a season's schedule and regular-season ids (2...) sort before
    playoff ids (4...), so ``(season_start_year, game_id)`` orders games even where the
    date is missing; within a game, period then clock then event id.
    """
    clock = shots["minutes_remaining"].astype("int32") * 60 + shots["seconds_remaining"].astype(
        "int32"
    )
    order = pd.DataFrame(
        {
            "season_start_year": shots["season_start_year"].to_numpy(),
            "game_id": shots["game_id"].to_numpy(),
            "period": shots["period"].to_numpy(),
            "neg_clock": -clock.to_numpy(),
            "game_event_id": shots["game_event_id"].to_numpy(),
        },
        index=shots.index,
    )
    return shots.loc[order.sort_values(list(order.columns), kind="stable").index]


def league_zone_rates(shots: pd.DataFrame) -> pd.Series:
    """Make rate per basic zone, the prior every shooter's rate is pulled towards."""
    return shots.groupby(ZONE_COLUMN, observed=True)[TARGET].mean()


def add_shot_context(shots: pd.DataFrame, zone_rates: pd.Series | None = None) -> pd.DataFrame:
    """Return ``shots`` (in time order) with the context columns added.

    ``zone_rates`` are the league priors; pass the training rows' rates so nothing from
    the holdout reaches them (default: the rates of every season but the latest).
    """
    ordered = shot_order(shots).reset_index(drop=True)
    if zone_rates is None:
        latest = ordered["season_start_year"].max()
        earlier = ordered[ordered["season_start_year"] < latest]
        zone_rates = league_zone_rates(earlier if len(earlier) else ordered)
    overall = float(np.average(zone_rates.to_numpy())) if len(zone_rates) else 0.45
    prior = ordered[ZONE_COLUMN].map(zone_rates).astype("float64").fillna(overall).to_numpy()
    made = ordered[TARGET].astype("float64").to_numpy()
    game_key = ordered["game_id"].to_numpy()

    career_att, career_made, before_game_att, before_game_made = _prior_counts(
        ordered, ["player_id"], made, game_key
    )
    ordered["player_prior_attempts"] = before_game_att
    ordered["player_prior_pct"] = _smooth(before_game_made, before_game_att, prior)
    for column, keys in (
        ("player_zone_prior_pct", ["player_id", ZONE_COLUMN]),
        ("player_action_prior_pct", ["player_id", "action_type"]),
        ("player_season_prior_pct", ["player_id", "season_start_year"]),
    ):
        _, _, att, mk = _prior_counts(ordered, keys, made, game_key)
        ordered[column] = _smooth(mk, att, prior)

    ordered["game_prior_attempts"] = career_att - before_game_att
    ordered["game_prior_makes"] = career_made - before_game_made
    previous = (
        ordered.groupby(["player_id", "game_id"], sort=False)[TARGET].shift(1).astype("float64")
    )
    ordered["prev_shot_made"] = previous.fillna(-1.0)
    _add_game_sequence(ordered)
    _add_opponent_defence(ordered, made, prior, game_key)
    return ordered


# Pseudo-shots of average defence added to every team's record this season.
DEFENCE_SMOOTHING = 300.0


def _add_opponent_defence(
    ordered: pd.DataFrame, made: np.ndarray, prior: np.ndarray, game_key: np.ndarray
) -> None:
    """Makes the opponent allowed above the zones' league rates, per shot, this season
    before this game (0 for an average defence, missing when the opponent is unknown)."""
    if not {"is_home", "home_team", "away_team"} <= set(ordered.columns):
        ordered["opponent_allowed_excess"] = np.nan
        return
    home = ordered["is_home"].astype("float64").to_numpy()
    away = ordered["away_team"].astype("object")
    opponent = away.where(home == 1, ordered["home_team"].astype("object"))
    opponent = opponent.where((home == 1) | (home == 0), None)
    frame = pd.DataFrame(
        {"opponent": opponent, "season": ordered["season_start_year"], "excess": made - prior}
    )
    groups = frame.groupby(["opponent", "season"], sort=False, dropna=False)
    att_before_shot = groups.cumcount().to_numpy(dtype="float64")
    excess_before_shot = groups["excess"].cumsum().to_numpy() - frame["excess"].to_numpy()
    per_game = pd.DataFrame(
        {"att": att_before_shot, "excess": excess_before_shot}, index=ordered.index
    ).groupby(
        [opponent, frame["season"], pd.Series(game_key, index=ordered.index)],
        sort=False,
        dropna=False,
    )
    att = per_game["att"].transform("first").to_numpy()
    excess = per_game["excess"].transform("first").to_numpy()
    value = excess / (att + DEFENCE_SMOOTHING)
    ordered["opponent_allowed_excess"] = np.where(opponent.isna().to_numpy(), np.nan, value)


def elapsed_seconds(period: np.ndarray, clock: np.ndarray) -> np.ndarray:
    """Seconds since tip-off: four 12-minute quarters, then 5-minute overtimes."""
    regulation = (np.minimum(period, 4) - 1) * 720 + np.where(period <= 4, 720 - clock, 720)
    overtime = np.where(period > 4, (period - 5) * 300 + (300 - clock), 0)
    result: np.ndarray = (regulation + overtime).astype("float64")
    return result


def _add_game_sequence(ordered: pd.DataFrame) -> None:
    """The game's previous shot by anyone (rows are already in time order)."""
    clock = (ordered["minutes_remaining"] * 60 + ordered["seconds_remaining"]).to_numpy("float64")
    elapsed = pd.Series(
        elapsed_seconds(ordered["period"].to_numpy("float64"), clock), index=ordered.index
    )
    by_game = ordered.groupby("game_id", sort=False)
    previous_elapsed = elapsed.groupby(ordered["game_id"], sort=False).shift(1)
    ordered["seconds_since_game_shot"] = (elapsed - previous_elapsed).clip(lower=0).fillna(-1.0)
    previous_team = by_game["team_id"].shift(1) if "team_id" in ordered else None
    if previous_team is None:
        ordered["game_shot_same_team"] = np.nan
    else:
        same = (previous_team == ordered["team_id"]).astype("float64")
        ordered["game_shot_same_team"] = same.where(previous_team.notna(), -1.0)
    ordered["game_shot_made"] = by_game[TARGET].shift(1).astype("float64").fillna(-1.0)


def _prior_counts(
    ordered: pd.DataFrame, keys: list[str], made: np.ndarray, game_key: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Attempts/makes before each shot, and before the shot's game, within ``keys``."""
    groups = ordered.groupby(keys, sort=False, observed=True, dropna=False)
    att_before_shot = groups.cumcount().to_numpy(dtype="float64")
    made_before_shot = (
        pd.Series(made, index=ordered.index)
        .groupby([ordered[k] for k in keys], sort=False, observed=True, dropna=False)
        .cumsum()
        .to_numpy()
        - made
    )
    frame = pd.DataFrame({"att": att_before_shot, "made": made_before_shot}, index=ordered.index)
    by_game = frame.groupby(
        [*(ordered[k] for k in keys), pd.Series(game_key, index=ordered.index)],
        sort=False,
        observed=True,
        dropna=False,
    )
    att_before_game = by_game["att"].transform("first").to_numpy()
    made_before_game = by_game["made"].transform("first").to_numpy()
    return att_before_shot, made_before_shot, att_before_game, made_before_game


def _smooth(made: np.ndarray, attempts: np.ndarray, prior: np.ndarray) -> np.ndarray:
    return (made + SMOOTHING_ATTEMPTS * prior) / (attempts + SMOOTHING_ATTEMPTS)
