"""``evaluate`` gives the champion's quality by slice and can keep it in its run."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from nba_mlops.cli import app
from nba_mlops.config import Settings
from nba_mlops.registry import Registry


def test_evaluate_prints_and_keeps_the_quality_by_slice(
    fresh_trained_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nba_mlops.config import get_settings

    monkeypatch.setenv("NBA_MLOPS_HOME", str(fresh_trained_settings.home))
    get_settings.cache_clear()
    try:
        shown = CliRunner().invoke(app, ["evaluate"], terminal_width=200)
        kept = CliRunner().invoke(app, ["evaluate", "--save-quality", "--json"])
        settings = get_settings()
    finally:
        get_settings.cache_clear()
    assert shown.exit_code == 0, shown.output
    assert "by slice of the holdout" in shown.output
    assert "shooter_volume" in shown.output and "Restricted Area" in shown.output
    assert kept.exit_code == 0, kept.output
    quality = json.loads(kept.output)["quality"]
    assert quality["overall"]["shots"] == json.loads(kept.output)["shots"]
    version = Registry(settings).champion_version()
    assert version is not None
    # training kept it already; evaluate's copy of the same model on the same holdout agrees
    assert Registry(settings).quality(version) == quality
