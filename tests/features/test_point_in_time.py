"""Training, batch scoring and the API give a shot the same point-in-time context, and
the quality a model reports is the quality ``predict-batch`` delivers."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss
from typer.testing import CliRunner

from nba_mlops.cli import app
from nba_mlops.config import Settings, bundled_sample_path
from nba_mlops.data.ingest import iter_shot_chunks
from nba_mlops.data.schema import TARGET
from nba_mlops.data.store import ShotStore
from nba_mlops.db.session import Database
from nba_mlops.evaluation import BACKTEST_MODELS, _as_file
from nba_mlops.features.columns import CONTEXT_COLUMNS, SEQUENCE_COLUMNS
from nba_mlops.features.online import OnlineFeatures
from nba_mlops.features.serving import canonical_shots, to_model_frame
from nba_mlops.features.snapshots import FeatureSnapshots, context_for
from nba_mlops.inference.batch import predict_batch
from nba_mlops.inference.compiled import compile_model, compiled_cache_dir
from nba_mlops.inference.predictor import load_model_version
from nba_mlops.pipeline import run_ingest, run_training
from nba_mlops.registry import Registry
from nba_mlops.training.dataset import load_shots, model_input
from nba_mlops.training.splits import time_split

pytestmark = pytest.mark.slow

HOLDOUT_GAME_PREFIX = "222"  # 2022-23 regular season games


def _sample() -> pd.DataFrame:
    return pd.read_csv(bundled_sample_path(), dtype={"Game ID": str})


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A: the whole sample ingested. B: the sample without 2022-23, which is a file."""
    root = tmp_path_factory.mktemp("point-in-time")
    sample = _sample()
    latest = sample["Game ID"].str.zfill(8).str[1:3] == "22"
    before, season = sample[~latest], sample[latest]
    before_file, season_file = root / "before.csv", root / "season_2022-23.csv"
    before.to_csv(before_file, index=False)
    season.to_csv(season_file, index=False)
    a, b = Settings(home=root / "a"), Settings(home=root / "b")
    run_ingest(a, [bundled_sample_path()])
    run_ingest(b, [before_file])
    return {"a": a, "b": b, "season_file": season_file}


def _prepared(path: Path) -> pd.DataFrame:
    return pd.concat([c.shots for c in iter_shot_chunks(path, require_label=False)])


