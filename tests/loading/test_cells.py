"""Cell parsing at the edges: numbers, decimals per currency, shares, rates and dates.

Each family of cases is one table of one in-memory company (one row per case, loaded once);
each case checks the findings on its own line and, when accepted, its exact stored value.
"""

from __future__ import annotations

import functools
from decimal import Decimal

import polars as pl
import pytest

from engine.loading import Dataset, dataset_from_rows

CALENDAR = [{"period": "2026-01", "start_date": "2026-01-01", "end_date": "2026-01-31"}]
PARTICIPANTS = [
    {"participant_id": p, "role": "AE", "pay_currency": "USD", "hire_date": "2025-01-01"}
    for p in ("P1", "P2")
]
SALE = {
    "transaction_id": "T",
    "credit_date": "2026-01-05",
    "amount": "1.00",
    "currency": "USD",
    "seller_id": "P1",
}

# (amount, currency, stored cents or None, reason or None)
AMOUNTS: list[tuple[str, str, int | None, str | None]] = [
    ("100", "USD", 10000, None),
    ("100.5", "USD", 10050, None),
    ("100.000", "USD", 10000, None),
    ("-0.01", "USD", -1, None),
    ("+7.25", "USD", 725, None),
    (".5", "USD", 50, None),
    ("5000", "JPY", 500000, None),
    ("5000.00", "JPY", 500000, None),
    ("-12", "KRW", -1200, None),
    ("9999999999999999.99", "USD", 999999999999999999, None),
    ("1,000.00", "USD", None, "BAD_NUMBER"),
    ("1 000", "USD", None, "BAD_NUMBER"),
    ("$100", "USD", None, "BAD_NUMBER"),
    ("(100)", "USD", None, "BAD_NUMBER"),
    ("1e3", "USD", None, "BAD_NUMBER"),
    ("12,5", "EUR", None, "BAD_NUMBER"),
    ("-", "USD", None, "BAD_NUMBER"),
    (".", "USD", None, "BAD_NUMBER"),
    ("NaN", "USD", None, "BAD_NUMBER"),
    ("100.001", "USD", None, "TOO_MANY_DECIMALS"),
    ("5000.5", "JPY", None, "TOO_MANY_DECIMALS"),
    ("0.1", "KRW", None, "TOO_MANY_DECIMALS"),
    ("10000000000000000", "USD", None, "OUT_OF_RANGE"),
    ("", "USD", None, "REQUIRED_VALUE_MISSING"),
]
# (currency, reason or None)
CURRENCIES: list[tuple[str, str | None]] = [
    ("USD", None),
    ("JPY", None),
    ("usd", "UNKNOWN_CURRENCY"),
    ("EURO", "UNKNOWN_CURRENCY"),
    ("", "REQUIRED_VALUE_MISSING"),
]
# (credit_date, accepted)
DATES: list[tuple[str, bool]] = [
    ("2026-01-05", True),
    ("2024-02-29", True),
    ("2026-02-30", False),
    ("2026-13-01", False),
    ("05/01/2026", False),
    ("2026-01-05T00:00", False),
    ("20260105", False),
    ("yesterday", False),
]
# (share, stored ppm or None, reason or None): each owns a territory with the complement
SHARES: list[tuple[str, int | None, str | None]] = [
    ("1", 1_000_000, None),
    ("0", 0, None),
    ("0.333334", 333_334, None),
    ("1.0000000", 1_000_000, None),
    (".25", 250_000, None),
    ("0.3333333", None, "TOO_MANY_DECIMALS"),
    ("1.01", None, "OUT_OF_RANGE"),
    ("-0.5", None, "OUT_OF_RANGE"),
    ("60%", None, "BAD_NUMBER"),
]
# (rate, stored e10 or None, reason or None)
RATES: list[tuple[str, int | None, str | None]] = [
    ("1.0850", 10_850_000_000, None),
    ("0.0000000001", 1, None),
    ("150", 1_500_000_000_000, None),
    ("0.00000000001", None, "TOO_MANY_DECIMALS"),
    ("0", None, "OUT_OF_RANGE"),
    ("-1.2", None, "OUT_OF_RANGE"),
]


def _company(**tables: list[dict[str, str]]) -> Dataset:
    rows = {"calendar": CALENDAR, "participants": PARTICIPANTS, "transactions": [SALE]}
    rows.update(tables)
    return dataset_from_rows(rows)


def _sale(i: int, **cells: str) -> dict[str, str]:
    return {**SALE, "transaction_id": f"T{i}", **cells}


@functools.cache
def amounts() -> Dataset:
    rows = [_sale(i, amount=a, currency=c) for i, (a, c, _, _) in enumerate(AMOUNTS)]
    return _company(transactions=rows)


@functools.cache
def currencies() -> Dataset:
    return _company(transactions=[_sale(i, currency=c) for i, (c, _) in enumerate(CURRENCIES)])


