"""Ingestion end to end on the bundled real sample: the store, the quarantine, the incoming
folder and the ``ingest`` / ``simulate`` commands."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from nba_mlops.cli import app
from nba_mlops.config import Settings, bundled_sample_path, get_settings
from nba_mlops.data.ingest import ingest_file, ingest_incoming
from nba_mlops.data.store import ShotStore
from nba_mlops.data.validation import SHOT_SCHEMA
from nba_mlops.pipeline import IngestRefusedError, run_ingest

SAMPLE_ROWS = 41_917


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Commands read their settings from the environment: point it at a temporary home."""
    monkeypatch.setenv("NBA_MLOPS_HOME", str(tmp_path / "cli-home"))
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def _sample_text(n: int) -> pd.DataFrame:
    return pd.read_csv(bundled_sample_path(), dtype=str, keep_default_na=False, nrows=n)


def test_the_sample_goes_in_whole_and_repaired(settings: Settings) -> None:
    report = ingest_file(settings, bundled_sample_path())
    assert report.rows_read == report.rows_new == SAMPLE_ROWS
    assert report.rows_quarantined == report.rows_duplicate == 0
    assert report.quarantine_path is None
    # The sample keeps the real gaps: all of them are repaired, none dropped.
    for kind in ("zones_derived", "shot_distance_recomputed", "action_type_case"):
        assert report.repairs[kind] > 0
    assert report.repairs["season_from_game_id_undated"] > 0
    shots = ShotStore(settings).read()
    SHOT_SCHEMA.validate(shots)
    assert len(shots) == SAMPLE_ROWS
    assert shots["is_home"].notna().all()
    assert not shots[["shot_zone_basic", "shot_zone_area", "shot_zone_range"]].isna().any().any()
    assert not shots["action_type"].str.contains(r"\b[a-z]", regex=True).any()
    assert ingest_file(settings, bundled_sample_path()).data_version == report.data_version


def test_quarantine_keeps_the_row_and_the_reason(settings: Settings, tmp_path: Path) -> None:
    rows = _sample_text(100)
    rows.loc[10, "Period"] = "11"
    rows.loc[20, "X Location"] = "left"
    rows.loc[30, "Shot Made Flag"] = ""
    source = tmp_path / "with_bad_rows.csv"
    rows.to_csv(source, index=False)
    report = ingest_file(settings, source)
    assert (report.rows_new, report.rows_quarantined) == (97, 3)
    assert report.quarantine_path is not None
    assert report.quarantine_path.parent == settings.quarantine_dir
    quarantined = pd.read_parquet(report.quarantine_path)
    assert quarantined["row"].tolist() == [10, 20, 30]
    assert set(quarantined["source_file"]) == {str(source)}
    assert quarantined["reason"].tolist() == [
        "period 11 outside 1..8",
        "loc_x: not an integer",
        "shot_made_flag: missing",
    ]
    assert quarantined["Period"].tolist()[0] == "11"  # the raw row, as it came
    assert quarantined["X Location"].tolist()[1] == "left"
    assert quarantined["Game Event ID"].tolist() == rows.loc[[10, 20, 30], "Game Event ID"].tolist()
    # Quarantining the same file again replaces its quarantine file, never duplicates it.
    ingest_file(settings, source)
    assert list(settings.quarantine_dir.glob("*.parquet")) == [report.quarantine_path]


def test_incoming_files_are_processed_or_refused(settings: Settings) -> None:
    settings.ensure_dirs()
    _sample_text(500).to_csv(settings.incoming_dir / "day1.csv", index=False)
    (settings.incoming_dir / "notes.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (settings.incoming_dir / ".day2.csv.tmp").write_text("being written", encoding="utf-8")
    reports = ingest_incoming(settings)
    assert [r.source.name for r in reports] == ["day1.csv", "notes.csv"]
    assert reports[0].rows_new == 500 and reports[0].refused is None
    assert reports[1].refused is not None and "missing required columns" in reports[1].refused
    assert (settings.incoming_dir / "processed" / "day1.csv").exists()
    assert (settings.incoming_dir / "refused" / "notes.csv").exists()
    reason = (settings.incoming_dir / "refused" / "notes.csv.reason.txt").read_text()
    assert "notes.csv" in reason and "Game ID" in reason
    assert (settings.incoming_dir / ".day2.csv.tmp").exists()  # not touched
    assert ingest_incoming(settings) == []


def test_ingest_command(cli_home: Settings) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["ingest", "--sample"])
    assert result.exit_code == 0, result.output
    assert f"ingested {SAMPLE_ROWS:,} rows from 1 file: {SAMPLE_ROWS:,} new" in result.stdout
    version = ShotStore(cli_home).data_version()
    assert f"store now {SAMPLE_ROWS:,} rows (data version {version.short})" in result.stdout
    again = runner.invoke(app, ["ingest", "--sample"])
    assert f"0 new, {SAMPLE_ROWS:,} duplicates" in again.stdout
    assert (cli_home.log_dir / "nba-mlops.log").exists()


