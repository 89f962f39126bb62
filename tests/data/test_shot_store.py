"""The shot store: reads, versions, idempotent appends, and no trace of a failed ingestion."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from nba_mlops.config import Settings
from nba_mlops.data import store as store_module
from nba_mlops.data.ingest import ingest_file
from nba_mlops.data.schema import CANONICAL_DTYPES, KEY_COLUMNS, STORE_COLUMNS
from nba_mlops.data.store import ShotStore
from nba_mlops.data.validation import SHOT_SCHEMA
from tests.support.shot_files import files_under, write_csv


def _two_seasons(kaggle_rows) -> pd.DataFrame:
    rows = kaggle_rows(2_000)
    seasons = rows["Game ID"].str[1:3]
    picked = rows[seasons.isin(seasons.value_counts().index[:2])]
    assert picked["Game ID"].str[1:3].nunique() == 2
    return picked.reset_index(drop=True)


def test_an_empty_store(settings: Settings) -> None:
    store = ShotStore(settings)
    assert store.seasons() == []
    assert store.read().empty
    assert store.read().dtypes.astype(str).to_dict() == CANONICAL_DTYPES
    version = store.data_version()
    assert (version.rows, version.rows_by_season, version.created_at) == (0, {}, None)


def test_reads_what_was_ingested(settings: Settings, kaggle_rows, tmp_path: Path) -> None:
    rows = _two_seasons(kaggle_rows)
    report = ingest_file(settings, write_csv(rows, tmp_path / "two.csv"))
    store = ShotStore(settings)
    shots = store.read()
    assert len(shots) == report.rows_new == len(rows)
    assert list(shots.columns) == list(STORE_COLUMNS)
    assert shots.dtypes.astype(str).to_dict() == CANONICAL_DTYPES
    SHOT_SCHEMA.validate(shots)
    seasons = store.seasons()
    assert len(seasons) == 2
    first = store.read(columns=["game_id", "season"], seasons=seasons[:1])
    assert list(first.columns) == ["game_id", "season"]
    assert set(first["season"]) == {seasons[0]}
    assert list(store.keys().columns) == list(KEY_COLUMNS)
    version = store.data_version()
    assert version.rows == len(rows)
    assert sum(version.rows_by_season.values()) == len(rows)
    assert version == report.data_version
    layout = sorted(
        p.relative_to(settings.shots_dir).parts[0] for p in store.root.rglob("*.parquet")
    )
    assert layout == [f"season={s}" for s in seasons]


def test_reingesting_adds_nothing(settings: Settings, kaggle_rows, tmp_path: Path) -> None:
    path = write_csv(_two_seasons(kaggle_rows), tmp_path / "again.csv")
    first = ingest_file(settings, path)
    parts = files_under(settings.shots_dir)
    second = ingest_file(settings, path)
    assert second.rows_new == 0
    assert second.rows_duplicate == first.rows_accepted
    assert second.data_version == first.data_version  # same hash, rows and creation time
    assert files_under(settings.shots_dir) == parts
    records = ShotStore(settings).history()
    assert [r["rows_new"] for r in records] == [first.rows_new, 0]
    assert records[-1]["version"] == first.data_version.hash


def test_duplicates_within_and_across_files(settings: Settings, kaggle_rows, tmp_path) -> None:
    rows = kaggle_rows(300)
    ingest_file(settings, write_csv(rows.iloc[:200], tmp_path / "first.csv"))
    overlapping = pd.concat([rows.iloc[100:], rows.iloc[250:260]])  # 100 stored, 10 repeated
    report = ingest_file(settings, write_csv(overlapping, tmp_path / "second.csv"))
    assert report.rows_new == 100
    assert report.rows_duplicate == 110
    keys = ShotStore(settings).keys()
    assert len(keys) == 300
    assert not keys.duplicated().any()


def test_version_record_is_complete(settings: Settings, kaggle_rows, tmp_path: Path) -> None:
    path = write_csv(kaggle_rows(100), tmp_path / "one.csv")
    report = ingest_file(settings, path)
    line = json.loads((settings.store_dir / "versions.jsonl").read_text().splitlines()[-1])
    assert line["source"] == str(path)
    assert line["version"] == report.data_version.hash
    for field in ("rows_read", "rows_accepted", "rows_quarantined", "rows_duplicate", "rows_new"):
        assert line[field] == getattr(report, field)
    assert line["rows"] == 100
    assert sum(line["rows_by_season"].values()) == 100
    assert line["created_at"]
    assert len(line["source_sha256"]) == 64


def test_a_crash_while_writing_leaves_the_store_as_it_was(
    settings: Settings, kaggle_rows, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = kaggle_rows(600)
    ingest_file(settings, write_csv(rows.iloc[:100], tmp_path / "before.csv"))
    store = ShotStore(settings)
    before, version, files = store.read(), store.data_version(), files_under(settings.shots_dir)
    history = (settings.store_dir / "versions.jsonl").read_text()

    real_write = store_module._write_part
    calls = {"n": 0}

    def write_then_crash(shots: pd.DataFrame, path: Path) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError("disk full")
        real_write(shots, path)

    monkeypatch.setattr(store_module, "_write_part", write_then_crash)
    later = pd.concat([_two_seasons(kaggle_rows), rows.iloc[100:]]).drop_duplicates()
    with pytest.raises(OSError, match="disk full"):
        ingest_file(settings, write_csv(later, tmp_path / "later.csv"))
    assert calls["n"] == 2
    pd.testing.assert_frame_equal(store.read(), before)
    assert store.data_version() == version
    assert files_under(settings.shots_dir) == files
    assert not list(settings.shots_dir.glob(".tmp-*"))
    assert (settings.store_dir / "versions.jsonl").read_text() == history


def test_a_crash_while_committing_takes_moved_parts_back(
    settings: Settings, kaggle_rows, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = _two_seasons(kaggle_rows)

    def commit_fails(*_args: object) -> None:
        raise OSError("log unwritable")

    monkeypatch.setattr(ShotStore, "_commit", commit_fails)
    with pytest.raises(OSError, match="log unwritable"):
        ingest_file(settings, write_csv(rows, tmp_path / "rows.csv"))
    assert files_under(settings.shots_dir) == []
    assert ShotStore(settings).read().empty


def test_leftovers_of_a_hard_crash_are_ignored_then_removed(
    settings: Settings, kaggle_rows, tmp_path: Path
) -> None:
    rows = kaggle_rows(200)
    ingest_file(settings, write_csv(rows.iloc[:100], tmp_path / "a.csv"))
    committed = files_under(settings.shots_dir)
    orphan = committed[0].with_name("part-orphan.parquet")
    orphan.write_bytes(committed[0].read_bytes())
    temp = settings.shots_dir / ".tmp-dead"
    temp.mkdir()
    (temp / "half.parquet").write_bytes(b"PAR1")
    store = ShotStore(settings)
    assert len(store.read()) == 100  # the orphan is not part of the store
    ingest_file(settings, write_csv(rows.iloc[100:], tmp_path / "b.csv"))
    assert not orphan.exists()
    assert not temp.exists()
    assert len(store.read()) == 200


def test_an_ingest_after_a_torn_last_record_is_not_lost(
    settings: Settings, kaggle_rows, tmp_path: Path
) -> None:
    """The probe's case: 200 bytes cut off the last record (a full disk, a power loss)."""
    rows = kaggle_rows(300)
    a = write_csv(rows.iloc[:100], tmp_path / "a.csv")
    b = write_csv(rows.iloc[100:200], tmp_path / "b.csv")
    c = write_csv(rows.iloc[200:], tmp_path / "c.csv")
    ingest_file(settings, a)
    ingest_file(settings, b)
    log = settings.store_dir / "versions.jsonl"
    log.write_bytes(log.read_bytes()[:-200])  # b's record is torn: b never committed
    store = ShotStore(settings)
    assert len(store.read()) == 100

    report = ingest_file(settings, c)
    assert report.rows_new == 100
    assert report.data_version.rows == len(store.read()) == 200  # what it said is so
    assert [r["source"] for r in store.history()] == [str(a), str(c)]
    torn = list(settings.store_dir.glob("versions.jsonl.torn-*"))
    assert len(torn) == 1 and not torn[0].read_bytes().endswith(b"\n")

    again = ingest_file(settings, b)  # b's shots come back with its file
    assert again.rows_new == 100
    following = ingest_file(settings, c)  # and nothing committed is removed later
    assert following.rows_new == 0
    assert len(store.read()) == 300
    assert store.keys().duplicated().sum() == 0


