"""The model registry: :class:`Registry` (MLflow versions, the ``champion`` alias, the run
artifacts, logging and promotion) and the promotion rule. The only package that imports
MLflow; importing this one does not."""

from nba_mlops.registry.client import (
    CHAMPION_ALIAS,
    PLAYERS_ARTIFACT,
    QUALITY_ARTIFACT,
    REFERENCE_ARTIFACT,
    LoggedVersion,
    ModelVersion,
    NoChampionError,
    Registry,
    RegistryLookupError,
    RunRecord,
    ServingCard,
    VersionInfo,
    is_transient_error,
)
from nba_mlops.registry.promotion import Decision, decide_promotion

__all__ = [
    "CHAMPION_ALIAS",
    "PLAYERS_ARTIFACT",
    "QUALITY_ARTIFACT",
    "REFERENCE_ARTIFACT",
    "Decision",
    "LoggedVersion",
    "ModelVersion",
    "NoChampionError",
    "Registry",
    "RegistryLookupError",
    "RunRecord",
    "ServingCard",
    "VersionInfo",
    "decide_promotion",
    "is_transient_error",
]
