"""``nba-mlops predict-batch`` as a user runs it, on one season's file and on every shot in
one file, each run beside a baseline run in the same command.

    uv run python bench/bench_batch.py [--home DIR] [--data DIR] [--season 2022-23]
                                       [--all] [--runs 3] [--before SRC] [--work DIR]

``--home`` is a home with a champion trained on the full data (default: the full-data
home beside the repository, ``../full``). It is never written to: the bench scores in a
copy of it (``--work``; a temporary folder unless given, which a later run reuses with
its compiled forest). Where it has no champion the bench says so and runs the pipeline
on the bundled sample instead, scoring the sample's file.

Before the runs that count, one run writes the champion's scoring bundle and the forest
is compiled (once per model, as the first large file would start it in the background).
Then, ``--runs`` times, for the season's file (``--season`` of ``--data``) and, with
``--all``, every season of ``--data`` in one plain CSV (written once into the work
folder):

* **bare**: a new Python process reads the file with pyarrow's CSV reader and writes it
  back as CSV, the least any scoring of the file does; it measures the machine of the
  moment (its speed varies threefold from day to day);
* **after**: the command with this checkout's code, wall clock from its start to its exit
  (the file written, as a new file: the previous run's output is removed first), its
  summary line and the peak RSS of all its processes (workers included);
* **before** (with ``--before SRC``, the ``src`` folder of an older checkout): the same
  command with that code (``PYTHONPATH``), right after.

Each row prints the wall time, the shots per second end to end, and the ratio of the wall
time to the bare run just before it. Targets (issue 12): a season's file in at most 6 s,
the whole history at 200,000 shots/s or more, both end to end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench_model import concat_seasons

ROOT = Path(__file__).resolve().parents[1]
FULL_HOME = ROOT.parent / "full"
DATA = ROOT.parent / "shared" / "data" / "shots"
BIN = Path(sys.executable).parent
SEASON_TARGET_S = 6.0
ALL_TARGET_RATE = 200_000

SUMMARY = re.compile(
    r"scored (?P<scored>[\d,]+) of (?P<read>[\d,]+) shots .*?\((?P<rate>[\d,]+) shots/s; "
    r"(?P<scorer>[^,]+), (?P<workers>\d+) worker\(s\); model loaded in (?P<load>[\d.]+) s\)"
)
BARE = """
import gzip
import sys
import pyarrow as pa
import pyarrow.csv as csv

source, target = sys.argv[1], sys.argv[2]
with (gzip.open if source.endswith(".gz") else open)(source, "rt") as text:
    header = text.readline().rstrip("\\r\\n").split(",")
strings = csv.ConvertOptions(column_types={name: pa.string() for name in header})
with pa.input_stream(source, compression="detect") as stream:
    reader = csv.open_csv(stream, convert_options=strings)
    with csv.CSVWriter(target, reader.schema) as out:
        for batch in reader:
            out.write_batch(batch)
