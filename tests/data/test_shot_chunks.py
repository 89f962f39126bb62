"""Streaming a shot file in bounded chunks for batch prediction."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from nba_mlops.config import bundled_sample_path
from nba_mlops.data.ingest import ShotFileError, iter_shot_chunks
from nba_mlops.data.schema import STORE_COLUMNS
from tests.support.shot_files import write_csv


def test_chunks_cover_the_file_in_order() -> None:
    chunks = list(iter_shot_chunks(bundled_sample_path(), chunk_rows=10_000))
    assert [len(c.raw) for c in chunks] == [10_000] * 4 + [1_917]
    raw = pd.concat([c.raw for c in chunks])
    assert raw.index.equals(pd.RangeIndex(41_917))
    assert "Game ID" in raw.columns  # the file's own columns, as read
    for chunk in chunks:
        assert list(chunk.shots.columns) == list(STORE_COLUMNS)
        assert chunk.shots.index.isin(chunk.raw.index).all()
        assert len(chunk.shots) + len(chunk.rejected) == len(chunk.raw)


def test_rejected_rows_keep_their_position(kaggle_rows, tmp_path: Path) -> None:
    rows = kaggle_rows(250)
    rows.loc[[5, 180], "Period"] = "9"
    text = rows.to_csv(index=False).splitlines()
    text.insert(100, text[100] + ",surplus")  # one malformed line
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    chunks = list(iter_shot_chunks(path, chunk_rows=100))
    rejected = pd.concat([c.rejected for c in chunks], ignore_index=True)
    positions = rejected["row"].dropna().tolist()
    assert positions == [5, 180]
    assert rejected["reason"].str.contains("period 9 outside").sum() == 2
    assert rejected["reason"].str.contains("malformed line").sum() == 1
    assert sum(len(c.shots) for c in chunks) == 248
    shots = pd.concat([c.shots for c in chunks])
    raw = pd.concat([c.raw for c in chunks])
    assert (raw.loc[shots.index, "Game Event ID"].astype(int) == shots["game_event_id"]).all()


def test_shots_to_predict_need_no_outcome(kaggle_rows, tmp_path: Path) -> None:
    path = write_csv(kaggle_rows(30).drop(columns=["Shot Made Flag"]), tmp_path / "todo.csv")
    with pytest.raises(ShotFileError, match="Shot Made Flag"):
        list(iter_shot_chunks(path))
    (chunk,) = list(iter_shot_chunks(path, require_label=False))
    assert len(chunk.shots) == 30
    assert chunk.shots["shot_made_flag"].isna().all()


def test_parquet_is_streamed_too(tmp_path: Path) -> None:
    path = tmp_path / "sample.parquet"
    pd.read_csv(bundled_sample_path(), nrows=5_000).to_parquet(path)
    chunks = list(iter_shot_chunks(path, chunk_rows=2_000))
    assert [len(c.raw) for c in chunks] == [2_000, 2_000, 1_000]
    assert sum(len(c.shots) for c in chunks) == 5_000


def test_non_shot_files_are_refused_when_streamed(kaggle_rows, tmp_path: Path) -> None:
    header_only = write_csv(kaggle_rows(0), tmp_path / "header.csv")
    with pytest.raises(ShotFileError, match="header only"):
        list(iter_shot_chunks(header_only))
    text = kaggle_rows(3_000).to_csv(index=False)
    merged = tmp_path / "merged.csv"
    merged.write_text(text + ">>>>>>> other\n", encoding="utf-8")
    with pytest.raises(ShotFileError, match="conflict markers"):
        list(iter_shot_chunks(merged, chunk_rows=500))
