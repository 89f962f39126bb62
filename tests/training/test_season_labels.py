"""Seasons are named the NBA's way, ``2021-22``, everywhere a person reads them: the log of a
whole pipeline run, the promotion log, the registry's tags and parameters, and errors."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from mlflow import MlflowClient

from nba_mlops.config import Settings
from nba_mlops.training.splits import time_split

pytestmark = pytest.mark.slow

#: "season 2021" or "seasons 2021, 2022" without the NBA's "-22".
BARE_SEASON = re.compile(r"\bseasons?(?:\(s\))?:?\s+(?:of\s+|from\s+)?(?:19|20)\d\d\b(?!-\d\d)")
#: "2021-2022" or "2021/22": another form for the same season.
OTHER_FORM = re.compile(r"\b(?:19|20)\d\d(?:-(?:19|20)\d\d\b|/\d\d\b)")
NBA_FORM = re.compile(r"\b(?:19|20)\d\d-\d\d\b")


def assert_nba_form(text: str, where: str) -> None:
    for pattern in (BARE_SEASON, OTHER_FORM):
        found = pattern.findall(text)
        assert not found, f"{where}: {found[:5]}"


def test_a_pipeline_run_names_seasons_the_nba_way(trained_settings: Settings) -> None:
    log = (trained_settings.log_dir / "nba-mlops.log").read_text(encoding="utf-8")
    assert NBA_FORM.search(log), "the log names no season at all"
    assert_nba_form(log, "log")
    assert_nba_form(
        (trained_settings.home / "promotions.jsonl").read_text(encoding="utf-8"),
        "promotions.jsonl",
    )
    client = MlflowClient(trained_settings.tracking_uri, trained_settings.tracking_uri)
    for version in client.search_model_versions(f"name='{trained_settings.model_name}'"):
        run = client.get_run(version.run_id)
        assert_nba_form(str(run.data.tags) + str(run.data.params), f"run of v{version.version}")
        assert NBA_FORM.search(run.data.params["validation"])
        assert_nba_form(str(version.tags), f"tags of v{version.version}")


def test_a_store_too_small_to_split_says_its_seasons_the_nba_way() -> None:
    shots = pd.DataFrame(
        {"season_start_year": [2021] * 10 + [2022] * 10, "shot_made_flag": 0, "game_id": 1}
    )
    with pytest.raises(ValueError, match="2021-22, 2022-23") as refused:
        time_split(shots)
    assert_nba_form(str(refused.value), "error")
