"""A new user's first minutes: `make up` on a fresh clone, timed to /ready, then Ctrl-C.

    python3 bench/bench_first_run.py [--repo PATH] [--runs N] [--keep]

Clones the repository's HEAD into a temporary folder and runs `make deps` there (not
counted: the README's two commands assume the dependencies are installed). Then, N times
(the state of the previous run removed first), starts `make up` in an 80x24 terminal the
way a person does, polls /ready, presses Ctrl-C and reads what the terminal showed.

Prints the machine, the load average, the seconds from `make up` to /ready with the time
of each step, the CPU seconds its processes used, how the stop went (exit status, goodbye
line, no `make: ***`, traceback or leaked semaphore) and every line that reads like a
warning. Uses only the standard library, so it runs with any Python 3.11.

Most of a first run uses one core, so on an idle machine the wait comes near the CPU time
(a little under it where the forest fits on both cores); on a busy machine the wait is
longer by whatever the other work takes, and the CPU time a little longer too (caches and
cores shared).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import fcntl
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
#: What the terminal must not show when everything works.
ALARMING = re.compile(r"warning|error|traceback|leaked|failed|exception", re.IGNORECASE)
#: Lines the pipeline prints as it goes, to time the steps by.
MILESTONES = {
    "ingested": re.compile(r"ingest: finished"),
    "trained": re.compile(r"train: finished"),
    "pipeline done": re.compile(r"^pipeline done in"),
    "server starting": re.compile(r"^serving api on"),
    "model loaded": re.compile(r"serving nba-shot-make version"),
}


def machine() -> str:
    cpu = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024**2:.0f} GiB"
    return f"{platform.node()}: {os.cpu_count()} cores ({cpu}){memory}, {platform.platform()}"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def _shown(line: str) -> str:
    """What a terminal line ends up showing: escapes dropped, and of text overwritten after
    a carriage return (a spinner's frames), the last."""
    kept = [part for part in ANSI.sub("", line).split("\r") if part.strip()]
    return kept[-1] if kept else ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Terminal:
    """A command in a pseudo-terminal of its own (its controlling terminal, so Ctrl-C
    reaches its whole foreground process group); every line it shows, timed."""

    def __init__(self, command: list[str], cwd: Path, env: dict[str, str]) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

        def become_session_leader() -> None:
            os.setsid()
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

        self.started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            preexec_fn=become_session_leader,
        )
        os.close(slave)
        self.master = master
        self.lines: list[tuple[float, str]] = []
        self._partial = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: every process holding the terminal has ended
                break
            if not chunk:
                break
            text = self._partial + chunk.decode("utf-8", "replace")
            *complete, self._partial = text.split("\n")
            now = time.monotonic() - self.started
            self.lines.extend((now, _shown(line)) for line in complete)

    def ctrl_c(self) -> None:
        os.write(self.master, b"\x03")

    def wait(self, timeout: float) -> int | None:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        self._reader.join(timeout=5)
        with contextlib.suppress(OSError):
            os.close(self.master)
        if self._partial:
            self.lines.append((time.monotonic() - self.started, _shown(self._partial)))

    def text(self) -> list[str]:
        return [line for _, line in self.lines]


def ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/ready", timeout=2) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class Run:
    ready: float | None  # seconds from `make up` to the first 200 of /ready
    milestones: dict[str, float]
    status: int | None  # exit status of `make up` after Ctrl-C
    stop_seconds: float
    lines: list[str]
    load_before: str
    load_at_ready: str
    cpu: float  # CPU seconds of `make up` and every process it waited for, start to stop

    @property
    def goodbye(self) -> bool:
        return any("goodbye" in line for line in self.lines[-5:])

    @property
    def make_errors(self) -> list[str]:
        return [line for line in self.lines if "make: ***" in line]

    @property
    def alarming(self) -> list[str]:
        return [line for line in self.lines if ALARMING.search(line)]

    @property
    def last_line(self) -> str:
        return next((line for line in reversed(self.lines) if line.strip()), "")

    @property
    def clean_stop(self) -> bool:
        # make gets the terminal's SIGINT too and ends by it once its recipe has ended:
        # the shell then shows nothing, as after any Ctrl-C.
        stopped = self.status in (0, -signal.SIGINT)
        return stopped and self.goodbye and not self.make_errors and not self.alarming


