"""Feature drift: population stability index between training shots and recent requests.

The reference is the champion's ``reference/shots_reference.parquet`` (a sample of its
training shots, canonical columns); the recent frame is the raw shot fields of recent
predictions, as callers sent them. Both go through the same :func:`drift_features`, which
first takes the values the model scores (:func:`model_view`: the serving path's
defaults and the store's spelling of action types, so a feed writing "Pullup Jump shot"
is not a drift from "Pullup Jump Shot"), so a field one side lacks is derived the same
way on both. Pure and deterministic: no I/O, no randomness.

PSI = sum over bins of (recent - reference) * ln(recent / reference), on bin shares.
Usual reading: below 0.1 no shift, 0.1-0.25 moderate, above 0.25 a real shift.
With fewer than ``min_sample`` recent rows PSI is mostly noise (about 0.05 from sampling
alone at 200 rows and 10 bins), so it is not computed at all: the report says
``insufficient_sample`` and every PSI is NaN, which never satisfies an alert's ``> 0.25``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

DriftStatus = Literal["ok", "moderate", "drift", "insufficient_sample"]
FeatureKind = Literal["numeric", "categorical"]

MODERATE_PSI: Final = 0.1
DRIFT_PSI: Final = 0.25
DEFAULT_MIN_SAMPLE: Final = 200
DEFAULT_BINS: Final = 10
DEFAULT_TOP_K: Final = 10
#: A category needs at least this reference share for a bin of its own: PSI over bins
#: holding a handful of shots measures sampling noise, not drift.
MIN_CATEGORY_SHARE: Final = 0.02
#: Share used in place of an empty bin, so ln() stays finite.
EPSILON: Final = 1e-4

MISSING: Final = "missing"
OTHER: Final = "other"

NUMERIC_FEATURES: Final = ("loc_x", "loc_y", "shot_distance", "seconds_left_in_period")
CATEGORICAL_FEATURES: Final = ("action_type", "period")
#: Player mix: the share of shots taken by the reference's most frequent shooters, in
#: tiers of reference rank (a player's own bin would hold too few shots to compare).
PLAYER_MIX: Final = "player_mix"
PLAYER_TIERS: Final = ((1, 10), (11, 50), (51, 200))

FEATURES: Final = (*NUMERIC_FEATURES, *CATEGORICAL_FEATURES, PLAYER_MIX)


@dataclass(frozen=True)
class FeatureDrift:
    """One feature's comparison: its bins, both sides' shares per bin, and the PSI."""

    feature: str
    kind: FeatureKind
    psi: float
    status: DriftStatus
    bins: tuple[str, ...]
    reference_share: tuple[float, ...]
    recent_share: tuple[float, ...]


@dataclass(frozen=True)
class DriftReport:
    """PSI per feature between the reference and the recent shots."""

    features: tuple[FeatureDrift, ...]
    reference_size: int
    recent_size: int
    min_sample: int
    max_psi: float
    status: DriftStatus
    #: Features that could not be derived from one of the frames (columns absent).
    skipped: tuple[str, ...] = ()

    @property
    def sufficient(self) -> bool:
        return self.status != "insufficient_sample"

    def psi_by_feature(self) -> dict[str, float]:
        """Feature name to PSI (NaN when the sample is too small), for the drift gauge."""
        return {f.feature: f.psi for f in self.features}


def drift_status(psi: float) -> DriftStatus:
    """The reading of one PSI value."""
    if math.isnan(psi):
        return "insufficient_sample"
    if psi > DRIFT_PSI:
        return "drift"
    if psi >= MODERATE_PSI:
        return "moderate"
    return "ok"


def population_stability_index(
    reference_share: npt.ArrayLike, recent_share: npt.ArrayLike, eps: float = EPSILON
) -> float:
    """PSI of two share vectors over the same bins; empty bins count as ``eps``."""
    expected = np.asarray(reference_share, dtype=np.float64)
    actual = np.asarray(recent_share, dtype=np.float64)
    expected = np.where(expected > 0, expected, eps)
    actual = np.where(actual > 0, actual, eps)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def model_view(shots: pd.DataFrame) -> pd.DataFrame:
    """The shots with the values the model scores in place of those given: the serving
    path's ``canonical_shots`` (defaults for fields left out, the store's spelling of
    action types, zones from the location). Columns it does not touch are kept; shots
    without a location only get the action type's spelling."""
    from nba_mlops.data.repair import normalise_action_type
    from nba_mlops.features.serving import canonical_shots

    out = shots.copy()
    if len(shots) and {"loc_x", "loc_y"} <= set(shots.columns):
        scored = canonical_shots(shots)
        for column in scored.columns:
            out[column] = scored[column]
    elif "action_type" in out.columns and len(out):
        out["action_type"], _ = normalise_action_type(out["action_type"].astype("object"))
    return out