@pytest.mark.slow
def test_truncating_the_last_record_at_any_byte_loses_no_committed_shot(
    settings: Settings, kaggle_rows, tmp_path: Path
) -> None:
    """Cut the log at every byte of its last record, then commit new shots: every shot
    committed before it and every new shot is in the store, the new record reads back,
    and the parts of the torn record are gone."""
    rows = kaggle_rows(2_000)
    season = rows["Game ID"].str[1:3]
    one_season = rows[season == season.value_counts().index[0]].head(200)
    ingest_file(settings, write_csv(one_season.iloc[:100], tmp_path / "a.csv"))
    store = ShotStore(settings)
    first = store.read()
    ingest_file(settings, write_csv(one_season.iloc[100:], tmp_path / "b.csv"))
    both = store.read()
    new_shots = first.assign(game_id=first["game_id"] + 90_000_000)  # keys nobody stored
    log = settings.store_dir / "versions.jsonl"
    whole = log.read_bytes()
    last_start = whole.rstrip(b"\n").rfind(b"\n") + 1
    committed = {f: f.read_bytes() for f in files_under(store.root)}

    def keys(frame: pd.DataFrame) -> set[tuple[int, int]]:
        return set(zip(frame["game_id"], frame["game_event_id"], strict=True))

    cuts = range(last_start, len(whole) + 1)
    assert len(cuts) > 300
    for cut in cuts:
        for path, data in committed.items():  # as the crash left them
            if not path.exists():
                path.write_bytes(data)
        log.write_bytes(whole[:cut])
        intact = cut >= len(whole) - 1  # at most the final newline was cut
        with store.lock():
            store.remove_uncommitted()
            version = store.append(new_shots, {"source": f"cut at {cut}"})
        stored = store.read()
        expected = keys(both if intact else first) | keys(new_shots)
        assert version.rows == len(stored) == len(expected), cut
        assert keys(stored) == expected, cut
        history = store.history()
        assert history[-1]["source"] == f"cut at {cut}", cut
        assert len(history) == (3 if intact else 2), cut
        named = {store.root / p.path for p in store.parts()}
        assert named == set(files_under(store.root)), cut
        for path in named - set(committed):  # undo the new commit for the next cut
            path.unlink()
        for torn in settings.store_dir.glob("versions.jsonl.torn-*"):
            torn.unlink()
