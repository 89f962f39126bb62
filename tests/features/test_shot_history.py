"""The shot history: every context value of a shot comes from shots before it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nba_mlops.features.columns import CONTEXT_COLUMNS, SEQUENCE_COLUMNS
from nba_mlops.features.history import (
    EXCESS_SMOOTHING,
    FORM_HALF_LIFE,
    FORM_SMOOTHING,
    LEAGUE_DEFAULT_RATE,
    RATE_SMOOTHING,
    compute_context,
)


def _shot(
    game: int,
    event: int,
    made: float,
    player: int = 1,
    zone: str = "Mid-Range",
    season: int = 2020,
    minutes: int = 5,
    team: int = 1610612738,
    action: str = "Jump Shot",
) -> dict[str, object]:
    return {
        "game_id": game,
        "game_event_id": event,
        "player_id": player,
        "team_id": team,
        "period": 1,
        "minutes_remaining": minutes,
        "seconds_remaining": 0,
        "action_type": action,
        "shot_type": "2PT Field Goal",
        "shot_zone_basic": zone,
        "loc_x": 100,
        "loc_y": 100,
        "season_start_year": season,
        "shot_made_flag": made,
        "is_home": 1,
        "home_team": "BOS",
        "away_team": "NYK",
    }


def _context(rows: list[dict[str, object]]) -> pd.DataFrame:
    shots = pd.DataFrame(rows)
    context, _ = compute_context(shots)
    return pd.concat([shots, context], axis=1)


def test_a_first_shot_knows_nothing_but_the_default_rate() -> None:
    out = _context([_shot(1, 1, 1, minutes=10), _shot(1, 2, 1, minutes=9)])
    assert list(out["player_prior_attempts"]) == [0, 0]
    assert np.allclose(out["player_prior_pct"], LEAGUE_DEFAULT_RATE)
    assert np.allclose(out["league_expected"], LEAGUE_DEFAULT_RATE)
    # the second shot of the game knows the first went in
    assert list(out["game_prior_attempts"]) == [0, 1]
    assert list(out["game_prior_makes"]) == [0, 1]
    assert list(out["prev_shot_made"]) == [-1.0, 1.0]
    assert list(out["game_shot_made"]) == [-1.0, 1.0]
    assert list(out["events_since_game_shot"]) == [-1.0, 1.0]
    assert list(out["seconds_since_game_shot"]) == [-1.0, 60.0]
    assert list(out["field_goal_margin"]) == [0.0, 2.0]


def test_skill_uses_earlier_games_only() -> None:
    out = _context(
        [_shot(2, 1, 0), _shot(1, 1, 1, minutes=10), _shot(1, 2, 1, minutes=9), _shot(2, 2, 1)]
    )
    game2 = out[out["game_id"] == 2]
    expected = (2 + RATE_SMOOTHING * LEAGUE_DEFAULT_RATE) / (2 + RATE_SMOOTHING)
    assert np.allclose(game2["player_prior_pct"], expected)
    assert list(game2["player_prior_attempts"]) == [2, 2]
    excess = 2 * (1 - LEAGUE_DEFAULT_RATE) / (2 + EXCESS_SMOOTHING)
    assert np.allclose(game2["player_prior_excess"], excess)


def test_the_league_expects_what_the_seasons_before_made() -> None:
    # 2019: mid-range jump shots made 3 of 4; the 2020 shots expect more than the default
    rows = [
        _shot(1, e, m, player=9, season=2019, minutes=11 - e) for e, m in enumerate((1, 1, 1, 0))
    ]
    rows += [_shot(2, 1, 0, season=2020), _shot(3, 1, 1, season=2021)]
    out = _context(rows).set_index("game_id")
    assert out.loc[1, "league_expected"].tolist() == pytest.approx([LEAGUE_DEFAULT_RATE] * 4)
    assert out.loc[2, "league_expected"] > LEAGUE_DEFAULT_RATE
    # 2021 draws on both seasons before it: 3 of 5
    assert out.loc[3, "league_expected"] < out.loc[2, "league_expected"]


def _random_shots(seed: int, games: int = 12, seasons: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for game in range(games):
        season = 2018 + game * seasons // games
        for event in range(1, int(rng.integers(2, 9))):
            shot = _shot(
                season * 1000 + game,
                event * 2 + int(rng.integers(0, 2)),
                float(rng.random() < 0.45),
                player=int(rng.integers(1, 5)),
                zone=str(rng.choice(["Mid-Range", "Restricted Area", "Above the Break 3"])),
                season=season,
                minutes=11 - event,
                team=int(rng.choice([1610612738, 1610612752])),
                action=str(rng.choice(["Jump Shot", "Layup Shot"])),
            )
            shot["is_home"] = int(shot["team_id"] == 1610612738)
            rows.append(shot)
    return pd.DataFrame(rows)


@settings(max_examples=25, derandomize=True, deadline=None)
@given(seed=st.integers(0, 10_000), which=st.integers(0, 10_000))
def test_a_shots_own_outcome_never_changes_its_context_or_earlier_ones(
    seed: int, which: int
) -> None:
    shots = _random_shots(seed)
    base, _ = compute_context(shots)
    target = which % len(shots)
    flipped = shots.copy()
    flipped.loc[target, "shot_made_flag"] = 1 - flipped.loc[target, "shot_made_flag"]
    out, _ = compute_context(flipped)
    key = ["game_id", "game_event_id"]
    order = shots.sort_values(
        ["season_start_year", "game_id", "minutes_remaining", "game_event_id"],
        ascending=[True, True, False, True],
    )
    position = list(order.index).index(target)
    earlier_or_same = order.index[: position + 1]
    pd.testing.assert_frame_equal(
        base.loc[earlier_or_same, list(CONTEXT_COLUMNS)],
        out.loc[earlier_or_same, list(CONTEXT_COLUMNS)],
        obj=f"context up to the flipped shot {shots.loc[target, key].tolist()}",
    )


@settings(max_examples=25, derandomize=True, deadline=None)
@given(seed=st.integers(0, 10_000), cut=st.integers(1, 2))
def test_starting_from_a_seasons_checkpoint_gives_the_same_context(seed: int, cut: int) -> None:
    shots = _random_shots(seed, games=15, seasons=3)
    everything, _ = compute_context(shots)
    first = 2018 + cut
    _, ledger = compute_context(shots[shots["season_start_year"] < first])
    later = shots[shots["season_start_year"] >= first]
    resumed, _ = compute_context(later, ledger)
    pd.testing.assert_frame_equal(
        everything.loc[later.index], resumed, check_exact=False, rtol=1e-9, atol=1e-12
    )


def test_the_ledger_after_all_shots_is_the_ledger_of_its_parts() -> None:
    shots = _random_shots(7, games=15, seasons=3)
    _, whole = compute_context(shots)
    _, first = compute_context(shots[shots["season_start_year"] < 2020])
    _, chained = compute_context(shots[shots["season_start_year"] >= 2020], first)
    for name, ledger in whole.tallies.items():
        keys = [c for c in ledger.columns if c not in ("n", "made", "excess")]
        left = ledger.sort_values(keys).reset_index(drop=True)
        right = chained.tallies[name].sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-9, obj=name)


def test_form_weighs_recent_shots_more() -> None:
    # FORM_HALF_LIFE misses, then FORM_HALF_LIFE makes: the makes weigh twice the misses
    n = int(FORM_HALF_LIFE)
    rows = [_shot(1, e, 0, minutes=0) for e in range(n)]
    rows += [_shot(2, e, 1, minutes=0) for e in range(n)]
    rows += [_shot(3, 1, 1)]
    out = _context(rows)
    last = out[out["game_id"] == 3].iloc[0]
    decay = 0.5 ** (1 / FORM_HALF_LIFE)
    weights = decay ** np.arange(2 * n)[::-1]  # oldest first
    excess = np.r_[np.full(n, -LEAGUE_DEFAULT_RATE), np.full(n, 1 - LEAGUE_DEFAULT_RATE)]
    expected = (weights * excess).sum() / (weights.sum() + FORM_SMOOTHING)
    assert last["player_recent_excess"] == pytest.approx(expected)
    assert last["player_recent_excess"] > last["player_prior_excess"] > 0


def test_opponent_defence_counts_earlier_games_against_that_opponent() -> None:
    rows = [_shot(g, 1, m, player=g) for g, m in ((1, 1), (2, 1), (3, 0))]
    out = _context(rows)
    excess = out["opponent_allowed_excess"].to_numpy()
    assert excess[0] == 0.0
    assert excess[1] == pytest.approx((1 - LEAGUE_DEFAULT_RATE) / (1 + 300.0))
    assert excess[2] == pytest.approx(2 * (1 - LEAGUE_DEFAULT_RATE) / (2 + 300.0))


def test_opponent_and_team_are_missing_when_unknown() -> None:
    shot = _shot(1, 1, 1)
    shot.update({"is_home": None, "team_id": None})
    out = _context([shot])
    assert np.isnan(out["opponent_allowed_excess"].iloc[0])
    assert np.isnan(out["team_season_excess"].iloc[0])
    assert np.isnan(out["field_goal_margin"].iloc[0])


def test_a_shot_without_an_outcome_is_scored_but_teaches_nothing() -> None:
    known = [_shot(1, 1, 1, minutes=10), _shot(2, 1, 0)]
    unknown = [_shot(1, 1, 1, minutes=10), _shot(1, 2, np.nan, minutes=9), _shot(2, 1, 0)]
    a = _context(known)
    b = _context(unknown)
    skill = [c for c in CONTEXT_COLUMNS if c not in SEQUENCE_COLUMNS]
    # the next game's skill is as if the unknown shot had never been taken
    pd.testing.assert_series_equal(
        a.loc[1, skill], b.loc[2, skill], check_names=False, check_exact=False
    )
    # in its own game, what rests on its outcome is unknown, its attempt is not
    assert b.loc[1, "game_prior_attempts"] == 1
    assert b.loc[1, "game_prior_makes"] == 1
    assert b.loc[1, "prev_shot_made"] == 1
    assert not np.isnan(b.loc[1, "player_prior_pct"])


def test_the_previous_shot_of_the_game_says_who_and_how_far() -> None:
    rows = [
        _shot(1, 10, 0, player=1, team=1610612738, minutes=10),
        _shot(1, 12, 1, player=2, team=1610612752, minutes=9),
    ]
    rows[1]["is_home"] = 0
    out = _context(rows)
    second = out.iloc[1]
    assert second["events_since_game_shot"] == 2
    assert second["game_shot_same_team"] == 0
    assert second["game_shot_same_player"] == 0
    assert second["game_shot_distance"] == pytest.approx(np.hypot(100, 100) / 10)
    assert second["field_goal_margin"] == 0  # the other team's miss scored nothing
