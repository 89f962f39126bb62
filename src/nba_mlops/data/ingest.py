"""Ingestion: read a shot file, refuse it or repair and validate its rows, store the new ones.

A file that is not a shot file at all (empty, binary, not UTF-8, conflict markers, header
only, required columns missing) raises :class:`ShotFileError` before anything is written.
Otherwise every row either enters the store (repaired, deduplicated on
``game_id + game_event_id``) or the quarantine, with the reason it was rejected.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import re
import shutil
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter
from typing import Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from nba_mlops.config import Settings
from nba_mlops.data.repair import REPAIR_KINDS, repair_shots
from nba_mlops.data.schema import (
    GAME_EVENT_ID,
    GAME_ID,
    REQUIRED_COLUMNS,
    STORE_COLUMNS,
    TARGET,
    detect_layout,
    missing_required_columns,
)
from nba_mlops.data.store import DataVersion, ShotStore, file_sha256, keys_in, shot_keys
from nba_mlops.data.validation import coerce_table, row_reasons, to_store_dtypes
from nba_mlops.log import get_logger, stage

logger = get_logger(__name__)

ProgressCallback = Callable[[str, float], None]
"""Called with the stage being entered and the fraction of the file's work done."""

_SNIFF_BYTES: Final = 1 << 16
_CONFLICT_MARKER: Final = re.compile(r"^(<{7}|={7}|>{7})(\s.*)?$", re.MULTILINE)
_CSV_BLOCK_BYTES: Final = 4 << 20


class ShotFileError(ValueError):
    """A file that is not a shot file at all; the message names the file and the problem."""


@dataclass(frozen=True)
class ShotSource:
    """A file recognised as a shot file: its format, header and layout."""

    path: Path
    kind: Literal["csv", "parquet"]
    compression: Literal["gzip"] | None
    columns: list[str]
    layout: str
    mapping: dict[str, str]


@dataclass(frozen=True)
class MalformedLine:
    """A CSV line with the wrong number of fields (skipped by the reader)."""

    number: int | None
    text: str
    fields: int
    expected: int

    @property
    def reason(self) -> str:
        where = f"line {self.number}" if self.number is not None and self.number > 0 else "line"
        return (
            f"malformed {where}: {self.fields} fields, expected {self.expected} "
            f"({self.text[:60]!r})"
        )


# --- recognising a shot file ------------------------------------------------------------------
def _refuse(path: Path, problem: str) -> ShotFileError:
    return ShotFileError(f"{path}: {problem}")


def _head(path: Path) -> tuple[bytes, bytes, bool]:
    """Raw first bytes, first bytes of the content (decompressed), and whether that is all."""
    with path.open("rb") as handle:
        raw = handle.read(_SNIFF_BYTES)
    if not raw.startswith(b"\x1f\x8b"):
        return raw, raw, len(raw) < _SNIFF_BYTES
    try:
        with gzip.open(path, "rb") as handle:
            content = handle.read(_SNIFF_BYTES)
            complete = len(content) < _SNIFF_BYTES
    except (OSError, EOFError, zlib.error) as error:
        raise _refuse(path, f"is not a readable gzip file ({error})") from error
    return raw, content, complete


def _text_problem(content: bytes, complete: bool) -> str | None:
    if not content.strip():
        return "is empty"
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "is UTF-16 text, not UTF-8; save it as UTF-8"
    controls = sum(1 for b in content[:4096] if b < 9 or 13 < b < 32)
    if b"\x00" in content or controls > len(content[:4096]) // 10:
        return "has binary content; it is neither a CSV nor a Parquet file"
    try:
        text = content.decode("utf-8") if complete else _decode_prefix(content)
    except UnicodeDecodeError as error:
        byte = content[error.start]
        return f"is not UTF-8 text (byte 0x{byte:02x} at offset {error.start}); save it as UTF-8"
    marker = _CONFLICT_MARKER.search(text)
    if marker:
        line = text.count("\n", 0, marker.start()) + 1
        return (
            f"contains git conflict markers (line {line}: {marker.group(0)[:40]!r}); "
            "resolve the merge first"
        )
    return None


