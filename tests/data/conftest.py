"""Fixtures for the data tests: an isolated home and real rows from the bundled sample."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from nba_mlops.config import Settings, bundled_sample_path

RowsFactory = Callable[[int], pd.DataFrame]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home")


@pytest.fixture(scope="session")
def sample_text() -> pd.DataFrame:
    """The bundled sample exactly as written: every cell as text, blanks as ''."""
    return pd.read_csv(bundled_sample_path(), dtype=str, keep_default_na=False)


@pytest.fixture
def kaggle_rows(sample_text: pd.DataFrame) -> RowsFactory:
    """The first ``n`` real sample rows (Kaggle layout, text cells), a private copy."""

    def make(n: int = 200) -> pd.DataFrame:
        return sample_text.head(n).copy().reset_index(drop=True)

    return make
