"""CSV details: encodings, line endings, quoting, blanks, whitespace and line numbers."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from engine.errors import Reason
from engine.loading import Dataset, load_dataset

from .support import OPTIONAL_EXTRAS, SAMPLE, copy_company, loaded

HEADER = (
    "transaction_id,credit_date,amount,currency,product,customer,territory_id,seller_id,"
    "deal_type,quantity,original_transaction_id"
)


def _with_transactions(tmp_path: Path, body: str | bytes) -> Path:
    skip = ("transactions.csv", *OPTIONAL_EXTRAS)
    data = copy_company(SAMPLE, tmp_path / "data", skip=skip)
    raw = body if isinstance(body, bytes) else body.encode("utf-8")
    (data / "transactions.csv").write_bytes(raw)
    return data


def _findings(
    data: Path | Dataset, file: str = "transactions.csv"
) -> list[tuple[int | None, str, str]]:
    ds = data if isinstance(data, Dataset) else load_dataset(data)
    mine = ds.rejects.filter(pl.col("file") == file)
    return sorted(mine.select("line", "column", "reason").rows(), key=lambda r: (r[0] or 0, r[1]))


def test_bom_and_crlf_load_like_the_plain_file(tmp_path: Path) -> None:
    text = (SAMPLE / "transactions.csv").read_text(encoding="utf-8")
    data = _with_transactions(tmp_path, b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    ds = load_dataset(data)
    assert ds.rejects.height == 0
    assert_frame_equal(ds.tables["transactions"], loaded(SAMPLE).tables["transactions"])


def test_whitespace_around_values_and_headers_is_ignored(tmp_path: Path) -> None:
    body = (
        " transaction_id , credit_date ,amount,currency,territory_id\n"
        "  T1 ,2026-01-06 , 100.50 ,USD , T-WEST-1\n"
    )
    data = _with_transactions(tmp_path, body)
    ds = load_dataset(data)
    assert _findings(ds) == []
    row = ds.tables["transactions"].row(0, named=True)
    assert (row["transaction_id"], row["amount_cents"], row["territory_id"]) == (
        "T1",
        10050,
        "T-WEST-1",
    )


def test_quoted_delimiter_in_a_text_cell(tmp_path: Path) -> None:
    body = f'{HEADER}\nT1,2026-01-06,100.00,USD,X,"Acme, Inc.",T-WEST-1,,,,\n'
    data = _with_transactions(tmp_path, body)
    ds = load_dataset(data)
    assert _findings(ds) == []
    assert ds.tables["transactions"]["customer"].to_list() == ["Acme, Inc."]


def test_blank_optional_cells_are_null_and_blank_required_cells_rejected(tmp_path: Path) -> None:
    body = f"{HEADER}\nT1,2026-01-06,100.00,USD,,,,,,,\n,2026-01-06,5.00,USD,,,,,,,\n"
    data = _with_transactions(tmp_path, body)
    ds = load_dataset(data)
    assert _findings(ds) == [(3, "transaction_id", Reason.REQUIRED_VALUE_MISSING.value)]
    row = ds.tables["transactions"].row(0, named=True)
    assert row["territory_id"] is None
    assert row["quantity_e2"] is None


def test_extra_columns_of_transactions_are_kept_as_text(tmp_path: Path) -> None:
    body = f"{HEADER},region_code\nT1,2026-01-06,100.00,USD,,,,,,,,007\n"
    data = _with_transactions(tmp_path, body)
    ds = load_dataset(data)
    assert _findings(ds) == []
    assert ds.tables["transactions"]["region_code"].to_list() == ["007"]


def test_latin1_byte_names_its_line(tmp_path: Path) -> None:
    body = f"{HEADER}\nT1,2026-01-06,1.00,USD,,ok,,,,,\n".encode() + (
        b"T2,2026-01-06,1.00,USD,,Caf\xe9,,,,,\n"
    )
    data = _with_transactions(tmp_path, body)
    assert _findings(data) == [(3, None, Reason.BAD_ENCODING.value)]  # type: ignore[list-item]


def test_trailing_blank_line_is_not_a_row(tmp_path: Path) -> None:
    text = (SAMPLE / "transactions.csv").read_text(encoding="utf-8")
    data = _with_transactions(tmp_path, text + "\n")
    ds = load_dataset(data)
    assert ds.rejects.height == 0
    assert ds.accounting.filter(pl.col("table") == "transactions")["rows_read"].item() == 30


def test_line_numbers_after_a_multiline_cell(tmp_path: Path) -> None:
    body = f'{HEADER}\nT1,2026-01-06,1.00,USD,,"Acme\nInc",,,,,\nT2,2026-01-06,1.005,USD,,,,,,,\n'
    data = _with_transactions(tmp_path, body)
    assert _findings(data) == [(4, "amount", Reason.TOO_MANY_DECIMALS.value)]


def test_blank_line_in_the_middle_is_skipped_and_lines_stay_physical(tmp_path: Path) -> None:
    body = f"{HEADER}\nT1,2026-01-06,1.00,USD,,,,,,,\n\nT2,2026-01-06,1.005,USD,,,,,,,\n"
    data = _with_transactions(tmp_path, body)
    ds = load_dataset(data)
    assert _findings(ds) == [(4, "amount", Reason.TOO_MANY_DECIMALS.value)]
    assert ds.accounting.filter(pl.col("table") == "transactions")["rows_read"].item() == 2


def test_row_with_too_few_fields_is_malformed(tmp_path: Path) -> None:
    body = f"{HEADER}\nT1,2026-01-06,1.00,USD,,,,,,,\nT2,2026-01-06,5.00,USD,PLATFORM,Acme\n"
    data = _with_transactions(tmp_path, body)
    assert _findings(data) == [(3, None, Reason.ROW_MALFORMED.value)]  # type: ignore[list-item]


def test_one_row_with_too_many_fields_rejects_only_that_row(tmp_path: Path) -> None:
    body = f"{HEADER}\nT1,2026-01-06,1,500.00,USD,,,,,,,\nT2,2026-01-06,5.00,USD,,,,,,,\n"
    data = _with_transactions(tmp_path, body)
    ds = load_dataset(data)
    assert ds.tables["transactions"]["transaction_id"].to_list() == ["T2"]
    assert ds.rejects.filter(pl.col("file") == "transactions.csv")["line"].to_list() == [2]


def test_header_naming_a_column_twice(tmp_path: Path) -> None:
    body = f"{HEADER},amount\nT1,2026-01-06,1.00,USD,,,,,,,,2.00\n"
    data = _with_transactions(tmp_path, body)
    assert _findings(data) == [(1, None, Reason.FILE_UNREADABLE.value)]  # type: ignore[list-item]
