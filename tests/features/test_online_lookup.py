"""The API's look-up of the game so far gives what the history gives a file."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from nba_mlops.db.online import GAME_SHOT_COLUMNS
from nba_mlops.features.columns import SEQUENCE_COLUMNS
from nba_mlops.features.history import compute_context
from nba_mlops.features.online import game_sequence

TEAMS = (1610612738, 1610612752)


def _game(seed: int, shots: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    clock = np.sort(rng.integers(0, 720, shots))[::-1]
    period = np.sort(rng.integers(1, 5, shots))
    team = rng.choice(TEAMS, shots)
    return pd.DataFrame(
        {
            "game_id": 22000001,
            "game_event_id": rng.permutation(np.arange(1, 4 * shots + 1))[:shots] + 1,
            "player_id": rng.integers(1, 5, shots),
            "team_id": team,
            "period": period,
            "minutes_remaining": clock // 60,
            "seconds_remaining": clock % 60,
            "action_type": "Jump Shot",
            "shot_type": rng.choice(["2PT Field Goal", "3PT Field Goal"], shots),
            "shot_zone_basic": "Mid-Range",
            "loc_x": rng.integers(-200, 200, shots),
            "loc_y": rng.integers(0, 300, shots),
            "season_start_year": 2020,
            "shot_made_flag": rng.integers(0, 2, shots).astype("float64"),
            "is_home": (team == TEAMS[0]).astype(int),
            "home_team": "BOS",
            "away_team": "NYK",
        }
    )


@settings(max_examples=60, derandomize=True, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    shots=st.integers(0, 30),
    period=st.integers(1, 4),
    clock=st.integers(0, 720),
    event=st.integers(0, 130),
    player=st.integers(1, 5),
    home=st.booleans(),
)
def test_the_game_so_far_matches_the_history(
    seed: int, shots: int, period: int, clock: int, event: int, player: int, home: bool
) -> None:
    game = _game(seed, shots)
    game = game[game["game_event_id"] != event]  # the new shot is not stored yet
    team = TEAMS[0] if home else TEAMS[1]
    new = _game(seed + 1, 1).assign(
        game_event_id=event,
        player_id=player,
        team_id=team,
        period=period,
        minutes_remaining=clock // 60,
        seconds_remaining=clock % 60,
        shot_made_flag=np.nan,
        is_home=int(home),
    )
    both = pd.concat([game, new], ignore_index=True)
    context, _ = compute_context(both)
    expected = context.iloc[-1][list(SEQUENCE_COLUMNS)]

    stored = game.assign(
        clock=game["minutes_remaining"] * 60 + game["seconds_remaining"],
        made=game["shot_made_flag"],
        three=(game["shot_type"] == "3PT Field Goal").astype(float),
        distance=np.hypot(game["loc_x"], game["loc_y"]) / 10.0,
    )
    rows = stored.loc[:, list(GAME_SHOT_COLUMNS)].to_numpy("float64")
    found = pd.Series(
        game_sequence(rows, float(period), float(clock), float(event), float(player), float(team))
    )[list(SEQUENCE_COLUMNS)]
    pd.testing.assert_series_equal(
        found.astype("float64"), expected.astype("float64"), check_names=False, rtol=1e-9
    )
