"""Behavioural checks of the champion trained on the bundled sample (Made-With-ML style):
minimum functionality, direction and invariance on raw shot descriptions."""

from __future__ import annotations

from typing import Any

import numpy as np

from nba_mlops.features.serving import to_model_frame


def _shot(**overrides: Any) -> dict[str, Any]:
    shot: dict[str, Any] = {
        "loc_x": 0,
        "loc_y": 150,
        "period": 2,
        "minutes_remaining": 6,
        "seconds_remaining": 30,
        "action_type": "Jump Shot",
        "season_type": "Regular Season",
        "game_date": "2023-01-15",
    }
    shot.update(overrides)
    return shot


def _p(model: Any, shots: list[dict[str, Any]]) -> np.ndarray:
    return np.asarray(model.predict_proba(to_model_frame(shots))[:, 1])


def test_a_restricted_area_dunk_beats_a_28_foot_jumper(champion_model: Any) -> None:
    dunk, jumper = _p(
        champion_model,
        [_shot(loc_x=0, loc_y=5, action_type="Dunk Shot"), _shot(loc_x=0, loc_y=280)],
    )
    assert dunk > jumper + 0.2


def test_make_probability_falls_with_distance(champion_model: Any) -> None:
    # Real jump shooting is flat-ish between 8 and 20 feet, so compare distances a
    # zone apart: at the rim, mid-range, a long three. (Heaves from 35 ft are too rare
    # in the bundled sample for a model trained on it to rank them reliably.)
    distances = [10, 150, 265]
    probabilities = _p(champion_model, [_shot(loc_y=d) for d in distances])
    assert np.all(np.diff(probabilities) < 0), probabilities
    assert probabilities[0] - probabilities[-1] > 0.1


def test_probabilities_are_valid_and_deterministic(champion_model: Any) -> None:
    rng = np.random.default_rng(5)
    shots = [
        _shot(loc_x=int(x), loc_y=int(y), period=int(p))
        for x, y, p in zip(
            rng.integers(-250, 251, 200),
            rng.integers(-40, 400, 200),
            rng.integers(1, 6, 200),
            strict=True,
        )
    ]
    first = _p(champion_model, shots)
    second = _p(champion_model, shots)
    assert np.all((first > 0) & (first < 1))
    # a forest predicting on threads may add its trees in another order: same to 1e-12
    np.testing.assert_allclose(first, second, rtol=0, atol=1e-12)


def test_mirror_image_shots_score_alike(champion_model: Any) -> None:
    left, right = _p(champion_model, [_shot(loc_x=-150, loc_y=100), _shot(loc_x=150, loc_y=100)])
    assert abs(left - right) < 0.05


def test_unknown_player_and_action_still_score(champion_model: Any) -> None:
    (p,) = _p(champion_model, [_shot(player_id=123456789, action_type="Never Seen Shot")])
    assert 0.05 < p < 0.95
