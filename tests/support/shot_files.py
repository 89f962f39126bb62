"""Helpers for the data tests: write real rows, with chosen defects, as shot files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def write_csv(rows: pd.DataFrame, path: Path) -> Path:
    """Write text rows as a CSV (gzipped when the name ends in .gz)."""
    rows.to_csv(path, index=False)
    return path


def files_under(folder: Path) -> list[Path]:
    """Every file below ``folder`` (nothing when it does not exist)."""
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []
