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
# Shooting above expected: the expected rate of a shot is the league's rate for its zone
# and action type (pulled towards the zone's rate by this many pseudo-shots); a shooter's
# excess is pulled towards zero by EXCESS_SMOOTHING pseudo-shots, and their recent form
# is the excess over their last RECENT_SHOTS shots before the game.
EXPECTED_SMOOTHING = 50.0
EXCESS_SMOOTHING = 100.0
RECENT_SHOTS = 300
RECENT_SMOOTHING = 50.0


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


def league_expected_rates(shots: pd.DataFrame, zone_rates: pd.Series) -> pd.Series:
    """Make rate per (zone, action type): what an average shooter makes from such a shot."""
    return expected_make_rates(
        shots[ZONE_COLUMN],
        shots["action_type"],
        shots[TARGET].astype("float64").to_numpy(),
        zone_rates,
    )


def expected_make_rates(
    zone: pd.Series, action: pd.Series, made: np.ndarray, zone_rates: pd.Series
) -> pd.Series:
    """The league's make rate per (zone, action type), smoothed towards the zone's rate:
    what an average shooter makes from such a shot."""
    frame = pd.DataFrame(
        {"zone": zone.astype("object").to_numpy(), "action": action.astype("object").to_numpy()}
    )
    frame["made"] = made
    table = frame.groupby(["zone", "action"], dropna=False)["made"].agg(["sum", "count"])
    overall = float(np.average(zone_rates.to_numpy())) if len(zone_rates) else 0.45
    prior = zone_rates.reindex(table.index.get_level_values("zone")).to_numpy(
        dtype="float64", na_value=np.nan
    )
    prior = np.nan_to_num(prior, nan=overall)
    rates = (table["sum"] + EXPECTED_SMOOTHING * prior) / (table["count"] + EXPECTED_SMOOTHING)
    result: pd.Series = rates.astype("float64")
    return result


def lookup_expected(
    rates: pd.Series, zone: pd.Series, action: pd.Series, fallback: np.ndarray
) -> np.ndarray:
    """Each shot's expected make rate from ``rates``; ``fallback`` where the pair is new."""
    keys = pd.MultiIndex.from_arrays(
        [zone.astype("object").to_numpy(), action.astype("object").to_numpy()]
    )
    found = rates.reindex(keys).to_numpy(dtype="float64")
    result: np.ndarray = np.where(np.isnan(found), fallback, found)
    return result


def add_shot_context(
    shots: pd.DataFrame,
    zone_rates: pd.Series | None = None,
    expected_rates: pd.Series | None = None,
) -> pd.DataFrame:
    """Return ``shots`` (in time order) with the context columns added.

    ``zone_rates`` (per zone) and ``expected_rates`` (per zone and action type, from
    ``league_expected_rates``) are the league tables; pass the training rows' tables so
    nothing from the holdout reaches them. With neither, both come from every season but
    the latest; with ``zone_rates`` alone, a shot's expected rate is its zone's rate.
    """
    ordered = shot_order(shots).reset_index(drop=True)
    if zone_rates is None:
        latest = ordered["season_start_year"].max()
        earlier = ordered[ordered["season_start_year"] < latest]
        league = earlier if len(earlier) else ordered
        zone_rates = league_zone_rates(league)
        if expected_rates is None:
            expected_rates = league_expected_rates(league, zone_rates)
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

    expected = (
        prior
        if expected_rates is None
        else lookup_expected(expected_rates, ordered[ZONE_COLUMN], ordered["action_type"], prior)
    )
    excess, recent = _excess_before_game(
        ordered["player_id"].fillna(-1).to_numpy(dtype="int64"), game_key, made - expected
    )
    ordered["player_prior_excess"] = excess
    ordered["player_recent_excess"] = recent

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


def _excess_before_game(
    player: np.ndarray, game: np.ndarray, excess: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per shot, the shooter's smoothed makes above expected before this game: over their
    whole career, and over their last ``RECENT_SHOTS`` shots (rows in time order)."""
    order = np.argsort(player, kind="stable")  # each shooter's shots together, in time order
    p, g = player[order], game[order]
    n = len(order)
    before = np.concatenate([[0.0], np.cumsum(excess[order])])  # before[i]: sum of rows < i
    position = np.arange(n)
    new_player = np.r_[True, p[1:] != p[:-1]] if n else np.zeros(0, dtype=bool)
    first_of_player = np.maximum.accumulate(np.where(new_player, position, 0))
    new_game = new_player | np.r_[True, g[1:] != g[:-1]] if n else new_player
    first_of_game = np.maximum.accumulate(np.where(new_game, position, 0))
    career_att = first_of_game - first_of_player
    career = (before[first_of_game] - before[first_of_player]) / (career_att + EXCESS_SMOOTHING)
    window_start = np.maximum(first_of_game - RECENT_SHOTS, first_of_player)
    recent_att = first_of_game - window_start
    recent = (before[first_of_game] - before[window_start]) / (recent_att + RECENT_SMOOTHING)
    career_out = np.empty(n)
    recent_out = np.empty(n)
    career_out[order] = career
    recent_out[order] = recent
    return career_out, recent_out


def _smooth(made: np.ndarray, attempts: np.ndarray, prior: np.ndarray) -> np.ndarray:
    return (made + SMOOTHING_ATTEMPTS * prior) / (attempts + SMOOTHING_ATTEMPTS)
