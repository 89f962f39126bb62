"""A request's shots are scored without pandas (``inference.rows``), with the model's own
probabilities: one shot alone or among others, with or without the online context,
whatever fields it leaves out or gets wrong."""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import pytest
from sklearn.calibration import CalibratedClassifierCV

from nba_mlops.config import Settings
from nba_mlops.db.session import Database
from nba_mlops.features.online import OnlineFeatures
from nba_mlops.features.serving import canonical_shots, model_frame
from nba_mlops.inference import rows as rows_module
from nba_mlops.inference.booster import LightGBMError
from nba_mlops.inference.predictor import LoadedModel, load_model_version
from nba_mlops.inference.rows import PROBES, RowScorer, row_scorer, scoring_cache_dir
from nba_mlops.registry import Registry

pytestmark = pytest.mark.slow

SHOTS: list[dict[str, Any]] = [
    *PROBES,
    {"loc_x": 3, "loc_y": 5},  # nothing but the location
    {"loc_x": -200, "loc_y": 120, "action_type": "Driving Floating Bank Jump Shot"},
    {"loc_x": 12, "loc_y": 240, "player_id": 1629029, "is_home": True, "game_date": "2022-12-25"},
    {"loc_x": 0, "loc_y": 30, "player_id": 999999999, "team_id": 1610612744},  # unknown ids
    {
        "loc_x": 150,
        "loc_y": 200,
        "period": 3,
        "minutes_remaining": 4,
        "seconds_remaining": 12,
        "action_type": "step back jump shot",
        "player_id": 201939,
        "team_id": 1610612744,
        "home_team": "GSW",
        "away_team": "LAL",
        "is_home": False,
        "season_type": "Playoffs",
        "game_id": 42200201,
        "game_event_id": 77,
        "game_date": "2023-05-02",
    },
]


def _versions(settings: Settings) -> dict[str, str]:
    return {v.family: str(v.version) for v in Registry(settings).list_versions()}


@pytest.fixture(scope="module")
def loaded(trained_settings: Settings) -> dict[str, LoadedModel]:
    return {
        family: load_model_version(trained_settings, version)
        for family, version in _versions(trained_settings).items()
    }


@pytest.fixture(scope="module")
def online(trained_settings: Settings) -> OnlineFeatures:
    found = OnlineFeatures.load(Database(trained_settings))
    assert found is not None
    return found


def _dataframe_path(model: Any, shots: list[dict[str, Any]], online: OnlineFeatures | None) -> Any:
    """The probabilities of the model's own predict_proba on the DataFrame path."""
    frame = canonical_shots(shots)
    context = online.context(frame, shots) if online is not None else None
    return model.predict_proba(model_frame(frame, context))[:, 1]


