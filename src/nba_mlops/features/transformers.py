"""The feature transformer at the head of every saved model pipeline.

It is fitted on training rows only. At fit time it learns the action-type vocabulary
(rare actions grouped as ``Other``) and the shooters' skill tables; at transform time it
turns raw shot fields into model features and fills any skill column the caller did not
send from those tables, so a request with only a location still gets a sensible answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin

from nba_mlops.data.schema import SHOT_ZONE_AREA, SHOT_ZONE_BASIC, SHOT_ZONE_RANGE
from nba_mlops.features.columns import SEQUENCE_COLUMNS, SKILL_COLUMNS
from nba_mlops.features.context import (
    EXCESS_SMOOTHING,
    RECENT_SHOTS,
    RECENT_SMOOTHING,
    SMOOTHING_ATTEMPTS,
    expected_make_rates,
    lookup_expected,
)

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
    "player_prior_pct",
    "player_zone_prior_pct",
    "player_action_prior_pct",
    "player_season_prior_pct",
    "player_prior_excess",
    "player_recent_excess",
    *SEQUENCE_COLUMNS,
)
FEATURE_NAMES = NUMERIC_FEATURES + CATEGORICAL_FEATURES


def _pair_key(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """One int64 key for a (player id, small category code) pair."""
    key: np.ndarray = first.astype("int64") * 1024 + second.astype("int64")
    return key


class ShotFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Raw shot fields in, model features out (a DataFrame with categorical columns)."""

    # The only columns ``fit`` reads (a caller may pass a frame holding just these).
    FIT_COLUMNS = ("action_type", "shot_zone_basic", "player_id")

    def __init__(self, rare_action_min_count: int = 200) -> None:
        self.rare_action_min_count = rare_action_min_count

    # -- fitting -------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, y: Any = None) -> ShotFeatures:  # noqa: N803
        """Learn the vocabulary and skill tables from ``X`` (rows in time order: a
        shooter's recent form is read from their last rows)."""
        if y is None:
            raise ValueError("ShotFeatures needs the shot outcomes to learn skill tables")
        made = np.asarray(y, dtype="float64")
        counts = X["action_type"].astype("string").value_counts()
        self.actions_ = sorted(counts[counts >= self.rare_action_min_count].index.tolist())
        zone = self._zone_codes(X)
        zone_made = pd.Series(made).groupby(zone).agg(["sum", "count"])
        self.zone_rates_ = (zone_made["sum"] / zone_made["count"]).to_dict()
        self.league_rate_ = float(made.mean()) if len(made) else 0.45
        player = X["player_id"].fillna(-1).to_numpy(dtype="int64")
        action = self._action_codes(X)
        self.player_table_ = self._rate_table(player, made)
        self.player_zone_table_ = self._rate_table(_pair_key(player, zone), made)
        self.player_action_table_ = self._rate_table(_pair_key(player, action), made)
        zone_names = pd.Series(
            {
                name: self.zone_rates_.get(code, self.league_rate_)
                for code, name in enumerate(SHOT_ZONE_BASIC)
            }
        )
        self.expected_rates_ = expected_make_rates(
            X["shot_zone_basic"], X["action_type"], made, zone_names
        )
        expected = self._expected(X, zone)
        excess = pd.DataFrame({"key": player, "excess": made - expected})
        self.player_excess_table_ = (
            excess.groupby("key")["excess"].agg(["sum", "count"]).astype("float64")
        )
        self.player_recent_table_ = (
            excess.groupby("key")
            .tail(RECENT_SHOTS)
            .groupby("key")["excess"]
            .agg(["sum", "count"])
            .astype("float64")
        )
        return self

    def _expected(self, X: pd.DataFrame, zone: np.ndarray) -> np.ndarray:  # noqa: N803
        zone_prior = (
            pd.Series(zone).map(self.zone_rates_).fillna(self.league_rate_).to_numpy("float64")
        )
        if "action_type" not in X:
            return zone_prior
        return lookup_expected(
            self.expected_rates_, X["shot_zone_basic"], X["action_type"], zone_prior
        )

    @staticmethod
    def _excess_lookup(table: pd.DataFrame, keys: np.ndarray, smoothing: float) -> np.ndarray:
        rows = table.reindex(keys)
        total = rows["sum"].fillna(0.0).to_numpy("float64")
        count = rows["count"].fillna(0.0).to_numpy("float64")
        result: np.ndarray = total / (count + smoothing)
        return result

    @staticmethod
    def _rate_table(keys: np.ndarray, made: np.ndarray) -> pd.DataFrame:
        table = (
            pd.DataFrame({"key": keys, "made": made}).groupby("key")["made"].agg(["sum", "count"])
        )
        return table.astype("float64")

    # -- helpers -------------------------------------------------------------------------
    @staticmethod
    def _codes(values: pd.Series, categories: Sequence[str]) -> np.ndarray:
        """Category codes of ``values`` (-1 for missing or unknown)."""
        cat = pd.Categorical(values.astype("object"), categories=pd.Index(categories))
        return np.asarray(cat.codes, dtype="int64")

    def _zone_codes(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        return self._codes(X["shot_zone_basic"], SHOT_ZONE_BASIC)

    def _action_codes(self, X: pd.DataFrame) -> np.ndarray:  # noqa: N803
        return self._codes(X["action_type"], self.actions_)

    def _lookup(self, table: pd.DataFrame, keys: np.ndarray, prior: np.ndarray) -> np.ndarray:
        pos = table.index.get_indexer(pd.Index(keys))
        found = pos >= 0
        made = np.zeros(len(keys))
        att = np.zeros(len(keys))
        made[found] = table["sum"].to_numpy()[pos[found]]
        att[found] = table["count"].to_numpy()[pos[found]]
        return (made + SMOOTHING_ATTEMPTS * prior) / (att + SMOOTHING_ATTEMPTS)

    @staticmethod
    def _column(X: pd.DataFrame, name: str) -> np.ndarray:  # noqa: N803
        if name not in X.columns:
            return np.full(len(X), np.nan)
        return pd.to_numeric(X[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)

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

    def feature_columns(self, X: pd.DataFrame) -> list[np.ndarray]:  # noqa: N803
        """The same features as ``transform`` as plain arrays in ``FEATURE_NAMES`` order,
        for compiled forests: numbers at float32 precision (what the models were fitted
        on), categories as float codes with NaN for missing."""
        numeric, codes = self._arrays(X)
        columns = [np.asarray(numeric[name], dtype="float32") for name in NUMERIC_FEATURES]
        columns += [np.where(codes[name] < 0, np.nan, codes[name]) for name in CATEGORICAL_FEATURES]
        return columns

    def _arrays(
        self,
        X: pd.DataFrame,  # noqa: N803
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Numeric features and categorical codes (-1 for missing)."""
        x = self._column(X, "loc_x")
        y = self._column(X, "loc_y")
        distance = np.hypot(x, y) / 10.0
        period = self._column(X, "period")
        clock = self._column(X, "minutes_remaining") * 60 + self._column(X, "seconds_remaining")
        overtime = period > REGULATION_PERIODS
        left_game = np.where(
            overtime, clock, (REGULATION_PERIODS - period) * PERIOD_SECONDS + clock
        )
        shot_type = X["shot_type"].astype("object") if "shot_type" in X else None
        is_three = (
            (shot_type == "3PT Field Goal").to_numpy()
            if shot_type is not None
            else np.zeros(len(X), dtype=bool)
        )
        corner3 = is_three & (np.abs(x) >= 220) & (y <= 92.5)
        zone = self._zone_codes(X)
        action = self._action_codes(X)
        player = (
            X["player_id"].fillna(-1).to_numpy(dtype="int64")
            if "player_id" in X
            else (np.full(len(X), -1, dtype="int64"))
        )
        zone_prior = (
            pd.Series(zone).map(self.zone_rates_).fillna(self.league_rate_).to_numpy("float64")
        )

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
            "is_home": self._column(X, "is_home"),
            "is_playoffs": (
                (X["season_type"].astype("object") == "Playoffs").to_numpy(dtype="float64")
                if "season_type" in X
                else np.zeros(len(X))
            ),
            "season_start_year": self._column(X, "season_start_year"),
        }
        table_rates = {
            "player_prior_pct": self._lookup(self.player_table_, player, zone_prior),
            "player_zone_prior_pct": self._lookup(
                self.player_zone_table_, _pair_key(player, zone), zone_prior
            ),
            "player_action_prior_pct": self._lookup(
                self.player_action_table_, _pair_key(player, action), zone_prior
            ),
        }
        table_rates["player_season_prior_pct"] = table_rates["player_prior_pct"]
        table_rates["player_prior_excess"] = self._excess_lookup(
            self.player_excess_table_, player, EXCESS_SMOOTHING
        )
        table_rates["player_recent_excess"] = self._excess_lookup(
            self.player_recent_table_, player, RECENT_SMOOTHING
        )
        for name in SKILL_COLUMNS:
            if name == "player_prior_attempts":
                continue
            given = self._column(X, name)
            features[name] = np.where(np.isnan(given), table_rates[name], given)
        attempts = self._column(X, "player_prior_attempts")
        known = self.player_table_["count"].reindex(player).fillna(0.0).to_numpy("float64")
        features["player_prior_attempts_log"] = np.log1p(
            np.where(np.isnan(attempts), known, attempts)
        )
        for name in SEQUENCE_COLUMNS:
            features[name] = self._column(X, name)
        codes = {
            "action": np.where(action < 0, len(self.actions_), action).astype("int64"),
            "zone_basic": zone,
            "zone_area": self._codes(X["shot_zone_area"], SHOT_ZONE_AREA),
            "zone_range": self._codes(X["shot_zone_range"], SHOT_ZONE_RANGE),
        }
        return features, codes

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        return np.asarray(FEATURE_NAMES, dtype=object)
