"""The feature transformer at the head of every saved model pipeline.

It is fitted on training rows only, where it learns the action-type vocabulary (rare
actions grouped as ``Other``). At transform time it turns raw shot fields into model
features (geometry, clock, situation) and passes the point-in-time context columns
through as they come: the history (``features.history``) computes them the same way for
training, batch scoring and the API, and a column nobody could compute stays missing,
which every model family was trained to handle.

The arithmetic is :class:`FeatureStep`, which needs NumPy and pandas only: scoring
(``inference.rows``) rebuilds it from a model's scoring bundle without importing
scikit-learn (1.5-2.5 s per process). :class:`ShotFeatures`, the scikit-learn transformer
saved inside every model, is that step with scikit-learn's estimator API on top; it is
defined the first time it is asked for, so importing this module imports no
scikit-learn.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from nba_mlops.data.schema import SHOT_ZONE_AREA, SHOT_ZONE_BASIC, SHOT_ZONE_RANGE
from nba_mlops.features.columns import CONTEXT_COLUMNS

OTHER_ACTION = "Other"
REGULATION_PERIODS = 4
PERIOD_SECONDS = 720
CATEGORICAL_FEATURES = ("action", "zone_basic", "zone_area", "zone_range")
NUMERIC_FEATURES = (
    "distance_ft",
    "angle_deg",
    "loc_y",
    "abs_x",
    "shot_value",
    "is_corner3",
    "period",
    "seconds_left_period",
    "seconds_left_game",
    "is_overtime",
    "last_seconds",
    "is_home",
    "is_playoffs",
    "season_start_year",
    "player_prior_attempts_log",
    *(c for c in CONTEXT_COLUMNS if c != "player_prior_attempts"),
)
FEATURE_NAMES = NUMERIC_FEATURES + CATEGORICAL_FEATURES

# A DataFrame, or a mapping of column arrays (``features.serving.shot_columns``).
Frame = pd.DataFrame | Mapping[str, Any]


def _equals(values: Any, text: str) -> np.ndarray:
    """Which of ``values`` (a column of text, missing values included) are ``text``."""
    if isinstance(values, pd.Series) and isinstance(values.dtype, pd.StringDtype):
        # Arrow strings compared by Arrow: no Python object per row
        return np.asarray(values.eq(text).fillna(False), dtype=bool)
    if isinstance(values, pd.Series):
        values = values.astype("object")
    return np.asarray(np.asarray(values, dtype=object) == text, dtype=bool)


class FeatureStep:
    """Raw shot fields in, model features out (a DataFrame with categorical columns).

    ``feature_columns`` and ``feature_matrix`` also read a plain mapping of column
    arrays (``features.serving.shot_columns``): a request's few rows go through the same
    arithmetic without a DataFrame."""

    # The only column ``fit`` reads (a caller may pass a frame holding just it).
    FIT_COLUMNS = ("action_type",)

    actions_: list[str]

    def __init__(self, rare_action_min_count: int = 200) -> None:
        self.rare_action_min_count = rare_action_min_count

    # -- fitting -------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any = None) -> Self:  # noqa: N803
        """Learn the action-type vocabulary from ``X``."""
        counts = X["action_type"].astype("string").value_counts()
        self.actions_ = sorted(counts[counts >= self.rare_action_min_count].index.tolist())
        return self

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _codes(values: Any, categories: Sequence[str]) -> np.ndarray:
        """Category codes of ``values`` (-1 for missing or unknown)."""
        if not isinstance(values, pd.Series):  # a request's few values: look each up
            lookup = {category: code for code, category in enumerate(categories)}
            return np.array([lookup.get(value, -1) for value in values], dtype="int64")
        # A column of text (the usual case) is looked up by Arrow's hash kernel: 20 times
        # faster than a pandas Categorical of Python strings, which a batch file's
        # millions of rows paid four times over. Anything else (mixed types) by pandas.
        try:
            array = pa.array(values, from_pandas=True)
            if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
                found = pc.index_in(array, value_set=pa.array(list(categories), array.type))
                return np.asarray(found.fill_null(-1).to_numpy(), dtype="int64")
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            pass
        found = pd.Index(categories).get_indexer(pd.Index(values.astype("object")))
        return np.asarray(found, dtype="int64")

    def _zone_codes(self, X: Frame) -> np.ndarray:  # noqa: N803
        return self._codes(X["shot_zone_basic"], SHOT_ZONE_BASIC)

    def _action_codes(self, X: Frame) -> np.ndarray:  # noqa: N803
        return self._codes(X["action_type"], self.actions_)

    @staticmethod
    def _column(X: Frame, name: str, n: int) -> np.ndarray:  # noqa: N803
        if name not in X:
            return np.full(n, np.nan)
        values = X[name]
        if isinstance(values, pd.Series) and values.dtype == np.float64:
            return values.to_numpy()  # already numbers (the model frame's): no copy
        if isinstance(values, pd.Series):
            numbers = pd.to_numeric(values, errors="coerce")
            return numbers.to_numpy(dtype="float64", na_value=np.nan)
        if isinstance(values, np.ndarray) and values.dtype == np.float64:
            return values
        return np.asarray(pd.to_numeric(pd.Series(values), errors="coerce"), dtype="float64")

    # -- transforming --------------------------------------------------------------------
    def categories(self) -> dict[str, list[str]]:
        """Each categorical feature's categories, in code order."""
        return {
            "action": [*self.actions_, OTHER_ACTION],
            "zone_basic": list(SHOT_ZONE_BASIC),
            "zone_area": list(SHOT_ZONE_AREA),
            "zone_range": list(SHOT_ZONE_RANGE),
        }

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:  # noqa: N803
        numeric, codes = self._arrays(X)
        # float32 halves the memory of a multi-million-row training frame; tree and linear
        # models lose nothing at this precision.
        frame = pd.DataFrame(
            {name: np.asarray(numeric[name], dtype="float32") for name in NUMERIC_FEATURES},
            index=X.index,
        )
        for name, categories in self.categories().items():
            frame[name] = pd.Categorical.from_codes(codes[name], categories=pd.Index(categories))
        return frame

    def feature_columns(self, X: Frame) -> list[np.ndarray]:  # noqa: N803
        """The same features as ``transform`` as plain arrays in ``FEATURE_NAMES`` order,
        for compiled forests: numbers at float32 precision (what the models were fitted
        on), categories as float codes with NaN for missing."""
        numeric, codes = self._arrays(X)
        columns = [np.asarray(numeric[name], dtype="float32") for name in NUMERIC_FEATURES]
        columns += [np.where(codes[name] < 0, np.nan, codes[name]) for name in CATEGORICAL_FEATURES]
        return columns

    def feature_matrix(self, X: Frame) -> np.ndarray:  # noqa: N803
        """``feature_columns`` as one row-major float64 matrix: what LightGBM's and the
        compiled forest's predict read."""
        columns = self.feature_columns(X)
        matrix = np.empty((len(columns[0]), len(columns)), dtype="float64")
        for position, column in enumerate(columns):
            matrix[:, position] = column
        return matrix

    def _arrays(
        self,
        X: Frame,  # noqa: N803
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Numeric features and categorical codes (-1 for missing)."""
        n = len(X) if isinstance(X, pd.DataFrame) else len(X["loc_x"])

        def column(name: str) -> np.ndarray:
            return self._column(X, name, n)

        x = column("loc_x")
        y = column("loc_y")
        distance = np.hypot(x, y) / 10.0
        period = column("period")
        clock = column("minutes_remaining") * 60 + column("seconds_remaining")
        overtime = period > REGULATION_PERIODS
        left_game = np.where(
            overtime, clock, (REGULATION_PERIODS - period) * PERIOD_SECONDS + clock
        )
        is_three = (
            _equals(X["shot_type"], "3PT Field Goal") if "shot_type" in X else np.zeros(n, bool)
        )
        corner3 = is_three & (np.abs(x) >= 220) & (y <= 92.5)
        zone = self._zone_codes(X)
        action = self._action_codes(X)
        features: dict[str, Any] = {
            "distance_ft": distance,
            "angle_deg": np.degrees(np.arctan2(np.abs(x), y)),
            "loc_y": y,
            "abs_x": np.abs(x),
            "shot_value": np.where(is_three, 3.0, 2.0),
            "is_corner3": corner3.astype("float64"),
            "period": period,
            "seconds_left_period": clock,
            "seconds_left_game": left_game,
            "is_overtime": overtime.astype("float64"),
            "last_seconds": (clock <= 3).astype("float64"),
            "is_home": column("is_home"),
            "is_playoffs": (
                _equals(X["season_type"], "Playoffs").astype("float64")
                if "season_type" in X
                else np.zeros(n)
            ),
            "season_start_year": column("season_start_year"),
        }
        for name in CONTEXT_COLUMNS:
            if name != "player_prior_attempts":
                features[name] = column(name)
        features["player_prior_attempts_log"] = np.log1p(column("player_prior_attempts"))
        codes = {
            "action": np.where(action < 0, len(self.actions_), action).astype("int64"),
            "zone_basic": zone,
            "zone_area": self._codes(X["shot_zone_area"], SHOT_ZONE_AREA),
            "zone_range": self._codes(X["shot_zone_range"], SHOT_ZONE_RANGE),
        }
        return features, codes

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(FEATURE_NAMES, dtype=object)


if TYPE_CHECKING:
    from sklearn.base import BaseEstimator, TransformerMixin

    class ShotFeatures(TransformerMixin, BaseEstimator, FeatureStep):  # type: ignore[misc]
        """:class:`FeatureStep` as a scikit-learn transformer (``Pipeline`` step)."""

else:
    _DEFINING = threading.Lock()

    def __getattr__(name: str) -> Any:
        """``ShotFeatures``, defined (scikit-learn imported) the first time it is asked for:
        by training, and by loading a saved model (skops and pickle look it up here)."""
        if name != "ShotFeatures":
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        with _DEFINING:
            if "ShotFeatures" not in globals():
                from sklearn.base import BaseEstimator, TransformerMixin

                class ShotFeatures(TransformerMixin, BaseEstimator, FeatureStep):
                    """:class:`FeatureStep` as a scikit-learn transformer (``Pipeline`` step)."""

                # saved models name it by this module and name
                ShotFeatures.__qualname__ = "ShotFeatures"
                globals()["ShotFeatures"] = ShotFeatures
        return globals()["ShotFeatures"]
