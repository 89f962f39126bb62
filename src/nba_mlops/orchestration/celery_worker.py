"""The Celery app of a step worker: ``celery -A nba_mlops.orchestration.celery_worker worker``.

Built from ``NBA_MLOPS_CELERY_BROKER_URL`` with the settings dagster-celery's executor
uses (queue ``dagster``, priorities, one task prefetched), and registering dagster-celery's
step task, which loads the run from the Dagster instance named in the task, rebuilds the
job from its code location (``nba_mlops.orchestration.definitions``, or whichever module
the run came from) and executes the step. Start it with ``nba-mlops orchestrate worker``.
"""

from __future__ import annotations

from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from nba_mlops.orchestration.executors import broker_url_from_environment, celery_app_args

app = make_app(celery_app_args(broker_url_from_environment()))  # type: ignore[no-untyped-call]
execute_plan = create_task(app)  # type: ignore[no-untyped-call]
