"""The steps of a training run on their own: what each model family carries, the capped
fitting rows, choosing the challenger, deciding on promotion and recording the decisions
(against a stand-in registry); then the data a run prepares from the bundled sample and
one family fitted and refitted on it."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import numpy as np
import pandas as pd
import pytest

from nba_mlops.config import Settings, TrainingSettings, bundled_sample_path
from nba_mlops.features.columns import CONTEXT_COLUMNS
from nba_mlops.registry import NoChampionError, Registry
from nba_mlops.registry.promotion import decide_promotion
from nba_mlops.training.dataset import UNKNOWN_WITHOUT_CONTEXT, UNKNOWN_WITHOUT_GAME
from nba_mlops.training.evaluate import Baselines
from nba_mlops.training.fit import Candidate, fit_family, refit
from nba_mlops.training.models import FAMILIES, TREE_TOLERANCE, fewest_trees
from nba_mlops.training.prepare import (
    REFERENCE_ROWS,
    Holdout,
    Rows,
    SplitFacts,
    TrainingData,
    prepare,
)
from nba_mlops.training.splits import time_split
from nba_mlops.training.train import choose, decide, families, record_decisions


# -- the families ---------------------------------------------------------------------------
def test_each_family_carries_its_final_row_cap_and_its_search() -> None:
    assert {name: f.final_row_cap for name, f in FAMILIES.items()} == {
        "logistic": 300_000,
        "random_forest": 500_000,
        "lightgbm": 0,
    }
    assert {name: f.search for name, f in FAMILIES.items()} == {
        "logistic": "token",
        "random_forest": "token",
        "lightgbm": "full",
    }
    assert all(name == family.name for name, family in FAMILIES.items())


@pytest.mark.parametrize(
    ("tuning_trials", "full", "token"), [(8, 8, 2), (3, 3, 1), (1, 1, 1), (40, 40, 10)]
)
def test_a_token_search_is_a_quarter_of_a_full_one_and_never_none(
    tuning_trials: int, full: int, token: int
) -> None:
    cfg = TrainingSettings(tuning_trials=tuning_trials)
    assert FAMILIES["lightgbm"].trials(cfg) == full
    assert FAMILIES["logistic"].trials(cfg) == FAMILIES["random_forest"].trials(cfg) == token


def test_only_early_stopping_settles_parameters() -> None:
    class Stopped:
        booster_ = SimpleNamespace(best_iteration=137)

    class NeverStopped:
        booster_ = SimpleNamespace(best_iteration=0)

    assert FAMILIES["lightgbm"].settled(Stopped()) == {"n_estimators": 137}
    assert FAMILIES["lightgbm"].settled(NeverStopped()) == {}
    assert FAMILIES["random_forest"].settled(Stopped()) == {}
    assert FAMILIES["logistic"].settled(object()) == {}


def test_the_forest_keeps_the_fewest_trees_within_the_tolerance_of_the_best() -> None:
    # validation log loss by number of trees: early stopping kept 6 (the best, 0.6000);
    # 4 trees are within the tolerance of it, 3 are not
    losses = [0.7, 0.65, 0.6000 + 1.5 * TREE_TOLERANCE, 0.6000 + 0.5 * TREE_TOLERANCE]
    losses += [0.60005, 0.6000, 0.6001, 0.6002]
    assert fewest_trees(losses, 6) == 4
    learning = [0.7, 0.6, 0.5, 0.4, 0.3, 0.2]  # every tree gains more than the tolerance
    assert fewest_trees(learning, 6) == 6


def test_an_early_stopped_forest_predicts_with_the_trees_a_refit_is_given() -> None:
    # the number of trees is decided once, at the fit: the model is calibrated and judged
    # with it, and it is what the refit gets
    rng = np.random.default_rng(7)
    x = pd.DataFrame(rng.normal(size=(3_000, 3)), columns=["a", "b", "c"])
    y = (x["a"] + rng.normal(size=3_000) > 0).to_numpy(dtype=int)
    params = {"learning_rate": 0.05, "num_leaves": 7}
    model = FAMILIES["lightgbm"].fit(params, x[:2_000], y[:2_000], x[2_000:], y[2_000:], 7)
    losses = model.evals_result_["valid_0"]["binary_logloss"]
    kept = fewest_trees(losses, model.best_iteration_)
    assert kept < model.best_iteration_  # this seed: the last trees gain little
    assert FAMILIES["lightgbm"].settled(model) == {"n_estimators": kept}
    expected = model.booster_.predict(x, num_iteration=kept)
    np.testing.assert_array_equal(model.predict_proba(x)[:, 1], expected)


def test_an_unknown_family_is_refused_before_anything_is_fitted() -> None:
    assert [f.name for f in families(["lightgbm", "logistic"])] == ["lightgbm", "logistic"]
    with pytest.raises(ValueError, match="unknown model family 'xgboost'; known: "):
        families(["logistic", "xgboost"])


# -- rows -------------------------------------------------------------------------------------
def test_capped_rows_are_a_seeded_sample_in_time_order() -> None:
    rows = Rows(pd.DataFrame({"a": np.arange(100)}), np.arange(100) % 2)
    assert rows.capped(0, 42) is rows and rows.capped(100, 42) is rows
    some = rows.capped(30, 42)
    assert len(some.x) == len(some.y) == 30
    assert list(some.x["a"]) == sorted(some.x["a"])
    assert list(some.y) == [a % 2 for a in some.x["a"]]
    assert list(rows.capped(30, 42).x["a"]) == list(some.x["a"])
    assert list(rows.capped(30, 7).x["a"]) != list(some.x["a"])
    expected = np.sort(np.random.default_rng(42).choice(100, 30, replace=False))
    assert list(some.x["a"]) == list(expected)


# -- choosing, deciding and recording -----------------------------------------------------------
def _candidate(family: str, validation: float, holdout: float, version: int) -> Candidate:
    metrics = {"log_loss": holdout}
    return Candidate(family, {}, validation, metrics, metrics, metrics, None, version=version)


def test_the_challenger_is_the_best_on_validation_the_first_of_equals() -> None:
    a = _candidate("logistic", 0.65, 0.60, 1)
    b = _candidate("random_forest", 0.64, 0.70, 2)
    c = _candidate("lightgbm", 0.64, 0.50, 3)
    assert choose([a, b, c]) is b


class _Registry:
    """What the decision steps ask of the registry, written down."""

    def __init__(self, champion: Any = None) -> None:
        self.champion = champion
        self.decisions: list[tuple[int, str, str, dict[str, Any]]] = []
        self.promoted: list[tuple[int, str, str]] = []

    def load_model(self) -> tuple[Any, int]:
        if self.champion is None:
            raise NoChampionError("no champion")
        return self.champion, 1

    def record_decision(
        self, version: int, decision: str, reason: str, evidence: dict[str, Any]
    ) -> None:
        self.decisions.append((version, decision, reason, dict(evidence)))

    def set_champion(self, version: int, reason: str, how: str) -> None:
        self.promoted.append((version, reason, how))

    def champion_version(self) -> int | None:
        return self.promoted[-1][0] if self.promoted else None


class _Constant:
    def __init__(self, p: float) -> None:
        self.p = p

    def predict_proba(self, x: pd.DataFrame) -> np.ndarray:
        return np.column_stack([np.full(len(x), 1 - self.p), np.full(len(x), self.p)])


def _data(y: np.ndarray) -> TrainingData:
    frame = pd.DataFrame({"a": np.zeros(len(y))})
    return TrainingData(
        features=cast(Any, None),
        train=Rows(frame, y),
        validation=Rows(frame, y),
        validation_input=frame,
        holdout=Holdout(frame, frame, frame, y),
        refit=None,
        split=SplitFacts("described", "season 2021-22", "season 2022-23", 3, 2, len(y)),
        baselines=Baselines({"log_loss": 0.69}, {"log_loss": 0.66}),
        players=[],
        reference=frame,
    )


def test_the_first_champion_needs_only_to_beat_the_constant_baseline() -> None:
    data = _data(np.array([0, 1, 1, 0]))
    challenger = _candidate("logistic", 0.6, 0.65, 4)
    decision = decide(cast(Registry, _Registry()), data, challenger, 0.001)
    assert decision == decide_promotion(0.65, None, 0.69, 0.001)
    assert decision.promote and "first champion" in decision.reason


def test_the_champion_is_judged_on_the_same_holdout() -> None:
    y = np.array([0, 1, 1, 0])
    registry = _Registry(champion=_Constant(0.5))
    challenger = _candidate("logistic", 0.6, 0.65, 4)
    decision = decide(cast(Registry, registry), _data(y), challenger, 0.001)
    assert decision.champion_log_loss == pytest.approx(math.log(2))
    assert decision.promote  # 0.65 beats log 2 = 0.693 by more than the margin


def test_every_candidate_gets_a_decision_and_only_a_winner_is_promoted() -> None:
    loser = _candidate("logistic", 0.66, 0.67, 7)
    challenger = _candidate("lightgbm", 0.64, 0.63, 8)
    promote = decide_promotion(0.63, None, 0.69, 0.001)
    registry = _Registry()
    champion = record_decisions(
        cast(Registry, registry),
        [loser, challenger],
        challenger,
        promote,
        holdout="season 2022-23",
        data_version="abc",
    )
    assert champion == 8 and registry.promoted == [(8, promote.reason, "promoted")]
    ((version, decision, reason, evidence),) = registry.decisions
    assert (version, decision) == (7, "rejected")
    assert reason == "not the best family on validation (0.6600 vs lightgbm 0.6400)"
    assert evidence == {
        "holdout": "season 2022-23",
        "challenger_holdout_log_loss": 0.67,
        "champion_holdout_log_loss": None,
        "constant_baseline_log_loss": 0.69,
        "margin": 0.001,
        "data_version": "abc",
    }

    keep = decide_promotion(0.63, 0.6305, 0.69, 0.001)
    registry = _Registry()
    champion = record_decisions(
        cast(Registry, registry),
        [challenger],
        challenger,
        keep,
        holdout="season 2022-23",
        data_version="abc",
    )
    assert champion is None and registry.promoted == []
    ((version, decision, reason, evidence),) = registry.decisions
    assert (version, decision, reason) == (8, "rejected", keep.reason)
    assert evidence["champion_holdout_log_loss"] == 0.6305
    assert evidence["challenger_holdout_log_loss"] == 0.63


# -- on the bundled sample ------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample_split(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from nba_mlops.pipeline import run_ingest
    from nba_mlops.training.dataset import load_shots

    settings = Settings(home=Path(tmp_path_factory.mktemp("steps")) / "home")
    run_ingest(settings, [bundled_sample_path()])
    shots, _ = load_shots(settings)
    return time_split(shots)


@pytest.mark.slow
def test_the_prepared_data_holds_what_every_step_reads(sample_split: Any) -> None:
    split = sample_split
    cfg = TrainingSettings(max_train_rows=15_000, seed=3)
    data = prepare(split, cfg)
    assert data.split == SplitFacts(
        split.describe(),
        split.validation_label,
        split.holdout_label,
        len(split.train),
        len(split.validation),
        len(split.holdout),
    )
    # fitting on the most recent training rows; refitting on the most recent of training
    # and validation together, both within max_train_rows
    assert len(data.train.x) == len(data.train.y) == 15_000
    assert data.refit is not None and len(data.refit.y) == 15_000
    assert list(data.train.x.columns) == list(data.validation.x.columns)
    assert len(data.validation.y) == len(data.validation_input) == len(split.validation)
    holdout = data.holdout
    assert len(holdout.y) == len(holdout.given) == len(split.holdout)
    assert holdout.without_game.loc[:, list(UNKNOWN_WITHOUT_GAME)].isna().all().all()
    assert holdout.without_context.loc[:, list(UNKNOWN_WITHOUT_CONTEXT)].isna().all().all()
    assert holdout.given["player_prior_attempts"].notna().any()
    assert not set(CONTEXT_COLUMNS) & set(data.reference.columns)
    assert len(data.reference) == min(REFERENCE_ROWS, len(split.validation))
    assert sum(p["shots"] for p in data.players) == len(split.train) + len(split.validation)
    assert data.without_refit_rows().refit is None and data.refit is not None

    assert prepare(split, cfg.model_copy(update={"refit": False})).refit is None


@pytest.mark.slow
def test_a_family_is_fitted_within_its_row_cap_and_refitted_in_place(
    sample_split: Any,
) -> None:
    cfg = TrainingSettings(profile="quick", max_train_rows=12_000)
    data = prepare(sample_split, cfg)
    family = dataclasses.replace(FAMILIES["logistic"], final_row_cap=4_000)
    fitted_rows: list[int] = []
    fit = family.fit

    def counting_fit(params: Any, x: Any, y: Any, xv: Any, yv: Any, seed: int) -> Any:
        fitted_rows.append(len(x))
        return fit(params, x, y, xv, yv, seed)

    family = dataclasses.replace(family, fit=counting_fit)
    told: list[str] = []
    candidate = fit_family(family, data, cfg, told.append)
    assert told == ["logistic: fitting", "logistic: final fit", "logistic: calibrating"]
    assert fitted_rows == [4_000]
    assert candidate.family == "logistic" and candidate.params["C"] == 1.0
    assert candidate.params["calibration"] in {"sigmoid", "isotonic"}
    assert 0.5 < candidate.holdout["log_loss"] < data.baselines.constant["log_loss"]

    model = candidate.model
    refit(candidate, data, cfg.seed, told.append)
    assert told[-1] == "logistic: refitting on training and validation (12,000 rows)"
    assert candidate.model is model and candidate.params["fitted_on"] == "training+validation"
    assert 0.5 < candidate.holdout["log_loss"] < data.baselines.constant["log_loss"]
    with pytest.raises(ValueError, match="no refit rows"):
        refit(candidate, data.without_refit_rows(), cfg.seed, told.append)
