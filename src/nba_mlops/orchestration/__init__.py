"""The retraining loop on Dagster: assets over the pipeline stages, schedules, sensors.

Every asset is a thin call of the same stage functions the CLI uses; nothing here
trains, ingests or scores by itself. Load the definitions with
``dagster dev -m nba_mlops.orchestration.definitions`` (or ``nba-mlops orchestrate dev``).
Importing this package does not import Dagster.
"""
