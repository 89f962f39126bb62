"""Every ``nba-mlops`` command the README and the docs show names a real command with real
options, synopsis forms included (``models list / promote V / rollback``,
``evaluate [--version V] / --backtest K``): a renamed option or command fails here."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import typer

from nba_mlops.cli import app

REPO = Path(__file__).resolve().parents[2]
DOCUMENTS = [
    REPO / "README.md",
    *sorted((REPO / "docs").glob("*.md")),
    REPO / "web" / "README.md",
    REPO / "deploy" / "README.md",
]
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
SPAN = re.compile(r"`([^`\n]*\bnba-mlops\b[^`\n]*)`")


def documented_commands() -> list[tuple[str, str]]:
    """(document, command line) for every ``nba-mlops`` invocation shown in code."""
    found = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        blocks = FENCE.findall(text)
        lines = [line for block in blocks for line in block.splitlines()]
        lines += SPAN.findall(FENCE.sub("", text))
        for line in lines:
            start = line.find("nba-mlops ")
            if start < 0 or (start > 0 and line[start - 1] not in " =(`"):
                continue
            command = line[start:].split(" #", 1)[0].strip().rstrip(",.;:)")
            found.append((path.relative_to(REPO).as_posix(), command))
    return found


def _resolve(group: Any, words: list[str]) -> tuple[Any, list[str], Any]:
    """The command ``words`` lead to, the words left for it, and the group it is in
    (Typer's command objects: a group is one with ``commands``)."""
    command = group
    parent = group
    while words and words[0] in getattr(command, "commands", {}):
        parent = command
        command = command.commands[words.pop(0)]
    return command, words, parent


def _check(command: Any, words: list[str], shown: str) -> None:
    """Every option is the command's; a positional word needs an argument to take it."""
    options = {opt: param for param in command.params for opt in param.opts}
    flags = {opt for param in command.params for opt in param.secondary_opts}
    takes_arguments = any(param.param_type_name == "argument" for param in command.params)
    words = list(words)
    while words:
        word = words.pop(0)
        name = word.split("=", 1)[0]
        if word.startswith("--"):
            assert name in options or name in flags or name == "--help", (
                f"`{shown}`: {command.name} has no {name}"
            )
            param = options.get(name)
            if param is not None and not param.is_flag and "=" not in word and words:
                words.pop(0)  # the option's value
        else:
            assert takes_arguments, f"`{shown}`: {command.name} takes no argument {word!r}"


def test_the_docs_show_commands() -> None:
    shown = documented_commands()
    assert len(shown) > 40
    assert any(doc == "README.md" for doc, _ in shown)


@pytest.mark.parametrize(("document", "shown"), documented_commands())
def test_documented_command_exists_with_its_options(document: str, shown: str) -> None:
    root = typer.main.get_command(app)
    text = shown.replace("[", " ").replace("]", " ")
    alternatives = [part.strip() for part in text.split(" / ")]
    first = shlex.split(alternatives[0])
    assert first[0] == "nba-mlops"
    command, rest, parent = _resolve(root, first[1:])
    is_group = hasattr(command, "commands")
    assert not (is_group and rest and not rest[0].startswith("-")), (
        f"{document}: `{shown}`: {command.name} has no command {rest[0]!r}"
    )
    _check(command, rest, shown)
    for alternative in alternatives[1:]:
        words = shlex.split(alternative)
        if words and words[0] in parent.commands:  # a sibling: `features refresh / show`
            sibling, rest, _ = _resolve(parent, words)
            _check(sibling, rest, shown)
        else:  # other arguments of the same command: `ingest [FILES] / --sample`
            _check(command, words, shown)
