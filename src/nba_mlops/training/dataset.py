"""The training set: every stored shot with its point-in-time context, in time order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pandas as pd

from nba_mlops.config import Settings
from nba_mlops.data.schema import TRAINING_COLUMNS
from nba_mlops.data.store import ShotStore
from nba_mlops.features.columns import (
    CONTEXT_COLUMNS,
    LEAGUE_COLUMNS,
    SEQUENCE_COLUMNS,
    SKILL_COLUMNS,
    TEAM_COLUMNS,
)
from nba_mlops.features.history import shot_order
from nba_mlops.features.serving import to_model_frame
from nba_mlops.features.snapshots import context_for

# What a caller may not know, by how much they send (the quality report shows each):
# without a game id the game so far is unknown; without a player (and teams) the
# shooter and the teams are too. The league's expected rate is always known.
UNKNOWN_WITHOUT_GAME: Final = SEQUENCE_COLUMNS
UNKNOWN_WITHOUT_CONTEXT: Final = SKILL_COLUMNS + TEAM_COLUMNS + SEQUENCE_COLUMNS
assert set(CONTEXT_COLUMNS) == set(LEAGUE_COLUMNS + UNKNOWN_WITHOUT_CONTEXT)


def with_context(settings: Settings, shots: pd.DataFrame) -> pd.DataFrame:
    """``shots`` in time order with their context columns (from the store's history)."""
    context = context_for(settings, shots)
    frame = pd.concat([shots, context], axis=1)
    return frame.iloc[shot_order(frame)].reset_index(drop=True)


def load_shots(
    settings: Settings, seasons: Sequence[int] | None = None
) -> tuple[pd.DataFrame, str]:
    """Every stored shot (or those of ``seasons``) with its context, in time order, and
    the store's data version."""
    store = ShotStore(settings)
    labels = None
    if seasons is not None:
        wanted = set(seasons)
        labels = [s for s in store.seasons() if int(s[:4]) in wanted]
    shots = store.read(columns=list(TRAINING_COLUMNS), seasons=labels)
    if shots.empty:
        raise LookupError(
            f"the shot store under {settings.shots_dir} is empty: run `nba-mlops ingest` first"
        )
    return with_context(settings, shots), store.data_version().hash


def model_input(shots: pd.DataFrame, unknown: Sequence[str] = ()) -> pd.DataFrame:
    """The frame the saved pipeline takes, with the ``unknown`` context columns blanked
    (as a caller who does not send what they rest on gets them)."""
    frame = to_model_frame(shots)
    if unknown:
        frame.loc[:, list(unknown)] = np.nan
    return frame
