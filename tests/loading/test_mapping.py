"""The mapping file: vendor file names, column names, delimiters and date formats."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine.contract import TABLES
from engine.errors import EngineError, Reason
from engine.loading import load_dataset

from .support import OPTIONAL_EXTRAS, SAMPLE, copy_company, loaded, read_text_frame

VENDOR_NAMES = {
    "transaction_id": "ORDER_ID",
    "credit_date": "BOOKED",
    "amount": "NET_VALUE",
    "currency": "CCY",
    "territory_id": "ACCOUNT",
}


def _to_dmy(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Rewrite the ISO dates of ``table``'s date columns as DD/MM/YYYY."""
    dates = [c.name for c in TABLES[table].columns if c.kind == "date" and c.name in frame.columns]
    return frame.with_columns(
        pl.col(c).str.to_date("%Y-%m-%d").dt.strftime("%d/%m/%Y").alias(c) for c in dates
    )


def _vendor_export(tmp_path: Path) -> Path:
    data = copy_company(SAMPLE, tmp_path / "data", skip=("transactions.csv", *OPTIONAL_EXTRAS))
    frame = _to_dmy(read_text_frame(SAMPLE / "transactions.csv"), "transactions")
    (data / "exports").mkdir()
    frame.rename(VENDOR_NAMES).write_csv(data / "exports" / "SALES_EXPORT.csv", separator=";")
    return data


def _mapping(data: Path, text: str) -> Path:
    path = data / "mapping.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _reasons(exc: pytest.ExceptionInfo[EngineError]) -> list[tuple[str, str | None]]:
    return [(f.reason.value, f.column) for f in exc.value.findings]


VENDOR_MAPPING = """\
tables:
  transactions:
    file: exports/SALES_EXPORT.csv
    delimiter: ";"
    date_format: "%d/%m/%Y"
    columns:
      transaction_id: ORDER_ID
      credit_date: BOOKED
      amount: NET_VALUE
      currency: CCY
      territory_id: ACCOUNT
"""


def test_vendor_file_with_renamed_columns_delimiter_and_date_format(tmp_path: Path) -> None:
    data = _vendor_export(tmp_path)
    _mapping(data, VENDOR_MAPPING)
    ds = load_dataset(data)
    assert ds.rejects.height == 0
    assert_frame_equal(ds.tables["transactions"], loaded(SAMPLE).tables["transactions"])
    row = ds.accounting.filter(pl.col("table") == "transactions").to_dicts()[0]
    assert row["file"] == "exports/SALES_EXPORT.csv"
    assert (row["rows_read"], row["rows_accepted"]) == (30, 30)
    assert "exports/SALES_EXPORT.csv" in ds.file_hashes


def test_mapping_given_outside_the_data_directory(tmp_path: Path) -> None:
    data = _vendor_export(tmp_path)
    elsewhere = tmp_path / "config"
    elsewhere.mkdir()
    ds = load_dataset(data, _mapping(elsewhere, VENDOR_MAPPING))
    assert ds.rejects.height == 0
    assert ds.tables["transactions"].height == 30


