"""The champion's boosted trees compiled to machine code, for scoring big files.

LightGBM walks its trees through a generic interpreter; ``lleaves`` turns the same trees
into native code with LLVM, which scores several times faster on the same input. Only
the forest is replaced: the saved model's own feature step runs first and its own
calibrators run after, so the probabilities are the model's probabilities. Before a
compiled forest is used it must reproduce the model's answers on the caller's first rows
(``CompiledModel.agrees_with``); batch scoring falls back to the saved model otherwise.

The compiled code is cached under ``NBA_MLOPS_HOME/cache/compiled`` by a hash of the
trees, the compiler versions and this CPU, so each champion is compiled once per machine.
A ``CompiledModel`` pickles as its feature step, calibrators and cache files: a worker
process that receives one loads the compiled forest from the cache instead of compiling.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import platform
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nba_mlops.config import Settings
from nba_mlops.data.store import file_sha256
from nba_mlops.inference.rows import RowScorer, calibrated
from nba_mlops.log import get_logger

logger = get_logger(__name__)

# Rows handed to the compiled forest per call: a block this size (a few hundred KB) is
# assembled row-major in a buffer that stays in the CPU cache, instead of a whole chunk
# turned row-major in fresh memory (page faults cost more than the copy).
BLOCK_ROWS = 4_096
# LLVM's code model for the forest: "small" addresses code and data within 2 GB (a
# 775-tree forest compiles to under 3 MB), scores ~7% faster than lleaves' default
# "large" and compiles ~30% sooner (measured 2026-12-06 on this project's 2-core VM).
CODE_MODEL = "small"
# The largest difference in probability tolerated between the compiled forest and the
# saved model (both compute in double precision; they differ only in summation order).
TOLERANCE = 1e-7


@dataclass(frozen=True)
class CompiledModel:
    """Feature step -> compiled forest -> the model's calibrators (averaged)."""

    features: Any  # a ShotFeatures: it hands the forest its feature arrays directly
    forest: Any
    calibrators: tuple[Any, ...]
    n_jobs: int
    files: ForestFiles

    def __reduce__(self) -> tuple[Any, ...]:
        # The forest is native code behind ctypes pointers: send where it is cached instead.
        return (_reload, (self.features, self.calibrators, self.n_jobs, self.files))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        columns = self.features.feature_columns(frame)
        raw = np.empty(len(frame), dtype="float64")
        share = -(-len(frame) // max(self.n_jobs, 1))  # rows per thread, rounded up
        ranges = [(s, min(s + share, len(frame))) for s in range(0, len(frame), share or 1)]
        if len(ranges) <= 1:
            self._predict_blocks(columns, 0, len(frame), raw)
        else:  # the forest runs without the interpreter lock: one range per thread
            with ThreadPoolExecutor(len(ranges)) as pool:
                for done in [
                    pool.submit(self._predict_blocks, columns, a, b, raw) for a, b in ranges
                ]:
                    done.result()
        made = calibrated(self.calibrators, raw)
        result: np.ndarray = np.column_stack([1.0 - made, made])
        return result

    def _predict_blocks(
        self, columns: list[np.ndarray], first: int, end: int, result: np.ndarray
    ) -> None:
        """The forest's output for rows ``first:end`` of feature ``columns`` into
        ``result``, a cache-sized block at a time."""
        block = np.empty((min(BLOCK_ROWS, end - first), len(columns)), dtype="float64")
        for start in range(first, end, BLOCK_ROWS):
            stop = min(start + BLOCK_ROWS, end)
            part = block[: stop - start]
            for position, column in enumerate(columns):
                part[:, position] = column[start:stop]
            result[start:stop] = self.forest.predict(part, n_jobs=1)

    def agrees_with(self, model: Any, frame: pd.DataFrame) -> float:
        """The largest probability difference from ``model`` on ``frame``."""
        expected = model.predict_proba(frame)[:, 1]
        return float(np.max(np.abs(self.predict_proba(frame)[:, 1] - expected), initial=0.0))


@dataclass(frozen=True)
class ForestFiles:
    """Where a compiled forest lives: LightGBM's text model and its compiled code."""

    model_file: str
    cache_file: str
    raw_score: bool

    def load(self) -> Any:
        import lleaves

        forest = lleaves.Model(model_file=self.model_file)
        forest.compile(cache=self.cache_file, raw_score=self.raw_score, fcodemodel=CODE_MODEL)
        return forest


def _reload(
    features: Any, calibrators: tuple[Any, ...], n_jobs: int, files: ForestFiles
) -> CompiledModel:
    return CompiledModel(features, files.load(), calibrators, n_jobs, files)


def model_parts(model: Any) -> tuple[Any, Any, tuple[Any, ...], bool] | None:
    """(feature step, LightGBM classifier, calibrators, whether the calibrators read the
    raw margin) of a calibrated LightGBM pipeline, or None for any other kind of model."""
    import lightgbm as lgb
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.frozen import FrozenEstimator
    from sklearn.pipeline import Pipeline

    if not isinstance(model, CalibratedClassifierCV):
        return None
    pipeline: Any = None
    calibrators: list[Any] = []
    margin = False
    for member in getattr(model, "calibrated_classifiers_", []):
        # scikit-learn calibrates the decision function when there is one (LightGBM's
        # raw margin), the probability otherwise.
        margin = hasattr(member.estimator, "decision_function")
        inner = member.estimator
        if isinstance(inner, FrozenEstimator):
            inner = inner.estimator
        if pipeline is None:
            pipeline = inner
        if inner is not pipeline or member.method not in ("isotonic", "sigmoid"):
            return None
        if len(member.calibrators) != 1:
            return None
        calibrators.append(member.calibrators[0])
    if not isinstance(pipeline, Pipeline) or len(pipeline.steps) != 2:
        return None
    features, classifier = pipeline.steps[0][1], pipeline.steps[1][1]
    if not isinstance(classifier, lgb.LGBMClassifier) or len(classifier.classes_) != 2:
        return None
    # The forest reads the feature step's arrays as they come: same columns in the same
    # order, categories coded as LightGBM learnt them.
    booster = classifier.booster_
    if not hasattr(features, "feature_columns") or (
        tuple(booster.feature_name()) != tuple(features.get_feature_names_out())
        or [list(c) for c in booster.pandas_categorical or []]
        != list(features.categories().values())
    ):
        return None
    return features, classifier, tuple(calibrators), margin


def _cache_key(model_text: str, margin: bool) -> str:
    import llvmlite.binding as llvm

    versions = "|".join(
        importlib.metadata.version(name) for name in ("lleaves", "llvmlite", "lightgbm")
    )
    host = f"{platform.machine()}|{llvm.get_host_cpu_name()}|{llvm.get_host_cpu_features()}"
    digest = hashlib.sha256()
    for part in (model_text, versions, host, f"raw_score={margin},inline,{CODE_MODEL}"):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:24]