def _decode_prefix(content: bytes) -> str:
    # The sniffed prefix may end inside a multi-byte character: drop that partial tail.
    return codecs.getincrementaldecoder("utf-8")().decode(content, final=False)


def _layout(path: Path, columns: list[str], required: Sequence[str]) -> tuple[str, dict[str, str]]:
    found = detect_layout(columns, required)
    if found is None:
        layout, missing = missing_required_columns(columns, required)
        raise _refuse(
            path,
            f"is not a shot file: missing required columns {', '.join(missing)} "
            f"(closest layout: {layout}; columns found: {', '.join(columns[:12]) or 'none'})",
        )
    return found


def _required(require_label: bool) -> tuple[str, ...]:
    return REQUIRED_COLUMNS if require_label else tuple(c for c in REQUIRED_COLUMNS if c != TARGET)


def open_source(path: Path | str, *, require_label: bool = True) -> ShotSource:
    """Recognise a shot file (CSV, gzipped CSV or Parquet) or raise :class:`ShotFileError`."""
    path = Path(path)
    if path.is_dir():
        raise _refuse(path, "is a folder, not a shot file")
    if not path.is_file():
        if path.exists():  # a pipe, a socket or a device: read once, or never ends
            raise _refuse(path, "is not a regular file (save what it gives to a file first)")
        raise _refuse(path, "no such file")
    if path.stat().st_size == 0:
        raise _refuse(path, "is empty")
    raw, content, complete = _head(path)
    required = _required(require_label)
    if raw.startswith(b"PAR1"):
        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowException, OSError) as error:
            raise _refuse(path, f"is not a readable Parquet file ({error})") from error
        columns = list(parquet.schema_arrow.names)
        layout, mapping = _layout(path, columns, required)
        if parquet.metadata.num_rows == 0:
            raise _refuse(path, "has the shot columns but no rows (header only)")
        return ShotSource(path, "parquet", None, columns, layout, mapping)
    problem = _text_problem(content, complete)
    if problem:
        raise _refuse(path, problem)
    text = content.decode("utf-8", errors="ignore").removeprefix("\ufeff")
    lines = text.splitlines()
    columns = next(csv.reader([lines[0]]))
    layout, mapping = _layout(path, columns, required)
    if complete and not any(line.strip() for line in lines[1:]):
        raise _refuse(path, "has a header but no rows (header only)")
    compression: Literal["gzip"] | None = "gzip" if raw.startswith(b"\x1f\x8b") else None
    return ShotSource(path, "csv", compression, columns, layout, mapping)


