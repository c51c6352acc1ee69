"""Cell parsing at the edges: numbers, decimals per currency, shares, rates and dates."""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.loading import Dataset, dataset_from_rows

CALENDAR = [{"period": "2026-01", "start_date": "2026-01-01", "end_date": "2026-01-31"}]
PARTICIPANTS = [
    {"participant_id": p, "role": "AE", "pay_currency": "USD", "hire_date": "2025-01-01"}
    for p in ("P1", "P2")
]


def _company(**tables: list[dict[str, str]]) -> Dataset:
    rows = {
        "calendar": CALENDAR,
        "participants": PARTICIPANTS,
        "transactions": [
            {
                "transaction_id": "T1",
                "credit_date": "2026-01-05",
                "amount": "1.00",
                "currency": "USD",
                "seller_id": "P1",
            }
        ],
    }
    rows.update(tables)
    return dataset_from_rows(rows)


def _transaction(amount: str, currency: str = "USD", date: str = "2026-01-05") -> Dataset:
    row = {
        "transaction_id": "T1",
        "credit_date": date,
        "amount": amount,
        "currency": currency,
        "seller_id": "P1",
    }
    return _company(transactions=[row])


def _problems(ds: Dataset) -> list[tuple[str, str]]:
    return ds.rejects.select("column", "reason").rows()


@pytest.mark.parametrize(
    ("amount", "currency", "cents"),
    [
        ("100", "USD", 10000),
        ("100.5", "USD", 10050),
        ("100.000", "USD", 10000),
        ("-0.01", "USD", -1),
        ("+7.25", "USD", 725),
        (".5", "USD", 50),
        ("5000", "JPY", 500000),
        ("5000.00", "JPY", 500000),
        ("-12", "KRW", -1200),
        ("9999999999999999.99", "USD", 999999999999999999),
    ],
)
def test_amounts_accepted_exactly(amount: str, currency: str, cents: int) -> None:
    ds = _transaction(amount, currency)
    assert _problems(ds) == []
    assert ds.tables["transactions"]["amount_cents"].to_list() == [cents]


@pytest.mark.parametrize(
    ("amount", "currency", "reason"),
    [
        ("1,000.00", "USD", "BAD_NUMBER"),
        ("1 000", "USD", "BAD_NUMBER"),
        ("$100", "USD", "BAD_NUMBER"),
        ("(100)", "USD", "BAD_NUMBER"),
        ("1e3", "USD", "BAD_NUMBER"),
        ("12,5", "EUR", "BAD_NUMBER"),
        ("-", "USD", "BAD_NUMBER"),
        (".", "USD", "BAD_NUMBER"),
        ("NaN", "USD", "BAD_NUMBER"),
        ("100.001", "USD", "TOO_MANY_DECIMALS"),
        ("5000.5", "JPY", "TOO_MANY_DECIMALS"),
        ("0.1", "KRW", "TOO_MANY_DECIMALS"),
        ("10000000000000000", "USD", "OUT_OF_RANGE"),
        ("", "USD", "REQUIRED_VALUE_MISSING"),
    ],
)
def test_amounts_rejected(amount: str, currency: str, reason: str) -> None:
    assert _problems(_transaction(amount, currency)) == [("amount", reason)]


@pytest.mark.parametrize(
    ("currency", "problems"),
    [
        ("usd", [("currency", "UNKNOWN_CURRENCY")]),
        ("EURO", [("currency", "UNKNOWN_CURRENCY")]),
        ("", [("currency", "REQUIRED_VALUE_MISSING")]),
    ],
)
def test_currencies(currency: str, problems: list[tuple[str, str]]) -> None:
    assert _problems(_transaction("1.00", currency)) == problems


@pytest.mark.parametrize(
    ("date", "ok"),
    [
        ("2026-01-05", True),
        ("2026-02-30", False),
        ("2026-13-01", False),
        ("05/01/2026", False),
        ("2026-01-05T00:00", False),
        ("20260105", False),
        ("yesterday", False),
    ],
)
def test_dates(date: str, ok: bool) -> None:
    problems = _problems(_transaction("1.00", date=date))
    assert problems == ([] if ok else [("credit_date", "BAD_DATE")])


def _owners(*shares: str) -> Dataset:
    owners = [
        {"territory_id": "T", "participant_id": p, "share": share, "valid_from": "2026-01-01"}
        for p, share in zip(("P1", "P2"), shares, strict=False)
    ]
    return _company(territories=[{"territory_id": "T"}], territory_owners=owners)


@pytest.mark.parametrize(
    ("share", "ppm"),
    [("1", 1_000_000), ("0", 0), ("0.333334", 333_334), ("1.0000000", 1_000_000), (".25", 250_000)],
)
def test_owner_shares_accepted(share: str, ppm: int) -> None:
    complement = format(1 - Decimal(share), "f")
    ds = _owners(share, complement)
    assert _problems(ds) == []
    assert ds.tables["territory_owners"]["share_ppm"].to_list() == [ppm, 1_000_000 - ppm]


@pytest.mark.parametrize(
    ("share", "reason"),
    [
        ("0.3333333", "TOO_MANY_DECIMALS"),
        ("1.01", "OUT_OF_RANGE"),
        ("-0.5", "OUT_OF_RANGE"),
        ("60%", "BAD_NUMBER"),
    ],
)
def test_owner_shares_rejected(share: str, reason: str) -> None:
    assert _problems(_owners(share)) == [("share", reason)]


def test_owner_share_defaults_to_one_when_the_column_is_absent() -> None:
    owners = [{"territory_id": "T", "participant_id": "P1", "valid_from": "2026-01-01"}]
    ds = _company(territories=[{"territory_id": "T"}], territory_owners=owners)
    assert _problems(ds) == []
    assert ds.tables["territory_owners"]["share_ppm"].to_list() == [1_000_000]


@pytest.mark.parametrize(
    ("rate", "e10", "reason"),
    [
        ("1.0850", 10_850_000_000, None),
        ("0.0000000001", 1, None),
        ("0.00000000001", None, "TOO_MANY_DECIMALS"),
        ("0", None, "OUT_OF_RANGE"),
        ("-1.2", None, "OUT_OF_RANGE"),
    ],
)
def test_exchange_rates(rate: str, e10: int | None, reason: str | None) -> None:
    rates = [
        {"from_currency": "EUR", "to_currency": "USD", "rate": rate, "valid_from": "2026-01-01"}
    ]
    ds = _company(exchange_rates=rates)
    if reason is None:
        assert _problems(ds) == []
        assert ds.tables["exchange_rates"]["rate_e10"].to_list() == [e10]
    else:
        assert _problems(ds) == [("rate", reason)]


def test_several_bad_cells_in_one_row_reject_it_once() -> None:
    ds = _transaction("1.2.3", "EURO", date="2026-02-30")
    assert sorted(_problems(ds)) == [
        ("amount", "BAD_NUMBER"),
        ("credit_date", "BAD_DATE"),
        ("currency", "UNKNOWN_CURRENCY"),
    ]
    row = ds.accounting.filter(ds.accounting["table"] == "transactions").to_dicts()[0]
    assert (row["rows_read"], row["rows_accepted"], row["rows_rejected"]) == (1, 0, 1)
