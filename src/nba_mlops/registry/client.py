"""The model registry behind one object: :class:`Registry`, built from the settings.

Nothing outside this package imports MLflow: the alias, the artifact names, looking up the
champion, loading a model and its run's artifacts, logging a trained model and moving the
alias all go through a ``Registry``. It talks to its own store (``Settings.tracking_uri``)
through a client of its own, so building one changes nothing for the rest of the process;
MLflow is imported when a registry is first used, not when this module is.

The champion is the MLflow alias ``champion``. Every decision is written as tags on the
model version it concerns and appended to ``<home>/promotions.jsonl``; the registered
model's ``champion_history`` tag lists every champion in order, which ``rollback`` walks.

Finding the champion's model folder through MLflow costs a process about 3 s (MLflow and
its SQLAlchemy store imported, the store opened), more than batch-scoring a day's shots.
With a SQLite store (the embedded one) the registry keeps a pointer beside it,
``<home>/cache/champion.json``: the champion's version and folder, and the store's state
when the alias was read (its change counter, size and modification time). The pointer is
written when the alias moves and whenever MLflow is asked; it is believed only while the
store is exactly as it was then, since any write to the store (a new version, a tag, an
alias moved by another process) changes that state. Otherwise MLflow is asked again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar

from nba_mlops.config import Settings
from nba_mlops.log import get_logger

if TYPE_CHECKING:
    import pandas as pd
    from mlflow import MlflowClient

logger = get_logger(__name__)

CHAMPION_ALIAS: Final = "champion"
HISTORY_TAG: Final = "champion_history"
EXPERIMENT_NAME: Final = "nba-shot-make"
#: Run artifacts of a trained model version (docs/CONTRACTS.md, "Model artifact").
MODEL_ARTIFACT: Final = "model"
REFERENCE_ARTIFACT: Final = "reference/shots_reference.parquet"
PLAYERS_ARTIFACT: Final = "players.json"
QUALITY_ARTIFACT: Final = "quality.json"
#: Decisions that move the alias (``set_champion``'s ``how``).
ALIAS_MOVES: Final = frozenset({"promoted", "manual", "rollback"})
#: Bumped whenever what the champion pointer holds changes meaning.
POINTER_FORMAT: Final = 1

# MLflow error codes of a tracking server that is overloaded or restarting. (MLflow wraps an
# unreachable server in a plain INTERNAL_ERROR raised while handling the connection error:
# that one is recognised by the error it was raised from, see orchestration.failures.)
_TRANSIENT_CODES: Final = frozenset({"TEMPORARILY_UNAVAILABLE", "REQUEST_LIMIT_EXCEEDED"})
_URI_VARIABLES: Final = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
# MLflow logs a model through its process-wide store and active run: one logging at a time.
_LOGGING = threading.Lock()
# Quality documents found, by (store, model, version): a version's holdout quality never
# changes once kept.
_QUALITY: dict[tuple[str, str, str], dict[str, Any]] = {}

T = TypeVar("T")


class RegistryLookupError(LookupError):
    """The registry holds no such thing (version, run or artifact)."""


class NoChampionError(RegistryLookupError):
    """The model has no champion: nothing registered yet, or no version given the alias."""


def is_transient_error(exc: BaseException) -> bool:
    """True for a registry error a retry may get past (a busy or restarting server)."""
    if "mlflow.exceptions" not in sys.modules:  # no MLflow error can exist before it
        return False
    from mlflow.exceptions import MlflowException

    return isinstance(exc, MlflowException) and exc.error_code in _TRANSIENT_CODES


def _not_found(exc: Exception) -> bool:
    """Whether an MLflow error says the thing asked for does not exist."""
    code = getattr(exc, "error_code", "")
    return code == "RESOURCE_DOES_NOT_EXIST" or (
        code == "INVALID_PARAMETER_VALUE" and "not found" in str(exc)
    )


def _timestamp(ms: int | None) -> dt.datetime | None:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC) if ms else None


class _Decided:
    """The registry's decision about a version, from its tags."""

    tags: dict[str, str]

    @property
    def decision(self) -> str:
        return self.tags.get("decision", "")

    @property
    def reason(self) -> str:
        return self.tags.get("decision_reason", "")


