"""Batch scoring with the champion's forest compiled to native code."""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import logging
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lleaves.compiler
import numpy as np
import pandas as pd
import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nba_mlops.config import Settings, bundled_sample_path
from nba_mlops.data.ingest import ShotTable, iter_shot_chunks
from nba_mlops.features.serving import to_model_frame
from nba_mlops.inference import batch as batch_module
from nba_mlops.inference import compiled as compiled_module
from nba_mlops.inference import workers as workers_module
from nba_mlops.inference.batch import BatchReport, predict_batch
from nba_mlops.inference.compiled import CompiledModel, compile_model, compiled_cache_dir
from nba_mlops.inference.rows import cached_row_scorer
from nba_mlops.registry import Registry
from tests.support.homes import copy_home


def _version_of(settings: Settings, family: str) -> int:
    for version in Registry(settings).list_versions():
        if version.family == family:
            return version.version
    raise AssertionError(f"no {family} version registered")


@pytest.fixture(scope="module")
def sample_frame() -> pd.DataFrame:
    chunk = next(iter(iter_shot_chunks(bundled_sample_path(), chunk_rows=5_000)))
    return to_model_frame(chunk.shots)


@pytest.fixture
def handed_over(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files batch scoring hands its slices to workers through, as they are made."""
    paths: list[str] = []
    handover = batch_module._handover

    def recording(piece: Any, folder: str) -> str:
        paths.append(handover(piece, folder))
        return paths[-1]

    monkeypatch.setattr(batch_module, "_handover", recording)
    return paths


def _lightgbm(settings: Settings) -> Any:
    return Registry(settings).load_model(_version_of(settings, "lightgbm"))[0]


@pytest.fixture(scope="module")
def large(trained_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A copy of the trained home where every file counts as large (worker processes,
    compiled forest), the LightGBM version's forest compiled beforehand. The copy is this
    test process's own: tests here remove and expect the compiled forest's agreement
    mark, which tests in another process must not see change."""
    settings = trained_settings.model_copy(deep=True)
    settings.home = tmp_path_factory.mktemp("large") / "home"
    copy_home(trained_settings.home, settings.home)
    settings.serving.large_file_rows = 0
    assert compile_model(_lightgbm(trained_settings), compiled_cache_dir(settings)) is not None
    return settings


def test_the_compiled_forest_gives_the_models_own_probabilities(
    trained_settings: Settings, sample_frame: pd.DataFrame, tmp_path: Path
) -> None:
    model = _lightgbm(trained_settings)
    scorer = compile_model(model, tmp_path)
    assert scorer is not None
    expected = model.predict_proba(sample_frame)
    got = scorer.predict_proba(sample_frame)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)
    assert got[:, 1].min() > 0.0 and got[:, 1].max() < 1.0
    # on one thread and on several
    for n_jobs in (1, 2):
        threads = dataclasses.replace(scorer, n_jobs=n_jobs)
        np.testing.assert_allclose(threads.predict_proba(sample_frame), expected, atol=1e-9)