def compile_model(
    model: Any, cache_dir: Path, *, n_jobs: int | None = None, cached_only: bool = False
) -> CompiledModel | None:
    """Compile ``model``'s forest (or load it from the cache); None when the model is not a
    calibrated LightGBM pipeline whose feature step feeds the forest directly, or the
    compiler is not available, or (``cached_only``) the forest is not compiled yet."""
    parts = model_parts(model)
    if parts is None:
        return None
    features, classifier, calibrators, margin = parts
    return compile_forest(
        features,
        classifier.booster_,
        calibrators,
        margin,
        cache_dir,
        n_jobs=n_jobs,
        cached_only=cached_only,
    )


def compile_scorer(
    scorer: RowScorer, cache_dir: Path, *, n_jobs: int | None = None, cached_only: bool = False
) -> CompiledModel | None:
    """``compile_model`` of the model a row scorer (or its scoring bundle) stands for."""
    return compile_forest(
        scorer.features,
        scorer.booster,
        scorer.curves,
        scorer.margin,
        cache_dir,
        n_jobs=n_jobs,
        cached_only=cached_only,
    )


def compile_forest(
    features: Any,
    booster: Any,
    calibrators: tuple[Any, ...],
    margin: bool,
    cache_dir: Path,
    *,
    n_jobs: int | None = None,
    cached_only: bool = False,
) -> CompiledModel | None:
    """The compiled forest of ``booster`` (from the cache, or compiled now unless
    ``cached_only``) between the feature step and the calibrators."""
    try:
        import lleaves
    except ImportError:  # pragma: no cover - lleaves is a dependency; kept for slim installs
        logger.warning("lleaves is not installed: batch scoring uses the saved model as is")
        return None
    model_text = booster.model_to_string()
    key = _cache_key(model_text, margin)
    cache_dir.mkdir(parents=True, exist_ok=True)
    text_path = cache_dir / f"forest-{key}.txt"
    binary_path = cache_dir / f"forest-{key}.so"
    if not text_path.exists():
        _write_atomically(text_path, model_text.encode())
    files = ForestFiles(str(text_path), str(binary_path), margin)
    if binary_path.exists() and not _intact(binary_path):
        # LLVM aborts the whole process on a damaged object file: never hand it one
        logger.warning(
            "the compiled forest %s is damaged or unchecked: compiled again", binary_path
        )
        binary_path.unlink(missing_ok=True)
    if binary_path.exists():
        forest = files.load()
    elif cached_only:
        return None
    else:
        forest = lleaves.Model(model_file=str(text_path))
        logger.info("compiling %d trees for batch scoring (once per model)", forest.num_trees())
        # Write to a private name, then rename: a second process never reads half a file.
        tmp = binary_path.with_name(f"{binary_path.name}.{os.getpid()}.tmp")
        try:
            # Inlining makes compiling slow (about 30 s for 500 trees on this project's
            # 2-core machine) and scoring about 30% faster; it is paid once per model.
            forest.compile(cache=str(tmp), raw_score=margin, finline=True, fcodemodel=CODE_MODEL)
            # its checksum first: a reader never sees the object without one
            _write_atomically(_digest_path(binary_path), file_sha256(tmp).encode())
            tmp.replace(binary_path)
        finally:
            tmp.unlink(missing_ok=True)
    return CompiledModel(
        features=features,
        forest=forest,
        calibrators=calibrators,
        n_jobs=n_jobs or os.cpu_count() or 1,
        files=files,
    )