# --- reading ------------------------------------------------------------------------------------
def _csv_options(
    source: ShotSource, malformed: list[MalformedLine]
) -> tuple[pacsv.ReadOptions, pacsv.ParseOptions, pacsv.ConvertOptions]:
    def skip(row: pacsv.InvalidRow) -> str:
        malformed.append(
            MalformedLine(row.number, row.text, row.actual_columns, row.expected_columns)
        )
        return "skip"

    return (
        pacsv.ReadOptions(block_size=_CSV_BLOCK_BYTES),
        pacsv.ParseOptions(invalid_row_handler=skip),
        # Every column as text: the canonical coercion decides what a value means.
        pacsv.ConvertOptions(
            column_types={c: pa.string() for c in source.columns},
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )


def _check_malformed(source: ShotSource, malformed: Sequence[MalformedLine]) -> None:
    for line in malformed:
        if _CONFLICT_MARKER.match(line.text.strip()):
            where = f" (line {line.number})" if line.number and line.number > 0 else ""
            raise _refuse(
                source.path,
                f"contains git conflict markers{where}: {line.text[:40]!r}; "
                "resolve the merge first",
            )


def _read_error(source: ShotSource, error: Exception) -> ShotFileError:
    message = str(error)
    if "utf8" in message.lower() or "utf-8" in message.lower():
        return _refuse(source.path, f"is not UTF-8 text ({message}); save it as UTF-8")
    return _refuse(source.path, f"cannot be read as CSV ({message})")


def read_source(source: ShotSource) -> tuple[pa.Table, list[MalformedLine]]:
    """The whole file as read (CSV columns as text), and the lines that were malformed."""
    if source.kind == "parquet":
        return pq.read_table(source.path), []
    malformed: list[MalformedLine] = []
    read, parse, convert = _csv_options(source, malformed)
    try:
        with pa.input_stream(str(source.path), compression=source.compression) as stream:
            table = pacsv.read_csv(stream, read, parse, convert)
    except (pa.ArrowInvalid, OSError, EOFError, zlib.error) as error:
        raise _read_error(source, error) from error
    _check_malformed(source, malformed)
    if table.num_rows == 0:
        problem = "has a header but no rows (header only)"
        raise _refuse(source.path, problem if not malformed else "has no readable rows")
    return table, malformed


def _iter_tables(
    source: ShotSource, chunk_rows: int
) -> Iterator[tuple[pa.Table, list[MalformedLine]]]:
    if source.kind == "parquet":
        parquet = pq.ParquetFile(source.path)
        for batch in parquet.iter_batches(batch_size=chunk_rows):
            yield pa.Table.from_batches([batch]), []
        return
    malformed: list[MalformedLine] = []
    read, parse, convert = _csv_options(source, malformed)
    pending: list[pa.RecordBatch] = []
    pending_rows = 0
    try:
        with pa.input_stream(str(source.path), compression=source.compression) as stream:
            reader = pacsv.open_csv(stream, read, parse, convert)
            for batch in reader:
                pending.append(batch)
                pending_rows += batch.num_rows
                while pending_rows >= chunk_rows:
                    table = pa.Table.from_batches(pending, schema=reader.schema)
                    _check_malformed(source, malformed)
                    yield table.slice(0, chunk_rows), list(malformed)
                    malformed.clear()
                    rest = table.slice(chunk_rows)
                    pending, pending_rows = rest.to_batches(), rest.num_rows
            table = pa.Table.from_batches(pending, schema=reader.schema)
    except (pa.ArrowInvalid, OSError, EOFError, zlib.error) as error:
        raise _read_error(source, error) from error
    _check_malformed(source, malformed)
    if table.num_rows or malformed:
        yield table, list(malformed)


# --- preparing rows -----------------------------------------------------------------------------
@dataclass
class PreparedShots:
    """A table's accepted rows (canonical, repaired) and its rejected rows with reasons."""

    shots: pd.DataFrame
    rejected: pd.DataFrame
    repairs: dict[str, int]
    repaired: int
    validation_seconds: float


def _rejected_frame(rows: Sequence[int | None], reasons: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {"row": pd.array(rows, dtype="Int64"), "reason": pd.Series(reasons, dtype="str")}
    )


def prepare_shots(
    table: pa.Table,
    mapping: dict[str, str],
    *,
    row_offset: int = 0,
    malformed: Sequence[MalformedLine] = (),
    require_label: bool = True,
) -> PreparedShots:
    """Coerce, repair and validate a source table's rows.

    ``shots`` is indexed by the row's position in the file (``row_offset`` + position in
    ``table``); ``rejected`` holds that position (missing for malformed lines) and a reason.
    """
    coerced = coerce_table(table, mapping, require_label=require_label)
    repaired = repair_shots(coerced.frame)
    frame = repaired.frame.loc[:, list(STORE_COLUMNS)]
    started = perf_counter()
    reasons = row_reasons(frame, coerced.problems, require_label=require_label)
    validation_seconds = perf_counter() - started
    rejected_rows = np.zeros(len(frame), dtype=bool)
    rejected_rows[reasons.index.to_numpy()] = True
    shots = to_store_dtypes(frame.loc[~rejected_rows], require_label=require_label)
    shots.index = shots.index + row_offset
    rejected = _rejected_frame(
        [*(reasons.index.to_numpy() + row_offset).tolist(), *[None] * len(malformed)],
        [*reasons.tolist(), *(line.reason for line in malformed)],
    )
    accepted = ~rejected_rows
    return PreparedShots(
        shots=shots,
        rejected=rejected,
        repairs=repaired.counts(accepted),
        repaired=int((repaired.repaired_rows() & accepted).sum()),
        validation_seconds=validation_seconds,
    )


@dataclass
class ShotChunk:
    """A bounded slice of a shot file: raw rows, accepted canonical shots, rejections."""

    raw: pd.DataFrame  # the file's own columns as read, indexed by row position in the file
    shots: pd.DataFrame  # canonical and repaired, same index as ``raw``, accepted rows only
    rejected: pd.DataFrame  # ``row`` (position in the file; missing for malformed lines), reason


@dataclass(frozen=True)
class ShotTable:
    """A bounded slice of a shot file as read: every column as text, not yet prepared."""

    table: pa.Table
    malformed: list[MalformedLine]
    offset: int  # position of the slice's first row in the file

    @property
    def positions(self) -> pd.RangeIndex:
        """The positions of the slice's rows in the file."""
        return pd.RangeIndex(self.offset, self.offset + self.table.num_rows)

    def prepare(self, mapping: dict[str, str], *, require_label: bool) -> PreparedShots:
        """The slice's shots, coerced, repaired and validated (:func:`prepare_shots`),
        indexed and numbered by their rows' positions in the file."""
        return prepare_shots(
            self.table,
            mapping,
            row_offset=self.offset,
            malformed=self.malformed,
            require_label=require_label,
        )


def iter_shot_tables(
    path: Path | str, chunk_rows: int = 200_000, *, require_label: bool = True
) -> tuple[ShotSource, Iterator[ShotTable]]:
    """Open a shot file (refusing non-shot files up front) and stream its raw slices of
    at most ``chunk_rows`` rows (1 or more); ``slice.prepare(source.mapping, ...)`` turns
    one into shots."""
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be 1 or more, not {chunk_rows}")
    source = open_source(path, require_label=require_label)

    def slices() -> Iterator[ShotTable]:
        offset = 0
        seen_rows = False
        for table, malformed in _iter_tables(source, chunk_rows):
            seen_rows = seen_rows or table.num_rows > 0
            yield ShotTable(table, malformed, offset)
            offset += table.num_rows
        if not seen_rows:
            raise _refuse(source.path, "has a header but no rows (header only)")

    return source, slices()


def iter_shot_chunks(
    path: Path | str, chunk_rows: int = 200_000, *, require_label: bool = True
) -> Iterator[ShotChunk]:
    """Stream a shot file in chunks of at most ``chunk_rows`` rows, in bounded memory.

    Refuses non-shot files like ingestion does (:class:`ShotFileError`); conflict markers
    deep in a file are only found when the stream reaches them. With ``require_label``
    false the outcome column may be absent or empty (shots to predict).
    """
    source, slices = iter_shot_tables(path, chunk_rows, require_label=require_label)
    for piece in slices:
        prepared = piece.prepare(source.mapping, require_label=require_label)
        raw = piece.table.to_pandas()
        raw.index = piece.positions
        yield ShotChunk(raw=raw, shots=prepared.shots, rejected=prepared.rejected)


# --- ingestion into the store -------------------------------------------------------------------
@dataclass
class IngestReport:
    """What one file's ingestion did (or why the file was refused)."""

    source: Path
    data_version: DataVersion
    layout: str = ""
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    rows_duplicate: int = 0
    rows_new: int = 0
    rows_repaired: int = 0
    repairs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REPAIR_KINDS, 0))
    new_by_season: dict[str, int] = field(default_factory=dict)
    quarantine_path: Path | None = None
    seconds: float = 0.0
    validation_seconds: float = 0.0
    refused: str | None = None
    # Predictions of this file's shots that got their outcome from it (``db.verification``),
    # or why that could not be done (the shots are stored all the same).
    predictions_verified: int = 0
    verification_error: str | None = None

    def summary(self) -> str:
        """One line about this file."""
        return summarise([self])


