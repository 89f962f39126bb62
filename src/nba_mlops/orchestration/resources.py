"""The one Dagster resource: where the data directory is, and the settings read there."""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from nba_mlops.config import Settings
from nba_mlops.orchestration.settings import OrchestrationSettings


class NbaMlopsResource(dg.ConfigurableResource):  # type: ignore[type-arg]
    """Settings of one nba-mlops data directory (``NBA_MLOPS_HOME`` when ``home`` is unset).

    Everything else (training, serving, database and MLflow URLs, schedules) comes from
    the environment exactly as for the CLI, so a run and a command see the same state.
    """

    home: str | None = None
    #: The file daily new data is carved from (default: ``NBA_MLOPS_SIMULATION_SOURCE``).
    simulation_source: str | None = None

    def settings(self) -> Settings:
        """Fresh settings with the data directory created."""
        settings = Settings(home=Path(self.home)) if self.home else Settings()
        settings.ensure_dirs()
        return settings

    def orchestration(self) -> OrchestrationSettings:
        return OrchestrationSettings()

    def simulation_source_path(self) -> Path:
        if self.simulation_source:
            return Path(self.simulation_source)
        return self.orchestration().simulation_source
