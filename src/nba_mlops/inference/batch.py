"""Batch scoring: any shot file ingestion accepts, scored by the champion in chunks."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from nba_mlops.config import Settings
from nba_mlops.data.ingest import iter_shot_chunks
from nba_mlops.features.serving import to_model_frame
from nba_mlops.inference.compiled import TOLERANCE, compile_model
from nba_mlops.log import get_logger
from nba_mlops.registry import client as registry

logger = get_logger(__name__)


@dataclass(frozen=True)
class BatchReport:
    source: Path
    output: Path
    rejected_output: Path | None
    rows_read: int
    rows_scored: int
    rows_rejected: int
    model_version: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows_scored / self.seconds if self.seconds else float("nan")

    def summary(self) -> str:
        rejected = (
            f", {self.rows_rejected:,} rows could not be scored (see {self.rejected_output})"
            if self.rows_rejected
            else ""
        )
        return (
            f"scored {self.rows_scored:,} of {self.rows_read:,} shots with champion "
            f"v{self.model_version} in {self.seconds:.1f} s "
            f"({self.rows_per_second:,.0f} shots/s) into {self.output}{rejected}"
        )


def load_champion(settings: Settings, version: int | None = None) -> tuple[Any, int]:
    """The champion model (or ``version``) and its version number."""
    client = registry.configure_mlflow(settings)
    if version is None:
        version = registry.champion_version(client, settings.model_name)
        if version is None:
            raise LookupError(
                f"no champion for model {settings.model_name!r} yet: run `nba-mlops train` "
                "or `nba-mlops pipeline` first"
            )
    model = mlflow.sklearn.load_model(f"models:/{settings.model_name}/{version}")
    return model, version


def predict_batch(
    settings: Settings,
    source: Path,
    output: Path,
    *,
    chunk_rows: int = 250_000,
    version: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
    compiled: bool = True,
) -> BatchReport:
    """Score ``source`` into ``output`` (CSV): the input columns plus ``make_probability``,
    ``prediction`` and ``model_version``. Rows that cannot be scored go, with the reason,
    to ``<output stem>.rejected.csv``; nothing is skipped silently.

    With ``compiled`` (the default) a LightGBM champion's trees are compiled to native
    code first (see ``inference.compiled``); the first chunk is scored both ways and the
    compiled forest is used only if it gives the model's own probabilities."""
    started = time.perf_counter()
    model, version = load_champion(settings, version)
    scorer: Any = compile_model(model, settings.home / "cache" / "compiled") if compiled else None
    checked = scorer is None
    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(output.name + ".partial")
    rejected_path = output.with_name(output.stem + ".rejected.csv")
    rows_read = rows_scored = rows_rejected = 0
    writer: pa_csv.CSVWriter | None = None
    schema: pa.Schema | None = None
    rejected_first = True
    try:
        for chunk in iter_shot_chunks(source, chunk_rows=chunk_rows, require_label=False):
            rows_read += len(chunk.raw)
            if len(chunk.shots):
                frame = to_model_frame(chunk.shots)
                if not checked:
                    checked = True
                    difference = scorer.agrees_with(model, frame.iloc[:2_000])
                    if difference > TOLERANCE:
                        logger.warning(
                            "the compiled forest differs from the model by %.2g: "
                            "scoring with the model itself",
                            difference,
                        )
                        scorer = None
                probability = (scorer or model).predict_proba(frame)[:, 1]
                scored = chunk.raw.loc[chunk.shots.index].copy()
                scored["make_probability"] = np.round(probability, 6)
                scored["prediction"] = (probability >= 0.5).astype("int8")
                scored["model_version"] = version
                # Arrow's CSV writer is several times faster than pandas' for big chunks.
                table = pa.Table.from_pandas(scored, preserve_index=False)
                if writer is None:
                    schema = table.schema
                    writer = pa_csv.CSVWriter(str(partial), schema)
                writer.write_table(table.cast(schema, safe=False))
                rows_scored += len(scored)
            if len(chunk.rejected):
                chunk.rejected.to_csv(
                    rejected_path,
                    mode="w" if rejected_first else "a",
                    header=rejected_first,
                    index=False,
                )
                rejected_first = False
                rows_rejected += len(chunk.rejected)
            if on_chunk:
                on_chunk(len(chunk.raw))
        if writer is None:
            pd.DataFrame(columns=["make_probability", "prediction", "model_version"]).to_csv(
                partial, index=False
            )
        else:
            writer.close()
            writer = None
        partial.replace(output)
    finally:
        if writer is not None:
            writer.close()
        partial.unlink(missing_ok=True)
    report = BatchReport(
        source=source,
        output=output,
        rejected_output=rejected_path if rows_rejected else None,
        rows_read=rows_read,
        rows_scored=rows_scored,
        rows_rejected=rows_rejected,
        model_version=version,
        seconds=time.perf_counter() - started,
    )
    logger.info(report.summary())
    return report