def drift_features(shots: pd.DataFrame) -> pd.DataFrame:
    """The compared features of shots given in canonical columns (missing ones skipped),
    on the values the model scores (:func:`model_view`).

    ``shot_distance`` is computed from ``loc_x``/``loc_y`` (tenths of feet) wherever both
    are known, and taken from the column only where they are not: the stored NBA value
    is rounded to whole feet, and comparing rounded against computed values would show a
    shift that is only arithmetic. ``seconds_left_in_period`` is minutes * 60 + seconds.
    """
    shots = model_view(shots)
    out = pd.DataFrame(index=shots.index)
    has_loc = {"loc_x", "loc_y"} <= set(shots.columns)
    for column in ("loc_x", "loc_y"):
        if column in shots.columns:
            out[column] = pd.to_numeric(shots[column], errors="coerce").astype("float64")
    if has_loc or "shot_distance" in shots.columns:
        distance = pd.Series(np.nan, index=shots.index, dtype="float64")
        if "shot_distance" in shots.columns:
            distance = pd.to_numeric(shots["shot_distance"], errors="coerce").astype("float64")
        if has_loc:
            computed = ((out["loc_x"] ** 2 + out["loc_y"] ** 2) ** 0.5) / 10.0
            distance = computed.where(computed.notna(), distance)
        out["shot_distance"] = distance
    if {"minutes_remaining", "seconds_remaining"} <= set(shots.columns):
        minutes = pd.to_numeric(shots["minutes_remaining"], errors="coerce")
        seconds = pd.to_numeric(shots["seconds_remaining"], errors="coerce")
        out["seconds_left_in_period"] = (minutes * 60 + seconds).astype("float64")
    for column in CATEGORICAL_FEATURES:
        if column in shots.columns:
            out[column] = _category_labels(shots[column])
    if "player_id" in shots.columns:
        out[PLAYER_MIX] = _category_labels(shots["player_id"])
    return out


def compute_drift(
    reference: pd.DataFrame,
    recent: pd.DataFrame,
    *,
    min_sample: int = DEFAULT_MIN_SAMPLE,
    bins: int = DEFAULT_BINS,
    top_k: int = DEFAULT_TOP_K,
) -> DriftReport:
    """Compare recent shots with the reference, feature by feature.

    Numeric features use ``bins`` bins cut at the reference's quantiles, open-ended at
    both ends, plus a ``missing`` bin. Categorical features keep the reference's ``top_k``
    most frequent categories holding at least 2% of its shots; everything else, including
    categories the reference never saw, goes to ``other``. Below ``min_sample`` rows on
    either side no PSI is computed.
    """
    ref = drift_features(reference)
    cur = drift_features(recent)
    sufficient = len(reference) >= min_sample and len(recent) >= min_sample
    results: list[FeatureDrift] = []
    skipped: list[str] = []
    for feature in FEATURES:
        if feature not in ref.columns or feature not in cur.columns:
            skipped.append(feature)
            continue
        kind: FeatureKind = "numeric" if feature in NUMERIC_FEATURES else "categorical"
        if feature == PLAYER_MIX:
            labels, ref_share, cur_share = _player_mix_shares(ref[feature], cur[feature])
        elif kind == "numeric":
            labels, ref_share, cur_share = _numeric_shares(ref[feature], cur[feature], bins)
        else:
            labels, ref_share, cur_share = _categorical_shares(ref[feature], cur[feature], top_k)
        psi = population_stability_index(ref_share, cur_share) if sufficient else math.nan
        results.append(
            FeatureDrift(
                feature=feature,
                kind=kind,
                psi=psi,
                status=drift_status(psi),
                bins=labels,
                reference_share=tuple(float(v) for v in ref_share),
                recent_share=tuple(float(v) for v in cur_share),
            )
        )
    psis = [f.psi for f in results if not math.isnan(f.psi)]
    max_psi = max(psis) if psis else math.nan
    return DriftReport(
        features=tuple(results),
        reference_size=len(reference),
        recent_size=len(recent),
        min_sample=min_sample,
        max_psi=max_psi,
        status=drift_status(max_psi),
        skipped=tuple(skipped),
    )


