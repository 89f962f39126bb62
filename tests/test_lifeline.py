"""A process that follows another ends once that one has ended."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

_FOLLOWER = """
import sys, time
from nba_mlops.lifeline import exit_with_process
exit_with_process(int(sys.argv[1]), interval_s=0.05)
print("watching", flush=True)
time.sleep(600)
"""


def test_a_follower_ends_once_the_process_it_follows_is_killed_even_if_not_collected() -> None:
    # A batch worker follows the command that asked for it. Killed outright, the command
    # stays a zombie until its own parent collects it (this test does not): its worker
    # must end all the same, not wait for a supervisor to get round to it.
    followed = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    follower = subprocess.Popen(
        [sys.executable, "-c", _FOLLOWER, str(followed.pid)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None
        assert follower.stdout.readline().strip() == "watching"
        time.sleep(0.3)  # several checks while the followed process runs
        assert follower.poll() is None, "the follower ended while the process it follows ran"
        os.kill(followed.pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while psutil.Process(followed.pid).status() != psutil.STATUS_ZOMBIE:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert follower.wait(timeout=30) == 1
        assert psutil.Process(followed.pid).status() == psutil.STATUS_ZOMBIE  # still
    finally:
        for process in (follower, followed):
            if process.poll() is None:
                process.kill()
            process.wait()
