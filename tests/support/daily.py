"""A trained home whose store stops a few game days before the bundled sample's end, so
that the daily loop has real days to predict and then ingest."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from sqlalchemy import select

from nba_mlops.config import Settings, bundled_sample_path
from nba_mlops.db.models import Prediction
from nba_mlops.db.session import Database


def last_game_dates(days: int) -> list[str]:
    sample = pd.read_csv(bundled_sample_path(), dtype=str, keep_default_na=False)
    return sorted(d for d in sample["Game Date"].unique() if d)[-days:]


def cut_last_days(settings: Settings, days: int, folder: Path) -> Path:
    """Empty the store, the shot history and the application database of ``settings``
    (a copy of the trained home: its champion stays), and ingest the bundled sample
    without its last ``days`` game dates (which publishes the online table). Returns the
    whole sample, the source the days are simulated from."""
    from nba_mlops.pipeline import run_ingest

    shutil.rmtree(settings.store_dir, ignore_errors=True)
    shutil.rmtree(settings.incoming_dir, ignore_errors=True)
    (settings.home / "app.db").unlink(missing_ok=True)
    settings.ensure_dirs()
    sample = pd.read_csv(bundled_sample_path(), dtype=str, keep_default_na=False)
    before = folder / "sample_before_the_last_days.csv"
    sample[~sample["Game Date"].isin(last_game_dates(days))].to_csv(before, index=False)
    run_ingest(settings, [before])
    return bundled_sample_path()


def daily_predictions(settings: Settings) -> list[Prediction]:
    """Every prediction the daily loop stored, oldest first."""
    db = Database(settings)
    try:
        with db.session() as session:
            return list(
                session.scalars(
                    select(Prediction).where(Prediction.origin == "daily").order_by(Prediction.id)
                )
            )
    finally:
        db.dispose()


def outcomes(settings: Settings) -> dict[int, tuple[int | None, str | None, object]]:
    """Every prediction's outcome, where it came from (``data``, ``user``) and when."""
    from nba_mlops.db.verification import OUTCOME, OUTCOME_AT, OUTCOME_SOURCE, with_outcomes

    db = Database(settings)
    try:
        with db.session() as session:
            rows = session.execute(
                with_outcomes(select(Prediction.id, OUTCOME, OUTCOME_SOURCE, OUTCOME_AT))
            ).all()
    finally:
        db.dispose()
    return {int(i): (outcome, source, at) for i, outcome, source, at in rows}
