"""Property: corrupt random cells of valid transactions; exactly those rows are rejected.

Each corrupted row must be rejected with the corruption's reason, on its line and column; every
untouched row must be accepted, except the rows that depend on a corrupted one (the return of a
rejected sale, the split sellers of a rejected deal), which are rejected as UNKNOWN_REFERENCE.
Rows read always equal rows accepted plus rows rejected.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.loading import load_dataset

from .support import SAMPLE, copy_company

TABLES_USED = ("calendar", "participants", "territories", "transactions", "transaction_sellers")
with (SAMPLE / "transactions.csv").open(encoding="utf-8", newline="") as _handle:
    ROWS: list[dict[str, str]] = list(csv.DictReader(_handle))
FIELDS = list(ROWS[0])
SELLERS = pl.read_csv(SAMPLE / "transaction_sellers.csv", infer_schema=False)


@dataclass(frozen=True)
class Corruption:
    """What to write into one cell, and the finding it must cause."""

    column: str
    value: str
    reason: str


Maker = Callable[[dict[str, str]], st.SearchStrategy[Corruption]]


def _bad_number(_row: dict[str, str]) -> st.SearchStrategy[Corruption]:
    values = st.sampled_from(["12,5", "1.2.3", "abc", "1e3", "$5", "1 000", "--1", "(10)"])
    return values.map(lambda v: Corruption("amount", v, "BAD_NUMBER"))


def _bad_date(_row: dict[str, str]) -> st.SearchStrategy[Corruption]:
    values = st.sampled_from(["2026-02-30", "2026-13-01", "31/01/2026", "2026/01/31", "soon"])
    return values.map(lambda v: Corruption("credit_date", v, "BAD_DATE"))


def _blank(_row: dict[str, str]) -> st.SearchStrategy[Corruption]:
    columns = st.sampled_from(["transaction_id", "credit_date", "amount", "currency"])
    return columns.map(lambda c: Corruption(c, "", "REQUIRED_VALUE_MISSING"))


def _three_decimals(row: dict[str, str]) -> st.SearchStrategy[Corruption]:
    whole = row["amount"].split(".")[0]
    digits = st.integers(0, 99).map(lambda d: f"{d:02d}") | st.just("00")
    last = st.integers(1, 9).map(str)
    return st.tuples(digits, last).map(
        lambda t: Corruption("amount", f"{whole}.{t[0]}{t[1]}", "TOO_MANY_DECIMALS")
    )


def _unknown_territory(_row: dict[str, str]) -> st.SearchStrategy[Corruption]:
    names = st.sampled_from(["T-NOPE", "T-WEST-9", "t-west-1", "T-EAST-1 X"])
    return names.map(lambda v: Corruption("territory_id", v, "UNKNOWN_REFERENCE"))


MAKERS: tuple[Maker, ...] = (_bad_number, _bad_date, _blank, _three_decimals, _unknown_territory)


@st.composite
def corruptions(draw: st.DrawFn) -> dict[int, Corruption]:
    """Row index -> corruption, for a random set of distinct rows."""
    indices = draw(st.lists(st.integers(0, len(ROWS) - 1), max_size=8, unique=True))
    return {i: draw(draw(st.sampled_from(MAKERS))(ROWS[i])) for i in indices}


def _write(rows: list[dict[str, str]], path: Path) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("property")
    skip = tuple(
        f"{t}.csv" for t in ("hierarchy", "territory_owners", "quotas", "plan_assignments")
    )
    return copy_company(SAMPLE, target, skip=skip)


@settings(max_examples=60, deadline=None)
@given(bad=corruptions())
def test_corrupted_rows_are_rejected_and_the_rest_accepted(
    company: Path, bad: dict[int, Corruption]
) -> None:
    rows = [dict(r) for r in ROWS]
    for i, c in bad.items():
        rows[i][c.column] = c.value
    _write(rows, company / "transactions.csv")
    ds = load_dataset(company)

    expected = {(i + 2, c.column, c.reason) for i, c in bad.items()}
    rejected_ids = {ROWS[i]["transaction_id"] for i in bad}
    for i, row in enumerate(ROWS):
        if i not in bad and row["original_transaction_id"] in rejected_ids:
            expected.add((i + 2, "original_transaction_id", "UNKNOWN_REFERENCE"))
    seller_lines = {
        line + 2
        for line, tid in enumerate(SELLERS["transaction_id"].to_list())
        if tid in rejected_ids
    }

    found = ds.rejects.filter(pl.col("file") == "transactions.csv")
    assert set(found.select("line", "column", "reason").rows()) == expected
    assert found.height == len(expected)
    accepted = set(ds.tables["transactions"]["source_line"].to_list())
    assert accepted == set(range(2, len(ROWS) + 2)) - {line for line, _, _ in expected}

    sellers = ds.rejects.filter(pl.col("file") == "transaction_sellers.csv")
    assert set(sellers["line"].to_list()) == seller_lines
    assert set(sellers["reason"].to_list()) <= {"UNKNOWN_REFERENCE"}
    others = ds.rejects.filter(
        ~pl.col("file").is_in(["transactions.csv", "transaction_sellers.csv"])
    )
    assert others.height == 0

    for acc in ds.accounting.iter_rows(named=True):
        assert acc["rows_read"] == acc["rows_accepted"] + acc["rows_rejected"]
        assert ds.tables[acc["table"]].height == acc["rows_accepted"]
    tx = ds.accounting.filter(pl.col("table") == "transactions").to_dicts()[0]
    assert (tx["rows_read"], tx["rows_rejected"]) == (len(ROWS), len(expected))
    assert set(TABLES_USED) <= set(ds.accounting.filter(pl.col("rows_read") > 0)["table"])