def compile_in_background(settings: Settings, version: int) -> bool:
    """Start compiling champion ``version``'s forest into the cache in a process of its
    own, at low priority, and return at once (False when it could not be started). The
    process outlives the command that started it; of two started for one version, the
    second leaves at once. Its log: ``logs/compile.log`` in the home."""
    env = {
        **os.environ,
        "NBA_MLOPS_HOME": str(settings.home.resolve()),
        "MLFLOW_TRACKING_URI": settings.tracking_uri,
    }
    log_dir = settings.home / "logs"
    try:
        log_dir.mkdir(parents=True, exist_ok=True)
        with (log_dir / "compile.log").open("ab") as log:
            subprocess.Popen(
                [sys.executable, "-m", __name__, str(version)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C on the command does not stop it
            )
    except OSError as error:
        logger.warning("could not start compiling the forest in the background: %s", error)
        return False
    return True


def _compile_version(version: int) -> None:
    """The background process: compile ``version``'s forest unless another process is
    compiling it already."""
    import fcntl

    from nba_mlops.config import get_settings
    from nba_mlops.inference.rows import cached_row_scorer
    from nba_mlops.log import setup_logging
    from nba_mlops.registry import Registry
    from nba_mlops.registry.serialization import load_model

    os.nice(10)
    settings = get_settings()
    setup_logging(settings, console=True)
    cache_dir = compiled_cache_dir(settings)
    cache_dir.mkdir(parents=True, exist_ok=True)
    with (cache_dir / f"compiling-v{version}.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.info("version %d's forest is being compiled by another process", version)
            return
        folder, _ = Registry(settings).download_model(version)
        scorer, _model = cached_row_scorer(settings.home, folder, lambda: load_model(folder))
        if scorer is not None and compile_scorer(scorer, cache_dir, n_jobs=1) is not None:
            logger.info("version %d's forest is compiled in %s", version, cache_dir)


def _digest_path(binary_path: Path) -> Path:
    return binary_path.with_name(f"{binary_path.name}.sha256")


def _intact(binary_path: Path) -> bool:
    """Whether a compiled forest is the object its compilation wrote (its checksum)."""
    try:
        return _digest_path(binary_path).read_text(encoding="ascii") == file_sha256(binary_path)
    except OSError:
        return False


def compiled_cache_dir(settings: Settings) -> Path:
    """Where a home keeps its compiled forests."""
    return settings.home / "cache" / "compiled"


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        Path(tmp).replace(path)
    finally:
        Path(tmp).unlink(missing_ok=True)


if __name__ == "__main__":  # compile_in_background's process
    _compile_version(int(sys.argv[1]))