@pytest.mark.parametrize("with_context", [False, True])
def test_one_shot_alone_or_in_a_batch_gets_the_models_own_probability(
    loaded: dict[str, LoadedModel], online: OnlineFeatures, with_context: bool
) -> None:
    champion = loaded["lightgbm"]
    assert champion.rows is not None  # a calibrated LightGBM is scored row by row
    table = online if with_context else None
    together = champion.score(SHOTS, table)
    alone = np.concatenate([champion.score([shot], table) for shot in SHOTS])
    expected = _dataframe_path(champion.model, SHOTS, table)
    np.testing.assert_allclose(together, expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(alone, expected, rtol=0, atol=1e-9)
    assert ((together > 0) & (together < 1)).all()


def test_isotonic_calibration_is_scored_row_by_row_too(
    loaded: dict[str, LoadedModel], online: OnlineFeatures
) -> None:
    fitted = loaded["lightgbm"].model.calibrated_classifiers_[0].estimator
    rng = np.random.default_rng(0)
    shots = [
        {"loc_x": int(x), "loc_y": int(y), "period": int(p)}
        for x, y, p in zip(
            rng.integers(-250, 250, 3000),
            rng.integers(-40, 400, 3000),
            rng.integers(1, 5, 3000),
            strict=True,
        )
    ]
    frame = model_frame(canonical_shots(shots))
    made = (rng.random(len(shots)) < 0.45).astype(int)
    isotonic = CalibratedClassifierCV(fitted, method="isotonic").fit(frame, made)
    scorer = row_scorer(isotonic)
    assert scorer is not None
    model = LoadedModel("m", "1", None, isotonic, {}, None, None, [], rows=scorer)
    np.testing.assert_allclose(
        model.score(SHOTS, online), _dataframe_path(isotonic, SHOTS, online), rtol=0, atol=1e-9
    )


def test_other_families_keep_their_own_predict_proba(
    loaded: dict[str, LoadedModel], online: OnlineFeatures
) -> None:
    for family in ("logistic", "random_forest"):
        model = loaded[family]
        assert model.rows is None, family
        np.testing.assert_allclose(
            model.score(SHOTS, online),
            _dataframe_path(model.model, SHOTS, online),
            rtol=0,
            atol=1e-12,
        )


def test_a_row_scorer_that_disagrees_with_the_model_is_not_used(
    loaded: dict[str, LoadedModel], monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    real = rows_module.RowScorer.probabilities

    def off(self: Any, columns: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(real(self, columns)) + 1e-6

    monkeypatch.setattr(rows_module.RowScorer, "probabilities", off)
    with caplog.at_level(logging.WARNING, logger=rows_module.__name__):
        assert row_scorer(loaded["lightgbm"].model) is None
    assert "differs from the model" in caplog.text


def test_a_champion_scored_before_is_scored_again_without_unpickling_it(
    fresh_trained_settings: Settings, online: OnlineFeatures, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fresh_trained_settings
    version = _versions(settings)["lightgbm"]
    first = load_model_version(settings, version)  # unpickles it, saves its scoring bundle
    assert first.rows is not None
    assert list(scoring_cache_dir(settings.home).glob("*/scorer.json"))
    expected = first.score(SHOTS, online)

    from nba_mlops.registry import serialization

    unpickled: list[str] = []
    real = serialization.load_model

    def counting(folder: Any) -> Any:
        unpickled.append(str(folder))
        return real(folder)

    monkeypatch.setattr(serialization, "load_model", counting)
    again = load_model_version(settings, version)
    assert again.rows is not None and unpickled == []
    np.testing.assert_array_equal(again.score(SHOTS, online), expected)
    alone = np.concatenate([again.score([shot], online) for shot in SHOTS])
    np.testing.assert_allclose(alone, expected, rtol=0, atol=1e-12)
    # the model itself is still there for whoever asks for it
    np.testing.assert_allclose(
        _dataframe_path(again.model, SHOTS, online), expected, rtol=0, atol=1e-9
    )
    assert len(unpickled) == 1


def test_a_scoring_bundle_that_cannot_be_read_is_not_used(
    trained_settings: Settings, tmp_path: Any
) -> None:
    folder = tmp_path / "bundle"
    folder.mkdir()
    (folder / "scorer.json").write_text('{"format": 1, "actions": []}')
    assert RowScorer.load(folder) is None
    (folder / "scorer.json").write_text('{"format": 99}')
    assert RowScorer.load(folder) is None


def test_a_damaged_forest_file_is_not_handed_to_lightgbm_and_the_bundle_is_written_again(
    fresh_trained_settings: Settings, online: OnlineFeatures
) -> None:
    # LightGBM's parser aborts the whole process on a damaged model file, so the bundle's
    # checksum must stop it first: cut short, or the same size with other bytes
    settings = fresh_trained_settings
    version = _versions(settings)["lightgbm"]
    expected = load_model_version(settings, version).score(SHOTS, online)
    (folder,) = scoring_cache_dir(settings.home).iterdir()
    booster = folder / rows_module.BOOSTER_FILE
    good = booster.read_bytes()
    for damaged in (good[: len(good) // 3], good.replace(b"Tree=1", b"Tree=7", 1)):
        assert damaged != good
        booster.write_bytes(damaged)
        assert RowScorer.load(folder) is None
        assert not folder.exists()  # dropped, so that the next load writes it again
        again = load_model_version(settings, version)
        assert again.rows is not None
        np.testing.assert_array_equal(again.score(SHOTS, online), expected)
        assert booster.read_bytes() == good


def _sample_matrix(scorer: RowScorer) -> np.ndarray:
    from nba_mlops.config import bundled_sample_path
    from nba_mlops.data.ingest import iter_shot_chunks
    from nba_mlops.features.serving import to_model_frame

    chunk = next(iter(iter_shot_chunks(bundled_sample_path(), chunk_rows=20_000)))
    matrix: np.ndarray = scorer.features.feature_matrix(to_model_frame(chunk.shots))
    return matrix


def test_lightgbms_library_called_directly_gives_the_packages_own_numbers(
    loaded: dict[str, LoadedModel],
) -> None:
    import pickle

    import lightgbm as lgb

    scorer = loaded["lightgbm"].rows
    assert scorer is not None
    text = scorer.booster.model_to_string()
    package = lgb.Booster(model_str=text)
    matrix = _sample_matrix(scorer)
    copy = pickle.loads(pickle.dumps(scorer.booster))
    for raw_score in (True, False):
        for threads in (1, 2):
            expected = package.predict(matrix, raw_score=raw_score, num_threads=threads)
            got = scorer.booster.predict(matrix, raw_score=raw_score, num_threads=threads)
            np.testing.assert_array_equal(got, expected)
            np.testing.assert_array_equal(
                copy.predict(matrix, raw_score=raw_score, num_threads=1), expected
            )
            one = scorer.booster.predict(matrix[:1], raw_score=raw_score, num_threads=threads)
            np.testing.assert_array_equal(one, expected[:1])
    assert scorer.booster.predict(matrix[:0], raw_score=True, num_threads=1).shape == (0,)
    with pytest.raises(LightGBMError, match="feature"):
        scorer.booster.predict(matrix[:, :3], raw_score=True, num_threads=1)


def test_calibration_curves_give_scikit_learns_numbers() -> None:
    from sklearn.calibration import _SigmoidCalibration
    from sklearn.isotonic import IsotonicRegression

    rng = np.random.default_rng(7)
    raw = rng.normal(0, 1.5, 5_000)
    made = (rng.random(5_000) < 1 / (1 + np.exp(-raw))).astype(int)
    sigmoid = _SigmoidCalibration().fit(raw, made)
    isotonic = IsotonicRegression(out_of_bounds="clip").fit(raw, made)
    # inside, outside and exactly on the curve's points
    probe = np.concatenate(
        [rng.normal(0, 3, 20_000), isotonic.X_thresholds_, [raw.min(), raw.max(), -50, 50]]
    )
    for calibrator in (sigmoid, isotonic):
        curve = rows_module.Curve.of(calibrator)
        assert curve is not None
        again = rows_module.Curve(curve.kind, json.loads(json.dumps(curve.params)))
        if curve.kind == "isotonic":  # the same arithmetic, step by step: the same bits
            np.testing.assert_array_equal(again.predict(probe), calibrator.predict(probe))
        else:  # NumPy's exp (vectorised for the CPU) against the C library's: two ulps
            np.testing.assert_array_max_ulp(again.predict(probe), calibrator.predict(probe), 2)


def test_a_bundle_written_for_other_features_is_not_used(
    fresh_trained_settings: Settings,
) -> None:
    settings = fresh_trained_settings
    load_model_version(settings, _versions(settings)["lightgbm"])  # writes the bundle
    (folder,) = [p.parent for p in scoring_cache_dir(settings.home).glob("*/scorer.json")]
    assert RowScorer.load(folder) is not None
    description = json.loads((folder / "scorer.json").read_text())
    for changed in (
        {"features": description["features"][:-1]},  # a model from before a new column
        {"categories": {**description["categories"], "zone_basic": ["Restricted Area"]}},
    ):
        (folder / "scorer.json").write_text(json.dumps({**description, **changed}))
        assert RowScorer.load(folder) is None


def test_a_worker_that_only_predicts_never_loads_the_model_itself(
    fresh_trained_settings: Settings,
) -> None:
    # The API's predictor, in a new process, serving a champion scored before: it scores
    # from the bundle and holds neither the unpickled model nor the libraries it needs
    # (scikit-learn, skops, LightGBM's package: ~90 MB a worker) until a route asks for it.
    import os
    import subprocess
    import sys

    settings = fresh_trained_settings
    version = int(_versions(settings)["lightgbm"])
    Registry(settings).set_champion(version, "scored from its bundle", "manual")
    load_model_version(settings, version)  # writes the bundle
    probe = (
        "import asyncio, sys\n"
        "from nba_mlops.config import Settings\n"
        "from nba_mlops.inference.predictor import Predictor\n"
        "heavy = ('sklearn', 'skops', 'lightgbm')\n"
        "async def main():\n"
        "    predictor = Predictor(Settings())\n"
        "    await predictor.start(watch=False)\n"
        "    scored = await predictor.predict([{'loc_x': 0, 'loc_y': 10}])\n"
        "    print(scored.model_version, [m for m in heavy if m in sys.modules])\n"
        "    await asyncio.to_thread(lambda: predictor.current.model)\n"
        "    print([m for m in heavy if m in sys.modules])\n"
        "    await predictor.stop()\n"
        "asyncio.run(main())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.pop("DATABASE_URL", None)
    env["NBA_MLOPS_HOME"] = str(settings.home)
    done = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.strip().splitlines()[-2:]
    assert before == f"{version} []"
    assert after == "['sklearn', 'skops', 'lightgbm']"
