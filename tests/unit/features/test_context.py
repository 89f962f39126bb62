"""Context features use only earlier shots: no label leakage."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from nba_mlops.features.context import (
    EXCESS_SMOOTHING,
    RECENT_SHOTS,
    RECENT_SMOOTHING,
    SMOOTHING_ATTEMPTS,
    add_shot_context,
    league_expected_rates,
)


def _shot(
    game: int,
    event: int,
    made: int,
    player: int = 1,
    zone: str = "Mid-Range",
    season: int = 2020,
    minutes: int = 5,
) -> dict[str, object]:
    return {
        "game_id": game,
        "game_event_id": event,
        "player_id": player,
        "period": 1,
        "minutes_remaining": minutes,
        "seconds_remaining": 0,
        "action_type": "Jump Shot",
        "shot_zone_basic": zone,
        "season_start_year": season,
        "shot_made_flag": made,
    }


ZONE_RATES = pd.Series({"Mid-Range": 0.4, "Restricted Area": 0.6})


def test_first_game_has_only_the_prior_and_no_earlier_attempts() -> None:
    shots = pd.DataFrame([_shot(1, 1, 1, minutes=10), _shot(1, 2, 1, minutes=9)])
    out = add_shot_context(shots, ZONE_RATES)
    assert list(out["player_prior_attempts"]) == [0, 0]
    assert np.allclose(out["player_prior_pct"], 0.4)
    # the second shot of the game knows the first went in
    assert list(out["game_prior_attempts"]) == [0, 1]
    assert list(out["game_prior_makes"]) == [0, 1]
    assert list(out["prev_shot_made"]) == [-1.0, 1.0]


def test_skill_uses_earlier_games_only() -> None:
    shots = pd.DataFrame(
        [_shot(2, 1, 0), _shot(1, 1, 1, minutes=10), _shot(1, 2, 1, minutes=9), _shot(2, 2, 1)]
    )
    out = add_shot_context(shots, ZONE_RATES)
    game2 = out[out["game_id"] == 2]
    expected = (2 + SMOOTHING_ATTEMPTS * 0.4) / (2 + SMOOTHING_ATTEMPTS)
    assert np.allclose(game2["player_prior_pct"], expected)
    assert list(game2["player_prior_attempts"]) == [2, 2]


def test_a_shots_own_outcome_never_changes_its_features() -> None:
    rng = np.random.default_rng(0)
    shots = pd.DataFrame(
        [
            _shot(g, e, int(rng.random() < 0.5), player=int(rng.integers(1, 4)), minutes=11 - e)
            for g in range(1, 8)
            for e in range(1, 10)
        ]
    )
    base = add_shot_context(shots, ZONE_RATES).set_index(["game_id", "game_event_id"])
    flipped = shots.copy()
    target = flipped.index[30]
    flipped.loc[target, "shot_made_flag"] = 1 - flipped.loc[target, "shot_made_flag"]
    out = add_shot_context(flipped, ZONE_RATES).set_index(["game_id", "game_event_id"])
    key = (shots.loc[target, "game_id"], shots.loc[target, "game_event_id"])
    context = [
        "player_prior_pct",
        "player_zone_prior_pct",
        "player_action_prior_pct",
        "player_season_prior_pct",
        "player_prior_excess",
        "player_recent_excess",
        "game_prior_makes",
        "prev_shot_made",
    ]
    assert base.loc[key, context].tolist() == pytest.approx(out.loc[key, context].tolist())
    # earlier shots are untouched as well
    earlier = base.index[: base.index.get_loc(key)]
    pd.testing.assert_frame_equal(base.loc[earlier, context], out.loc[earlier, context])


def test_opponent_defence_counts_only_earlier_games_against_that_opponent() -> None:
    rows = []
    for game, made in ((1, 1), (2, 1), (3, 0)):
        shot = _shot(game, 1, made, player=game)
        shot.update({"is_home": 1, "home_team": "BOS", "away_team": "NYK", "team_id": 1})
        rows.append(shot)
    out = add_shot_context(pd.DataFrame(rows), ZONE_RATES)
    excess = out["opponent_allowed_excess"].to_numpy()
    assert excess[0] == 0.0
    # before game 3, NYK allowed two makes on shots the zone rates put at 0.4 each
    assert excess[2] == pytest.approx((0.6 + 0.6) / (2 + 300.0))
    assert excess[1] == pytest.approx(0.6 / (1 + 300.0))


def test_opponent_defence_is_missing_when_home_or_away_is_unknown() -> None:
    shot = _shot(1, 1, 1)
    shot.update({"is_home": None, "home_team": "BOS", "away_team": "NYK", "team_id": 1})
    out = add_shot_context(pd.DataFrame([shot]), ZONE_RATES)
    assert np.isnan(out["opponent_allowed_excess"].iloc[0])


def test_shooting_above_expected_counts_earlier_games_against_the_league_rate() -> None:
    # season 2019 sets the league's expected rate (Mid-Range jump shots: 1 of 2, pulled
    # towards the zone's 0.4); the shooter then makes 3 of 3 in two 2020 games.
    shots = pd.DataFrame(
        [
            _shot(1, 1, 1, player=9, season=2019, minutes=10),
            _shot(1, 2, 0, player=9, season=2019, minutes=9),
            _shot(2, 1, 1, season=2020, minutes=10),
            _shot(2, 2, 1, season=2020, minutes=9),
            _shot(3, 1, 1, season=2020),
        ]
    )
    league = league_expected_rates(shots[shots["season_start_year"] == 2019], ZONE_RATES)
    out = add_shot_context(shots, ZONE_RATES, league).set_index("game_id")
    expected_rate = (1 + 50 * 0.4) / (2 + 50)
    assert out.loc[2, "player_prior_excess"].tolist() == [0.0, 0.0]
    career = 2 * (1 - expected_rate) / (2 + EXCESS_SMOOTHING)
    assert out.loc[3, "player_prior_excess"] == pytest.approx(career)
    assert out.loc[3, "player_recent_excess"] == pytest.approx(
        2 * (1 - expected_rate) / (2 + RECENT_SMOOTHING)
    )


def test_recent_form_forgets_shots_older_than_its_window() -> None:
    # RECENT_SHOTS misses in game 1, then RECENT_SHOTS makes in game 2: before game 3 the
    # recent window holds only the makes, the career excess both.
    n = RECENT_SHOTS
    shots = pd.DataFrame(
        [_shot(1, e, 0, minutes=0) for e in range(n)]
        + [_shot(2, e, 1, minutes=0) for e in range(n)]
        + [_shot(3, 1, 1)]
    )
    out = add_shot_context(shots, ZONE_RATES)
    last = out[out["game_id"] == 3].iloc[0]
    rate = 0.4  # without a per-action table, the zone's rate is what is expected
    assert last["player_recent_excess"] == pytest.approx(n * (1 - rate) / (n + RECENT_SMOOTHING))
    assert last["player_prior_excess"] == pytest.approx(
        (n * (1 - rate) + n * (0 - rate)) / (2 * n + EXCESS_SMOOTHING)
    )


def test_a_shots_own_outcome_never_changes_its_excess_given_the_league_tables() -> None:
    rng = np.random.default_rng(1)
    shots = pd.DataFrame(
        [
            _shot(g, e, int(rng.random() < 0.5), player=int(rng.integers(1, 3)), minutes=11 - e)
            for g in range(1, 6)
            for e in range(1, 8)
        ]
    )
    league = league_expected_rates(shots, ZONE_RATES)
    base = add_shot_context(shots, ZONE_RATES, league).set_index(["game_id", "game_event_id"])
    flipped = shots.copy()
    target = flipped.index[20]
    flipped.loc[target, "shot_made_flag"] = 1 - flipped.loc[target, "shot_made_flag"]
    out = add_shot_context(flipped, ZONE_RATES, league).set_index(["game_id", "game_event_id"])
    columns = ["player_prior_excess", "player_recent_excess"]
    game = shots.loc[target, "game_id"]
    same_or_earlier = base.index.get_level_values("game_id") <= game
    pd.testing.assert_frame_equal(
        base.loc[same_or_earlier, columns], out.loc[same_or_earlier, columns]
    )
    # and the flip does reach the shooter's later games
    later = (base.index.get_level_values("game_id") > game) & (
        base["player_id"] == shots.loc[target, "player_id"]
    ).to_numpy()
    assert later.any()
    assert not np.allclose(base.loc[later, columns], out.loc[later, columns])
