"""The daily simulator: consecutive game dates, undated games last, no shot twice."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nba_mlops.config import Settings
from nba_mlops.data.ingest import ingest_incoming
from nba_mlops.data.simulate import simulate_next_batch
from nba_mlops.data.store import ShotStore
from tests.support.shot_files import write_csv


@pytest.fixture
def season_source(sample_text: pd.DataFrame, tmp_path: Path) -> pd.DataFrame:
    """The sample's 2021-22 games: 14 dated game days, then undated games."""
    rows = sample_text[sample_text["Game ID"].str[1:3] == "21"].reset_index(drop=True)
    assert (rows["Game Date"] == "").any()
    write_csv(rows, tmp_path / "season.csv")
    return rows


def _dates(rows: pd.DataFrame) -> list[str]:
    dated = rows.loc[rows["Game Date"] != "", "Game Date"].str[:8]  # the sample has "….0"
    return sorted(pd.to_datetime(dated, format="%Y%m%d").dt.date.astype(str).unique())


def test_first_days_of_an_empty_store(settings: Settings, season_source, tmp_path) -> None:
    report = simulate_next_batch(settings, tmp_path / "season.csv", days=2)
    first_two = _dates(season_source)[:2]
    assert [d.isoformat() for d in report.dates] == first_two
    assert report.path == settings.incoming_dir / f"shots_{first_two[0]}_to_{first_two[1]}.csv"
    written = pd.read_csv(report.path, dtype=str, keep_default_na=False)
    assert list(written.columns) == list(season_source.columns)  # the source's own layout
    assert len(written) == report.rows
    assert _dates(written) == first_two
    days = [d.replace("-", "") for d in first_two]
    expected = season_source[season_source["Game Date"].str[:8].isin(days)]
    assert sorted(written["Game Event ID"]) == sorted(expected["Game Event ID"])


def test_days_follow_each_other(settings: Settings, season_source, tmp_path: Path) -> None:
    source = tmp_path / "season.csv"
    first = simulate_next_batch(settings, source, days=2)
    second = simulate_next_batch(settings, source, days=2)  # first batch not yet ingested
    assert [d.isoformat() for d in first.dates + second.dates] == _dates(season_source)[:4]
    ingest_incoming(settings)
    third = simulate_next_batch(settings, source)
    newest = ShotStore(settings).read(columns=["game_date"])["game_date"].max()
    assert third.dates[0].isoformat() == _dates(season_source)[4]
    assert pd.Timestamp(third.dates[0]) > newest


def test_every_shot_once_then_nothing_left(settings: Settings, season_source, tmp_path) -> None:
    source = tmp_path / "season.csv"
    delivered: list[pd.DataFrame] = []
    undated_games: list[int] = []
    kinds: list[str] = []
    for step in range(40):
        report = simulate_next_batch(settings, source, days=5)
        if report.nothing_left:
            break
        assert report.path is not None
        delivered.append(pd.read_csv(report.path, dtype=str, keep_default_na=False))
        undated_games += report.game_ids
        kinds.append("undated" if report.game_ids else "dated")
        if step % 3 == 0:
            ingest_incoming(settings)
    else:
        pytest.fail("the simulator never ran out of shots")
    assert report.path is None and report.rows == 0
    assert "nothing left" in report.summary()
    everything = pd.concat(delivered)
    keys = everything[["Game ID", "Game Event ID"]]
    assert not keys.duplicated().any()
    assert len(everything) == len(season_source)
    assert undated_games == sorted(undated_games)  # undated games come last, in id order
    assert kinds == sorted(kinds)  # every dated day before the first undated game
    assert all(
        rows["Game Date"].eq("").all() == (kind == "undated")
        for rows, kind in zip(delivered, kinds, strict=True)
    )


def test_at_least_one_day(settings: Settings, season_source, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        simulate_next_batch(settings, tmp_path / "season.csv", days=0)
