"""The champion/challenger rule, as a pure function so every edge case is testable."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """Whether a challenger becomes champion, and the evidence for it."""

    promote: bool
    reason: str
    challenger_log_loss: float
    champion_log_loss: float | None
    baseline_log_loss: float
    margin: float


def decide_promotion(
    challenger_log_loss: float,
    champion_log_loss: float | None,
    baseline_log_loss: float,
    margin: float,
) -> Decision:
    """Promote only a challenger that beats the champion's holdout log loss by ``margin``.

    Both numbers must come from the same holdout. With no champion yet, the challenger
    is promoted if it beats the constant-rate baseline at all. A challenger whose loss
    is not a finite number is never promoted.
    """
    if margin < 0:
        raise ValueError(f"promotion margin must be >= 0, got {margin}")

    def decision(promote: bool, reason: str) -> Decision:
        return Decision(
            promote, reason, challenger_log_loss, champion_log_loss, baseline_log_loss, margin
        )

    if not math.isfinite(challenger_log_loss):
        return decision(False, f"challenger log loss is not a number ({challenger_log_loss})")
    if champion_log_loss is None or not math.isfinite(champion_log_loss):
        if challenger_log_loss < baseline_log_loss:
            return decision(
                True,
                f"first champion: log loss {challenger_log_loss:.4f} beats the constant "
                f"baseline {baseline_log_loss:.4f}",
            )
        return decision(
            False,
            f"log loss {challenger_log_loss:.4f} does not beat the constant baseline "
            f"{baseline_log_loss:.4f}",
        )
    improvement = champion_log_loss - challenger_log_loss
    if improvement >= margin and improvement > 0:
        return decision(
            True,
            f"log loss {challenger_log_loss:.4f} beats champion {champion_log_loss:.4f} "
            f"by {improvement:.4f} (margin {margin:.4f})",
        )
    return decision(
        False,
        f"log loss {challenger_log_loss:.4f} vs champion {champion_log_loss:.4f}: "
        f"improvement {improvement:.4f} is below the margin {margin:.4f}",
    )
