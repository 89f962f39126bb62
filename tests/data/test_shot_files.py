"""Which files are shot files: both layouts, CSV/gz/Parquet accepted, everything else refused
with a message that names the file and the problem, and nothing written."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pandas as pd
import pytest

from nba_mlops.config import Settings, bundled_sample_path
from nba_mlops.data.ingest import ShotFileError, ingest_file, open_source
from nba_mlops.data.store import ShotStore
from tests.support.shot_files import files_under, write_csv

SHOTCHARTDETAIL_SAMPLE = bundled_sample_path().with_name("shots_2022-23_shotchartdetail.csv.gz")


def _refused(settings: Settings, path: Path, *fragments: str) -> None:
    with pytest.raises(ShotFileError) as caught:
        ingest_file(settings, path)
    message = str(caught.value)
    assert str(path) in message
    for fragment in fragments:
        assert fragment in message
    assert files_under(settings.home / "store") == []


def test_missing_required_columns_are_named(settings: Settings, kaggle_rows, tmp_path) -> None:
    rows = kaggle_rows(20).drop(columns=["X Location", "Y Location"])
    path = write_csv(rows, tmp_path / "no_xy.csv")
    _refused(settings, path, "missing required columns", "X Location", "Y Location")


def test_a_csv_of_something_else_is_refused(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "players.csv"
    path.write_text("name,height\nAlice,180\n", encoding="utf-8")
    _refused(settings, path, "not a shot file", "Game ID")


def test_binary_junk_is_refused(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "junk.csv"
    path.write_bytes(b"\x00\x01\x02PK\x03\x04" + os.urandom(4096))
    _refused(settings, path, "binary content")


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_files_are_refused(settings: Settings, tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    _refused(settings, path, "is empty")


def test_empty_gzip_is_refused(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "empty.csv.gz"
    path.write_bytes(gzip.compress(b""))
    _refused(settings, path, "is empty")


def test_corrupt_gzip_is_refused(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "broken.csv.gz"
    path.write_bytes(b"\x1f\x8b" + b"not really gzip" * 10)
    _refused(settings, path, "gzip")


@pytest.mark.parametrize("name", ["header.csv", "header.csv.gz"])
def test_header_only_is_refused(settings: Settings, kaggle_rows, tmp_path, name: str) -> None:
    path = write_csv(kaggle_rows(0), tmp_path / name)
    _refused(settings, path, "header only")


def test_parquet_without_rows_is_refused(settings: Settings, kaggle_rows, tmp_path) -> None:
    path = tmp_path / "header.parquet"
    kaggle_rows(0).to_parquet(path)
    _refused(settings, path, "header only")


def test_not_utf8_is_refused(settings: Settings, kaggle_rows, tmp_path: Path) -> None:
    rows = kaggle_rows(20)
    rows.loc[3, "Player Name"] = "Nenê Hilário"
    path = tmp_path / "latin1.csv"
    path.write_bytes(rows.to_csv(index=False).encode("latin-1"))
    _refused(settings, path, "not UTF-8")


def test_utf16_is_refused(settings: Settings, kaggle_rows, tmp_path: Path) -> None:
    path = tmp_path / "excel_unicode.csv"
    path.write_bytes(kaggle_rows(5).to_csv(index=False).encode("utf-16"))
    _refused(settings, path, "UTF-16")


def test_not_utf8_deep_in_the_file_is_refused(settings: Settings, kaggle_rows, tmp_path) -> None:
    rows = kaggle_rows(2_000)
    rows.loc[1_900, "Player Name"] = "Nenê Hilário"
    path = tmp_path / "latin1_late.csv"
    path.write_bytes(rows.to_csv(index=False).encode("latin-1"))
    assert path.stat().st_size > 200_000  # well past the sniffed head
    _refused(settings, path, "not UTF-8")


def test_conflict_markers_are_refused(settings: Settings, kaggle_rows, tmp_path: Path) -> None:
    lines = kaggle_rows(10).to_csv(index=False).splitlines()
    merged = [lines[0], "<<<<<<< HEAD", *lines[1:5], "=======", *lines[5:], ">>>>>>> feed"]
    path = tmp_path / "merged.csv"
    path.write_text("\n".join(merged) + "\n", encoding="utf-8")
    _refused(settings, path, "conflict markers")


def test_conflict_markers_deep_in_the_file_are_refused(
    settings: Settings, kaggle_rows, tmp_path: Path
) -> None:
    text = kaggle_rows(2_000).to_csv(index=False)  # ~200 KB: past the sniffed head
    path = tmp_path / "merged_late.csv"
    path.write_text(text + "=======\n" + text.split("\n", 1)[1], encoding="utf-8")
    _refused(settings, path, "conflict markers")


def test_kaggle_layout_plain_gzip_and_parquet(settings: Settings, kaggle_rows, tmp_path) -> None:
    rows = kaggle_rows(300)
    plain = write_csv(rows.iloc[:100], tmp_path / "a.csv")
    zipped = tmp_path / "b.csv.gz"
    zipped.write_bytes(gzip.compress(rows.iloc[100:200].to_csv(index=False).encode()))
    typed = pd.read_csv(bundled_sample_path(), nrows=300).iloc[200:300]
    parquet = tmp_path / "c.parquet"
    typed.to_parquet(parquet)
    for path in (plain, zipped, parquet):
        assert open_source(path).layout == "kaggle"
        report = ingest_file(settings, path)
        assert report.rows_read == 100
        assert report.rows_new + report.rows_quarantined == 100
    assert ShotStore(settings).data_version().rows == 300


def test_gzip_is_recognised_by_content_not_name(settings: Settings, kaggle_rows, tmp_path) -> None:
    path = tmp_path / "shots.csv"  # gzipped despite the name
    path.write_bytes(gzip.compress(kaggle_rows(50).to_csv(index=False).encode()))
    assert open_source(path).compression == "gzip"
    assert ingest_file(settings, path).rows_new == 50


def test_shotchartdetail_layout(settings: Settings) -> None:
    source = open_source(SHOTCHARTDETAIL_SAMPLE)
    assert source.layout == "shotchartdetail"
    report = ingest_file(settings, SHOTCHARTDETAIL_SAMPLE)
    assert report.rows_read == 7_100
    assert report.rows_new == 7_100
    # The layout has no season type: every row gets it from its game id.
    assert report.repairs["season_type_derived"] == 7_100
    shots = ShotStore(settings).read()
    assert shots["game_id"].min() >= 22_200_001  # "0022200001" read as a number
    assert set(shots["season"]) == {"2022-23"}
    assert shots["is_home"].notna().all()


def test_shotchartdetail_in_upper_case(settings: Settings, tmp_path: Path) -> None:
    rows = pd.read_csv(SHOTCHARTDETAIL_SAMPLE, dtype=str, keep_default_na=False, nrows=40)
    rows.columns = [c.upper() for c in rows.columns]
    path = write_csv(rows, tmp_path / "upper.csv")
    assert open_source(path).layout == "shotchartdetail"
    assert ingest_file(settings, path).rows_new == 40


def test_missing_file_is_refused(settings: Settings, tmp_path: Path) -> None:
    _refused(settings, tmp_path / "nowhere.csv", "no such file")


def test_a_folder_is_refused_as_a_folder(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "shots.csv"
    folder.mkdir()
    _refused(settings, folder, "is a folder, not a shot file")
