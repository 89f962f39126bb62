"""docs/architecture.md stays true: its list of layers is the import-linter contract in
pyproject.toml, every package of that contract has its row, and every name a row says
the other packages use exists where the row says."""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PAGE = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")
CONTRACT = next(
    contract
    for contract in tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"][
        "importlinter"
    ]["contracts"]
    if contract["id"] == "layers"
)
NAME = re.compile(r"`([A-Za-z_][A-Za-z0-9_.]*)`")


def page_layers() -> list[str]:
    block = re.search(r"^```text\n(.*?)^```", PAGE, re.MULTILINE | re.DOTALL)
    assert block, "docs/architecture.md lost its list of layers"
    return [line.strip() for line in block.group(1).splitlines() if line.strip()]


def page_rows() -> dict[str, list[str]]:
    """Each package's row: the names it offers the others."""
    rows = {}
    for line in PAGE.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and (package := NAME.fullmatch(cells[0])):
            rows[package.group(1)] = NAME.findall(cells[2])
    return rows


def resolve(package: str, dotted: str) -> Any:
    """``dotted`` inside ``nba_mlops.<package>``: modules as far as they go, then attributes."""
    parts = dotted.split(".")
    for split in range(len(parts), -1, -1):
        module_name = ".".join(["nba_mlops", package, *parts[:split]])
        try:
            found: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and module_name.startswith(exc.name):
                continue
            raise
        for attribute in parts[split:]:
            found = getattr(found, attribute)
        return found
    raise AssertionError(f"{package}: {dotted} is not there")


def test_the_pages_layers_are_the_enforced_contract() -> None:
    assert page_layers() == [" ".join(layer.split()) for layer in CONTRACT["layers"]]


def test_every_package_of_the_contract_has_its_row_and_no_other() -> None:
    packages = {
        name for layer in CONTRACT["layers"] for name in re.split(r"\s*[|:]\s*", layer.strip())
    }
    assert set(page_rows()) == packages


def test_every_name_a_package_offers_exists() -> None:
    missing = []
    for package, names in page_rows().items():
        for name in names:
            try:
                resolve(package, name)
            except (AttributeError, AssertionError, ImportError):
                missing.append(f"{package}: {name}")
    assert not missing, f"docs/architecture.md names what is not there: {missing}"
