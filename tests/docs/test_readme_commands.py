"""The README's command lines, run as printed in a new shell after its two set-up commands.

The README starts with exactly the two set-up commands (``make up``, ``make test``), and
``.ci/run`` runs the same test command. Every other ``bash`` block is run line by line in
a shell with nothing of this process's environment (no virtual environment, no
``NBA_MLOPS_HOME``), from a folder laid out like the repository after ``make up``: the
repository's files, and ``var/`` holding a home where the pipeline ran on the bundled
sample.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from nba_mlops.config import Settings
from tests.support.homes import copy_home

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
BASH_BLOCK = re.compile(r"^```bash\n(.*?)^```", re.MULTILINE | re.DOTALL)
#: A new login shell's environment: no virtual environment, nothing of ours.
FRESH_ENV_KEEP = ("HOME", "LANG", "LC_ALL", "TMPDIR", "USER")


def readme_blocks() -> list[list[str]]:
    """Each ``bash`` block of the README as its command lines (comments dropped)."""
    blocks = []
    for block in BASH_BLOCK.findall(README.read_text(encoding="utf-8")):
        lines = [line.split("  #", 1)[0].strip() for line in block.splitlines()]
        blocks.append([line for line in lines if line and not line.startswith("#")])
    return blocks


def fresh_shell_env() -> dict[str, str]:
    env = {key: os.environ[key] for key in FRESH_ENV_KEEP if key in os.environ}
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    env["TERM"] = "dumb"
    return env


def test_the_readme_starts_with_the_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = text.index("```")
    assert text[:first_block].strip() == "# nba-mlops"
    assert readme_blocks()[0] == ["make up", "make test"]
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert "make test" in [line.strip() for line in ci]


@pytest.fixture
def checkout_after_make_up(trained_settings: Settings, tmp_path: Path) -> Path:
    """The repository's files beside a ``var/`` where ``make up`` has run."""
    checkout = tmp_path / "nba-mlops"
    checkout.mkdir()
    for entry in REPO.iterdir():
        if entry.name not in {"var", ".git"}:
            (checkout / entry.name).symlink_to(entry)
    copy_home(trained_settings.home, checkout / "var", symlinks=True)
    return checkout


def test_readme_command_lines_run_as_printed_in_a_new_shell(checkout_after_make_up: Path) -> None:
    blocks = readme_blocks()[1:]
    assert blocks, "the README shows no commands beyond the set-up"
    env = fresh_shell_env()
    bare = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", "command -v nba-mlops"],
        env=env,
        cwd=checkout_after_make_up,
        capture_output=True,
        text=True,
        check=False,
    )
    assert bare.returncode != 0, "nba-mlops is on the PATH of a new shell: the test proves nothing"
    for lines in blocks:
        # One shell per block, as a person types it: a line that fails stops the block.
        script = "set -euo pipefail\n" + "\n".join(f"echo '$ {line}'\n{line}" for line in lines)
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-c", script],
            env=env,
            cwd=checkout_after_make_up,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        if "nba-mlops models list --json" in lines:
            listing = done.stdout.split("$ nba-mlops models list --json\n", 1)[1]
            document = json.JSONDecoder().raw_decode(listing)[0]
            assert document["champion"] is not None
            assert {v["family"] for v in document["versions"]} == {
                "logistic",
                "random_forest",
                "lightgbm",
            }