def test_a_compiled_forest_is_reused_from_the_cache(
    trained_settings: Settings,
    sample_frame: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = _lightgbm(trained_settings)
    first = compile_model(model, tmp_path)
    assert first is not None
    assert len(list(tmp_path.glob("forest-*.so"))) == 1

    def no_compiling(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("compiled again although the cache holds this forest")

    monkeypatch.setattr(lleaves.compiler, "compile_to_module", no_compiling)
    monkeypatch.setattr("lleaves.lleaves.compiler.compile_to_module", no_compiling)
    second = compile_model(model, tmp_path)
    assert second is not None
    np.testing.assert_array_equal(
        second.predict_proba(sample_frame), first.predict_proba(sample_frame)
    )
    # a worker process receives it pickled, and loads the cached code the same way
    copy = pickle.loads(pickle.dumps(first))
    assert copy.forest is not first.forest
    np.testing.assert_array_equal(
        copy.predict_proba(sample_frame), first.predict_proba(sample_frame)
    )
    assert not list(tmp_path.glob("*.tmp"))


def test_a_damaged_compiled_forest_is_compiled_again_instead_of_loaded(
    trained_settings: Settings, sample_frame: pd.DataFrame, tmp_path: Path
) -> None:
    # LLVM aborts the process on a damaged object file: the checksum written with the
    # forest must keep it from ever being loaded
    model = _lightgbm(trained_settings)
    first = compile_model(model, tmp_path)
    assert first is not None
    expected = first.predict_proba(sample_frame)
    (binary,) = tmp_path.glob("forest-*.so")
    good = binary.read_bytes()
    binary.write_bytes(good[: len(good) // 2])
    assert compile_model(model, tmp_path, cached_only=True) is None  # not loaded, dropped
    assert not binary.exists()
    again = compile_model(model, tmp_path)
    assert again is not None
    np.testing.assert_array_equal(again.predict_proba(sample_frame), expected)
    # an object without its checksum (or with another's) is not trusted either
    binary.with_name(f"{binary.name}.sha256").write_text("0" * 64)
    assert compile_model(model, tmp_path, cached_only=True) is None


def test_models_without_boosted_trees_are_scored_as_they_are(
    trained_settings: Settings, tmp_path: Path
) -> None:
    logistic = _version_of(trained_settings, "logistic")
    model, _ = Registry(trained_settings).load_model(logistic)
    assert compile_model(model, tmp_path) is None
    report = predict_batch(
        trained_settings, bundled_sample_path(), tmp_path / "out.csv", version=logistic
    )
    assert report.rows_scored == report.rows_read
    scored = pd.read_csv(tmp_path / "out.csv")
    assert set(scored["model_version"]) == {logistic}


def test_batch_output_is_the_same_compiled_or_not(
    trained_settings: Settings, tmp_path: Path
) -> None:
    version = _version_of(trained_settings, "lightgbm")
    fast = predict_batch(
        trained_settings, bundled_sample_path(), tmp_path / "fast.csv", version=version
    )
    plain = predict_batch(
        trained_settings,
        bundled_sample_path(),
        tmp_path / "plain.csv",
        version=version,
        compiled=False,
    )
    assert fast.rows_scored == plain.rows_scored == 41_917
    a, b = pd.read_csv(tmp_path / "fast.csv"), pd.read_csv(tmp_path / "plain.csv")
    pd.testing.assert_frame_equal(
        a.drop(columns="make_probability"), b.drop(columns="make_probability")
    )
    assert np.abs(a["make_probability"] - b["make_probability"]).max() <= 1e-6


def test_a_compiled_forest_that_disagrees_is_not_used(
    large: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    version = _version_of(large, "lightgbm")
    for agreed in compiled_cache_dir(large).glob("*.agreed"):  # checked by an earlier test
        agreed.unlink()
    honest = CompiledModel.predict_proba

    def off_by_a_little(self: CompiledModel, frame: pd.DataFrame) -> np.ndarray:
        result: np.ndarray = honest(self, frame) * 0.99
        return result

    monkeypatch.setattr(CompiledModel, "predict_proba", off_by_a_little)
    with caplog.at_level(logging.WARNING, logger=compiled_module.__name__.rsplit(".", 1)[0]):
        predict_batch(large, bundled_sample_path(), tmp_path / "out.csv", version=version)
    assert "differs from the model" in caplog.text
    plain = predict_batch(
        large,
        bundled_sample_path(),
        tmp_path / "plain.csv",
        version=version,
        compiled=False,
    )
    assert plain.rows_scored > 0
    got = pd.read_csv(tmp_path / "out.csv")["make_probability"]
    expected = pd.read_csv(tmp_path / "plain.csv")["make_probability"]
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_forked_workers_write_the_same_files_as_one_process(
    large: Settings, tmp_path: Path, handed_over: list[str]
) -> None:
    trained_settings = large
    raw = pd.read_csv(bundled_sample_path(), nrows=12_000)
    raw.loc[[10, 5_500, 11_999], "Period"] = 42  # rejected rows in different slices
    source = tmp_path / "shots.csv"
    raw.to_csv(source, index=False)
    version = _version_of(trained_settings, "lightgbm")
    runs = {}
    for workers in (1, 2):
        out = tmp_path / f"out-{workers}.csv"
        runs[workers] = predict_batch(
            trained_settings, source, out, version=version, chunk_rows=2_500, workers=workers
        )
    assert runs[2].workers == 2 and runs[2].compiled
    assert runs[1].workers == 1
    assert (tmp_path / "out-1.csv").read_bytes() == (tmp_path / "out-2.csv").read_bytes()
    rejected = pd.read_csv(tmp_path / "out-2.rejected.csv")
    assert rejected["row"].tolist() == [10, 5_500, 11_999]
    assert (tmp_path / "out-1.rejected.csv").read_bytes() == (
        tmp_path / "out-2.rejected.csv"
    ).read_bytes()
    assert runs[2].rows_scored == 12_000 - 3
    scored = pd.read_csv(tmp_path / "out-2.csv")
    assert len(scored) == 12_000 - 3
    assert (
        scored["Game Event ID"].tolist()
        == raw.drop(index=[10, 5_500, 11_999])["Game Event ID"].tolist()
    )
    # the slices went to the workers through files, each slice once (kept between the
    # passes with its prepared shots and its output lines): their folder is gone now
    assert len(handed_over) == 5
    assert not any(Path(path).parent.exists() for path in handed_over)


def test_slices_go_through_the_temp_folder_where_shared_memory_is_small(
    large: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    handed_over: list[str],
) -> None:
    monkeypatch.setattr(batch_module, "HANDOVER_MIN_FREE", 1 << 62)  # no /dev/shm is that big
    version = _version_of(large, "lightgbm")
    forked = predict_batch(
        large,
        bundled_sample_path(),
        tmp_path / "forked.csv",
        version=version,
        chunk_rows=10_000,
        workers=2,
    )
    assert forked.workers == 2 and len(handed_over) == 5
    assert not any(path.startswith("/dev/shm") for path in handed_over)
    predict_batch(large, bundled_sample_path(), tmp_path / "one.csv", version=version, workers=1)
    assert (tmp_path / "forked.csv").read_bytes() == (tmp_path / "one.csv").read_bytes()


def _score_sample_with_two_workers(
    settings: Settings, tmp_path: Path, chunk_rows: int = 150_000
) -> BatchReport:
    """The bundled sample scored by the LightGBM version, asking for two workers."""
    return predict_batch(
        settings,
        bundled_sample_path(),
        tmp_path / "out.csv",
        version=_version_of(settings, "lightgbm"),
        chunk_rows=chunk_rows,
        workers=2,
    )


def _in_a_fresh_interpreter(probe: str) -> str:
    """What ``probe`` prints when run by a new Python process (nothing imported yet)."""
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_workers_start_fresh_instead_of_copying_this_process(
    large: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker forked from this process would inherit its state, including a lock some
    # thread holds at that moment (and wait on it forever). Workers come from a fork
    # server instead: they do not see this change to the scoring function.
    def copied(*args: Any) -> Any:
        raise AssertionError("a worker ran a copy of the test process")

    monkeypatch.setattr(batch_module, "_score_shots", copied)
    report = _score_sample_with_two_workers(large, tmp_path, chunk_rows=15_000)
    assert report.workers == 2 and report.rows_scored == 41_917


def test_the_fork_server_warms_up_on_one_thread() -> None:
    # The server imports this module before it forks workers: the first preparation of
    # rows (pandera's lazy set-up) must be done, and no other Python thread started.
    probe = (
        "import sys, threading; import nba_mlops.inference.warm_workers; "
        "print(threading.active_count(), 'pandera.backends.pandas.register' in sys.modules)"
    )
    assert _in_a_fresh_interpreter(probe).split() == ["1", "True"]


def test_the_command_line_is_light_to_import() -> None:
    # Workers re-run the main script of the process that started them: for `nba-mlops`
    # that is the CLI, which must not drag in MLflow, Dagster or the web stack (nor make
    # `nba-mlops --help` wait for them).
    probe = (
        "import sys; import nba_mlops.cli; "
        "print([m for m in ('mlflow', 'dagster', 'fastapi', 'sklearn', 'pandas') "
        "if m in sys.modules])"
    )
    assert _in_a_fresh_interpreter(probe).strip() == "[]"


def test_the_api_does_not_load_scikit_learn_at_start() -> None:
    # Every API worker imports the app: the model routes' reliability bins come from the
    # training package, whose metrics load scikit-learn only where they are computed.
    probe = "import sys; import nba_mlops.api.app; print('sklearn' in sys.modules)"
    assert _in_a_fresh_interpreter(probe).strip() == "False"


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: scored without workers")
def test_the_command_scores_a_big_file_with_workers_the_same_way(
    large: Settings, tmp_path: Path
) -> None:
    trained_settings = large
    version = _version_of(trained_settings, "lightgbm")
    env = {
        **os.environ,
        "NBA_MLOPS_HOME": str(trained_settings.home),
        "NBA_MLOPS_SERVING__LARGE_FILE_ROWS": "0",
    }
    for variable in ("DATABASE_URL", "MLFLOW_TRACKING_URI"):
        env.pop(variable, None)
    command = [
        str(Path(sys.executable).with_name("nba-mlops")),
        "predict-batch",
        str(bundled_sample_path()),
        "--out",
        str(tmp_path / "cli.csv"),
        "--version",
        str(version),
        "--chunk-rows",
        "10000",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"compiled forest, [2-9]\d* worker", " ".join(done.stdout.split())), (
        done.stdout
    )
    predict_batch(
        trained_settings, bundled_sample_path(), tmp_path / "here.csv", version=version, workers=1
    )
    assert (tmp_path / "cli.csv").read_bytes() == (tmp_path / "here.csv").read_bytes()


def test_a_file_of_one_slice_is_scored_without_worker_processes(
    large: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_pool(*args: Any) -> Any:
        raise AssertionError("started worker processes for a single slice")

    monkeypatch.setattr(batch_module, "_start_pool", no_pool)
    report = _score_sample_with_two_workers(large, tmp_path)
    assert report.workers == 1 and report.compiled and report.rows_scored == 41_917


def test_a_small_file_is_scored_here_by_lightgbm_without_fork_server_or_compiling(
    fresh_trained_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trained_settings = fresh_trained_settings
    shutil.rmtree(compiled_cache_dir(trained_settings), ignore_errors=True)

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a small file started worker processes or a compilation")

    for name in ("_start_pool", "compile_in_background"):
        monkeypatch.setattr(batch_module, name, forbidden)
    monkeypatch.setattr(workers_module, "fork_server", forbidden)
    report = _score_sample_with_two_workers(trained_settings, tmp_path)
    assert (report.workers, report.scorer, report.rows_scored) == (1, "LightGBM", 41_917)
    assert not list(compiled_cache_dir(trained_settings).glob("forest-*.so"))  # nothing compiled
    assert "LightGBM, 1 worker(s)" in report.summary()
    plain = predict_batch(
        trained_settings,
        bundled_sample_path(),
        tmp_path / "plain.csv",
        version=_version_of(trained_settings, "lightgbm"),
        compiled=False,
    )
    assert plain.scorer == "model"
    got = pd.read_csv(tmp_path / "out.csv")
    expected = pd.read_csv(tmp_path / "plain.csv")
    np.testing.assert_allclose(got["make_probability"], expected["make_probability"], atol=1e-6)


def test_a_large_file_never_waits_for_its_forest_to_be_compiled(
    fresh_trained_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = fresh_trained_settings
    settings.serving.large_file_rows = settings.serving.compile_from_rows = 0
    shutil.rmtree(compiled_cache_dir(settings), ignore_errors=True)
    started: list[int] = []
    monkeypatch.setattr(
        batch_module, "compile_in_background", lambda _s, version: started.append(version)
    )
    version = _version_of(settings, "lightgbm")
    report = predict_batch(
        settings,
        bundled_sample_path(),
        tmp_path / "out.csv",
        version=version,
        workers=2,
        chunk_rows=10_000,
    )
    # scored by LightGBM's predictor on the workers meanwhile, the compilation left to a
    # process of its own
    assert (report.scorer, report.workers) == ("LightGBM", 2)
    assert (report.rows_scored, started) == (41_917, [version])
    assert not list(compiled_cache_dir(settings).glob("forest-*.so"))


def test_the_forest_is_compiled_by_a_process_of_its_own(
    fresh_trained_settings: Settings,
) -> None:
    settings = fresh_trained_settings
    shutil.rmtree(compiled_cache_dir(settings), ignore_errors=True)
    version = _version_of(settings, "lightgbm")
    assert compiled_module.compile_in_background(settings, version)
    deadline = time.monotonic() + 300
    while not list(compiled_cache_dir(settings).glob("forest-*.so")):
        assert time.monotonic() < deadline, (settings.home / "logs" / "compile.log").read_text()
        time.sleep(0.5)
    model = _lightgbm(settings)
    assert compile_model(model, compiled_cache_dir(settings), cached_only=True) is not None


def test_rows_are_estimated_without_reading_the_file(tmp_path: Path) -> None:
    sample = bundled_sample_path()  # gzipped CSV
    plain = tmp_path / "shots.csv"
    plain.write_bytes(gzip.decompress(sample.read_bytes()))
    parquet = tmp_path / "shots.parquet"
    pd.read_csv(plain).to_parquet(parquet)
    # gzip's trailer holds its last member's size only: two gzipped parts one after
    # the other (the last one a single line), and a file cut short, are estimated from
    # their compression ratio instead
    text = gzip.decompress(sample.read_bytes())
    header_and_rows, last = text.rsplit(b"\n", 2)[0], text.rsplit(b"\n", 2)[1]
    two_parts = tmp_path / "two.csv.gz"
    two_parts.write_bytes(gzip.compress(header_and_rows + b"\n") + gzip.compress(last + b"\n"))
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(sample.read_bytes()[: sample.stat().st_size // 2])
    for path in (sample, plain, two_parts):
        estimate = workers_module.estimated_size(path)[0]
        assert 0.7 * 41_917 < estimate < 1.3 * 41_917, (path, estimate)
    assert 0.3 * 41_917 < workers_module.estimated_size(cut)[0] < 0.7 * 41_917  # half of it
    assert workers_module.estimated_size(parquet)[0] == 41_917


def test_a_forest_whose_categories_differ_from_the_feature_step_is_not_compiled(
    trained_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nba_mlops.features.transformers import ShotFeatures

    model = _lightgbm(trained_settings)
    learnt = ShotFeatures.categories

    def reordered(self: ShotFeatures) -> dict[str, list[str]]:
        out = learnt(self)
        out["zone_basic"] = list(reversed(out["zone_basic"]))
        return out

    monkeypatch.setattr(ShotFeatures, "categories", reordered)
    assert compile_model(model, tmp_path) is None
    assert not list(tmp_path.glob("forest-*"))


def test_a_small_file_is_scored_from_the_champions_scoring_bundle(
    fresh_trained_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nba_mlops.registry import serialization

    settings = fresh_trained_settings
    version = _version_of(settings, "lightgbm")
    first = predict_batch(settings, bundled_sample_path(), tmp_path / "a.csv", version=version)

    def no_unpickling(*args: Any) -> Any:
        raise AssertionError("the champion was unpickled again")

    monkeypatch.setattr(serialization, "load_model", no_unpickling)
    second = predict_batch(settings, bundled_sample_path(), tmp_path / "b.csv", version=version)
    assert first.scorer == second.scorer != "model"
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_a_small_file_uses_the_compiled_forest_once_there_is_one(
    large: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = large.model_copy(deep=True)
    settings.serving.large_file_rows = 10**9  # small: scored in this process

    def no_pool(*args: Any) -> Any:
        raise AssertionError("a small file started worker processes")

    monkeypatch.setattr(batch_module, "_start_pool", no_pool)
    version = _version_of(settings, "lightgbm")
    report = predict_batch(settings, bundled_sample_path(), tmp_path / "out.csv", version=version)
    assert (report.workers, report.scorer) == (1, "compiled forest")


def test_a_champion_scored_before_is_scored_without_its_libraries_and_identically(
    fresh_trained_settings: Settings, tmp_path: Path
) -> None:
    # The command as a user runs it, in a new process, the champion's scoring bundle
    # written by an earlier run: neither scikit-learn, SciPy, LightGBM's Python package,
    # skops nor MLflow is imported (seconds of a season file's budget), whether the
    # forest is compiled yet or not, and the file is the one the saved model writes.
    settings = fresh_trained_settings
    version = _version_of(settings, "lightgbm")
    registry = Registry(settings)
    registry.set_champion(version, "scored from its bundle", "manual")
    expected = tmp_path / "model.csv"
    predict_batch(settings, bundled_sample_path(), expected, version=version, compiled=False)
    predict_batch(settings, bundled_sample_path(), tmp_path / "first.csv")  # writes the bundle
    heavy = ("sklearn", "scipy", "lightgbm", "skops", "mlflow")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["NBA_MLOPS_HOME"] = str(settings.home)
    for compiled_forest in (False, True):
        if compiled_forest:
            assert compile_model(_lightgbm(settings), compiled_cache_dir(settings)) is not None
        else:
            shutil.rmtree(compiled_cache_dir(settings), ignore_errors=True)
        out = tmp_path / f"cli-{compiled_forest}.csv"
        probe = (
            "import atexit, sys\n"
            f"atexit.register(lambda: print([m for m in {heavy!r} if m in sys.modules]))\n"
            "from nba_mlops.cli import app\n"
            f"sys.argv = ['nba-mlops', 'predict-batch', {str(bundled_sample_path())!r}, "
            f"'--out', {str(out)!r}]\n"
            "app()\n"
        )
        done = subprocess.run(
            [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert done.stdout.strip().splitlines()[-1] == "[]", done.stdout
        scorer = "compiled forest" if compiled_forest else "LightGBM"
        assert f"{scorer}, 1 worker" in " ".join(done.stdout.split()), done.stdout
        assert out.read_bytes() == expected.read_bytes()
    # and the probabilities themselves, before rounding
    rows, _ = cached_row_scorer(settings.home, registry.download_model()[0], lambda: None)
    assert rows is not None
    model = _lightgbm(settings)
    frame = to_model_frame(next(iter(iter_shot_chunks(bundled_sample_path(), 50_000))).shots)
    np.testing.assert_allclose(
        rows.predict_proba(frame), model.predict_proba(frame), rtol=0, atol=1e-12
    )


def test_a_compiled_forest_is_checked_against_its_model_once(
    large: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = large.model_copy(deep=True)
    settings.serving.large_file_rows = 10**9  # in this process
    for agreed in compiled_cache_dir(settings).glob("*.agreed"):
        agreed.unlink()
    version = _version_of(settings, "lightgbm")
    checked: list[int] = []
    real = batch_module._trusted

    def counting(*args: Any) -> bool:
        checked.append(1)
        return real(*args)

    monkeypatch.setattr(batch_module, "_trusted", counting)
    first = predict_batch(settings, bundled_sample_path(), tmp_path / "a.csv", version=version)
    second = predict_batch(settings, bundled_sample_path(), tmp_path / "b.csv", version=version)
    assert first.scorer == second.scorer == "compiled forest"
    assert checked == [1]  # the second file relied on the first one's check
    assert len(list(compiled_cache_dir(settings).glob("*.agreed"))) == 1
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_a_file_scored_here_is_read_and_prepared_once(
    large: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # New shots (event ids the store does not hold), so the first pass prepares them for
    # the history; the second pass scores what it prepared instead of reading the file
    # again. The workers' path keeps its slices between the passes too: same bytes.
    raw = pd.read_csv(bundled_sample_path(), nrows=12_000)
    raw["Game Event ID"] += 100_000
    raw.loc[[7, 6_100], "Period"] = 42  # rejected rows
    source = tmp_path / "new.csv"
    raw.to_csv(source, index=False)
    version = _version_of(large, "lightgbm")
    reads: list[str] = []
    prepared: list[int] = []
    real_read, real_prepare = batch_module.iter_shot_tables, ShotTable.prepare

    def reading(*args: Any, **kwargs: Any) -> Any:
        reads.append(str(args[0]))
        return real_read(*args, **kwargs)

    def preparing(self: ShotTable, *args: Any, **kwargs: Any) -> Any:
        prepared.append(self.offset)
        return real_prepare(self, *args, **kwargs)

    monkeypatch.setattr(batch_module, "iter_shot_tables", reading)
    monkeypatch.setattr(ShotTable, "prepare", preparing)
    small = large.model_copy(deep=True)
    small.serving.large_file_rows = 10**9  # a small file: scored in this process
    here = predict_batch(small, source, tmp_path / "here.csv", version=version, chunk_rows=5_000)
    assert (here.workers, len(reads), sorted(prepared)) == (1, 1, [0, 5_000, 10_000])
    forked = predict_batch(
        large, source, tmp_path / "forked.csv", version=version, chunk_rows=5_000, workers=2
    )
    assert forked.workers == 2 and len(reads) == 2  # read once, by this process
    assert (tmp_path / "here.csv").read_bytes() == (tmp_path / "forked.csv").read_bytes()
    assert (tmp_path / "here.rejected.csv").read_bytes() == (
        tmp_path / "forked.rejected.csv"
    ).read_bytes()
    assert here.rows_scored == forked.rows_scored == 12_000 - 2


def test_workers_look_up_stored_shots_context_and_compute_history_only_for_new_shots(
    large: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The workers look up the stored context of each slice the store holds (rejected rows
    # need none); the shot history is computed only when a file holds a new shot, and
    # either way the output is the bytes one process writes.
    from nba_mlops.features import snapshots

    raw = pd.read_csv(bundled_sample_path(), nrows=12_000)
    raw.loc[[10, 5_500], "Period"] = 42  # rejected rows, in two slices
    stored = tmp_path / "stored.csv"
    raw.to_csv(stored, index=False)
    raw.loc[9_000, "Game Event ID"] += 100_000  # one shot the store does not hold
    new = tmp_path / "new.csv"
    raw.to_csv(new, index=False)
    histories: list[int] = []
    real_context_for = snapshots.context_for

    def context_for(settings: Settings, shots: pd.DataFrame) -> pd.DataFrame:
        histories.append(len(shots))
        return real_context_for(settings, shots)

    monkeypatch.setattr(snapshots, "context_for", context_for)
    version = _version_of(large, "lightgbm")
    for marker in compiled_cache_dir(large).glob("*.agreed"):
        marker.unlink()  # the forest is checked again, on the context a worker looked up
    for source, computed in ((stored, 0), (new, 1)):
        histories.clear()
        forked = predict_batch(
            large, source, tmp_path / f"{source.stem}-2.csv", version=version, chunk_rows=2_500
        )
        assert forked.workers == 2 and forked.compiled
        assert len(histories) == computed
        here = predict_batch(
            large, source, tmp_path / f"{source.stem}-1.csv", version=version, workers=1
        )
        assert here.workers == 1 and len(histories) == computed + 1
        assert (tmp_path / f"{source.stem}-1.csv").read_bytes() == (
            tmp_path / f"{source.stem}-2.csv"
        ).read_bytes()
        assert forked.rows_scored == here.rows_scored == 12_000 - 2
    assert len(list(compiled_cache_dir(large).glob("*.agreed"))) == 1


@pytest.mark.parametrize(
    ("order", "written_in_pass_1"),
    [
        ("stored", [5]),
        ("new shot in the last season", range(1, 5)),
        ("new shot in the first season, last", [0]),
        ("seasons out of order, new shot last", range(5)),
    ],
)
def test_a_slice_scored_in_the_first_pass_stands_unless_a_new_shot_changes_its_history(
    large: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    order: str,
    written_in_pass_1: Any,
) -> None:
    # The workers score the slices the store holds in the first pass and their lines go
    # out at once. A new shot makes the history of its season and later ones computed
    # again: a slice of those seasons is scored again, and so is every slice after it,
    # even one written already; the output is always what one process writes.
    raw = pd.read_csv(bundled_sample_path(), nrows=12_000)
    # season, then kind (regular season 2, playoffs 4), from the game id
    kind, year = divmod(raw["Game ID"].to_numpy() % 100_000_000 // 100_000, 100)
    season = np.where(year >= 46, 1900 + year, 2000 + year) * 10 + kind
    if order.startswith("seasons out of order"):
        season = kind * 100 + year  # 2000-01 ... 2022-23, then 1997-98 ...
    raw = raw.iloc[np.argsort(season, kind="stable")].reset_index(drop=True)
    if "first season" in order:  # latest seasons first
        raw = raw.iloc[::-1].reset_index(drop=True)
    if "new shot" in order:
        raw.loc[len(raw) - 1, "Game Event ID"] += 100_000
    source = tmp_path / "shots.csv"
    raw.to_csv(source, index=False)
    second: list[tuple[int, int]] = []  # slices left for pass 2, and how many stood
    real_first_pass, real_second_pass = batch_module._first_pass, batch_module._second_pass
    first: list[Any] = []  # what pass 1 found of each slice

    def first_pass(*args: Any) -> Any:
        for found in real_first_pass(*args):
            first.append(found[0].found)
            yield found

    def second_pass(slices: list[Any], *args: Any) -> Any:
        second.append((len(slices), sum(s.found.final(args[-1]) for s in slices)))
        return real_second_pass(slices, *args)

    monkeypatch.setattr(batch_module, "_first_pass", first_pass)
    monkeypatch.setattr(batch_module, "_second_pass", second_pass)
    version = _version_of(large, "lightgbm")
    # one process first: it checks the compiled forest, which the workers then trust
    here = predict_batch(large, source, tmp_path / "1.csv", version=version, workers=1)
    forked = predict_batch(large, source, tmp_path / "2.csv", version=version, chunk_rows=2_500)
    assert forked.workers == 2
    [(left, standing)] = second
    assert 5 - left in written_in_pass_1 and standing == 0
    # a slice scored at once keeps nothing for pass 2 (prepared again if it must be
    # scored again); the others keep their prepared shots
    assert len(first) == 5 and any(found.scored is not None for found in first)
    for found in first:
        assert (found.shots is None) == (found.scored is not None)
        assert found.context is None or found.scored is None
    assert (tmp_path / "1.csv").read_bytes() == (tmp_path / "2.csv").read_bytes()
    assert forked.rows_read == here.rows_read == 12_000
    assert forked.rows_scored == here.rows_scored == 12_000


def test_workers_keep_the_stored_shots_they_look_up_for_the_next_file(
    large: Settings, tmp_path: Path
) -> None:
    # A season's stored shots, as the workers look them up, are kept in the home's cache
    # for the current snapshot (another snapshot's are removed) and mapped next time.
    from nba_mlops.features.snapshots import FeatureSnapshots

    home = large
    cache = home.home / "cache" / "stored-context"
    shutil.rmtree(cache, ignore_errors=True)  # what an earlier test left: written afresh
    stale = cache / "an-older-snapshot"
    stale.mkdir(parents=True)
    source = tmp_path / "shots.csv"
    pd.read_csv(bundled_sample_path(), nrows=12_000).to_csv(source, index=False)
    version = _version_of(home, "lightgbm")
    predict_batch(home, source, tmp_path / "1.csv", version=version, workers=1)  # trust
    first = predict_batch(home, source, tmp_path / "2.csv", version=version, chunk_rows=2_500)
    snapshot = FeatureSnapshots(home).current()
    assert first.workers == 2 and snapshot is not None
    assert not stale.exists()
    kept = {path.name: path.stat().st_mtime_ns for path in (cache / snapshot.path.name).iterdir()}
    seasons = {name.split(".")[0] for name in kept}
    assert len(seasons) > 3 and set(kept) == {
        f"{season}.{part}.npy" for season in seasons for part in ("keys", "context")
    }
    again = predict_batch(home, source, tmp_path / "3.csv", version=version, chunk_rows=2_500)
    assert again.workers == 2
    assert {p.name: p.stat().st_mtime_ns for p in (cache / snapshot.path.name).iterdir()} == kept
    assert (tmp_path / "1.csv").read_bytes() == (tmp_path / "2.csv").read_bytes()
    assert (tmp_path / "2.csv").read_bytes() == (tmp_path / "3.csv").read_bytes()


def test_an_output_stopped_while_its_file_is_created_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Ctrl-C or SIGTERM can come at any moment, as the partial file is being created too
    import pyarrow as pa

    def stopped(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    out = tmp_path / "scored.csv"
    out.write_text("an earlier output\n")
    monkeypatch.setattr(batch_module.pa_csv, "write_csv", stopped)
    with (
        pytest.raises(KeyboardInterrupt),
        batch_module._writing(pa.schema([("shot", pa.int64())]), out, None),
    ):
        pass
    assert out.read_text() == "an earlier output\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scored.csv"]


@pytest.mark.parametrize("kernel_copy", [True, False], ids=["sendfile", "no sendfile"])
def test_the_workers_lines_are_copied_into_the_output_whole_and_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel_copy: bool
) -> None:
    # Each slice's lines are copied by the kernel where it can, read and written where
    # it cannot (here: sendfile refused after its first call); a slice dropped by
    # ``keep`` is cut off, and the next one written in its place.
    import pyarrow as pa

    real_sendfile = os.sendfile
    calls: list[int] = []

    def sendfile(out: int, source: int, offset: int, count: int) -> int:
        calls.append(count)
        if not kernel_copy and len(calls) > 1:
            raise OSError(22, "Invalid argument")
        return real_sendfile(out, source, offset, min(count, 1 << 16))

    monkeypatch.setattr(batch_module.os, "sendfile", sendfile)
    monkeypatch.setattr(batch_module, "COPY_BYTES", 1 << 12)
    slices = [bytes(range(256)) * (1_000 + 37 * i) + b"\n" for i in range(3)]
    out = tmp_path / "scored.csv"
    with batch_module._writing(pa.schema([("shot", pa.int64())]), out, None) as writing:
        for i, data in enumerate(slices):
            (tmp_path / f"{i}.csv").write_bytes(data)
            writing.lines(tmp_path / f"{i}.csv", 1, 1)
        writing.keep(2)
        (tmp_path / "again.csv").write_bytes(b"again\n")
        writing.lines(tmp_path / "again.csv", 1, 1)
        writing.lines(b"in memory\n", 1, 1)
    assert out.read_bytes() == b'"shot"\n' + slices[0] + slices[1] + b"again\nin memory\n"
    assert len(calls) > 3 if kernel_copy else len(calls) > 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scored.csv"]


def test_a_handover_folder_left_by_a_killed_scoring_is_removed(tmp_path: Path) -> None:
    # A large file's slices wait in a folder named after its process; one killed before
    # it could clean up leaves it behind (in /dev/shm: memory), and the next scoring on
    # the machine removes it. A running process's folder is left alone.
    dead_pid = subprocess.Popen(["true"])
    dead_pid.wait()
    stale = tmp_path / f"nba-batch-{dead_pid.pid}-abc"
    alive = tmp_path / f"nba-batch-{os.getppid()}-def"
    other = tmp_path / "nba-batch-notapid"
    for folder in (stale, alive, other):
        folder.mkdir()
        (folder / "0.arrow").write_bytes(b"slice")
    with batch_module._handover_folder(0, str(tmp_path)) as made:
        assert Path(made).name.startswith(f"nba-batch-{os.getpid()}-")
        assert not stale.exists()
        assert alive.exists() and other.exists()
    assert not Path(made).exists()


def _command_env(settings: Settings) -> dict[str, str]:
    """A scoring command's environment: the home of ``settings``, every file large."""
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DATABASE_"))},
        "NBA_MLOPS_HOME": str(settings.home),
        "NBA_MLOPS_SERVING__LARGE_FILE_ROWS": "0",
    }


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: scored without workers")
def test_a_command_stopped_halfway_leaves_no_worker_and_keeps_the_earlier_output(
    large: Settings, tmp_path: Path, stop: signal.Signals
) -> None:
    # SIGTERM is handled as Ctrl-C (workers stopped, handover files removed, exit 143);
    # after SIGKILL the workers end with the command and the next scoring removes the
    # files it left. Either way the output written before is kept as it was.
    out = tmp_path / "scored.csv"
    out.write_text("an earlier output\n")
    earlier_rejected = tmp_path / "scored.rejected.csv"
    earlier_rejected.write_text("its rejected rows\n")
    handovers = Path(batch_module._handover_dir() or tempfile.gettempdir())
    env = _command_env(large)
    command = [
        str(Path(sys.executable).with_name("nba-mlops")),
        "predict-batch",
        str(bundled_sample_path()),
        "--out",
        str(out),
        "--chunk-rows",
        "2000",
        "--version",
        str(_version_of(large, "lightgbm")),
    ]
    log = tmp_path / "command.log"
    with log.open("wb") as sink:  # a file, not a pipe: nothing waits for a reader
        proc = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        mine = f"nba-batch-{proc.pid}-*"
        deadline = time.monotonic() + 120
        while not list(handovers.glob(mine)) and proc.poll() is None:
            assert time.monotonic() < deadline, "the command never handed a slice over"
            time.sleep(0.05)
        assert proc.poll() is None, "the command ended before it could be stopped"
        family = psutil.Process(proc.pid).children(recursive=True)
        assert family, "no worker processes"
        proc.send_signal(stop)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    _, alive = psutil.wait_procs(family, timeout=15)
    assert not alive, [p.pid for p in alive]
    output = log.read_text(errors="replace")
    assert out.read_text() == "an earlier output\n"
    assert earlier_rejected.read_text() == "its rejected rows\n"
    if stop == signal.SIGTERM:
        assert proc.returncode == 128 + signal.SIGTERM, output
        assert "stopped by SIGTERM" in " ".join(output.split())
        assert not list(handovers.glob(mine))
        assert not list(tmp_path.glob("*.partial"))  # what it had written is gone
    else:  # nobody could clean up: the next large file's scoring does (maybe another
        # test's, running beside this one, already did)
        with batch_module._handover_folder(0, str(handovers)):
            assert not list(handovers.glob(mine))


# Scores the sample under StopSignals, with SIGTERM arriving right after the pool's
# second worker process started, before the pool could record it.
_STOPPED_AT_A_WORKER_START = """
import os, signal, sys
from multiprocessing.context import ForkServerProcess
from pathlib import Path

from nba_mlops.config import get_settings
from nba_mlops.inference.batch import predict_batch
from nba_mlops.stops import Stopped, StopSignals

start = ForkServerProcess.start
started = []

def start_then_stop(process):
    start(process)
    started.append(process.pid)
    print("worker", process.pid, flush=True)
    if len(started) == 2:  # the pool knows the first one
        os.kill(os.getpid(), signal.SIGTERM)

ForkServerProcess.start = start_then_stop
try:
    with StopSignals():
        predict_batch(
            get_settings(),
            Path(sys.argv[1]),
            Path(sys.argv[2]),
            chunk_rows=2000,
            version=int(sys.argv[3]),
        )
except Stopped as stopped:
    print("stopped by", stopped.how, flush=True)
"""


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: scored without workers")
def test_a_stop_while_a_worker_starts_ends_the_command_and_its_workers(
    large: Settings, tmp_path: Path
) -> None:
    # A stop between a worker's start and the pool recording it used to leave a worker
    # the pool did not know of: it took the shutdown message meant for another, and
    # the command waited for that one for ever.
    env = _command_env(large)
    out = tmp_path / "scored.csv"
    command = [
        sys.executable,
        "-c",
        _STOPPED_AT_A_WORKER_START,
        str(bundled_sample_path()),
        str(out),
        str(_version_of(large, "lightgbm")),
    ]
    log = tmp_path / "command.log"
    with log.open("wb") as sink:  # a file, not a pipe: the workers hold it too
        proc = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        proc.wait(timeout=90)
    finally:
        if proc.poll() is None:
            family = psutil.Process(proc.pid).children(recursive=True)
            proc.kill()
            proc.wait()
            for left in family:  # the unknown worker, which nothing else stops
                with contextlib.suppress(psutil.NoSuchProcess):
                    left.kill()
    text = log.read_text(errors="replace")
    assert proc.returncode == 0 and "stopped by SIGTERM" in text, text
    workers = [int(line.split()[1]) for line in text.splitlines() if line.startswith("worker ")]
    assert workers, text
    running = []
    for pid in workers:
        with contextlib.suppress(psutil.NoSuchProcess):  # gone already: as it should be
            running.append(psutil.Process(pid))
    _, alive = psutil.wait_procs(running, timeout=15)
    assert not alive, [p.pid for p in alive]
    assert not out.exists() and not list(tmp_path.glob("*.partial"))


def test_a_file_too_big_for_any_temporary_folder_is_refused_before_anything_is_written(
    large: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "scored.csv"
    out.write_text("an earlier output\n")
    # a file whose slices would need an exabyte between the passes
    monkeypatch.setattr(workers_module, "estimated_size", lambda _path: (10**7, 10**18))
    with pytest.raises(batch_module.BatchSpaceError, match="GiB of temporary space"):
        predict_batch(
            large,
            bundled_sample_path(),
            out,
            version=_version_of(large, "lightgbm"),
            chunk_rows=10_000,
            workers=2,
        )
    assert out.read_text() == "an earlier output\n"


@settings(max_examples=300, derandomize=True, deadline=None)
@given(
    kept=st.lists(st.booleans(), min_size=0, max_size=60),
    chunks=st.integers(min_value=1, max_value=4),
)
def test_the_rows_written_are_the_accepted_rows_in_file_order(
    kept: list[bool], chunks: int
) -> None:
    # A slice's output is its accepted rows as read: the runs between rejected rows are
    # taken as they are, whatever the rows rejected (none, all, the first, the last) and
    # however the slice is laid out in memory.
    import pyarrow as pa

    n = len(kept)
    values = pa.array([f"shot {i}" for i in range(n)], pa.string())
    numbers = pa.array(range(n), pa.int64())
    table = pa.Table.from_batches(
        pa.table({"name": values, "n": numbers}).to_batches(max_chunksize=max(1, n // chunks))
        or [pa.record_batch({"name": values, "n": numbers})]
    )
    positions = np.flatnonzero(np.array(kept, dtype=bool))
    taken = batch_module._rows_at(table, positions)
    assert taken.to_pydict() == {
        "name": [f"shot {i}" for i in positions],
        "n": positions.tolist(),
    }
    # out of file order (never made by the scoring): gathered one by one all the same
    backwards = positions[::-1]
    assert batch_module._rows_at(table, backwards)["n"].to_pylist() == backwards.tolist()


def test_every_line_read_is_scored_or_rejected_malformed_ones_included(
    large: Settings, tmp_path: Path
) -> None:
    # A line with the wrong number of fields is skipped by the reader and rejected: the
    # count of lines read includes it, so read = scored + rejected, with workers or not.
    raw = pd.read_csv(bundled_sample_path(), nrows=6_000)
    raw.loc[[0, 4_000], "Period"] = 42  # two rows rejected by the contract
    lines = raw.to_csv(index=False).splitlines()
    lines.insert(2_500, "1,2,3")  # too few fields
    lines.append(lines[-1] + ",one too many")  # too many
    source = tmp_path / "shots.csv"
    source.write_text("\n".join(lines) + "\n")
    version = _version_of(large, "lightgbm")
    reports = [
        predict_batch(large, source, tmp_path / "1.csv", version=version, workers=1),
        predict_batch(large, source, tmp_path / "2.csv", version=version, chunk_rows=2_000),
    ]
    assert [report.workers for report in reports] == [1, 2]
    for report in reports:
        assert report.rows_read == 6_002 == report.rows_scored + report.rows_rejected
        assert report.rows_rejected == 4
        assert f"of {report.rows_read:,} shots" in report.summary()
    assert (tmp_path / "1.csv").read_bytes() == (tmp_path / "2.csv").read_bytes()