"""


class TreePeak:
    """Samples the RSS of a process and all its descendants until it exits."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            top = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            try:
                tree = [top, *top.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass
            # every 50 ms the sampler took 1.8 CPU-s from a 27 s run on two busy cores
            time.sleep(0.25)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass
class Run:
    file: str
    code: str
    run: int
    wall_s: float
    bare_s: float
    peak_mb: float
    scored: int = 0
    scorer: str = ""
    workers: int = 0
    load_s: float = 0.0

    @property
    def rate(self) -> float:
        return self.scored / self.wall_s if self.wall_s else float("nan")


def environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env.pop("DATABASE_URL", None)
    # one summary line however long: the command's console is as wide as COLUMNS says
    env.update({"NBA_MLOPS_HOME": str(home), "COLUMNS": "500", "PYTHONUNBUFFERED": "1"})
    return env


def command(
    home: Path, source: Path, out: Path, src: Path | None = None
) -> tuple[float, float, str]:
    """Run ``predict-batch``; its wall time, the peak RSS of its processes (MB) and its
    output. ``src``: the code to run instead of this checkout's."""
    env = environment(home)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    args = [str(BIN / "nba-mlops"), "predict-batch", str(source), "--out", str(out)]
    started = time.perf_counter()
    proc = subprocess.Popen(
        args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    with TreePeak(proc.pid) as peak:
        output, _ = proc.communicate()
    wall = time.perf_counter() - started
    text = output.decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"predict-batch failed ({proc.returncode}):\n{text[-3000:]}")
    return wall, peak.peak / 2**20, text


def bare(source: Path, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", BARE, str(source), str(out)], check=True)
    return time.perf_counter() - started


def champion(home: Path) -> int | None:
    listed = subprocess.run(
        [str(BIN / "nba-mlops"), "models", "list", "--json"],
        env=environment(home),
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    try:
        found = json.loads(listed.stdout).get("champion") if listed.returncode == 0 else None
    except ValueError:
        return None
    return int(found) if found is not None else None


def sample_home(work: Path) -> Path:
    home = work / "sample-home"
    if champion(home) is None:
        print("training a champion on the bundled sample (pipeline) ...", flush=True)
        subprocess.run(
            [str(BIN / "nba-mlops"), "pipeline", "--sample"],
            env=environment(home),
            check=True,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )
    return home


def copied_home(source: Path, work: Path) -> Path:
    """A copy of ``source`` in ``work`` (made once; a later run with the same ``--work``
    reuses it and its caches)."""
    home = work / "home"
    if not home.exists():
        print(f"copying {source} to {home} ...", flush=True)
        partial = work / ".home.partial"
        shutil.rmtree(partial, ignore_errors=True)
        shutil.copytree(source, partial, symlinks=True)
        partial.rename(home)
    return home


def compile_forest(home: Path, version: int, src: Path | None = None) -> None:
    """Wait until the champion's forest is compiled into the home's cache by ``src``'s code
    (default: this checkout's; each code keys its cache its own way): compiled here unless
    the process a first large file starts is compiling it already."""
    started = time.perf_counter()
    compiled = home / "cache" / "compiled"
    which = "" if src is None else f" for {src}"
    print(f"compiling the champion's forest{which} (once per model) ...", flush=True)
    env = environment(home)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    while True:
        done = subprocess.run(
            [sys.executable, "-m", "nba_mlops.inference.compiled", str(version)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"compiling failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        if "being compiled by another process" not in done.stdout + done.stderr:
            break
        time.sleep(5)
    if not list(compiled.glob("forest-*.so")):
        print("  the champion has no forest to compile: scored without it", flush=True)
        return
    print(f"  compiled or found in {time.perf_counter() - started:.0f} s", flush=True)


def measure(
    label: str, home: Path, source: Path, work: Path, run: int, before: Path | None
) -> list[Run]:
    out = work / f"{source.name}.scored.csv"
    bare_s = bare(source, work / "bare.csv")
    runs = []
    for code, src in (("after", None), ("before", before)):
        if code == "before" and src is None:
            continue
        # A new file each run, as the bare run writes: replacing an existing file makes
        # ext4 write the new one out at the rename (auto_da_alloc), 0.4-0.7 s for the
        # whole history's 900 MB on this machine, which a new output name does not pay.
        for kept in (out, out.with_name(f"{out.stem}.rejected.csv")):
            kept.unlink(missing_ok=True)
        wall, peak, text = command(home, source, out, src)
        found = SUMMARY.search(" ".join(text.split()))
        row = Run(label, code, run, wall, bare_s, peak)
        if found:
            row.scored = int(found["scored"].replace(",", ""))
            row.scorer = found["scorer"]
            row.workers = int(found["workers"])
            row.load_s = float(found["load"])
        runs.append(row)
        print(
            f"  {label} {code} run {run}: {wall:.2f} s ({row.rate:,.0f} shots/s end to end; "
            f"bare {bare_s:.2f} s; {row.scorer}, {row.workers} worker(s), model loaded in "
            f"{row.load_s:.1f} s; peak RSS {peak:,.0f} MB)",
            flush=True,
        )
    (work / "bare.csv").unlink(missing_ok=True)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, default=FULL_HOME)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--season", default="2022-23")
    parser.add_argument("--all", action="store_true", help="also every shot in one file")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", type=Path, default=None, help="src folder of older code")
    parser.add_argument("--work", type=Path, default=None, help="kept between runs if given")
    args = parser.parse_args()

    work = args.work or Path(tempfile.mkdtemp(prefix="nba-bench-batch-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        files: list[tuple[str, Path]] = []
        home = copied_home(args.home, work) if (args.home / "mlflow").is_dir() else args.home
        if home != args.home and champion(home) is not None:  # asked of the copy: no writes
            files.append((f"season {args.season}", args.data / f"shots_{args.season}.csv.gz"))
            if args.all:
                every = work / "all-seasons.csv"
                if not every.exists():
                    print(f"writing {every} ...", flush=True)
                    concat_seasons(args.data, every)
                files.append(("every season", every))
        else:
            print(
                f"no full-data champion in {args.home}: using a champion trained on the "
                "bundled sample and its file instead (not the production model)",
                flush=True,
            )
            from nba_mlops.config import bundled_sample_path

            home = sample_home(work)
            files.append(("bundled sample", bundled_sample_path()))
        version = champion(home)
        assert version is not None
        print("first run (writes the scoring bundle; not counted) ...", flush=True)
        for src in (None, args.before) if args.before else (None,):
            command(home, files[0][1], work / "first.csv", src)
        for src in (None, args.before) if args.before else (None,):
            compile_forest(home, version, src)

        print(
            f"\nmachine: {platform.node()}, {os.cpu_count()} cores, "
            f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python "
            f"{platform.python_version()}; {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
            f"load average before {os.getloadavg()[0]:.1f}; champion v{version} of {args.home}",
            flush=True,
        )
        rows: list[Run] = []
        for run in range(1, args.runs + 1):
            for label, source in files:
                rows += measure(label, home, source, work, run, args.before)
        print_table(rows)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


def print_table(rows: list[Run]) -> None:
    print(f"\nload average after {os.getloadavg()[0]:.1f}\n")
    print(
        "| file | code | run | wall s | shots/s end to end | bare s | wall / bare "
        "| scored by | model loaded s | peak RSS |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---|---:|---:|")
    for r in rows:
        print(
            f"| {r.file} | {r.code} | {r.run} | {r.wall_s:.2f} | {r.rate:,.0f} | "
            f"{r.bare_s:.2f} | {r.wall_s / r.bare_s:.2f} | {r.scorer}, {r.workers} | "
            f"{r.load_s:.1f} | {r.peak_mb:,.0f} MB |"
        )
    for label in dict.fromkeys(r.file for r in rows):
        for code in ("after", "before"):
            mine = [r for r in rows if r.file == label and r.code == code]
            if not mine:
                continue
            best = min(mine, key=lambda r: r.wall_s)
            if label.startswith("season"):
                verdict = "met" if best.wall_s <= SEASON_TARGET_S else "not met"
                target = f"<= {SEASON_TARGET_S:g} s: {verdict} (best {best.wall_s:.2f} s)"
            elif label == "every season":
                verdict = "met" if best.rate >= ALL_TARGET_RATE else "not met"
                target = f">= {ALL_TARGET_RATE:,} shots/s: {verdict} (best {best.rate:,.0f})"
            else:
                target = "no target (sample)"
            ratios = ", ".join(f"{r.wall_s / r.bare_s:.2f}" for r in mine)
            print(f"- {label}, {code}: {target}; wall / bare {ratios}")


if __name__ == "__main__":
    main()
