"""The champion in memory: load it from the registry, score shots, follow the alias.

``Predictor`` holds one :class:`LoadedModel` reference. A reload loads the new version
completely (model, metrics, players) in a thread and only then replaces the reference,
so a request is scored by the old or the new model, never by a half-loaded one. Scoring
goes through a :class:`~nba_mlops.inference.microbatch.MicroBatcher`.
"""

from __future__ import annotations

import asyncio
import ctypes
import datetime as dt
import functools
import gc
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from nba_mlops import metrics
from nba_mlops.aio import cancel_and_wait
from nba_mlops.config import Settings
from nba_mlops.features.online import OnlineFeatures
from nba_mlops.inference.microbatch import MicroBatcher, Record, Scored
from nba_mlops.inference.rows import RowScorer, cached_row_scorer
from nba_mlops.log import get_logger
from nba_mlops.registry import Registry

logger = get_logger(__name__)

HOLDOUT_PREFIX = "holdout_"
DECISION_THRESHOLD = 0.5


class ModelUnavailableError(RuntimeError):
    """No champion is loaded (none registered yet, or the registry is unreachable)."""


@dataclass(frozen=True)
class ModelInfo:
    """What ``GET /models/current`` tells about the champion served."""

    name: str
    version: str
    metrics: dict[str, float]
    promoted_at: dt.datetime | None


@dataclass(frozen=True)
class LoadedModel:
    """One registered model version, fully loaded and ready to score."""

    name: str
    version: str
    run_id: str | None
    # The model, or a function that loads it when first needed: a champion scored by its
    # row scorer is unpickled only when a route needs the model itself (an explanation,
    # a player's chart), so a worker that only predicts never holds it nor scikit-learn.
    source: Any = field(repr=False)
    metrics: dict[str, float]
    promoted_at: dt.datetime | None
    created_at: dt.datetime | None
    players: list[dict[str, Any]] = field(repr=False)
    # Scores a request's rows without pandas (``inference.rows``); None: the model's own
    # predict_proba on a DataFrame.
    rows: RowScorer | None = field(default=None, repr=False)
    _loaded: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def model(self) -> Any:
        """The model itself, loaded on first use when it was not needed to score (blocking:
        seconds, the first time)."""
        with self._lock:
            if "model" not in self._loaded:
                if callable(self.source):
                    self._loaded["model"] = self.source()
                    settle_heap()  # what loading it left behind joins the unscanned objects
                else:
                    self._loaded["model"] = self.source
            return self._loaded["model"]

    def info(self) -> ModelInfo:
        return ModelInfo(self.name, self.version, dict(self.metrics), self.promoted_at)

    def score(self, records: Sequence[Record], online: OnlineFeatures | None = None) -> np.ndarray:
        """Make probabilities of raw canonical shot records (blocking)."""
        columns = model_inputs(records, online)
        if self.rows is not None:
            return self.rows.probabilities(columns)
        probabilities = self.model.predict_proba(pd.DataFrame(columns))[:, 1]
        return np.asarray(probabilities, dtype=np.float64)


def model_inputs(
    records: Sequence[Record], online: OnlineFeatures | None = None
) -> dict[str, np.ndarray]:
    """The model's input columns as arrays, built by the feature code shared with
    training, with the context the online table knows (none without one)."""
    from nba_mlops.features.serving import model_columns, shot_columns

    shots = shot_columns(records)
    context = online.context(shots, records) if online is not None else None
    return model_columns(shots, context)


def build_model_frame(
    records: Sequence[Record], online: OnlineFeatures | None = None
) -> pd.DataFrame:
    """``model_inputs`` as the model's input frame."""
    return pd.DataFrame(model_inputs(records, online))


# --- registry access (blocking; called from threads) ------------------------------------------
def load_model_version(settings: Settings, version: int | str) -> LoadedModel:
    """Load one registered version with its holdout metrics and players (blocking)."""
    from nba_mlops.registry.serialization import load_model

    registry = Registry(settings)
    # the champion's card and folder come without MLflow while the store is unchanged
    card = registry.serving_card(version)
    found = card.version
    local, _ = registry.download_model(found.version)

    def unpickled() -> Any:
        model = load_model(local)
        single_threaded(model)
        return model

    rows, model = cached_row_scorer(settings.home, local, unpickled)
    run_metrics = {
        key: value for key, value in card.metrics.items() if key.startswith(HOLDOUT_PREFIX)
    }
    players = card.players
    return LoadedModel(
        name=found.name,
        version=str(found.version),
        run_id=found.run_id,
        source=model if model is not None else unpickled,
        metrics=run_metrics,
        promoted_at=found.promoted_at,
        created_at=found.created_at,
        players=players,
        rows=rows,
    )


