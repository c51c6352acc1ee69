"""Parquet input loads exactly like CSV; rows are numbered from 1 across a directory of parts."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from engine.contract import TABLES
from engine.errors import Reason
from engine.loading import Dataset, load_dataset

from .support import OPTIONAL_EXTRAS, SAMPLE, copy_company, loaded, read_text_frame

LINE = "source_line"


def _as_csv_lines(frame: pl.DataFrame) -> pl.DataFrame:
    """Parquet rows are numbered from 1, CSV lines from 2 (the header is line 1)."""
    return frame.with_columns(pl.col(LINE) + 1)


def _parquet_company(target: Path) -> Path:
    """The sample company as Parquet: one file per table, transactions as two parts."""
    target.mkdir()
    for f in sorted(SAMPLE.glob("*.csv")):
        frame = read_text_frame(f)
        if f.stem == "transactions":
            (target / "transactions").mkdir()
            frame.head(12).write_parquet(target / "transactions" / "part-0.parquet")
            frame.slice(12).write_parquet(target / "transactions" / "part-1.parquet")
        else:
            frame.write_parquet(target / f"{f.stem}.parquet")
    return target


def _assert_same_tables(ds: Dataset, reference: Dataset) -> None:
    assert ds.rejects.height == 0
    assert set(ds.tables) == set(reference.tables)
    for name, frame in reference.tables.items():
        assert_frame_equal(_as_csv_lines(ds.tables[name]), frame, check_exact=True)


def test_parquet_company_loads_like_the_csv_one(tmp_path: Path) -> None:
    ds = load_dataset(_parquet_company(tmp_path / "pq"))
    _assert_same_tables(ds, loaded(SAMPLE))
    counts = ds.accounting.select("table", "file", "rows_read", "rows_accepted").rows()
    assert ("transactions", "transactions", 30, 30) in counts
    assert ("calendar", "calendar.parquet", 3, 3) in counts
    assert set(ds.file_hashes) >= {"transactions", "calendar.parquet"}


def test_typed_parquet_columns_load_like_text(tmp_path: Path) -> None:
    """Dates as Date, amounts as Decimal(18, 2), quantities as Int64: no float on the way."""
    data = copy_company(SAMPLE, tmp_path / "data", skip=("transactions.csv", *OPTIONAL_EXTRAS))
    frame = read_text_frame(SAMPLE / "transactions.csv").with_columns(
        pl.col("credit_date").str.to_date(),
        pl.col("amount").map_elements(Decimal, return_dtype=pl.Decimal(18, 2)),
        pl.col("quantity").cast(pl.Int64),
    )
    frame.write_parquet(data / "transactions.parquet")
    ds = load_dataset(data)
    assert ds.rejects.height == 0
    assert_frame_equal(
        _as_csv_lines(ds.tables["transactions"]), loaded(SAMPLE).tables["transactions"]
    )


def test_float_amounts_are_never_rounded_silently(tmp_path: Path) -> None:
    data = copy_company(SAMPLE, tmp_path / "data", skip=("transactions.csv", *OPTIONAL_EXTRAS))
    frame = read_text_frame(SAMPLE / "transactions.csv").with_columns(
        pl.col("amount").cast(pl.Float64)
    )
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 4)
        .then(pl.lit(0.1) + pl.lit(0.2))
        .otherwise(pl.col("amount"))
        .alias("amount")
    )
    frame.write_parquet(data / "transactions.parquet")
    ds = load_dataset(data)
    rows = ds.rejects.select("file", "line", "column", "reason").rows()
    assert rows == [("transactions.parquet", 5, "amount", Reason.TOO_MANY_DECIMALS.value)]
    assert ds.tables["transactions"].height == 29


def test_bad_row_in_a_later_part_is_numbered_across_parts(tmp_path: Path) -> None:
    data = _parquet_company(tmp_path / "pq")
    part = data / "transactions" / "part-1.parquet"
    frame = pl.read_parquet(part)
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(pl.lit("not-a-date"))
        .otherwise(pl.col("credit_date"))
        .alias("credit_date")
    )
    frame.write_parquet(part)
    ds = load_dataset(data)
    rows = ds.rejects.select("file", "line", "column", "reason").rows()
    assert rows == [("transactions", 12 + 4, "credit_date", Reason.BAD_DATE.value)]
    row = ds.accounting.filter(pl.col("table") == "transactions").to_dicts()[0]
    assert (row["rows_read"], row["rows_accepted"], row["rows_rejected"]) == (30, 29, 1)


def test_unreadable_parquet_file(tmp_path: Path) -> None:
    data = copy_company(SAMPLE, tmp_path / "data", skip=("quotas.csv", *OPTIONAL_EXTRAS))
    (data / "quotas.parquet").write_bytes(b"PAR1 this is not parquet")
    ds = load_dataset(data)
    rows = ds.rejects.select("file", "line", "reason").rows()
    assert rows == [("quotas.parquet", None, Reason.FILE_UNREADABLE.value)]


def test_empty_parquet_file(tmp_path: Path) -> None:
    data = copy_company(SAMPLE, tmp_path / "data", skip=("quotas.csv", *OPTIONAL_EXTRAS))
    read_text_frame(SAMPLE / "quotas.csv").head(0).write_parquet(data / "quotas.parquet")
    ds = load_dataset(data)
    rows = ds.rejects.select("file", "line", "reason").rows()
    assert rows == [("quotas.parquet", None, Reason.FILE_EMPTY.value)]


def test_parts_with_different_columns(tmp_path: Path) -> None:
    data = _parquet_company(tmp_path / "pq")
    part = data / "transactions" / "part-1.parquet"
    pl.read_parquet(part).drop("deal_type").write_parquet(part)
    ds = load_dataset(data)  # a part lacking an optional column: its rows have it blank
    assert ds.rejects.height == 0
    assert ds.tables["transactions"].height == 30


def test_typed_dates_ignore_a_text_date_format(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for f in SAMPLE.glob("*.csv"):
        frame = read_text_frame(f)
        dates = [
            c.name for c in TABLES[f.stem].columns if c.kind == "date" and c.name in frame.columns
        ]
        frame.with_columns(pl.col(c).str.to_date() for c in dates).write_parquet(
            data / f"{f.stem}.parquet"
        )
    (data / "mapping.yaml").write_text('date_format: "%d/%m/%Y"\n', encoding="utf-8")
    ds = load_dataset(data)
    assert ds.rejects.height == 0


def test_timestamp_columns_are_not_dates(tmp_path: Path) -> None:
    data = copy_company(SAMPLE, tmp_path / "data", skip=("transactions.csv", *OPTIONAL_EXTRAS))
    frame = read_text_frame(SAMPLE / "transactions.csv")
    frame.with_columns(pl.col("credit_date").str.to_datetime("%Y-%m-%d")).write_parquet(
        data / "transactions.parquet"
    )
    ds = load_dataset(data)
    mine = ds.rejects.filter(pl.col("file") == "transactions.parquet")
    assert set(mine.select("column", "reason").rows()) == {("credit_date", "BAD_DATE")}
    assert mine.height == 30