def _quarantine(
    settings: Settings, source: ShotSource, table: pa.Table, rejected: pd.DataFrame, sha: str
) -> Path:
    """Write rejected rows (source file, row, reason, raw values) next to earlier ones."""
    rows = rejected["row"]
    known = rows.notna().to_numpy()
    positions = rows[known].to_numpy(dtype=np.int64)
    raw = table.take(pa.array(positions)) if len(positions) else table.slice(0, 0)
    raw_text = pa.table(
        {
            (name or f"unnamed_{i}"): raw.column(i).cast(pa.large_string())
            for i, name in enumerate(raw.column_names)
        }
    )
    raw_frame = raw_text.to_pandas().astype("str").set_axis(np.flatnonzero(known))
    frame = pd.DataFrame(
        {
            "source_file": pd.Series(str(source.path), index=rejected.index, dtype="str"),
            "row": rows,
            "reason": rejected["reason"],
        }
    ).join(raw_frame.reindex(rejected.index))
    settings.quarantine_dir.mkdir(parents=True, exist_ok=True)
    # Named by content: quarantining the same file again replaces, never duplicates.
    name = source.path.name.split(".")[0]
    target = settings.quarantine_dir / f"{name}-{sha[:12]}.parquet"
    temp = target.with_name(f".{target.name}.tmp")
    frame.to_parquet(temp, index=False)
    temp.replace(target)
    return target