def settle_heap() -> None:
    """Take long-lived objects (modules, the loaded model) out of the collector's scans.

    A full collection over the ~300,000 objects MLflow, pandas and the model leave behind
    takes about 200 ms and stalls every request of the process: it was the p99 latency.
    Called after each (re)load: one collection then, none of that size afterwards.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    _trim_c_heap()


@functools.cache
def _c_library() -> Any:
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to trim
        return None


def _trim_c_heap() -> None:
    """Give the pages the C heap holds free back to the system (glibc's ``malloc_trim``).

    Loading a champion parses its forest, reads its documents and builds many temporary
    objects; what they leave free stays in the process's resident memory otherwise (about
    6 MB a worker for the full-data champion, as much as its forest)."""
    libc = _c_library()
    if libc is not None:
        libc.malloc_trim(0)


def single_threaded(model: Any) -> int:
    """Make every estimator inside ``model`` predict on one thread; returns how many.

    Serving already runs one scoring thread per worker process and one worker per core;
    ``n_jobs=-1`` would add a thread pool per call on top (and count the CPUs each time),
    which only fights for the same cores.
    """
    seen: set[int] = set()
    changed = 0

    def visit(obj: Any, depth: int) -> None:
        nonlocal changed
        if depth > 12 or id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, (list, tuple)):
            for item in obj:
                visit(item, depth + 1)
            return
        if isinstance(obj, dict):
            for item in obj.values():
                visit(item, depth + 1)
            return
        if not hasattr(obj, "get_params"):
            return
        if getattr(obj, "n_jobs", 1) not in (None, 1):
            obj.n_jobs = 1
            changed += 1
        for value in vars(obj).values():
            visit(value, depth + 1)

    visit(model, 0)
    return changed


def search_players(
    players: list[dict[str, Any]], q: str | None, limit: int
) -> list[dict[str, Any]]:
    """Players whose name contains ``q`` (any case), in the artifact's order (most shots first)."""
    needle = q.casefold() if q else ""
    found = (p for p in players if needle in str(p.get("player_name", "")).casefold())
    out = []
    for player in found:
        out.append(player)
        if len(out) >= limit:
            break
    return out


# --- the in-process predictor -----------------------------------------------------------------
@dataclass(frozen=True)
class ReloadOutcome:
    changed: bool
    version: str | None
    previous: str | None
    message: str


class ShotScorer(Protocol):
    """What the API needs from a predictor, in this process or behind a URL."""

    @property
    def remote(self) -> bool: ...

    async def start(self, *, watch: bool = True) -> None: ...

    async def stop(self) -> None: ...

    async def predict(self, records: Sequence[Record]) -> Scored: ...

    async def reload(self, *, force: bool = False) -> ReloadOutcome: ...

    async def model_info(self) -> ModelInfo | None: ...

    async def players(self, q: str | None, limit: int) -> list[dict[str, Any]]: ...

    async def ready(self) -> tuple[bool, str]: ...


