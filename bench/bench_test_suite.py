"""Wall time of `make test` (lint, type checks, web tests, every Python test), with the
machine, its load before and after, and the slowest tests.

    python3 bench/bench_test_suite.py [--repo PATH] [--slowest 25]

Runs `make test` in the repository as it is (its environment installed by `make deps`),
with pytest's `--durations`, and prints the figures; the test output goes to
`bench/results/test-suite.log`. Uses only the standard library.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from bench_first_run import load, machine  # bench/ is on the path of a script run from it

ROOT = Path(__file__).resolve().parents[1]
DURATION = re.compile(r"^\s*(\d+\.\d+)s (call|setup|teardown)\s+(\S+)")
RESULT = re.compile(r"^=+ (.*\b(passed|failed)\b.*) =+$")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=ROOT)
    parser.add_argument("--slowest", type=int, default=25, help="slowest tests to print")
    args = parser.parse_args()
    out = args.repo / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    log = out / "test-suite.log"
    print(f"date:    {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine: {machine()}")
    print(f"load before: {load()}")
    env = {**os.environ, "PYTEST_ARGS": f"--durations={args.slowest}"}
    started = time.monotonic()
    with log.open("w") as output:
        status = subprocess.run(
            ["make", "test"], cwd=args.repo, env=env, stdout=output, stderr=subprocess.STDOUT
        ).returncode
    seconds = time.monotonic() - started
    print(f"load after:  {load()}")
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    outcome = next((m.group(1) for line in lines if (m := RESULT.match(line))), "no result line")
    print(f"make test: {seconds:.0f} s ({seconds / 60:.1f} min), exit status {status}: {outcome}")
    slowest = [m.groups() for line in lines if (m := DURATION.match(line))]
    if slowest:
        print(f"slowest {len(slowest)}:")
        for took, phase, test in slowest:
            print(f"  {float(took):7.1f} s  {phase:8s} {test}")
    print(f"full output: {log}")
    return status


if __name__ == "__main__":
    sys.exit(main())
