"""The daily "new data" step: carve the next game days out of a large shot file.

Each call writes the shots of the next ``days`` game dates after the newest date in the
store (the earliest dates when the store is empty) into the incoming folder, as a CSV in
the source's own layout, for ``ingest`` to pick up. Shots already stored or already
delivered to the incoming folder (waiting, processed or refused) are never carved again.
Once the dated shots are used up, shots without a date follow, a game at a time per
"day", in game id order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from nba_mlops.config import Settings
from nba_mlops.data.ingest import ShotFileError, ShotSource, open_source, read_source
from nba_mlops.data.store import ShotStore, shot_keys
from nba_mlops.data.validation import coerce_date, coerce_integer
from nba_mlops.log import get_logger, stage

logger = get_logger(__name__)


@dataclass
class SimulateReport:
    """What one simulated day delivered, or that the source is used up."""

    source: Path
    path: Path | None = None
    rows: int = 0
    dates: list[dt.date] = field(default_factory=list)
    game_ids: list[int] = field(default_factory=list)
    remaining_rows: int = 0

    @property
    def nothing_left(self) -> bool:
        return self.path is None

    def summary(self) -> str:
        """One line for the end of the command."""
        if self.path is None:
            return f"nothing left to simulate in {self.source.name}: every shot is delivered"
        if self.dates:
            span = self.dates[0].isoformat()
            if len(self.dates) > 1:
                span += f" to {self.dates[-1].isoformat()}"
            what = f"{len(self.dates)} game date{'s' if len(self.dates) > 1 else ''} ({span})"
        else:
            what = f"{len(self.game_ids)} undated game{'s' if len(self.game_ids) > 1 else ''}"
        return (
            f"wrote {self.rows:,} shots of {what} to {self.path}; "
            f"{self.remaining_rows:,} shots left in {self.source.name}"
        )


def _columns(source: ShotSource, table: pa.Table, *names: str) -> list[pa.ChunkedArray]:
    source_of = {canonical: name for name, canonical in source.mapping.items()}
    return [table.column(source_of[name]) for name in names]


def _ids_of(
    source: ShotSource, table: pa.Table
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Game ids and shot keys of a source table (game id 0 where unreadable)."""
    games, events = (
        np.asarray(pc.fill_null(coerce_integer(c)[0], 0).to_numpy(), dtype=np.int64)
        for c in _columns(source, table, "game_id", "game_event_id")
    )
    return games, shot_keys(games, events)


def delivered_keys(settings: Settings) -> npt.NDArray[np.int64]:
    """Keys of every shot file in the incoming folder, processed and refused ones included."""
    keys = [np.zeros(0, dtype=np.int64)]
    if not settings.incoming_dir.exists():
        return keys[0]
    for path in sorted(settings.incoming_dir.rglob("*")):
        if not path.is_file() or path.name.endswith(".reason.txt") or path.name.startswith("."):
            continue
        try:
            source = open_source(path)
            table, _ = read_source(source)
        except ShotFileError:
            continue
        keys.append(_ids_of(source, table)[1])
    return np.concatenate(keys)


def _write_csv(table: pa.Table, target: Path) -> None:
    temp = target.with_name(f".{target.name}.tmp")
    options = pacsv.WriteOptions(include_header=True, quoting_style="needed")
    pacsv.write_csv(table, temp, write_options=options)
    temp.replace(target)


def free_name(folder: Path, stem: str, incoming: Path | None = None) -> Path:
    """A name in ``folder`` that no file of the incoming folder (waiting or processed)
    has either."""
    incoming = incoming or folder

    def taken(name: str) -> bool:
        return any(
            (where / name).exists()
            for where in {folder, incoming, incoming / "processed", folder / "processed"}
        )

    target = folder / f"{stem}.csv"
    number = 1
    while taken(target.name):
        number += 1
        target = folder / f"{stem}-{number}.csv"
    return target


def simulate_next_batch(
    settings: Settings, source: Path, days: int = 1, *, folder: Path | None = None
) -> SimulateReport:
    """Write the next ``days`` game days of not-yet-delivered shots into the incoming
    folder, or into ``folder`` (under it: the daily loop scores a day's shots in a hidden
    staging folder before the file lands where an ingest would take it)."""
    if days < 1:
        raise ValueError("days must be at least 1")
    source = Path(source)
    report = SimulateReport(source=source)
    with stage(logger, f"simulate {days} day(s) from {source.name}"):
        shot_source = open_source(source)
        table, _ = read_source(shot_source)
        game_ids, keys = _ids_of(shot_source, table)
        (date_values,) = _columns(shot_source, table, "game_date")
        dates = pd.Series(coerce_date(date_values)[0].to_pandas()).astype("datetime64[s]")
        store = ShotStore(settings)
        taken = np.concatenate([store.key_array(), delivered_keys(settings)])
        fresh = ~np.isin(keys, taken) & (game_ids > 0)
        newest = store.read(columns=["game_date"])["game_date"].max()
        undated = fresh & dates.isna().to_numpy()
        dated = fresh & ~undated
        if pd.notna(newest):
            dated &= (dates > newest).to_numpy()
        logger.info(
            "source %s: %d rows, %d not yet delivered, %d dated after %s",
            source.name,
            len(keys),
            int(fresh.sum()),
            int(dated.sum()),
            newest.date() if pd.notna(newest) else "the start",
        )
        if dated.any():
            chosen_dates = np.sort(dates[dated].unique())[:days]
            chosen = dated & dates.isin(chosen_dates).to_numpy()
            report.dates = [pd.Timestamp(d).date() for d in chosen_dates]
            stem = f"shots_{report.dates[0].isoformat()}"
            if len(report.dates) > 1:
                stem += f"_to_{report.dates[-1].isoformat()}"
        else:
            if not undated.any():
                logger.info("nothing left to simulate in %s", source.name)
                return report
            games = np.unique(game_ids[undated])[:days]
            chosen = undated & np.isin(game_ids, games)
            report.game_ids = [int(g) for g in games]
            stem = f"shots_undated_{games[0]}"
            if len(games) > 1:
                stem += f"_to_{games[-1]}"
        folder = folder or settings.incoming_dir
        folder.mkdir(parents=True, exist_ok=True)
        target = free_name(folder, stem, settings.incoming_dir)
        _write_csv(table.filter(pa.array(chosen)), target)
        report.path = target
        report.rows = int(chosen.sum())
        report.remaining_rows = int(((dated | undated) & ~chosen).sum())
        logger.info("simulate: %s", report.summary())
    return report