@functools.cache
def dates() -> Dataset:
    return _company(transactions=[_sale(i, credit_date=d) for i, (d, _) in enumerate(DATES)])


@functools.cache
def shares() -> Dataset:
    owners = []
    for i, (share, _, reason) in enumerate(SHARES):
        owners.append({"territory_id": f"T{i}", "participant_id": "P1", "share": share})
        if reason is None:
            rest = format(1 - Decimal(share), "f")
            owners.append({"territory_id": f"T{i}", "participant_id": "P2", "share": rest})
    territories = [{"territory_id": f"T{i}"} for i in range(len(SHARES))]
    for row in owners:
        row["valid_from"] = "2026-01-01"
    return _company(territories=territories, territory_owners=owners)


@functools.cache
def rates() -> Dataset:
    rows = [
        {
            "from_currency": "EUR",
            "to_currency": "USD",
            "rate": rate,
            "valid_from": f"2026-01-{i + 1:02d}",
            "valid_to": f"2026-01-{i + 1:02d}",
        }
        for i, (rate, _, _) in enumerate(RATES)
    ]
    return _company(exchange_rates=rows)


def _on_line(ds: Dataset, table: str, line: int) -> list[tuple[str, str]]:
    file = f"{table} (inline)"
    mine = ds.rejects.filter((pl.col("file") == file) & (pl.col("line") == line))
    return sorted(mine.select("column", "reason").rows())


def _stored(ds: Dataset, table: str, column: str, line: int) -> object:
    frame = ds.tables[table].filter(pl.col("source_line") == line)
    assert frame.height == 1, f"line {line} was not accepted"
    return frame[column].item()


@pytest.mark.parametrize(("i", "case"), list(enumerate(AMOUNTS)), ids=[c[0] for c in AMOUNTS])
def test_amounts(i: int, case: tuple[str, str, int | None, str | None]) -> None:
    _, _, cents, reason = case
    ds = amounts()
    if reason is None:
        assert _on_line(ds, "transactions", i + 2) == []
        assert _stored(ds, "transactions", "amount_cents", i + 2) == cents
    else:
        assert _on_line(ds, "transactions", i + 2) == [("amount", reason)]


@pytest.mark.parametrize(("i", "case"), list(enumerate(CURRENCIES)), ids=[c[0] for c in CURRENCIES])
def test_currencies(i: int, case: tuple[str, str | None]) -> None:
    expected = [] if case[1] is None else [("currency", case[1])]
    assert _on_line(currencies(), "transactions", i + 2) == expected


@pytest.mark.parametrize(("i", "case"), list(enumerate(DATES)), ids=[c[0] for c in DATES])
def test_dates(i: int, case: tuple[str, bool]) -> None:
    expected = [] if case[1] else [("credit_date", "BAD_DATE")]
    assert _on_line(dates(), "transactions", i + 2) == expected


def _share_line(i: int) -> int:
    return 2 + sum(1 if SHARES[j][2] else 2 for j in range(i))


@pytest.mark.parametrize(("i", "case"), list(enumerate(SHARES)), ids=[c[0] for c in SHARES])
def test_owner_shares(i: int, case: tuple[str, int | None, str | None]) -> None:
    _, ppm, reason = case
    ds, line = shares(), _share_line(i)
    if reason is None:
        assert _on_line(ds, "territory_owners", line) == []
        assert _stored(ds, "territory_owners", "share_ppm", line) == ppm
    else:
        assert _on_line(ds, "territory_owners", line) == [("share", reason)]


@pytest.mark.parametrize(("i", "case"), list(enumerate(RATES)), ids=[c[0] for c in RATES])
def test_exchange_rates(i: int, case: tuple[str, int | None, str | None]) -> None:
    _, e10, reason = case
    ds = rates()
    if reason is None:
        assert _on_line(ds, "exchange_rates", i + 2) == []
        assert _stored(ds, "exchange_rates", "rate_e10", i + 2) == e10
    else:
        assert _on_line(ds, "exchange_rates", i + 2) == [("rate", reason)]


def test_owner_share_defaults_to_one_when_the_column_is_absent() -> None:
    owners = [{"territory_id": "T", "participant_id": "P1", "valid_from": "2026-01-01"}]
    ds = _company(territories=[{"territory_id": "T"}], territory_owners=owners)
    assert ds.rejects.height == 0
    assert ds.tables["territory_owners"]["share_ppm"].to_list() == [1_000_000]


def test_several_bad_cells_in_one_row_reject_it_once() -> None:
    ds = _company(transactions=[_sale(0, amount="1.2.3", currency="EURO", credit_date="soon")])
    assert _on_line(ds, "transactions", 2) == [
        ("amount", "BAD_NUMBER"),
        ("credit_date", "BAD_DATE"),
        ("currency", "UNKNOWN_CURRENCY"),
    ]
    row = ds.accounting.filter(pl.col("table") == "transactions").to_dicts()[0]
    assert (row["rows_read"], row["rows_accepted"], row["rows_rejected"]) == (1, 0, 1)