@dataclass(frozen=True)
class ModelVersion(_Decided):
    """One registered model version: what every champion look-up returns."""

    name: str
    version: int
    run_id: str | None
    created_at: dt.datetime | None
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def family(self) -> str:
        return self.tags.get("family", "")

    @property
    def promoted_at(self) -> dt.datetime | None:
        """When the alias last moved to this version (its creation when none is recorded)."""
        if self.decision in ALIAS_MOVES and self.tags.get("decided_at"):
            with contextlib.suppress(ValueError):
                return dt.datetime.fromisoformat(self.tags["decided_at"])
        return self.created_at


@dataclass
class VersionInfo(_Decided):
    """One registered model version with what ``models list`` shows."""

    version: int
    run_id: str | None
    family: str
    created_at: dt.datetime
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    is_champion: bool = False


@dataclass(frozen=True)
class RunRecord:
    """What a version's run logged: its metrics, parameters and tags."""

    run_id: str
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]


@dataclass(frozen=True)
class ServingCard:
    """What serving a version needs from the registry besides its model: the version, its
    run's metrics, the players its model saw (most shots first) and its holdout quality by
    slice (None when it has none)."""

    version: ModelVersion
    metrics: dict[str, float]
    players: list[dict[str, Any]]
    quality: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        version = self.version
        return {
            "name": version.name,
            "version": version.version,
            "run_id": version.run_id,
            "created_at": version.created_at.isoformat() if version.created_at else None,
            "tags": version.tags,
            "metrics": self.metrics,
            "players": self.players,
            "quality": self.quality,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServingCard:
        created = data["created_at"]
        version = ModelVersion(
            name=str(data["name"]),
            version=int(data["version"]),
            run_id=data["run_id"],
            created_at=dt.datetime.fromisoformat(created) if created else None,
            tags={str(k): str(v) for k, v in data["tags"].items()},
        )
        metrics = {str(k): float(v) for k, v in data["metrics"].items()}
        players = [p for p in data["players"] if isinstance(p, dict)]
        quality = data.get("quality")  # a card kept before it carried one has none
        return cls(version, metrics, players, quality if isinstance(quality, dict) else None)


@dataclass(frozen=True)
class LoggedVersion:
    """A model logged in a run of its own and registered as a new version."""

    run_id: str
    version: int


def create_local_store(database: Path) -> None:
    """Create the embedded MLflow database with its whole schema, unless it exists.

    MLflow would create it itself, committing its migrations one by one, each commit synced
    to disk: 6.2-6.5 s on the busy 2-core VM (1.2 s of it CPU) where this takes 1.3-1.9 s
    (2026-12-06). Same schema, by MLflow's own code; the file is written unsynced beside
    the database, synced once, then linked into place, so a process that finds it finds it
    whole, and of two creating it at once one wins."""
    if database.exists():
        return
    import sqlalchemy as sa
    from mlflow.store.db.utils import _initialize_tables

    partial = database.with_name(f".{database.name}.{os.getpid()}.partial")
    engine = sa.create_engine(f"sqlite:///{partial}")

    @sa.event.listens_for(engine, "connect")
    def _unsynced(connection: Any, _record: Any) -> None:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA journal_mode=MEMORY")

    try:
        _initialize_tables(engine)  # type: ignore[no-untyped-call]
        engine.dispose()
        with partial.open("rb+") as written:
            os.fsync(written.fileno())
        # Fails when another process created it meanwhile: theirs is as good.
        with contextlib.suppress(FileExistsError):
            os.link(partial, database)
    finally:
        engine.dispose()
        partial.unlink(missing_ok=True)


def _signature(model: Any, example: pd.DataFrame, optional: Collection[str]) -> Any:
    """The model's signature from ``example``: the columns in ``optional`` may be missing."""
    from mlflow.models import infer_signature
    from mlflow.types.schema import ColSpec, Schema, TensorSpec

    signature = infer_signature(example, model.predict_proba(example)[:, 1])
    inputs: list[ColSpec | TensorSpec] = [
        ColSpec(spec.type, spec.name, required=spec.name not in optional)
        for spec in signature.inputs.inputs
    ]
    signature.inputs = Schema(inputs)
    return signature


class Registry:
    """The registered model ``settings.model_name`` in the settings' MLflow store.

    Cheap to build (MLflow is imported and the store opened on first use); blocking, so
    the API calls it from threads. The embedded store (no ``MLFLOW_TRACKING_URI``) is
    created on first use.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.name = settings.model_name
        self.tracking_uri = settings.tracking_uri
        self._client: MlflowClient | None = None
        self._experiment: str | None = None

    def __repr__(self) -> str:
        return f"Registry({self.name!r} at {self.tracking_uri})"

    # --- the store ------------------------------------------------------------------------------
    @property
    def _mlflow(self) -> MlflowClient:
        if self._client is None:
            from mlflow import MlflowClient

            if not self.settings.mlflow_tracking_uri:
                self.settings.mlflow_dir.mkdir(parents=True, exist_ok=True)
                create_local_store(self.settings.mlflow_dir / "mlflow.db")
            self._client = MlflowClient(self.tracking_uri, self.tracking_uri)
        return self._client

    def _experiment_id(self) -> str:
        """The experiment runs are logged in, created the first time."""
        if self._experiment is None:
            client = self._mlflow
            found = client.get_experiment_by_name(EXPERIMENT_NAME)
            if found is not None:
                self._experiment = str(found.experiment_id)
            else:
                location = (
                    None if self.settings.mlflow_tracking_uri else (self.settings.artifact_location)
                )
                self._experiment = str(
                    client.create_experiment(EXPERIMENT_NAME, artifact_location=location)
                )
        return self._experiment

    def ensure_registered_model(self) -> None:
        """Create the registered model unless it exists."""
        from mlflow.exceptions import MlflowException

        try:
            self._mlflow.get_registered_model(self.name)
        except MlflowException:
            self._mlflow.create_registered_model(
                self.name, description="Make probability of an NBA shot."
            )

    @contextlib.contextmanager
    def _process_store(self) -> Iterator[None]:
        """Point MLflow's process-wide store at this registry for as long as a model is
        logged (MLflow's model logging knows no other), then put back what was there,
        with the environment variables MLflow exports on the way: ``Settings`` reads
        ``MLFLOW_TRACKING_URI``, so left in place it would point every later ``Settings``
        of this process (another home, another test) at this store."""
        import mlflow

        with _LOGGING:
            environment = {name: os.environ.get(name) for name in _URI_VARIABLES}
            tracking, registry = mlflow.get_tracking_uri(), mlflow.get_registry_uri()
            mlflow.set_tracking_uri(self.tracking_uri)
            mlflow.set_registry_uri(self.tracking_uri)
            try:
                yield
            finally:
                mlflow.set_tracking_uri(tracking)
                mlflow.set_registry_uri(registry)
                for name, value in environment.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value

    # --- versions and the champion ----------------------------------------------------------
    def _version(self, found: Any) -> ModelVersion:
        return ModelVersion(
            name=self.name,
            version=int(found.version),
            run_id=found.run_id or None,
            created_at=_timestamp(found.creation_timestamp),
            tags=dict(found.tags or {}),
        )

    def champion(self) -> ModelVersion:
        """The version the ``champion`` alias points at; :class:`NoChampionError` when there
        is none (before the first promotion). Other failures (an unreachable store) are
        raised as they are."""
        from mlflow.exceptions import MlflowException

        try:
            found = self._mlflow.get_model_version_by_alias(self.name, CHAMPION_ALIAS)
        except MlflowException as exc:
            if _not_found(exc):
                raise NoChampionError(
                    f"no champion for model {self.name!r} yet: run `nba-mlops train` or "
                    "`nba-mlops pipeline` first"
                ) from exc
            raise
        return self._version(found)

    def champion_version(self) -> int | None:
        """The champion's version number, or None when there is no champion (from the
        champion pointer while it holds)."""
        pointed = self.pointed_champion()
        if pointed is not None:
            return pointed[1]
        try:
            if self._store_file() is not None:
                # a store on this machine: its model folder is read in place, so finding
                # it costs nothing more and keeps the pointer for the next look-up
                return self.download_model()[1]
            return self.champion().version
        except NoChampionError:
            return None

    def version(self, version: int | str) -> ModelVersion:
        """One registered version; :class:`RegistryLookupError` for an unknown one (or one
        that is no version number at all)."""
        if not str(version).isdigit():
            raise RegistryLookupError(f"model {self.name!r} has no version {version!r}")
        with self._a_version(version):
            found = self._mlflow.get_model_version(self.name, str(version))
        return self._version(found)

    @contextlib.contextmanager
    def _a_version(self, version: int | str) -> Iterator[None]:
        """Around an MLflow call about ``version``: MLflow's "not found" becomes
        :class:`RegistryLookupError` naming the version."""
        from mlflow.exceptions import MlflowException

        try:
            yield
        except MlflowException as exc:
            if _not_found(exc):
                raise RegistryLookupError(f"model {self.name!r} has no version {version}") from exc
            raise

    def newest_version(self) -> ModelVersion | None:
        """The version registered last (None before the first)."""
        found = self._mlflow.search_model_versions(
            f"name = '{self.name}'", max_results=1, order_by=["creation_timestamp DESC"]
        )
        return self._version(found[0]) if found else None

    def list_versions(self) -> list[VersionInfo]:
        """Every version, newest first, with its run's metrics and decision tags."""
        from mlflow.exceptions import MlflowException

        champion = self.champion_version()
        out: list[VersionInfo] = []
        client = self._mlflow
        try:
            versions = client.search_model_versions(f"name = '{self.name}'")
        except MlflowException:
            return out
        for mv in versions:
            metrics: dict[str, float] = {}
            if mv.run_id:
                try:
                    metrics = dict(client.get_run(mv.run_id).data.metrics)
                except MlflowException:
                    metrics = {}
            out.append(
                VersionInfo(
                    version=int(mv.version),
                    run_id=mv.run_id,
                    family=mv.tags.get("family", ""),
                    created_at=dt.datetime.fromtimestamp(mv.creation_timestamp / 1000, dt.UTC),
                    metrics=metrics,
                    tags=dict(mv.tags),
                    is_champion=int(mv.version) == champion,
                )
            )
        return sorted(out, key=lambda v: v.version, reverse=True)

    def run(self, run_id: str) -> RunRecord:
        """What a run logged; :class:`RegistryLookupError` for no such run."""
        from mlflow.exceptions import MlflowException

        try:
            data = self._mlflow.get_run(run_id).data
        except MlflowException as exc:
            if _not_found(exc):
                raise RegistryLookupError(f"the registry has no run {run_id}") from exc
            raise
        return RunRecord(run_id, dict(data.metrics), dict(data.params), dict(data.tags))

    # --- models and artifacts ---------------------------------------------------------------
    def download_model(self, version: int | None = None) -> tuple[Path, int]:
        """The folder of ``version`` (default: the champion) on this machine, and its
        version number. A store on this machine's disk is read in place. The champion's
        comes from the champion pointer while it holds (see the module's docstring)."""
        pointed = self.pointed_champion()
        if pointed is not None and version in (None, pointed[1]):
            return pointed
        if version is not None:
            return self._download(version), version
        state = self._store_state()  # before the alias is read: see _point_at
        version = self.champion().version
        folder = self._download(version)
        self._point_at(version, folder, state)
        return folder, version

    def _download(self, version: int) -> Path:
        import mlflow.artifacts

        # Resolve the version's storage location with this registry's client, then fetch
        # from there (MLflow's process-wide store may point anywhere).
        with self._a_version(version):
            uri = self._mlflow.get_model_version_download_uri(self.name, str(version))
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=uri, tracking_uri=self.tracking_uri
        )
        return Path(local)

    # --- the champion pointer -------------------------------------------------------------
    @property
    def pointer_path(self) -> Path:
        """Where the champion pointer is kept."""
        return self.settings.home / "cache" / "champion.json"

    def _store_file(self) -> Path | None:
        """The SQLite file of the store, or None for any other kind of store."""
        prefix = "sqlite:///"
        if not self.tracking_uri.startswith(prefix):
            return None
        return Path(self.tracking_uri[len(prefix) :].split("?", 1)[0])

    def _store_state(self) -> dict[str, Any] | None:
        """What changes whenever anything writes to the SQLite store: the file's identity,
        size and modification time, SQLite's change counter (header bytes 24-27, bumped by
        every committed write in the store's rollback-journal mode) and, should the store
        ever be in WAL mode, the size and time of its log. None for another store or when
        the file cannot be read."""
        path = self._store_file()
        if path is None:
            return None
        try:
            with path.open("rb") as store:
                header = store.read(100)
                stat = os.fstat(store.fileno())
        except OSError:
            return None
        if len(header) < 100 or not header.startswith(b"SQLite format 3\0"):
            return None
        state: dict[str, Any] = {
            "file": [stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns],
            "changes": int.from_bytes(header[24:28], "big"),
        }
        with contextlib.suppress(OSError):
            wal = path.with_name(path.name + "-wal").stat()
            state["wal"] = [wal.st_size, wal.st_mtime_ns]
        return state

    def _point_at(self, version: int, folder: Path, state: dict[str, Any] | None) -> None:
        """Write the champion pointer: ``version`` and its ``folder`` as read from the store
        in ``state``, taken *before* the alias was read, so that a write landing after the
        read (another process moving the alias) makes the pointer stale, never wrong."""
        if state is None:
            return
        pointer = {**self._identity(), "version": version, "model_dir": str(folder), "store": state}
        self._keep(self.pointer_path, pointer)

    def pointed_champion(self) -> tuple[Path, int] | None:
        """The champion's model folder and version from the champion pointer, without
        MLflow; None when there is no pointer or it may be stale."""
        pointer = self._kept(self.pointer_path)
        if pointer is None:
            return None
        try:
            version, folder = int(pointer["version"]), Path(pointer["model_dir"])
        except (ValueError, KeyError, TypeError):
            return None
        return (folder, version) if (folder / "MLmodel").is_file() else None

    def _kept(self, path: Path) -> dict[str, Any] | None:
        """A document kept beside the store (the pointer, the card) when it is for this
        store and model and the store is exactly as it was when it was written."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            if any(document[key] != value for key, value in self._identity().items()):
                return None
            state = document["store"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if state is None or state != self._store_state():
            return None
        return dict(document)

    @property
    def card_path(self) -> Path:
        """Where the champion's serving card is kept (``serving_card``)."""
        return self.settings.home / "cache" / "champion-card.json"

    def serving_card(self, version: int | str) -> ServingCard:
        """``version``'s serving card: kept beside the champion pointer for the champion
        and believed, like the pointer, only while the store is exactly as it was when the
        card was read from it; otherwise read through MLflow (and kept).
        :class:`RegistryLookupError` for an unknown version."""
        kept = self._kept_card(int(version)) if str(version).isdigit() else None
        if kept is not None:
            return kept
        state = self._store_state()  # before reading: a write landing after makes it stale
        found = self.version(version)
        metrics = self.run(found.run_id).metrics if found.run_id else {}
        players = self.players(found.run_id) if found.run_id else []
        card = ServingCard(found, metrics, players, self._logged_quality(found))
        if state is not None and found.version == self.champion_version():
            self._keep(self.card_path, {"store": state, **self._identity(), **card.to_json()})
        return card

    def _identity(self) -> dict[str, Any]:
        return {"format": POINTER_FORMAT, "tracking_uri": self.tracking_uri, "model": self.name}

    def _kept_card(self, version: int) -> ServingCard | None:
        card = self._kept(self.card_path)
        try:
            if card is None or int(card["version"]) != version:
                return None
            return ServingCard.from_json(card)
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def _keep(self, path: Path, document: dict[str, Any]) -> None:
        """Write ``document`` to ``path`` whole (a private name, then a rename); a home
        that cannot be written only means MLflow is asked each time."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
            partial.write_text(json.dumps(document), encoding="utf-8")
            partial.replace(path)
        except OSError as exc:
            logger.debug("could not write %s: %s", path, exc)

    def load_model(self, version: int | None = None) -> tuple[Any, int]:
        """The scikit-learn model of ``version`` (default: the champion) and its number;
        loading it runs no code from the artifact (``registry.serialization``)."""
        from nba_mlops.registry.serialization import load_model

        folder, version = self.download_model(version)
        return load_model(folder), version

    def _artifact(self, run_id: str, path: str, read: Callable[[Path], T]) -> T:
        """``read`` applied to the artifact ``path`` of a run, fetched into a temporary
        folder; :class:`RegistryLookupError` when the run has none."""
        import mlflow.artifacts
        from mlflow.exceptions import MlflowException

        with tempfile.TemporaryDirectory() as folder:
            try:
                local = mlflow.artifacts.download_artifacts(
                    run_id=run_id,
                    artifact_path=path,
                    dst_path=folder,
                    tracking_uri=self.tracking_uri,
                )
            except (MlflowException, OSError) as exc:
                raise RegistryLookupError(f"run {run_id} has no {path}: {exc}") from exc
            return read(Path(local))

    def reference(self, version: ModelVersion) -> pd.DataFrame:
        """The drift reference of a version's run (canonical shot columns: a sample of the
        latest season the model saw); :class:`RegistryLookupError` when it has none."""
        import pandas as pd

        if version.run_id is None:
            raise RegistryLookupError(f"v{version.version} has no run, hence no drift reference")
        return self._artifact(version.run_id, REFERENCE_ARTIFACT, pd.read_parquet)

    def players(self, run_id: str) -> list[dict[str, Any]]:
        """The players a run's model saw, most shots first (none when it kept no readable
        list)."""
        try:
            players = self._artifact(
                run_id, PLAYERS_ARTIFACT, lambda p: json.loads(p.read_text(encoding="utf-8"))
            )
        except (RegistryLookupError, OSError, ValueError) as exc:
            logger.warning("run %s has no readable %s: %s", run_id, PLAYERS_ARTIFACT, exc)
            return []
        return [p for p in players if isinstance(p, dict)] if isinstance(players, list) else []

    def quality(self, version: int | str) -> dict[str, Any] | None:
        """The holdout quality by slice (``quality.json``) kept with a version, None when it
        has none yet. A found one is kept in memory: a version's quality never changes."""
        key = (self.tracking_uri, self.name, str(version))
        if key in _QUALITY:
            return _QUALITY[key]
        # The champion's comes with its kept card: asking MLflow would cost a serving
        # worker a second and 60 MB of MLflow's modules, on the page's first request.
        kept = self._kept_card(int(version)) if str(version).isdigit() else None
        if kept is not None and kept.quality is not None:
            _QUALITY[key] = kept.quality
            return kept.quality
        try:
            found = self.version(version)
        except Exception as exc:
            logger.warning("could not look up version %s: %s", version, exc)
            return None
        return self._logged_quality(found)

    def _logged_quality(self, version: ModelVersion) -> dict[str, Any] | None:
        """``quality`` of a version found in MLflow, read from its run."""
        if not version.run_id:
            return None
        try:  # a model trained before quality was kept has none
            found: dict[str, Any] = self._artifact(
                version.run_id,
                QUALITY_ARTIFACT,
                lambda p: json.loads(p.read_text(encoding="utf-8")),
            )
        except Exception:
            return None
        _QUALITY[(self.tracking_uri, self.name, str(version.version))] = found
        return found

    def save_quality(self, version: int | str, quality: dict[str, Any]) -> None:
        """Keep ``quality`` in the run of a registered version (``evaluate --save``)."""
        run_id = self.version(version).run_id
        if not run_id:
            raise RegistryLookupError(f"version {version} has no run to keep its quality in")
        self._mlflow.log_dict(run_id, quality, QUALITY_ARTIFACT)

    # --- logging trained models -------------------------------------------------------------
    @contextlib.contextmanager
    def training_run(self, run_name: str, tags: Mapping[str, str]) -> Iterator[str]:
        """A run that holds the runs of the versions logged in it (``log_version(parent=)``);
        yields its id. Finished when the block ends, failed when it raises."""
        client = self._mlflow
        run = client.create_run(self._experiment_id(), tags=dict(tags), run_name=run_name)
        run_id = str(run.info.run_id)
        try:
            yield run_id
        except BaseException:
            client.set_terminated(run_id, "FAILED")
            raise
        client.set_terminated(run_id, "FINISHED")

    def log_version(
        self,
        model: Any,
        *,
        run_name: str,
        parent: str | None = None,
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        metrics: Mapping[str, float] | None = None,
        artifacts: Path | None = None,
        documents: Mapping[str, Any] | None = None,
        input_example: pd.DataFrame | None = None,
        optional_inputs: Collection[str] = (),
        version_tags: Mapping[str, str] | None = None,
    ) -> LoggedVersion:
        """Log ``model`` in a run of its own and register it as the next version.

        The run gets ``tags``, ``params``, the finite ``metrics``, the files under the
        folder ``artifacts`` (``REFERENCE_ARTIFACT``, ``PLAYERS_ARTIFACT``) and each of
        ``documents`` as JSON at its path (``QUALITY_ARTIFACT``); with an
        ``input_example``, the model's signature is inferred from it, the columns of
        ``optional_inputs`` not required. The model is stored in skops' format against
        ``TRUSTED_TYPES`` (``registry.serialization``), with its pinned requirements."""
        import mlflow
        import mlflow.sklearn

        from nba_mlops.registry.serialization import (
            MODEL_FORMAT,
            TRUSTED_TYPES,
            model_requirements,
        )

        client = self._mlflow
        self.ensure_registered_model()
        experiment = self._experiment_id()
        signature = (
            None if input_example is None else _signature(model, input_example, optional_inputs)
        )
        with (
            self._process_store(),
            mlflow.start_run(
                experiment_id=experiment,
                run_name=run_name,
                parent_run_id=parent,
                tags=dict(tags or {}),
            ) as run,
        ):
            if params:
                mlflow.log_params(dict(params))
            finite = {k: float(v) for k, v in (metrics or {}).items() if math.isfinite(v)}
            if finite:
                mlflow.log_metrics(finite)
            if artifacts is not None:
                mlflow.log_artifacts(str(artifacts))
            for path, document in (documents or {}).items():
                mlflow.log_dict(document, path)
            info = mlflow.sklearn.log_model(
                sk_model=model,
                name=MODEL_ARTIFACT,
                signature=signature,
                input_example=input_example,
                # Loading it back runs no code from the artifact (registry/serialization.py).
                serialization_format=MODEL_FORMAT,
                skops_trusted_types=TRUSTED_TYPES,
                pip_requirements=model_requirements(),
            )
            run_id = str(run.info.run_id)
            # The registry call ``log_model`` would make, without its console chatter.
            registered = client.create_model_version(
                self.name, info.model_uri, run_id=run_id, model_id=info.model_id
            )
        version = int(registered.version)
        for key, value in (version_tags or {}).items():
            client.set_model_version_tag(self.name, str(version), key, value)
        return LoggedVersion(run_id, version)

    # --- decisions and the alias --------------------------------------------------------------
    def record_decision(
        self, version: int, decision: str, reason: str, evidence: Mapping[str, Any]
    ) -> None:
        """Tag the version with the decision and append it to the promotions log."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        tags = {"decision": decision, "decision_reason": reason, "decided_at": now}
        tags.update({f"evidence.{k}": str(v) for k, v in evidence.items()})
        for key, value in tags.items():
            self._mlflow.set_model_version_tag(self.name, str(version), key, value[:5000])
        home = self.settings.home
        home.mkdir(parents=True, exist_ok=True)
        entry = {
            "at": now,
            "model": self.name,
            "version": version,
            "decision": decision,
            "reason": reason,
            **evidence,
        }
        with (home / "promotions.jsonl").open("a", encoding="utf-8") as log:
            log.write(json.dumps(entry, default=str) + "\n")

    def champion_history(self) -> list[int]:
        """Every champion in order, the current one last."""
        from mlflow.exceptions import MlflowException

        try:
            model = self._mlflow.get_registered_model(self.name)
        except MlflowException:
            return []
        return [int(v) for v in json.loads(model.tags.get(HISTORY_TAG, "[]"))]

    def set_champion(self, version: int, reason: str, how: str) -> int | None:
        """Move the alias to ``version``; returns the previous champion. ``how``: promoted,
        manual or rollback. The move and its reason are recorded like any decision; an
        unknown version is a :class:`RegistryLookupError`."""
        if how not in ALIAS_MOVES:
            raise ValueError(f"the alias moves by {sorted(ALIAS_MOVES)}, not {how!r}")
        self.version(version)
        previous = self.champion_version()
        client = self._mlflow
        client.set_registered_model_alias(self.name, CHAMPION_ALIAS, str(version))
        history = self.champion_history()
        if how == "rollback":
            history = history[:-1] if history and history[-1] == previous else history
        if not history or history[-1] != version:
            history.append(version)
        client.set_registered_model_tag(self.name, HISTORY_TAG, json.dumps(history))
        self.record_decision(
            version,
            how,
            reason,
            {"previous_champion": previous if previous is not None else "none"},
        )
        state = self._store_state()
        champion = self.champion().version  # read back: another move may have won meanwhile
        self._point_at(champion, self._download(champion), state)
        return previous

    def rollback(self, reason: str = "manual rollback") -> int:
        """Give the alias back to the champion before the current one; returns that version."""
        history = self.champion_history()
        current = self.champion_version()
        if current is None or len(history) < 2:
            raise ValueError("there is no earlier champion to roll back to")
        target = history[-2]
        self.set_champion(target, reason, how="rollback")
        return target
