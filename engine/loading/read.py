"""Reading input files as text: every column a string, every row numbered.

Reading everything as text first is what lets validation say exactly which cell is wrong: no
type inference, no silent float, no row lost to a parser. ``source_line`` is the row's line in a
CSV file (the header is line 1) or its 1-based row number in a Parquet file.

A table may be one ``.csv`` file, one ``.parquet`` file, or a directory of Parquet parts
(``transactions/part-*.parquet``, as written by ``icm synth`` at large scales). PyArrow, which
reads the Parquet files, is imported only when one is read (a CSV-only run never loads it).
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from engine.errors import EngineError, Finding, Reason
from engine.loading.mapping import TableMapping, resolve_inside

if TYPE_CHECKING:
    import pyarrow as pa

LINE = "source_line"
SUFFIXES = (".csv", ".parquet")
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class RawTable:
    """One table read as text.

    Attributes:
        name: the contract table name.
        file: the file (or directory) name shown in findings, relative to the data directory.
        frame: every source column as ``Utf8`` (blank cells null, values stripped), plus
            ``source_line``.
        sha256: content hash of the file (of all parts, in name order, for a directory).
        malformed: rows that could not be split into the header's fields (a finding each);
            they count as read and rejected.
    """

    name: str
    file: str
    frame: pl.DataFrame
    sha256: str
    malformed: pl.DataFrame = field(default_factory=lambda: _malformed_frame([]))


def locate(data_dir: Path, table: str, mapping: TableMapping, source: str) -> Path | None:
    """The path holding ``table`` in ``data_dir``, or None when there is none."""
    if mapping.file is not None:
        path = resolve_inside(data_dir, mapping.file, source)
        return path if path.exists() else None
    for suffix in SUFFIXES:
        path = data_dir / f"{table}{suffix}"
        if path.is_file():
            return path
    part_dir = data_dir / table
    if part_dir.is_dir() and any(part_dir.glob("*.parquet")):
        return part_dir
    return None


def file_sha256(path: Path) -> str:
    """sha256 of a file, or of a directory's Parquet parts in name order."""
    digest = hashlib.sha256()
    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    for f in files:
        with f.open("rb") as handle:
            while chunk := handle.read(_HASH_CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def read_table(table: str, path: Path, display: str, mapping: TableMapping) -> RawTable:
    """Read ``path`` as text and rename mapped columns onto contract names.

    Raises:
        EngineError: ``FILE_EMPTY``, ``BAD_ENCODING`` or ``FILE_UNREADABLE`` for the whole file.
    """
    malformed = _malformed_frame([])
    if path.is_dir() or path.suffix.lower() == ".parquet":
        frame = _read_parquet(path, display, mapping)
    else:
        frame, malformed = _read_csv(path, display, mapping.delimiter)
        frame = _normalise(frame, mapping)
    return RawTable(table, display, frame, file_sha256(path), malformed)


def _read_csv(path: Path, display: str, delimiter: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Read a CSV file as text.

    The fast path is Polars' reader. When the file has blank lines, quoted cells holding line
    breaks, or rows Polars cannot split, the careful path (Python's ``csv`` module) reads it
    record by record: blank lines are skipped, every record gets the line it starts on, and a row
    with the wrong number of fields becomes a ``ROW_MALFORMED`` finding while the others go on.
    """
    data = path.read_bytes()
    if not data.strip():
        raise EngineError.single(Reason.FILE_EMPTY, "the file is empty", file=display)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise EngineError.single(
            Reason.BAD_ENCODING,
            f"byte 0x{data[exc.start]:02x} is not valid UTF-8",
            file=display,
            line=line,
        ) from None
    # Windows (CRLF) and old Mac (lone CR) line endings both read as line breaks
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    header_line = text.split("\n", 1)[0]
    names = [h.strip() for h in next(csv.reader([header_line], delimiter=delimiter), [])]
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise EngineError.single(
            Reason.FILE_UNREADABLE,
            f"the header names a column twice: {', '.join(twice)}",
            file=display,
            line=1,
        )
    frame = _polars_csv(text, delimiter) if _simple_csv(text, delimiter, len(names)) else None
    if frame is not None:
        malformed = _malformed_frame([])
        frame = frame.with_columns(pl.int_range(2, frame.height + 2, dtype=pl.Int64).alias(LINE))
    else:
        frame, malformed = _careful_csv(text, delimiter, display)
    if frame.height == 0 and malformed.height == 0:
        raise EngineError.single(Reason.FILE_EMPTY, "the file has no data rows", file=display)
    return frame, malformed


def _simple_csv(text: str, delimiter: str, fields: int) -> bool:
    """True when Polars' reader gives one row per line with the header's fields.

    That is: no quotes, no blank lines, and ``fields - 1`` delimiters on every line. Polars
    refuses a row with too many fields, so with none too long, the total count of delimiters
    proves that none is too short either: no per-line pass is needed.
    """
    body = text.rstrip("\n")
    if '"' in text or "\n\n" in body or text.endswith("\n\n"):
        return False
    lines = body.count("\n") + 1
    return body.count(delimiter) == (fields - 1) * lines


def _polars_csv(text: str, delimiter: str) -> pl.DataFrame | None:
    try:
        return pl.read_csv(
            text.encode("utf-8"), infer_schema=False, separator=delimiter, quote_char='"'
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError):
        return None


def _careful_csv(text: str, delimiter: str, display: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    reader = csv.reader(
        io.StringIO(text, newline=""), delimiter=delimiter, quotechar='"', strict=True
    )
    header: list[str] | None = None
    rows: list[list[str]] = []
    row_lines: list[int] = []
    bad: list[tuple[int, int]] = []
    previous_end = 0
    try:
        for record in reader:
            start, previous_end = previous_end + 1, reader.line_num
            if not record or (all(not cell.strip() for cell in record) and len(record) <= 1):
                continue
            if header is None:
                header = record
            elif len(record) != len(header):
                bad.append((start, len(record)))
            else:
                rows.append(record)
                row_lines.append(start)
    except csv.Error as exc:
        raise EngineError.single(
            Reason.FILE_UNREADABLE,
            f"not a readable CSV file: {exc} (in the record starting on this line)",
            file=display,
            line=previous_end + 1,
        ) from None
    if header is None:
        raise EngineError.single(Reason.FILE_EMPTY, "the file has no header", file=display)
    names = [h.strip() for h in header]
    frame = pl.DataFrame(
        {name: [r[i] for r in rows] for i, name in enumerate(names)},
        schema=dict.fromkeys(names, pl.Utf8),
    ).with_columns(pl.Series(LINE, row_lines, dtype=pl.Int64))
    return frame, _malformed_frame(
        [
            {
                "file": display,
                "line": line,
                "column": None,
                "reason": Reason.ROW_MALFORMED.value,
                "message": f"the row has {count} fields; the header has {len(names)}",
                "value": None,
                "hint": None,
            }
            for line, count in bad
        ]
    )


_MALFORMED_SCHEMA = {
    "file": pl.Utf8,
    "line": pl.Int64,
    "column": pl.Utf8,
    "reason": pl.Utf8,
    "message": pl.Utf8,
    "value": pl.Utf8,
    "hint": pl.Utf8,
}
_NO_MALFORMED = pl.DataFrame(schema=_MALFORMED_SCHEMA)


def _malformed_frame(rows: list[dict[str, object]]) -> pl.DataFrame:
    if not rows:  # the usual case: a copy of the empty template is far cheaper to make
        return _NO_MALFORMED.clear()
    return pl.DataFrame(rows, schema=_MALFORMED_SCHEMA)


_BATCH_ROWS = 1 << 20
"""Rows converted to text at a time: the text copies of one batch are the transient memory."""


def _read_parquet(path: Path, display: str, mapping: TableMapping) -> pl.DataFrame:
    """Read Parquet parts as text, normalised (:func:`_normalise`), batch by batch.

    Typed dates are written in the mapping's ``date_format`` so that the one date parser reads
    them back exactly, whatever format the mapping declares. Each batch of rows is converted
    and normalised on its own, so only one batch's intermediate copies exist at a time.
    """
    import pyarrow as pa  # noqa: PLC0415 (a CSV-only run never needs it)
    import pyarrow.parquet as pq  # noqa: PLC0415

    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    frames: list[pl.DataFrame] = []
    try:
        for f in files:
            parquet = pq.ParquetFile(f)
            batches = parquet.iter_batches(batch_size=_BATCH_ROWS)
            converted = [_text_batch(b, mapping) for b in batches]
            if not converted:
                empty = pa.Table.from_batches([], schema=parquet.schema_arrow)
                converted = [_text_batch(empty, mapping)]
            frames.extend(converted)
    except (pa.ArrowException, OSError) as exc:
        raise EngineError.single(
            Reason.FILE_UNREADABLE, f"not a readable Parquet file: {_first_line(exc)}", file=display
        ) from None
    frame = pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()
    del frames
    pa.default_memory_pool().release_unused()  # Arrow's pool keeps freed pages otherwise
    if frame.height == 0:
        raise EngineError.single(Reason.FILE_EMPTY, "the file has no data rows", file=display)
    return frame.with_columns(pl.int_range(1, frame.height + 1, dtype=pl.Int64).alias(LINE))


def _text_batch(batch: pa.RecordBatch | pa.Table, mapping: TableMapping) -> pl.DataFrame:
    """One batch of Parquet rows as normalised text (dates in the mapping's format)."""
    import pyarrow as pa  # noqa: PLC0415 (imported by the caller already)
    import pyarrow.compute as pc  # noqa: PLC0415

    dates = [
        n
        for n, t in zip(batch.schema.names, batch.schema.types, strict=True)
        if pa.types.is_date(t)
    ]
    columns = [
        pc.cast(col, pa.string())
        if not (pa.types.is_string(col.type) or pa.types.is_date(col.type))
        else col
        for col in batch.columns
    ]
    frame = pl.from_arrow(pa.table(columns, names=batch.schema.names))
    assert isinstance(frame, pl.DataFrame)
    frame = frame.with_columns(pl.col(d).dt.strftime(mapping.date_format) for d in dates)
    return _normalise(frame, mapping)


def _normalise(frame: pl.DataFrame, mapping: TableMapping) -> pl.DataFrame:
    """Map source columns to contract names; strip values; blank cells become null.

    A contract column that the mapping feeds from a source column is taken from that source
    only: a column of the file that happens to carry the contract name is set aside, so a
    missing source is reported as a missing column rather than silently replaced.
    """
    frame = frame.rename({c: c.strip() for c in frame.columns if c != LINE})
    mapped = {dst: src for dst, src in mapping.columns.items() if src != dst}
    shadowed = [dst for dst in mapped if dst in frame.columns]
    frame = frame.rename({dst: f"{dst} (unmapped)" for dst in shadowed})
    frame = frame.rename({src: dst for dst, src in mapped.items() if src in frame.columns})
    text_cols = [c for c in frame.columns if c != LINE]
    frame = frame.with_columns(
        pl.col(c).cast(pl.Utf8) for c in text_cols if frame.schema[c] != pl.Utf8
    )
    if frame.height == 0 or not text_cols:
        return frame
    # rewrite only the columns that need it: clean columns stay shared, not copied
    edged = [pl.col(c).str.contains(r"^\s|\s$").any() for c in text_cols]
    blank = [(pl.col(c) == "").any() for c in text_cols]
    flags = frame.select(
        *[e.alias(f"_e{i}") for i, e in enumerate(edged)],
        *[b.alias(f"_b{i}") for i, b in enumerate(blank)],
    ).row(0)
    n = len(text_cols)
    changed = [
        (pl.col(c).str.strip_chars() if flags[i] else pl.col(c)).replace("", None).alias(c)
        for i, c in enumerate(text_cols)
        if flags[i] or flags[n + i]
    ]
    return frame.with_columns(changed)


def raw_from_rows(table: str, rows: list[dict[str, str]], display: str) -> RawTable:
    """Build a text table from in-memory rows (golden cases), numbered as a CSV would be.

    Example:
        >>> raw = raw_from_rows("calendar", [{"period": "2026-01"}], "calendar (inline)")
        >>> raw.frame.to_dicts()
        [{'period': '2026-01', 'source_line': 2}]
    """
    columns: dict[str, None] = {}
    for row in rows:
        columns.update(dict.fromkeys(row))
    data = {c: [_cell(row.get(c)) for row in rows] for c in columns}
    frame = pl.DataFrame(data, schema=dict.fromkeys(columns, pl.Utf8))
    frame = frame.with_columns(pl.int_range(2, len(rows) + 2, dtype=pl.Int64).alias(LINE))
    digest = hashlib.sha256(repr(sorted(map(sorted, (r.items() for r in rows)))).encode())
    return RawTable(table, display, _normalise(frame, TableMapping()), digest.hexdigest())


def _cell(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


__all__ = ["LINE", "Finding", "RawTable", "file_sha256", "locate", "raw_from_rows", "read_table"]
