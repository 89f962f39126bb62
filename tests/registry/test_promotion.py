"""The champion/challenger rule at its edges."""

from __future__ import annotations

import math

import pytest

from nba_mlops.registry.promotion import decide_promotion

BASELINE = 0.6925


def test_first_model_is_promoted_when_it_beats_the_constant_baseline() -> None:
    decision = decide_promotion(0.65, None, BASELINE, margin=0.001)
    assert decision.promote
    assert "first champion" in decision.reason


def test_first_model_that_does_not_beat_the_baseline_is_rejected() -> None:
    decision = decide_promotion(0.70, None, BASELINE, margin=0.001)
    assert not decision.promote
    assert "baseline" in decision.reason


def test_first_model_equal_to_the_baseline_is_rejected() -> None:
    assert not decide_promotion(BASELINE, None, BASELINE, margin=0.0).promote


def test_challenger_better_by_more_than_the_margin_is_promoted() -> None:
    decision = decide_promotion(0.640, 0.645, BASELINE, margin=0.001)
    assert decision.promote
    assert decision.champion_log_loss == 0.645


def test_challenger_better_by_less_than_the_margin_is_rejected() -> None:
    decision = decide_promotion(0.6445, 0.645, BASELINE, margin=0.001)
    assert not decision.promote
    assert "below the margin" in decision.reason


def test_challenger_exactly_at_the_margin_is_promoted() -> None:
    assert decide_promotion(0.644, 0.645, BASELINE, margin=0.001 - 1e-12).promote


def test_equal_challenger_with_zero_margin_is_not_promoted() -> None:
    assert not decide_promotion(0.645, 0.645, BASELINE, margin=0.0).promote


def test_worse_challenger_is_rejected() -> None:
    assert not decide_promotion(0.650, 0.645, BASELINE, margin=0.0).promote


@pytest.mark.parametrize("loss", [math.nan, math.inf])
def test_challenger_with_a_broken_loss_is_never_promoted(loss: float) -> None:
    assert not decide_promotion(loss, None, BASELINE, margin=0.0).promote
    assert not decide_promotion(loss, 0.7, BASELINE, margin=0.0).promote


def test_negative_margin_is_refused() -> None:
    with pytest.raises(ValueError, match="margin"):
        decide_promotion(0.6, 0.7, BASELINE, margin=-0.1)