def _keyed(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index(["game_id", "game_event_id"]).sort_index()


def test_the_batch_path_builds_the_training_paths_frames(homes: dict[str, object]) -> None:
    a, b = homes["a"], homes["b"]
    assert isinstance(a, Settings) and isinstance(b, Settings)
    # training path: the season inside the store, its context from the stored history
    training, _ = load_shots(a, seasons=[2022])
    # batch path: the season as a new file against a store that ends before it
    shots = _prepared(Path(str(homes["season_file"])))
    batch = pd.concat([shots, context_for(b, shots)], axis=1)
    assert len(training) == len(batch) > 5_000

    def frame(rows: pd.DataFrame) -> pd.DataFrame:
        model = to_model_frame(rows)
        model[["game_id", "game_event_id"]] = rows[["game_id", "game_event_id"]].to_numpy()
        return _keyed(model)

    left, right = frame(training), frame(batch)
    context = list(CONTEXT_COLUMNS)
    left[context] = left[context].astype("float32")
    right[context] = right[context].astype("float32")
    pd.testing.assert_frame_equal(left, right, check_exact=False, rtol=1e-6, atol=1e-7)
    # and the context is real: most shots know their shooter and their game
    assert (batch["player_prior_attempts"] > 0).mean() > 0.8
    assert (batch["game_prior_attempts"] > 0).mean() > 0.5


def _first_shot_of_a_new_game(
    settings: Settings, game_id: int
) -> tuple[dict[str, object], pd.DataFrame]:
    """A real shooter's shot in a game the store does not hold yet."""
    stored = ShotStore(settings).read()
    last = stored.sort_values(["season_start_year", "game_id"]).iloc[-1]
    record: dict[str, object] = {
        "game_id": game_id,
        "game_event_id": 7,
        "loc_x": -120,
        "loc_y": 150,
        "period": 1,
        "minutes_remaining": 11,
        "seconds_remaining": 30,
        "action_type": "Jump Shot",
        "player_id": int(last["player_id"]),
        "team_id": int(last["team_id"]),
        "home_team": str(last["home_team"]),
        "away_team": str(last["away_team"]),
        "is_home": bool(last["is_home"]),
        "season_type": "Regular Season",
        "game_date": "2023-04-20",
    }
    canonical = pd.DataFrame(
        [
            {
                **record,
                "player_name": "x",
                "team_name": "x",
                "shot_type": "2PT Field Goal",
                "shot_zone_basic": "Mid-Range",
                "shot_zone_area": "Left Side Center(LC)",
                "shot_zone_range": "16-24 ft.",
                "shot_distance": 19,
                "shot_made_flag": np.nan,
                "season": "2022-23",
                "season_start_year": 2022,
                "is_home": int(bool(last["is_home"])),
            }
        ]
    )
    return record, canonical


def _looked_up(online: OnlineFeatures, record: dict[str, object]) -> pd.Series:
    context = online.context(canonical_shots([record]), [record])
    return pd.Series({name: values[0] for name, values in context.items()})[list(CONTEXT_COLUMNS)]


@pytest.mark.parametrize("home", ["a", "b"])
def test_the_api_looks_up_what_the_batch_path_computes(homes: dict[str, object], home: str) -> None:
    settings = homes[home]
    assert isinstance(settings, Settings)
    record, canonical = _first_shot_of_a_new_game(settings, game_id=22299999)
    batch = context_for(settings, canonical).iloc[0]
    db = Database(settings)
    try:
        online = OnlineFeatures.load(db)
        assert online is not None
        api = _looked_up(online, record)
    finally:
        db.dispose()
    assert api["player_prior_attempts"] > 0  # a shooter with a record
    known = [c for c in CONTEXT_COLUMNS if c not in SEQUENCE_COLUMNS]
    pd.testing.assert_series_equal(
        api[known].astype("float64"), batch[known].astype("float64"), check_names=False, rtol=1e-5
    )
    # the file says the game starts with this shot; the API cannot know what it missed
    assert batch["game_prior_attempts"] == 0
    assert api[list(SEQUENCE_COLUMNS)].isna().all()


def test_the_api_knows_the_game_so_far_of_an_ingested_game(homes: dict[str, object]) -> None:
    settings = homes["a"]
    assert isinstance(settings, Settings)
    shots = ShotStore(settings).read(seasons=["2022-23"])
    game = shots[shots["game_id"] == shots["game_id"].max()]
    shooter = game.iloc[-1]
    record = {
        "game_id": int(shooter["game_id"]),
        "game_event_id": int(game["game_event_id"].max()) + 3,
        "loc_x": 0,
        "loc_y": 30,
        "period": 4,
        "minutes_remaining": 0,
        "seconds_remaining": 0,
        "player_id": int(shooter["player_id"]),
        "team_id": int(shooter["team_id"]),
        "season_type": "Regular Season",
        "game_date": "2023-04-09",
    }
    db = Database(settings)
    try:
        online = OnlineFeatures.load(db)
        assert online is not None
        api = _looked_up(online, record)
    finally:
        db.dispose()
    mine = game[game["player_id"] == shooter["player_id"]]
    assert api["game_prior_attempts"] == len(mine)
    assert api["game_prior_makes"] == mine["shot_made_flag"].sum()
    assert api["events_since_game_shot"] == 3
    assert api["game_shot_same_player"] == 1
    # a game nobody ingested: the game so far is unknown, the shooter is not
    record["game_id"] = 22299998
    db = Database(settings)
    try:
        online = OnlineFeatures.load(db)
        assert online is not None
        unknown = _looked_up(online, record)
    finally:
        db.dispose()
    assert unknown[list(SEQUENCE_COLUMNS)].isna().all()
    assert unknown["player_prior_attempts"] > 0


def test_an_ingest_moves_the_history_on_from_the_season_it_touched(
    homes: dict[str, object], tmp_path: Path
) -> None:
    b = homes["b"]
    assert isinstance(b, Settings)
    copy = Settings(home=tmp_path / "b")
    shutil.copytree(b.home, copy.home)
    before = FeatureSnapshots(copy).current()
    assert before is not None
    earlier = (before.path / "context" / "2019.parquet").stat().st_ino
    run_ingest(copy, [Path(str(homes["season_file"]))])
    after = FeatureSnapshots(copy).current()
    assert after is not None and after.data_version != before.data_version
    assert max(after.seasons) == 2022
    # the earlier seasons' stored context was carried over, not recomputed
    assert (after.path / "context" / "2019.parquet").stat().st_ino == earlier
    assert not before.path.exists()  # the old snapshot is gone
    db = Database(copy)
    try:
        online = OnlineFeatures.load(db)
    finally:
        db.dispose()
    assert online is not None and online.data_version == after.data_version


def test_predict_batch_on_the_holdout_reproduces_the_reported_log_loss(
    trained_settings: Settings, tmp_path: Path
) -> None:
    settings = trained_settings
    registry = Registry(settings)
    champion = registry.champion()
    assert champion.run_id is not None
    reported = registry.run(champion.run_id).metrics["holdout_log_loss"]
    holdout = ShotStore(settings).read(seasons=["2022-23"])
    source = tmp_path / "holdout.csv"
    _as_file(holdout, source)
    out = tmp_path / "scored.csv"
    report = predict_batch(settings, source, out)
    assert report.rows_scored == len(holdout)
    scored = pd.read_csv(out)
    measured = log_loss(scored["Shot Made Flag"], scored["make_probability"])
    assert abs(measured - reported) < 0.0005, (measured, reported)


def test_the_original_projects_data_trains_and_serves_a_champion(tmp_path: Path) -> None:
    # the bundled sample's seasons before 2020-21 are the original project's own rows
    sample = _sample()
    seed = sample[~sample["Game ID"].str.zfill(8).str[1:3].isin(["20", "21", "22"])]
    assert len(seed) == 11_996
    source = tmp_path / "seed.csv"
    seed.to_csv(source, index=False)
    settings = Settings(home=tmp_path / "home")
    settings.training.tuning_trials = 3
    run_ingest(settings, [source])
    report = run_training(settings)
    assert "latest 2," in report.split  # a slice, not a last season of a few dozen shots
    assert report.champion_version is not None, report.decision.reason
    assert report.challenger.holdout["log_loss"] < report.baselines.constant["log_loss"]
    scored = predict_batch(settings, source, tmp_path / "scored.csv")
    assert scored.rows_scored == len(seed)


def test_a_backtest_scores_each_season_with_a_model_trained_before_it(
    fresh_trained_settings: Settings,
) -> None:
    settings = fresh_trained_settings
    result = CliRunner().invoke(
        app,
        ["evaluate", "--backtest", "1"],
        env={"NBA_MLOPS_HOME": str(settings.home), "NBA_MLOPS_TRAINING__TUNING_TRIALS": "2"},
    )
    assert result.exit_code == 0, result.output
    assert "2022-23" in result.output
    reports = list(settings.reports_dir.glob("backtest-*.md"))
    assert len(reports) == 1
    table = reports[0].read_text()
    for name in BACKTEST_MODELS:
        assert name in table
    # the working stores are gone
    assert not list(settings.home.glob(".backtest-*"))


def test_new_shots_are_prepared_on_the_workers_and_scored_alike(
    homes: dict[str, object], trained_settings: Settings, tmp_path: Path
) -> None:
    b = homes["b"]
    assert isinstance(b, Settings)
    home = Settings(home=tmp_path / "b")
    # score this small file as a large one is: compiled forest on worker processes
    home.serving.large_file_rows = 0
    shutil.copytree(b.home, home.home)
    shutil.copytree(trained_settings.mlflow_dir, home.mlflow_dir, dirs_exist_ok=True)
    source = Path(str(homes["season_file"]))
    registry = Registry(home)
    version = next(
        v.version for v in registry.list_versions() if v.family == "lightgbm"
    )  # a compiled forest: scored on worker processes
    model, _ = registry.load_model(version)
    assert compile_model(model, compiled_cache_dir(home)) is not None  # as at a first file
    kwargs = {"chunk_rows": 3_000, "version": version}
    one = predict_batch(home, source, tmp_path / "one.csv", workers=1, **kwargs)
    two = predict_batch(home, source, tmp_path / "two.csv", workers=2, **kwargs)
    assert two.workers == 2 and one.workers == 1
    assert (tmp_path / "one.csv").read_bytes() == (tmp_path / "two.csv").read_bytes()
    scored = pd.read_csv(tmp_path / "two.csv")
    assert len(scored) == one.rows_scored > 10_000


def test_the_command_line_says_which_store_version_the_history_holds(
    homes: dict[str, object],
) -> None:
    a = homes["a"]
    assert isinstance(a, Settings)
    version = ShotStore(a).data_version().short
    env = {"NBA_MLOPS_HOME": str(a.home)}
    shown = CliRunner().invoke(app, ["features", "show"], env=env, terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert f"history of {version}" in shown.output
    assert f"online table of {version}" in shown.output
    assert "behind" not in shown.output
    again = CliRunner().invoke(app, ["features", "refresh"], env=env, terminal_width=200)
    assert again.exit_code == 0, again.output
    assert f"already hold data version {version}" in again.output


def test_the_served_model_is_refitted_on_validation_and_keeps_its_calibration(
    trained_settings: Settings,
) -> None:
    """The chosen family is fitted again on training and validation: the served model has
    seen the validation season (its log loss there drops below what the training-only fit
    reported), with the number of trees early stopping chose and the calibration learnt
    on validation."""
    settings = trained_settings
    registry = Registry(settings)
    champion = registry.champion()
    version = champion.version
    assert champion.run_id is not None
    run = registry.run(champion.run_id)
    assert run.params["param_fitted_on"] == "training+validation"
    model = load_model_version(settings, str(version)).model
    estimator = model.calibrated_classifiers_[0].estimator.estimator.named_steps["model"]
    if champion.family == "lightgbm":
        assert estimator.booster_.num_trees() == int(run.params["param_n_estimators"])
    split = time_split(load_shots(settings)[0])
    assert split.validation_label == run.params["validation"]
    seen = log_loss(
        split.validation[TARGET], model.predict_proba(model_input(split.validation))[:, 1]
    )
    assert seen < run.metrics["validation_log_loss"] - 0.002, (
        seen,
        run.metrics["validation_log_loss"],
    )