def test_global_date_format_applies_to_every_table(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for f in SAMPLE.glob("*.csv"):
        _to_dmy(read_text_frame(f), f.stem).write_csv(data / f.name)
    _mapping(data, 'date_format: "%d/%m/%Y"\n')
    ds = load_dataset(data)
    assert ds.rejects.height == 0
    for name, frame in loaded(SAMPLE).tables.items():
        assert_frame_equal(ds.tables[name], frame)


def test_table_date_format_overrides_the_global_one(tmp_path: Path) -> None:
    data = copy_company(SAMPLE, tmp_path / "data", skip=("calendar.csv", *OPTIONAL_EXTRAS))
    _to_dmy(read_text_frame(SAMPLE / "calendar.csv"), "calendar").write_csv(data / "calendar.csv")
    _mapping(data, 'tables:\n  calendar:\n    date_format: "%d/%m/%Y"\n')
    ds = load_dataset(data)
    assert ds.rejects.height == 0
    assert_frame_equal(ds.tables["calendar"], loaded(SAMPLE).tables["calendar"])


def test_wrong_date_format_rejects_every_date(tmp_path: Path) -> None:
    data = copy_company(SAMPLE, tmp_path / "data", skip=OPTIONAL_EXTRAS)
    _mapping(data, 'tables:\n  transactions:\n    date_format: "%d/%m/%Y"\n')
    ds = load_dataset(data)
    bad = ds.rejects.filter(pl.col("file") == "transactions.csv")
    assert set(bad["reason"]) == {Reason.BAD_DATE.value}
    assert set(bad["column"]) == {"credit_date"}
    assert sorted(bad["line"]) == list(range(2, 32))


def test_mapped_source_column_absent_is_a_missing_contract_column(tmp_path: Path) -> None:
    data = copy_company(SAMPLE, tmp_path / "data", skip=("transactions.csv", *OPTIONAL_EXTRAS))
    frame = read_text_frame(SAMPLE / "transactions.csv").rename({"amount": "GROSS"})
    frame.write_csv(data / "transactions.csv")
    _mapping(data, "tables:\n  transactions:\n    columns:\n      amount: NET_VALUE\n")
    ds = load_dataset(data)
    missing = ds.rejects.filter(pl.col("reason") == Reason.COLUMN_MISSING.value)
    assert missing.select("file", "line", "column").rows() == [("transactions.csv", 1, "amount")]


def test_mapped_source_column_absent_is_not_replaced_by_the_contract_name(
    tmp_path: Path,
) -> None:
    data = copy_company(SAMPLE, tmp_path / "data", skip=OPTIONAL_EXTRAS)
    _mapping(data, "tables:\n  transactions:\n    columns:\n      amount: NET_VALUE\n")
    ds = load_dataset(data)
    missing = ds.rejects.filter(pl.col("reason") == Reason.COLUMN_MISSING.value)
    assert missing.select("file", "line", "column").rows() == [("transactions.csv", 1, "amount")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tables:\n  salez:\n    file: sales.csv\n", [("BAD_MAPPING", "tables.salez")]),
        (
            "tables:\n  transactions:\n    columns:\n      amount_net: NET\n",
            [("BAD_MAPPING", "transactions")],
        ),
        ("tabels:\n  transactions: {}\n", [("BAD_MAPPING", "tabels")]),
        (
            "tables:\n  transactions:\n    delimiter: ';;'\n",
            [("BAD_MAPPING", "transactions.delimiter")],
        ),
        ("tables:\n  transactions:\n    sheet: 2\n", [("BAD_MAPPING", "transactions")]),
        ("tables:\n  transactions: [a, b]\n", [("BAD_MAPPING", "tables.transactions")]),
        (
            "tables:\n  salez: {}\n  quotas:\n    columns:\n      target: X\n",
            [("BAD_MAPPING", "tables.salez"), ("BAD_MAPPING", "quotas")],
        ),
    ],
    ids=[
        "unknown-table",
        "unknown-column",
        "unknown-top-key",
        "long-delimiter",
        "unknown-table-key",
        "table-not-a-mapping",
        "all-problems-at-once",
    ],
)
def test_bad_mapping(tmp_path: Path, text: str, expected: list[tuple[str, str]]) -> None:
    data = copy_company(SAMPLE, tmp_path / "data", skip=OPTIONAL_EXTRAS)
    _mapping(data, text)
    with pytest.raises(EngineError) as exc:
        load_dataset(data)
    assert sorted(_reasons(exc)) == sorted(expected)
    assert all(f.file and f.file.endswith("mapping.yaml") for f in exc.value.findings)


def test_mapping_that_is_not_yaml(tmp_path: Path) -> None:
    data = copy_company(SAMPLE, tmp_path / "data", skip=OPTIONAL_EXTRAS)
    _mapping(data, "tables: [unclosed\n")
    with pytest.raises(EngineError) as exc:
        load_dataset(data)
    assert exc.value.reason is Reason.BAD_MAPPING


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "sub/../../outside.csv"])
def test_mapped_file_may_not_leave_the_data_directory(tmp_path: Path, name: str) -> None:
    data = copy_company(SAMPLE, tmp_path / "data", skip=OPTIONAL_EXTRAS)
    (tmp_path / "outside.csv").write_text("transaction_id\nT1\n")
    _mapping(data, f"tables:\n  transactions:\n    file: {name}\n")
    with pytest.raises(EngineError) as exc:
        load_dataset(data)
    assert exc.value.reason is Reason.PATH_ESCAPE


def test_mapping_file_given_but_missing(tmp_path: Path) -> None:
    data = copy_company(SAMPLE, tmp_path / "data", skip=OPTIONAL_EXTRAS)
    with pytest.raises(EngineError) as exc:
        load_dataset(data, tmp_path / "nope.yaml")
    assert exc.value.reason is Reason.FILE_MISSING


def test_missing_data_directory(tmp_path: Path) -> None:
    with pytest.raises(EngineError) as exc:
        load_dataset(tmp_path / "nowhere")
    assert exc.value.reason is Reason.FILE_MISSING


def test_mapped_file_of_an_optional_table_missing(tmp_path: Path) -> None:
    data = copy_company(SAMPLE, tmp_path / "data", skip=OPTIONAL_EXTRAS)
    _mapping(data, "tables:\n  quotas:\n    file: QUOTA_EXPORT.csv\n")
    ds = load_dataset(data)
    found = ds.rejects.select("file", "reason").rows()
    assert ("QUOTA_EXPORT.csv", Reason.FILE_MISSING.value) in found


def test_mapped_column_when_the_file_also_has_the_contract_name(tmp_path: Path) -> None:
    data = copy_company(SAMPLE, tmp_path / "data", skip=("transactions.csv", *OPTIONAL_EXTRAS))
    frame = read_text_frame(SAMPLE / "transactions.csv")
    frame = frame.with_columns(pl.col("amount").alias("NET_VALUE"), pl.lit("0").alias("amount"))
    frame.write_csv(data / "transactions.csv")
    _mapping(data, "tables:\n  transactions:\n    columns:\n      amount: NET_VALUE\n")
    ds = load_dataset(data)  # the mapped source wins; the vendor's own 'amount' is set aside
    assert ds.rejects.height == 0
    assert_frame_equal(
        ds.tables["transactions"].select("amount_cents"),
        loaded(SAMPLE).tables["transactions"].select("amount_cents"),
    )
