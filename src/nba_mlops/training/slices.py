"""Where a model is good and where it is not: holdout quality by slice, and reliability.

Computed when a model is trained (and by ``nba-mlops evaluate``), kept beside the model
in its run as ``quality.json`` (``Registry.quality``), and served by
``GET /models/current``:

- ``overall``: log loss, ECE and accuracy over the holdout;
- ``reliability``: the holdout cut into ten equal-width bins of predicted probability,
  each with its shots, mean predicted probability and observed make rate (the data of a
  reliability diagram);
- ``slices``: the same three figures (and shots, mean predicted, make rate) by zone, shot
  type, period, playoffs, season and shooter volume.

Shooter volume is the shooter's career attempts before the game (the context column
``player_prior_attempts``): under 500 (rookies and rare shooters), 500 to 5,000
(regulars), over 5,000 (stars and long careers).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Final

import numpy as np
import pandas as pd

from nba_mlops.log import get_logger
from nba_mlops.reliability import expected_calibration_error
from nba_mlops.training.evaluate import PROBABILITY_CLIP

logger = get_logger(__name__)

RELIABILITY_BINS: Final = 10
VOLUME_EDGES: Final = (500, 5000)
VOLUME_NAMES: Final = ("rookie (< 500 career shots)", "regular (500-5,000)", "star (> 5,000)")
# Slices of fewer shots are left out: their figures would be noise.
MIN_SLICE_SHOTS: Final = 30


def _figures(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    q = np.clip(p, PROBABILITY_CLIP, 1 - PROBABILITY_CLIP)
    log_loss = -np.mean(y * np.log(q) + (1 - y) * np.log(1 - q))
    return {
        "shots": len(y),
        "log_loss": round(float(log_loss), 5),
        "ece": round(expected_calibration_error(y, p), 5),
        "accuracy": round(float(np.mean((p >= 0.5) == (y == 1))), 5),
        "mean_predicted": round(float(p.mean()), 5),
        "make_rate": round(float(y.mean()), 5),
    }


def reliability(y: np.ndarray, p: np.ndarray, bins: int = RELIABILITY_BINS) -> list[dict[str, Any]]:
    """Predicted against observed make rate in equal-width probability bins."""
    y = np.asarray(y, dtype="float64")
    p = np.asarray(p, dtype="float64")
    index = np.minimum((p * bins).astype(int), bins - 1)
    out = []
    for b in range(bins):
        mask = index == b
        n = int(mask.sum())
        out.append(
            {
                "bin_low": round(b / bins, 3),
                "bin_high": round((b + 1) / bins, 3),
                "shots": n,
                "mean_predicted": round(float(p[mask].mean()), 5) if n else None,
                "make_rate": round(float(y[mask].mean()), 5) if n else None,
            }
        )
    return out


def _volume(frame: pd.DataFrame) -> np.ndarray:
    attempts = pd.to_numeric(frame["player_prior_attempts"], errors="coerce").to_numpy("float64")
    names = np.array(["unknown shooter", *VOLUME_NAMES], dtype=object)
    index = np.where(np.isnan(attempts), 0, 1 + np.searchsorted(VOLUME_EDGES, attempts, "right"))
    return np.asarray(names[index], dtype=object)


def _season(frame: pd.DataFrame) -> np.ndarray:
    years = pd.to_numeric(frame["season_start_year"], errors="coerce").to_numpy("float64")
    return np.array(
        [
            "unknown" if math.isnan(y) else f"{int(y)}-{(int(y) + 1) % 100:02d}"
            for y in years.tolist()
        ],
        dtype=object,
    )


def _column(name: str) -> Callable[[pd.DataFrame], np.ndarray]:
    def get(frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(frame[name].astype("object").fillna("unknown").astype(str), dtype=object)

    return get


def _period(frame: pd.DataFrame) -> np.ndarray:
    period = pd.to_numeric(frame["period"], errors="coerce").to_numpy("float64")
    return np.array(
        [
            "unknown" if math.isnan(v) else (f"Q{int(v)}" if v <= 4 else "overtime")
            for v in period.tolist()
        ],
        dtype=object,
    )


def _playoffs(frame: pd.DataFrame) -> np.ndarray:
    kind = frame["season_type"].astype("object").to_numpy()
    return np.where(kind == "Playoffs", "playoffs", "regular season").astype(object)


SLICES: Final[dict[str, Callable[[pd.DataFrame], np.ndarray]]] = {
    "zone": _column("shot_zone_basic"),
    "shot_type": _column("shot_type"),
    "period": _period,
    "playoffs": _playoffs,
    "season": _season,
    "shooter_volume": _volume,
}


def slice_quality(frame: pd.DataFrame, y: np.ndarray, p: np.ndarray) -> dict[str, Any]:
    """``quality.json`` of a model's probabilities ``p`` on holdout rows ``frame``
    (the model's input frame: raw fields and context) with outcomes ``y``."""
    y = np.asarray(y, dtype="float64")
    p = np.asarray(p, dtype="float64")
    slices: dict[str, list[dict[str, Any]]] = {}
    for name, key in SLICES.items():
        values = key(frame)
        lines = []
        for value in sorted(set(values.tolist())):
            mask = values == value
            if mask.sum() >= MIN_SLICE_SHOTS:
                lines.append({"value": str(value), **_figures(y[mask], p[mask])})
        slices[name] = lines
    return {
        "overall": _figures(y, p),
        "reliability": reliability(y, p),
        "slices": slices,
    }


def markdown(quality: dict[str, Any]) -> str:
    """The slices and the reliability bins as Markdown tables (for the model card)."""
    lines = [
        "| slice | value | shots | log loss | ECE | accuracy | predicted | made |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    o = quality["overall"]
    lines.append(
        f"| all | | {o['shots']:,} | {o['log_loss']:.4f} | {o['ece']:.4f} | "
        f"{o['accuracy']:.3f} | {o['mean_predicted']:.3f} | {o['make_rate']:.3f} |"
    )
    for name, rows in quality["slices"].items():
        for r in rows:
            lines.append(
                f"| {name} | {r['value']} | {r['shots']:,} | {r['log_loss']:.4f} | "
                f"{r['ece']:.4f} | {r['accuracy']:.3f} | {r['mean_predicted']:.3f} | "
                f"{r['make_rate']:.3f} |"
            )
    lines += ["", "| predicted | shots | mean predicted | made |", "|---|---:|---:|---:|"]
    for b in quality["reliability"]:
        if b["shots"]:
            lines.append(
                f"| {b['bin_low']:.1f}-{b['bin_high']:.1f} | {b['shots']:,} | "
                f"{b['mean_predicted']:.3f} | {b['make_rate']:.3f} |"
            )
    return "\n".join(lines)
