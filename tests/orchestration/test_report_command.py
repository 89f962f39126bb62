"""``build_monitoring_report`` and ``nba-mlops monitor report`` on a trained home with
predictions written through the database layer."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from nba_mlops.cli import app
from nba_mlops.config import Settings, get_settings
from nba_mlops.monitoring.build import (
    build_monitoring_report,
    champion_info,
    default_report_path,
    monitoring_snapshot,
)
from tests.support.orchestration import reference_requests, shots_from, store_predictions

pytestmark = pytest.mark.slow


def _monitor_report(home: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str]:
    monkeypatch.setenv("NBA_MLOPS_HOME", str(home))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["monitor", "report", *args])
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def test_the_report_compares_requests_with_the_champion_and_scores_verified_shots(
    fresh_trained_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = fresh_trained_settings
    champion = champion_info(settings).version
    store_predictions(settings, reference_requests(settings, 300), version=champion, outcome=0)
    store_predictions(settings, shots_from(30, 400), version=champion, probability=0.2)
    store_predictions(settings, shots_from(2, 20), version="old", probability=0.7, outcome=1)

    snapshot = monitoring_snapshot(settings)
    assert snapshot.drift.recent_size == 720
    assert snapshot.drift.status == "drift"
    assert snapshot.champion_quality is not None and snapshot.champion_quality.count == 300
    assert snapshot.champion_quality.accuracy == 1.0  # 0.4 predicted "miss", all missed
    assert set(snapshot.distribution) == {str(champion), "old"}

    path = build_monitoring_report(settings, snapshot=snapshot)
    assert path == default_report_path(settings)
    page = path.read_text(encoding="utf-8")
    assert f"v{champion}" in page and "Feature drift" in page and "shot_distance" in page
    assert "Live quality per model version" in page and "<img" in page

    out = tmp_path / "elsewhere" / "report.html"
    code, output = _monitor_report(settings.home, monkeypatch, "--out", str(out))
    assert code == 0, output
    assert out.is_file()
    assert f"champion v{champion}: drift drift (max PSI" in output
    assert "live accuracy 1.000 on 300 verified" in output


def test_without_predictions_the_report_says_so_and_creates_no_database(
    fresh_trained_settings: Settings,
) -> None:
    settings = fresh_trained_settings
    # the ingest published the online feature table there: start from no database
    for path in settings.home.glob("app.db*"):
        path.unlink()
    page = build_monitoring_report(settings).read_text(encoding="utf-8")
    assert "No predictions yet" in page and "insufficient sample" in page
    assert not (settings.home / "app.db").exists()


def test_before_the_first_champion_the_command_explains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, output = _monitor_report(tmp_path / "home", monkeypatch)
    assert code == 1, output
    assert "has no champion yet" in output
