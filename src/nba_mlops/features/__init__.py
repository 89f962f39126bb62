"""The one feature pipeline shared by training and serving.

* :mod:`.context` adds shooter skill and in-game sequence context computed only from
  shots taken before the one being predicted (no label leakage);
* :mod:`.transformers` turns raw shot fields into model features inside the saved
  scikit-learn pipeline, so serving sends raw fields and gets the same features;
* :mod:`.serving` builds the model's input frame from raw shot records.
"""

from nba_mlops.features.columns import (
    CONTEXT_COLUMNS,
    MODEL_INPUT_COLUMNS,
    RAW_INPUT_COLUMNS,
    SEQUENCE_COLUMNS,
    SKILL_COLUMNS,
)

__all__ = [
    "CONTEXT_COLUMNS",
    "MODEL_INPUT_COLUMNS",
    "RAW_INPUT_COLUMNS",
    "SEQUENCE_COLUMNS",
    "SKILL_COLUMNS",
]
