"""``nba-mlops orchestrate worker``: what it checks before it becomes a Celery worker."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("url", "shown"),
    [("http://127.0.0.1:5672/", "'http://127.0.0.1:5672/'"), ("rabbitmq", "'rabbitmq'"),
     ("redis://:secret@cache:6379/0", "'...@cache:6379/0'")],
)  # fmt: skip
def test_the_worker_refuses_a_broker_url_that_is_not_rabbitmq_by_name(
    url: str, shown: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from nba_mlops.cli import app

    monkeypatch.setenv("NBA_MLOPS_HOME", str(tmp_path))
    monkeypatch.setenv("NBA_MLOPS_CELERY_BROKER_URL", url)
    monkeypatch.setattr("os.execvpe", lambda *args: pytest.fail(f"started a worker: {args}"))
    result = CliRunner().invoke(app, ["orchestrate", "worker"], terminal_width=400)
    assert result.exit_code == 1
    assert "must name the RabbitMQ broker with amqp://" in result.output
    assert shown in result.output and "secret" not in result.output