def one_run(clone: Path, timeout: float) -> Run:
    shutil.rmtree(clone / "var", ignore_errors=True)
    shutil.rmtree(clone / "web" / "dist", ignore_errors=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBA_MLOPS_", "MLFLOW_"))}
    env.update({"NBA_MLOPS_PORT": str(port), "TERM": "xterm-256color"})
    for name in ("DATABASE_URL", "PREDICTION_SERVICE_URL", "COLUMNS", "LINES"):
        env.pop(name, None)
    load_before = load()
    load_at_ready = ""
    stop_seconds = 0.0
    status = None
    used_before = _children_cpu()
    terminal = Terminal(["make", "up"], clone, env)
    seconds_to_ready = None
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and terminal.process.poll() is None:
            if ready(port):
                seconds_to_ready = time.monotonic() - terminal.started
                break
            time.sleep(0.1)
        load_at_ready = load()
        time.sleep(1.0)
        terminal.ctrl_c()
        stop_started = time.monotonic()
        status = terminal.wait(60)
        stop_seconds = time.monotonic() - stop_started
    finally:
        terminal.close()
    cpu = _children_cpu() - used_before
    milestones = {}
    for name, pattern in MILESTONES.items():
        for at, line in terminal.lines:
            if pattern.search(line.strip()):
                milestones[name] = at
                break
    return Run(
        seconds_to_ready,
        milestones,
        status,
        stop_seconds,
        terminal.text(),
        load_before,
        load_at_ready,
        cpu,
    )


def _children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repo", type=Path, default=ROOT, help="repository to clone (HEAD)")
    parser.add_argument("--runs", type=int, default=1, help="measurements on the clone")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for /ready")
    parser.add_argument("--keep", action="store_true", help="keep the clone and print its path")
    parser.add_argument("--show", action="store_true", help="print what the terminal showed")
    args = parser.parse_args()

    print(f"date:    {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    print(f"machine: {machine()}")
    workdir = Path(tempfile.mkdtemp(prefix="nba-mlops-first-run-"))
    clone = workdir / "nba-mlops"
    try:
        subprocess.run(["git", "clone", "--quiet", str(args.repo), str(clone)], check=True)
        commit = subprocess.run(
            ["git", "-C", str(clone), "log", "-1", "--format=%h %s"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        print(f"commit:  {commit[:100]}")
        started = time.monotonic()
        subprocess.run(["make", "deps"], cwd=clone, check=True, capture_output=True)
        print(f"make deps (not counted): {time.monotonic() - started:.0f} s")
        runs = []
        for number in range(1, args.runs + 1):
            run = one_run(clone, args.timeout)
            runs.append(run)
            steps = ", ".join(f"{k} {v:.1f}" for k, v in run.milestones.items())
            took = "NOT READY" if run.ready is None else f"{run.ready:.1f} s"
            print(
                f"run {number}: /ready after {took} (load {run.load_before} before, "
                f"{run.load_at_ready} at ready); seconds from the start: {steps}"
            )
            print(f"  CPU: {run.cpu:.1f} s in all, start to stop")
            print(
                f"  Ctrl-C: exit status {run.status} after {run.stop_seconds:.1f} s; goodbye "
                f"line: {'yes' if run.goodbye else 'NO'}; make errors: "
                f"{run.make_errors or 'none'}; last line: {run.last_line[:90]!r}"
            )
            for line in run.alarming:
                print(f"  reads like a warning: {line[:150]}")
            if args.show:
                print("\n".join(f"  | {line}" for line in run.lines))
        times = [run.ready for run in runs if run.ready is not None]
        if times:
            print(
                f"make up -> /ready: best {min(times):.1f} s, median "
                f"{statistics.median(times):.1f} s over {len(times)} run(s)"
            )
            cpu = statistics.median(run.cpu for run in runs)
            print(f"CPU of make up, start to stop: median {cpu:.1f} s")
        clean = all(run.clean_stop for run in runs)
        print(f"clean Ctrl-C stops: {'yes' if clean else 'NO'}")
        return 0 if len(times) == len(runs) and clean else 1
    finally:
        if args.keep:
            print(f"clone kept at {clone}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