def ingest_file(
    settings: Settings, path: Path | str, progress: ProgressCallback | None = None
) -> IngestReport:
    """Ingest one shot file into the store; raises :class:`ShotFileError` for non-shot files."""
    path = Path(path)
    started = perf_counter()
    notify = progress or (lambda _stage, _done: None)
    notify("reading", 0.0)
    try:
        source = open_source(path)
        table, malformed = read_source(source)
    except ShotFileError as error:
        logger.error("refused %s", error)
        raise
    with stage(logger, f"ingest {path.name}"):
        rows_read = table.num_rows + len(malformed)
        logger.info(
            "read %s: %d rows, %d columns, %s layout (%.1f s)",
            path.name,
            rows_read,
            table.num_columns,
            source.layout,
            perf_counter() - started,
        )
        notify("validating", 0.35)
        prepared = prepare_shots(table, source.mapping, malformed=malformed)
        logger.info(
            "validated %s: %d accepted, %d rejected, %d repaired %s (validation %.1f s)",
            path.name,
            len(prepared.shots),
            len(prepared.rejected),
            prepared.repaired,
            prepared.repairs,
            prepared.validation_seconds,
        )
        notify("saving", 0.7)
        shots = prepared.shots
        store = ShotStore(settings)
        sha = file_sha256(path)
        with store.lock():
            store.remove_uncommitted()
            keys = shot_keys(shots[GAME_ID].to_numpy(), shots[GAME_EVENT_ID].to_numpy())
            repeated = pd.Series(keys).duplicated().to_numpy()
            seasons = sorted(shots["season"].unique().tolist())
            stored = (
                keys_in(keys, np.sort(store.key_array(seasons))) if seasons else repeated.copy()
            )
            new = shots.loc[~repeated & ~stored]
            quarantine_path = None
            if len(prepared.rejected):
                quarantine_path = _quarantine(settings, source, table, prepared.rejected, sha)
                logger.info("quarantined %d rows in %s", len(prepared.rejected), quarantine_path)
            new_by_season = {str(k): int(v) for k, v in new["season"].value_counts().items()}
            record = {
                "source": str(path),
                "source_sha256": sha,
                "rows_read": rows_read,
                "rows_accepted": len(shots),
                "rows_quarantined": len(prepared.rejected),
                "rows_duplicate": len(shots) - len(new),
                "rows_new": len(new),
                "rows_repaired": prepared.repaired,
                "repairs": prepared.repairs,
            }
            version = store.append(
                new, record, on_part=lambda n, total: notify("saving", 0.7 + 0.3 * n / total)
            )
        notify("verifying predictions", 0.99)
        verified, verification_error = _verify_predictions(settings, shots.loc[~repeated])
        report = IngestReport(
            source=path,
            data_version=version,
            layout=source.layout,
            rows_read=rows_read,
            rows_accepted=len(shots),
            rows_quarantined=len(prepared.rejected),
            rows_duplicate=len(shots) - len(new),
            rows_new=len(new),
            rows_repaired=prepared.repaired,
            repairs=prepared.repairs,
            new_by_season=dict(sorted(new_by_season.items())),
            quarantine_path=quarantine_path,
            seconds=perf_counter() - started,
            validation_seconds=prepared.validation_seconds,
            predictions_verified=verified,
            verification_error=verification_error,
        )
        logger.info("saved %s: %s", path.name, summarise([report]))
        notify("done", 1.0)
    return report