# --- binning ------------------------------------------------------------------------------
Shares = tuple[tuple[str, ...], npt.NDArray[np.float64], npt.NDArray[np.float64]]


def _category_labels(values: pd.Series) -> pd.Series:
    """Categories as strings, whole numbers without a trailing ``.0`` (1.0 and 1 agree)."""

    def label(value: object) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            return MISSING
        if isinstance(value, float | np.floating) and float(value).is_integer():
            return str(int(value))
        return str(value)

    return values.map(label).astype("object")


def _shares(codes: npt.NDArray[np.int64], n_bins: int) -> npt.NDArray[np.float64]:
    counts = np.bincount(codes, minlength=n_bins).astype(np.float64)
    total = counts.sum()
    return counts / total if total > 0 else counts


def _numeric_edges(reference: pd.Series, bins: int) -> npt.NDArray[np.float64]:
    known = reference.dropna().to_numpy(dtype=np.float64)
    if known.size == 0:
        return np.empty(0, dtype=np.float64)
    inner = np.quantile(known, np.linspace(0.0, 1.0, bins + 1)[1:-1])
    # Repeated values (many shots at the rim share loc 0) collapse to one edge.
    return np.unique(inner)


def _numeric_codes(values: pd.Series, edges: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
    array = values.to_numpy(dtype=np.float64)
    codes = np.searchsorted(edges, array, side="right").astype(np.int64)
    codes[np.isnan(array)] = edges.size + 1
    return codes


def _numeric_labels(edges: Sequence[float]) -> tuple[str, ...]:
    if len(edges) == 0:
        return ("all", MISSING)
    labels = [f"< {edges[0]:.4g}"]
    labels += [f"{lo:.4g} to < {hi:.4g}" for lo, hi in itertools.pairwise(edges)]
    labels.append(f">= {edges[-1]:.4g}")
    labels.append(MISSING)
    return tuple(labels)


def _numeric_shares(reference: pd.Series, recent: pd.Series, bins: int) -> Shares:
    edges = _numeric_edges(reference, bins)
    n_bins = edges.size + 2
    return (
        _numeric_labels([float(e) for e in edges]),
        _shares(_numeric_codes(reference, edges), n_bins),
        _shares(_numeric_codes(recent, edges), n_bins),
    )


def _fixed_category_shares(
    reference: pd.Series, recent: pd.Series, categories: Sequence[str]
) -> Shares:
    labels = (*categories, OTHER)
    index = {c: i for i, c in enumerate(categories)}
    other = len(categories)

    def codes(values: pd.Series) -> npt.NDArray[np.int64]:
        return np.fromiter((index.get(v, other) for v in values), dtype=np.int64, count=len(values))

    return (
        labels,
        _shares(codes(reference), len(labels)),
        _shares(codes(recent), len(labels)),
    )


def _categorical_shares(reference: pd.Series, recent: pd.Series, top_k: int) -> Shares:
    counts = reference.value_counts()
    ranked = sorted(counts.items(), key=lambda item: (-int(item[1]), str(item[0])))
    floor = MIN_CATEGORY_SHARE * len(reference)
    kept = [str(cat) for cat, n in ranked[:top_k] if n >= floor and cat != MISSING]
    if (reference == MISSING).any() or (recent == MISSING).any():
        kept.append(MISSING)
    return _fixed_category_shares(reference, recent, kept)


def _player_mix_shares(reference: pd.Series, recent: pd.Series) -> Shares:
    counts = reference[reference != MISSING].value_counts()
    ranked = [str(p) for p, _ in sorted(counts.items(), key=lambda i: (-int(i[1]), str(i[0])))]
    tier_of: dict[str, str] = {}
    for first, last in PLAYER_TIERS:
        for player in ranked[first - 1 : last]:
            tier_of[player] = f"top {first}-{last}"
    tiers = [f"top {first}-{last}" for first, last in PLAYER_TIERS]
    return _fixed_category_shares(
        reference.map(lambda p: tier_of.get(p, OTHER)),
        recent.map(lambda p: tier_of.get(p, OTHER)),
        tiers,
    )
