"""The fork server batch workers come from, started as soon as a large file is seen."""

from __future__ import annotations

import gzip
import subprocess
import sys
from pathlib import Path

import pytest

from nba_mlops.config import bundled_sample_path

# Prints whether ``start_for`` started a fork server for the file and row threshold given
# on the command line, and whether this process then has a fork server child.
_START = """
import sys
from pathlib import Path
import psutil
from nba_mlops.inference import workers
started = workers.start_for(Path(sys.argv[1]), int(sys.argv[2]))
servers = [
    child for child in psutil.Process().children()
    if "multiprocessing.forkserver" in " ".join(child.cmdline())
]
print(started, bool(servers), "pandas" in sys.modules)
for server in servers:  # it would end with this process; it ends before it instead
    server.terminate()
    server.wait(30)
"""


def _start(path: Path, large_file_rows: int) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _START, str(path), str(large_file_rows)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.skipif(sys.platform == "win32", reason="no fork server")
def test_the_fork_server_starts_for_a_large_file_only_without_heavy_imports(
    tmp_path: Path,
) -> None:
    sample = bundled_sample_path()  # 41,917 shots
    # large enough: started, and deciding so imported neither pandas nor Arrow's CSV
    assert _start(sample, 40_000) == ["True", "True", "False"]
    # too small: nothing started
    assert _start(sample, 50_000) == ["False", "False", "False"]
    # a file that cannot be read starts nothing (scoring it says what is wrong)
    broken = tmp_path / "broken.csv.gz"
    broken.write_bytes(gzip.compress(sample.read_bytes()[:200_000])[:5_000])
    assert _start(broken, 1) == ["False", "False", "False"]
    assert _start(tmp_path / "missing.csv", 1) == ["False", "False", "False"]


def test_predict_batch_starts_the_fork_server_before_its_own_heavy_imports(
    tmp_path: Path,
) -> None:
    # The server takes a second or more to import what workers need: the command starts
    # it before it imports pandas itself, so that both import at once.
    probe = f"""
import sys
from nba_mlops.inference import workers
def start_for(path, rows):
    print("pandas imported first:", "pandas" in sys.modules)
    raise SystemExit(0)
workers.start_for = start_for
from nba_mlops.cli import app
app(["predict-batch", {str(bundled_sample_path())!r}, "--out", {str(tmp_path / "o.csv")!r}])
"""
    done = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={"NBA_MLOPS_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
    )
    assert "pandas imported first: False" in done.stdout, done.stdout + done.stderr


@pytest.mark.parametrize(
    ("content", "options", "code", "message"),
    [
        ("<<<<<<< HEAD\nGame ID\n=======\n>>>>>>> main\n", [], 2, "conflict markers"),
        (None, [], 1, "champion"),  # a real shot file, but the home has no champion
        (None, ["--chunk-rows", "0"], 2, "--chunk-rows"),  # no rows a slice: refused
        (None, ["--out", "."], 2, "directory"),  # the output is a folder
        (None, ["--version", "99"], 1, "has no version 99"),  # no such version
    ],
    ids=["no shot file", "no champion", "slices of no rows", "output a folder", "no version"],
)
def test_the_command_names_what_is_wrong_with_its_exit_status(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    content: str | None,
    options: list[str],
    code: int,
    message: str,
) -> None:
    from typer.testing import CliRunner

    from nba_mlops.cli import app
    from nba_mlops.config import get_settings

    monkeypatch.setenv("NBA_MLOPS_HOME", str(tmp_path / "home"))
    get_settings.cache_clear()
    source = bundled_sample_path()
    if content is not None:
        source = tmp_path / "merge.csv"
        source.write_text(content, encoding="utf-8")
    out = tmp_path / "scored.csv"
    try:
        result = CliRunner().invoke(
            app, ["predict-batch", str(source), "--out", str(out), *options]
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == code, result.output
    assert message in result.output.replace("\n", " ").lower()
    assert not out.exists()


def test_the_fork_server_ends_without_tearing_down_what_it_imported() -> None:
    # Imported by the fork server only: once the server is told to end (its parent has),
    # it flushes its output and leaves, without the exit handlers registered before it
    # or Python's teardown of its modules.
    probe = (
        "import atexit; atexit.register(print, 'torn down'); "
        "import nba_mlops.inference.warm_workers; print('warmed up', flush=False)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert (done.returncode, done.stdout) == (0, "warmed up\n"), done.stderr


def test_slices_of_no_rows_are_refused_before_anything_is_read(tmp_path: Path) -> None:
    # chunk_rows 0 once cut a file into empty slices for ever
    from nba_mlops.config import Settings
    from nba_mlops.data.ingest import iter_shot_tables
    from nba_mlops.inference.batch import predict_batch

    for rows in (0, -5):
        with pytest.raises(ValueError, match="chunk_rows must be 1 or more"):
            iter_shot_tables(bundled_sample_path(), rows)
        with pytest.raises(ValueError, match="chunk_rows must be 1 or more"):
            predict_batch(
                Settings(home=tmp_path / "home"),
                bundled_sample_path(),
                tmp_path / "o.csv",
                chunk_rows=rows,
            )
    assert not (tmp_path / "o.csv").exists()


def test_a_pipe_is_refused_at_once_instead_of_waited_on(tmp_path: Path) -> None:
    # Opening a named pipe waits for a writer: neither the estimate nor the command may
    # open one, and the command says what it is.
    import os

    from typer.testing import CliRunner

    from nba_mlops.cli import app
    from nba_mlops.inference import workers

    fifo = tmp_path / "shots.csv"
    os.mkfifo(fifo)
    assert workers.start_for(fifo, 1) is False
    result = CliRunner().invoke(app, ["predict-batch", str(fifo), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "not a regular file" in result.output.replace("\n", " ")


def test_an_output_that_is_a_folder_is_refused_before_scoring(tmp_path: Path) -> None:
    from nba_mlops.config import Settings
    from nba_mlops.inference.batch import predict_batch

    with pytest.raises(IsADirectoryError, match="is a folder"):
        predict_batch(Settings(home=tmp_path / "home"), bundled_sample_path(), tmp_path)
    assert not (tmp_path / "home").exists()  # nothing loaded, nothing written