def _verify_predictions(settings: Settings, shots: pd.DataFrame) -> tuple[int, str | None]:
    """Right after the store committed the file: record the outcome of its shots on the
    predictions made of them (``nba_mlops.db.verification``). A database that does not
    answer does not undo the ingest: the reason is reported, and ``nba-mlops verify``
    catches up from the store later."""
    from nba_mlops.db.verification import verify_after_ingest

    try:
        done = verify_after_ingest(
            settings,
            shots[GAME_ID].to_numpy(),
            shots[GAME_EVENT_ID].to_numpy(),
            shots[TARGET].to_numpy(),
        )
    except Exception as exc:
        logger.warning("could not verify predictions from %d shots: %s", len(shots), exc)
        return 0, (
            f"predictions not verified ({type(exc).__name__}: {str(exc).splitlines()[0][:200]}); "
            "run `nba-mlops verify` once the database answers"
        )
    if done is None:
        return 0, None
    if done.verified:
        logger.info("%s in %.2f s", done.summary(), done.seconds)
    return done.verified, None


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    if target.exists():
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
        target = folder / f"{path.stem}-{stamp}{path.suffix}"
    shutil.move(path, target)
    return target


def incoming_files(settings: Settings) -> list[Path]:
    """Files waiting in the incoming folder (hidden files are still being written)."""
    if not settings.incoming_dir.exists():
        return []
    return sorted(
        p for p in settings.incoming_dir.iterdir() if p.is_file() and not p.name.startswith(".")
    )


def ingest_incoming(
    settings: Settings, progress: Callable[[Path], ProgressCallback] | None = None
) -> list[IngestReport]:
    """Ingest every file in the incoming folder, oldest name first.

    Ingested files move to ``incoming/processed/``; refused ones to ``incoming/refused/``
    with a ``<name>.reason.txt`` beside them (their reports carry ``refused``).
    """
    reports = []
    for path in incoming_files(settings):
        try:
            report = ingest_file(settings, path, progress(path) if progress else None)
        except ShotFileError as error:
            target = _move(path, settings.incoming_dir / "refused")
            target.with_name(f"{target.name}.reason.txt").write_text(f"{error}\n", "utf-8")
            version = ShotStore(settings).data_version()
            reports.append(IngestReport(source=path, data_version=version, refused=str(error)))
            continue
        _move(path, settings.incoming_dir / "processed")
        reports.append(report)
    return reports


def summarise(reports: Sequence[IngestReport], version: DataVersion | None = None) -> str:
    """One line for the end of an ingestion."""
    done = [r for r in reports if r.refused is None]
    refused = len(reports) - len(done)
    version = version or (reports[-1].data_version if reports else None)
    files = f"{len(done):,} file{'s' if len(done) != 1 else ''}"
    line = (
        f"ingested {sum(r.rows_read for r in done):,} rows from {files}: "
        f"{sum(r.rows_new for r in done):,} new, "
        f"{sum(r.rows_duplicate for r in done):,} duplicates, "
        f"{sum(r.rows_quarantined for r in done):,} quarantined, "
        f"{sum(r.rows_repaired for r in done):,} repaired"
    )
    if refused:
        line += f"; {refused} file{'s' if refused != 1 else ''} refused"
    verified = sum(r.predictions_verified for r in done)
    if verified:
        line += f"; {verified:,} prediction{'' if verified == 1 else 's'} verified from the data"
    errors = [r.verification_error for r in done if r.verification_error]
    if errors:
        line += f"; {errors[-1]}"
    if version is not None:
        line += f"; store now {version.rows:,} rows (data version {version.short})"
    return line
