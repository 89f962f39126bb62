"""Expectations on the real data: the bundled sample always, the shared 4.1M shots when
mounted. Keys are unique, labels are 0/1, and the court derives the NBA's own zones."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

from nba_mlops import court
from nba_mlops.config import Settings, bundled_sample_path
from nba_mlops.data.ingest import ingest_file
from nba_mlops.data.store import ShotStore

ZONE_COLUMNS = {
    "Shot Zone Basic": court.zone_basic,
    "Shot Zone Area": court.zone_area,
    "Shot Zone Range": court.zone_range,
}
MIN_ZONE_AGREEMENT = 0.97


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    options = pacsv.ConvertOptions(
        include_columns=columns,
        column_types={c: pa.string() for c in columns if c.startswith("Shot Zone")},
        strings_can_be_null=True,
    )
    frame: pd.DataFrame = pacsv.read_csv(path, convert_options=options).to_pandas()
    return frame


def zone_agreement(shots: pd.DataFrame) -> dict[str, float]:
    """Share of labelled rows whose derived zone equals the label, per zone column."""
    labelled = shots.dropna(subset=list(ZONE_COLUMNS))
    x, y = labelled["X Location"].to_numpy(), labelled["Y Location"].to_numpy()
    return {
        column: float(np.mean(derive(x, y) == labelled[column].to_numpy(dtype=object)))
        for column, derive in ZONE_COLUMNS.items()
    }


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    settings = Settings(home=tmp_path_factory.mktemp("expectations") / "home")
    ingest_file(settings, bundled_sample_path())
    return ShotStore(settings).read()


def test_sample_keys_are_unique(sample_store: pd.DataFrame) -> None:
    assert not sample_store.duplicated(["game_id", "game_event_id"]).any()


def test_sample_labels_are_binary_and_balanced(sample_store: pd.DataFrame) -> None:
    assert set(sample_store["shot_made_flag"].unique()) == {0, 1}
    assert 0.40 < sample_store["shot_made_flag"].mean() < 0.55


def test_sample_home_side_is_always_known(sample_store: pd.DataFrame) -> None:
    assert sample_store["is_home"].notna().all()
    per_game = sample_store.groupby(["game_id", "is_home"])["team_id"].nunique()
    assert (per_game == 1).all()  # one team per side of each game


def test_sample_zones_agree_with_the_labels() -> None:
    shots = _read(bundled_sample_path(), ["X Location", "Y Location", *ZONE_COLUMNS])
    agreement = zone_agreement(shots)
    assert min(agreement.values()) >= MIN_ZONE_AGREEMENT, agreement


@pytest.mark.slow
def test_real_season_zones_agree_with_the_labels(shared_data_dir: Path) -> None:
    shots = _read(
        shared_data_dir / "shots" / "shots_2022-23.csv.gz",
        ["X Location", "Y Location", *ZONE_COLUMNS],
    )
    agreement = zone_agreement(shots)
    print(f"zone agreement on 2022-23: {agreement}")
    assert min(agreement.values()) >= MIN_ZONE_AGREEMENT, agreement


def test_shotchartdetail_zones_agree_with_the_labels(shared_data_dir: Path) -> None:
    path = shared_data_dir / "shotchartdetail_sample" / "shots_2022-23_shotchartdetail.csv"
    raw = pacsv.read_csv(path).to_pandas()
    shots = raw.rename(
        columns={
            "loc_x": "X Location",
            "loc_y": "Y Location",
            "shot_zone_basic": "Shot Zone Basic",
            "shot_zone_area": "Shot Zone Area",
            "shot_zone_range": "Shot Zone Range",
        }
    )
    agreement = zone_agreement(shots)
    assert min(agreement.values()) >= MIN_ZONE_AGREEMENT, agreement


@pytest.mark.slow
def test_real_keys_are_unique_and_labels_binary(shared_data_dir: Path) -> None:
    keys = []
    for path in sorted((shared_data_dir / "shots").glob("*.csv.gz")):
        frame = _read(path, ["Game ID", "Game Event ID", "Shot Made Flag"])
        assert set(frame["Shot Made Flag"].unique()) <= {0, 1}, path.name
        keys.append(frame["Game ID"].to_numpy() * 1_000_000 + frame["Game Event ID"].to_numpy())
    every = np.concatenate(keys)
    assert len(every) > 4_000_000
    assert len(np.unique(every)) == len(every)