class Predictor:
    """Serves the champion in this process and follows the ``champion`` alias."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._current: LoadedModel | None = None
        self._reload_lock = asyncio.Lock()
        self._load_lock = threading.Lock()
        self._batcher = MicroBatcher(
            self._score_batch,
            max_size=settings.serving.batch_max_size,
            max_wait_s=settings.serving.batch_max_wait_ms / 1000.0,
            idle_s=settings.serving.batch_idle_ms / 1000.0,
            pass_through=(ModelUnavailableError,),
            inline_max=settings.serving.batch_inline_shots,
        )
        self._watcher: asyncio.Task[None] | None = None
        self.last_error: str | None = None
        # The online feature table (shooter skill, recent games) and its database.
        self._online: OnlineFeatures | None = None
        self._features_db: Any = None
        self._features_error: str | None = None

    @property
    def current(self) -> LoadedModel | None:
        return self._current

    @property
    def remote(self) -> bool:
        return False

    @property
    def online(self) -> OnlineFeatures | None:
        return self._online

    async def start(self, *, watch: bool = True) -> None:
        self._batcher.start()
        metrics.set_model(None, None)
        await self.refresh_features()
        await self.reload()
        if watch and self.settings.serving.reload_interval_s > 0:
            self._watcher = asyncio.get_running_loop().create_task(self._watch(), name="reload")

    async def stop(self) -> None:
        await cancel_and_wait(self._watcher)
        self._watcher = None
        await self._batcher.stop()
        if self._features_db is not None:
            self._features_db.dispose()
            self._features_db = None

    async def predict(self, records: Sequence[Record]) -> Scored:
        if self._current is None:
            raise ModelUnavailableError(self._unavailable_message())
        return await self._batcher.submit(records)

    def _unavailable_message(self) -> str:
        base = f"No model is being served: model '{self.settings.model_name}' has no champion"
        return f"{base} ({self.last_error})" if self.last_error else f"{base} yet"

    def _score_batch(self, records: list[Record]) -> Scored:
        model = self._current  # one reference for the whole batch, whatever reloads do
        if model is None:
            raise ModelUnavailableError(self._unavailable_message())
        started = time.perf_counter()
        probabilities = model.score(records, self._online)
        metrics.observe_batch(len(records), time.perf_counter() - started)
        labels = (probabilities >= DECISION_THRESHOLD).astype(int).tolist()
        metrics.count_predictions(labels, model.version)
        return Scored(probabilities.tolist(), model.version)

    async def reload(self, *, force: bool = False) -> ReloadOutcome:
        """Load the version the alias points at, if it is not the one served (or ``force``)."""
        async with self._reload_lock:
            previous = self._current.version if self._current else None
            try:
                number = await asyncio.to_thread(Registry(self.settings).champion_version)
            except Exception as exc:
                self.last_error = f"model registry unreachable: {exc}"
                logger.warning("could not read the champion alias: %s", exc)
                metrics.MODEL_RELOADS.labels(outcome="failure").inc()
                return ReloadOutcome(False, previous, previous, self.last_error)
            if number is None:
                message = (
                    "no champion registered; keeping the model served"
                    if previous
                    else ("no champion registered yet")
                )
                return ReloadOutcome(False, previous, previous, message)
            version = str(number)
            if version == previous and not force:
                return ReloadOutcome(False, version, previous, f"version {version} already served")
            try:
                loaded = await asyncio.to_thread(self._load, version)
            except Exception as exc:
                self.last_error = f"loading version {version} failed: {exc}"
                logger.exception("loading champion version %s failed", version)
                metrics.MODEL_RELOADS.labels(outcome="failure").inc()
                return ReloadOutcome(False, previous, previous, self.last_error)
            self._current = loaded  # the swap: one reference assignment
            self.last_error = None
            settle_heap()
            metrics.set_model(
                loaded.name, loaded.version, previous if previous != version else None
            )
            metrics.MODEL_RELOADS.labels(outcome="success").inc()
            logger.info("serving %s version %s (was %s)", loaded.name, version, previous)
            return ReloadOutcome(True, version, previous, f"now serving version {version}")

    async def refresh_features(self) -> bool:
        """Load the online feature table when its published version changed; True when a
        new one is in use. Without one, requests are scored without context."""
        try:
            loaded = await asyncio.to_thread(self._load_features)
        except Exception as exc:
            message = f"online features unavailable: {exc}"
            if message != self._features_error:
                logger.warning("%s; scoring without shooter and game context", message)
            self._features_error = message
            return False
        self._features_error = None
        if loaded is None:
            return False
        previous = self._online.data_version[:8] if self._online else None
        self._online = loaded  # the swap: one reference assignment
        logger.info(
            "online features of data version %s in use (was %s)", loaded.data_version[:8], previous
        )
        return True

    def _load_features(self) -> OnlineFeatures | None:
        from nba_mlops.db import online as db_online
        from nba_mlops.db.session import Database

        if self._features_db is None:
            self._features_db = Database(self.settings)
        published = db_online.read_snapshot(self._features_db)
        if published is None:
            raise LookupError("nothing published yet (ingest some shots)")
        if self._online is not None and self._online.data_version == published["data_version"]:
            return None
        return OnlineFeatures.load(self._features_db)

    def _load(self, version: str) -> LoadedModel:
        with self._load_lock:
            loaded = load_model_version(self.settings, version)
            # Score one shot before going live: a model that cannot score is not swapped in.
            loaded.score([{"loc_x": 0, "loc_y": 10}])
            return loaded

    async def _watch(self) -> None:
        interval = self.settings.serving.reload_interval_s
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh_features()
                await self.reload()
            except Exception:  # the watcher must outlive any single failure
                logger.exception("champion reload check failed")

    # Read-only views used by the API ------------------------------------------------------
    async def model_info(self) -> ModelInfo | None:
        return self._current.info() if self._current else None

    async def players(self, q: str | None, limit: int) -> list[dict[str, Any]]:
        model = self._current
        if model is None:
            raise ModelUnavailableError(self._unavailable_message())
        return search_players(model.players, q, limit)

    async def ready(self) -> tuple[bool, str]:
        if self._current is None:
            return False, self._unavailable_message()
        features = (
            f"online features of data version {self._online.data_version[:8]}"
            if self._online is not None
            else "no online features (scoring without shooter and game context)"
        )
        return (
            True,
            f"model {self._current.name} version {self._current.version} loaded; {features}",
        )
