r"""Writing contract tables as CSV or Parquet, frame by frame, in bounded memory.

Frames handed to a :class:`TableSink` hold the table's contract columns in contract order,
with money, shares, exchange rates and quantities as ``Int64`` at their contract scale
(cents, ppm, 1e-10, hundredths) and dates as ``Date``. The sink renders them exactly:

* **CSV**: UTF-8, a header, ``,``-separated, blank for null. Dates ISO ``YYYY-MM-DD``.
  Money as a plain decimal with two places (``1234.50``, ``-0.05``), or whole units for a
  currency without minor units (JPY ``123400``); shares, rates and quantities as minimal
  decimals (``0.6``, ``1``, ``8.25``, ``1.0849533216``).
* **Parquet**: strings as ``string`` (UTF-8), dates as ``date32``, money and quantities as
  ``decimal128(18, 2)``, shares as ``decimal128(7, 6)``, exchange rates as
  ``decimal128(18, 10)``; zstd-compressed, one row group per frame, no embedded Arrow schema;
  dictionary encoding except for the (unique) transaction ids.
  Any reader gets exact decimals; the engine's loader casts each column to text
  (``1234.50``, ``0.600000``, ``2026-01-31``), which parses to the same integers.

A sink can write a table as one file or, with ``parts=True`` (Parquet only), as a directory
``<table>/part-00000.parquet``, ``part-00001.parquet``... starting a new part on
:meth:`TableSink.next_part`. Output bytes depend only on the frames given, never on threads.

Example:
    >>> import datetime as dt, tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> frame = pl.DataFrame({"from_currency": ["EUR"], "to_currency": ["USD"],
    ...     "rate": [10_850_000_000], "valid_from": [dt.date(2026, 1, 1)], "valid_to": [None]},
    ...     schema_overrides={"valid_to": pl.Date})
    >>> with TableSink(d, "exchange_rates", "csv") as sink:
    ...     sink.write(frame)
    >>> (d / "exchange_rates.csv").read_text()
    'from_currency,to_currency,rate,valid_from,valid_to\nEUR,USD,1.085,2026-01-01,\n'
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from engine.contract import TABLES, Column, Table
from engine.synth.config import ZERO_DECIMAL

FORMATS = ("parquet", "csv")
_SCALE = {"money": 2, "decimal": 2, "share": 6, "fx": 10}
_PRECISION = {"money": 18, "decimal": 18, "share": 7, "fx": 18}
_COMPRESSION = "zstd"
_NO_DICTIONARY = frozenset({"transaction_id", "original_transaction_id"})
"""Columns of (nearly) unique values: a dictionary would only cost time."""


def decimal_text(value: pl.Expr, scale: int, *, trim: bool) -> pl.Expr:
    """Exact decimal text of an integer at ``10**-scale``; ``trim`` drops trailing zeros.

    Example:
        >>> df = pl.DataFrame({"v": [123450, -5, 0, None]})
        >>> df.select(decimal_text(pl.col("v"), 2, trim=False)).to_series().to_list()
        ['1234.50', '-0.05', '0.00', None]
        >>> df.select(decimal_text(pl.col("v"), 2, trim=True)).to_series().to_list()
        ['1234.5', '-0.05', '0', None]
    """
    magnitude = value.abs()
    whole = (magnitude // 10**scale).cast(pl.Utf8)
    frac = (magnitude % 10**scale).cast(pl.Utf8).str.zfill(scale)
    if trim:
        frac = frac.str.strip_chars_end("0")
    sign = pl.when(value < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    tail = pl.when(frac.str.len_bytes() > 0).then(pl.lit(".") + frac).otherwise(pl.lit(""))
    text: pl.Expr = sign + whole + tail
    return text


def _text_column(column: Column) -> pl.Expr:
    col = pl.col(column.name)
    if column.kind == "date":
        return col.dt.to_string("%Y-%m-%d")
    if column.kind not in _SCALE:
        return col
    scale = _SCALE[column.kind]
    text = decimal_text(col, scale, trim=column.kind != "money")
    if column.kind == "money" and column.currency_from is not None:
        whole = decimal_text(col // 10**scale, 0, trim=True)
        text = (
            pl.when(pl.col(column.currency_from).is_in(sorted(ZERO_DECIMAL)))
            .then(whole)
            .otherwise(text)
        )
    return text


def _arrow_type(column: Column) -> pa.DataType:
    if column.kind == "date":
        return pa.date32()
    if column.kind in _SCALE:
        return pa.decimal128(_PRECISION[column.kind], _SCALE[column.kind])
    return pa.large_string()


def arrow_schema(table: Table) -> pa.Schema:
    """The Parquet (Arrow) schema of a contract table as written by the generator.

    Example:
        >>> arrow_schema(TABLES["transaction_sellers"]).types
        [DataType(large_string), DataType(large_string), Decimal128Type(decimal128(7, 6))]
    """
    return pa.schema([pa.field(c.name, _arrow_type(c)) for c in table.columns])


def _decimal_array(series: pl.Series, kind: str) -> pa.Array:
    """An exact ``decimal128`` array whose unscaled values are the integers of ``series``."""
    values = series.fill_null(0).to_numpy().astype(np.int64, copy=False)
    words = np.empty((values.size, 2), dtype=np.int64)
    words[:, 0] = values
    words[:, 1] = values >> 63
    nulls = series.null_count()
    validity = (
        None
        if nulls == 0
        else pa.py_buffer(np.packbits(series.is_not_null().to_numpy(), bitorder="little"))
    )
    return pa.Array.from_buffers(
        pa.decimal128(_PRECISION[kind], _SCALE[kind]),
        values.size,
        [validity, pa.py_buffer(words)],
        null_count=nulls,
    )


def _arrow_table(frame: pl.DataFrame, table: Table, schema: pa.Schema) -> pa.Table:
    arrays: list[pa.Array] = []
    for column in table.columns:
        series = frame.get_column(column.name)
        if column.kind in _SCALE:
            arrays.append(_decimal_array(series, column.kind))
        else:
            arrays.append(series.to_arrow().cast(_arrow_type(column), safe=False))
    return pa.Table.from_arrays(arrays, schema=schema)


class TableSink:
    """Writes one contract table frame by frame (see the module docs)."""

    def __init__(self, out_dir: Path, table: str, fmt: str, *, parts: bool = False) -> None:
        if fmt not in FORMATS:
            raise ValueError(f"unknown format {fmt!r}")
        self.out_dir = out_dir
        self.table = TABLES[table]
        self.fmt = fmt
        self.parts = parts and fmt == "parquet"
        self.rows = 0
        self.files: list[Path] = []
        self._schema = arrow_schema(self.table)
        self._parquet: Any = None
        self._csv: IO[bytes] | None = None
        self._part = 0

    def _path(self) -> Path:
        name = self.table.name
        if self.parts:
            folder = self.out_dir / name
            folder.mkdir(parents=True, exist_ok=True)
            return folder / f"part-{self._part:05d}.parquet"
        return self.out_dir / f"{name}.{self.fmt}"

    def write(self, frame: pl.DataFrame) -> None:
        """Append ``frame`` (contract columns, typed as in the module docs)."""
        names = [c.name for c in self.table.columns]
        frame = frame.select(names)
        if self.fmt == "csv":
            if self._csv is None:
                path = self._path()
                self.files.append(path)
                self._csv = path.open("wb")
                header = True
            else:
                header = False
            text = frame.select([_text_column(c).alias(c.name) for c in self.table.columns])
            text.write_csv(self._csv, include_header=header, null_value="", line_terminator="\n")
        else:
            if self._parquet is None:
                path = self._path()
                self.files.append(path)
                self._parquet = pq.ParquetWriter(
                    path,
                    self._schema,
                    compression=_COMPRESSION,
                    store_schema=False,
                    use_dictionary=[
                        c.name
                        for c in self.table.columns
                        if c.kind not in _SCALE and c.name not in _NO_DICTIONARY
                    ],
                )
            data = _arrow_table(frame, self.table, self._schema)
            self._parquet.write_table(data, row_group_size=max(1, data.num_rows))
        self.rows += frame.height

    def next_part(self) -> None:
        """Finish the current part file; the next write starts a new one (parts only)."""
        if self.parts and self._parquet is not None:
            self._parquet.close()
            self._parquet = None
            self._part += 1

    def close(self) -> list[Path]:
        """Finish writing; an empty table still gets a file with its header or schema."""
        if self._csv is None and self._parquet is None and not self.files:
            self.write(pl.DataFrame(schema=_polars_schema(self.table)))
        if self._csv is not None:
            self._csv.close()
            self._csv = None
        if self._parquet is not None:
            self._parquet.close()
            self._parquet = None
        return self.files

    def __enter__(self) -> TableSink:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _polars_schema(table: Table) -> dict[str, pl.DataType]:
    kinds: dict[str, pl.DataType] = {"date": pl.Date()}
    return {
        c.name: kinds.get(c.kind, pl.Int64() if c.kind in _SCALE else pl.Utf8())
        for c in table.columns
    }