def test_refused_file_exits_with_2(cli_home: Settings, tmp_path: Path) -> None:
    bad = tmp_path / "merge.csv"
    bad.write_text("<<<<<<< HEAD\nGame ID\n=======\n>>>>>>> main\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["ingest", str(bad)])
    assert result.exit_code == 2
    assert "conflict markers" in result.output
    assert str(bad) in result.output.replace("\n", "")
    assert not (cli_home.store_dir / "versions.jsonl").exists()


def _conflicted(path: Path) -> Path:
    path.write_text("<<<<<<< HEAD\nGame ID\n=======\n>>>>>>> main\n", encoding="utf-8")
    return path


def test_the_ingest_stage_goes_on_past_a_refused_file(settings: Settings, tmp_path: Path) -> None:
    """The stage every caller uses (pipeline, orchestrator, command line): the good file
    after a refused one is stored and the shot history refreshed, then every refused file
    is named with its reason."""
    good = tmp_path / "good.csv"
    _sample_text(200).to_csv(good, index=False)
    first, second = _conflicted(tmp_path / "merge.csv"), tmp_path / "notes.csv"
    second.write_text("just some notes\n", encoding="utf-8")

    with pytest.raises(IngestRefusedError) as refused:
        run_ingest(settings, [first, good, second])

    run = refused.value.run
    assert [r.source for r in run.reports] == [first, good, second]
    assert [r.source for r in run.accepted] == [good] and run.rows_new == 200
    assert len(run.refusals) == 2
    assert str(first) in run.refusals[0] and "conflict markers" in run.refusals[0]
    assert str(second) in run.refusals[1]
    message = str(refused.value)
    assert message.startswith("2 files refused: ") and str(first) in message
    assert str(second) in message
    assert ShotStore(settings).data_version().rows == 200
    assert run.features  # the shot history now covers the good file
    assert first.exists() and second.exists()  # files given by path stay where they are


def test_ingest_command_goes_on_past_a_refused_file(cli_home: Settings, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    _sample_text(200).to_csv(good, index=False)
    bad = _conflicted(tmp_path / "merge.csv")
    result = CliRunner().invoke(app, ["ingest", str(bad), str(good)])
    assert result.exit_code == 2, result.output
    output = result.output.replace("\n", "")
    assert "refused:" in output and str(bad) in output and "conflict markers" in output
    assert "ingested 200 rows from 1 file: 200 new" in output and "1 file refused" in output
    assert ShotStore(cli_home).data_version().rows == 200


def test_simulate_then_ingest_commands(cli_home: Settings, tmp_path: Path) -> None:
    source = tmp_path / "season.csv"
    rows = pd.read_csv(bundled_sample_path(), dtype=str, keep_default_na=False)
    rows[rows["Game ID"].str[1:3] == "22"].to_csv(source, index=False)
    runner = CliRunner()
    simulated = runner.invoke(
        app, ["simulate", "--source", str(source), "--days", "3", "--no-ingest"]
    )
    assert simulated.exit_code == 0, simulated.output
    assert "simulated 3 days (left in the incoming folder)" in simulated.stdout
    assert "not scored (no champion yet" in simulated.stdout
    written = sorted(cli_home.incoming_dir.glob("*.csv"))
    assert len(written) == 3  # a file per day, one game date each
    assert [pd.read_csv(w)["Game Date"].nunique() for w in written] == [1, 1, 1]
    ingested = runner.invoke(app, ["ingest"])
    assert ingested.exit_code == 0, ingested.output
    processed = [cli_home.incoming_dir / "processed" / w.name for w in written]
    assert all(p.exists() for p in processed)
    records = (cli_home.store_dir / "versions.jsonl").read_text().splitlines()[-3:]
    assert [json.loads(r)["rows_new"] for r in records] == [len(pd.read_csv(p)) for p in processed]
