"""Typed errors and edge cases of the crediting stage (reason codes, never tracebacks)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from engine.crediting import credit
from engine.crediting.hierarchy import manager_chains
from engine.errors import EngineError, Reason
from engine.rules.crediting_schema import CreditingSection

from .builders import CALENDAR, dataset, table

D = dt.date

SELLER = CreditingSection.model_validate({"rules": [{"name": "s", "source": "seller"}]})
SPLIT = CreditingSection.model_validate({"rules": [{"name": "s", "source": "sellers"}]})
TERRITORY = CreditingSection.model_validate({"rules": [{"name": "t", "source": "territory"}]})


def _tx(**extra: object) -> dict[str, object]:
    return {
        "transaction_id": "T1",
        "credit_date": D(2026, 1, 5),
        "amount_cents": 1000,
        "currency": "USD",
        **extra,
    }


def test_split_shares_not_100_is_a_typed_error_with_the_line() -> None:
    ds = dataset(
        calendar=CALENDAR,
        transactions=[_tx()],
        transaction_sellers=[
            {"transaction_id": "T1", "participant_id": "P1", "share_ppm": 600_000},
            {"transaction_id": "T1", "participant_id": "P2", "share_ppm": 300_000},
        ],
    )
    with pytest.raises(EngineError) as err:
        credit(ds, SPLIT)
    finding = err.value.findings[0]
    assert finding.reason is Reason.SHARES_NOT_100
    assert (finding.file, finding.line) == ("transaction_sellers", 2)


def test_territory_shares_not_100_on_the_date_is_a_typed_error() -> None:
    ds = dataset(
        calendar=CALENDAR,
        transactions=[_tx(territory_id="TA")],
        territory_owners=[
            {
                "territory_id": "TA",
                "participant_id": "P1",
                "share_ppm": 500_000,
                "valid_from": D(2025, 1, 1),
            },
            {
                "territory_id": "TA",
                "participant_id": "P2",
                "share_ppm": 400_000,
                "valid_from": D(2025, 1, 1),
            },
        ],
    )
    with pytest.raises(EngineError) as err:
        credit(ds, TERRITORY)
    assert err.value.reason is Reason.SHARES_NOT_100
    assert err.value.findings[0].file == "territory_owners"


def test_unknown_period_asked_for_is_a_typed_error() -> None:
    ds = dataset(calendar=CALENDAR, transactions=[_tx(seller_id="P1")])
    with pytest.raises(EngineError) as err:
        credit(ds, SELLER, ["2027-01"])
    assert err.value.reason is Reason.UNKNOWN_REFERENCE


def test_hierarchy_cycle_is_guarded_not_looped() -> None:
    cyclic = table(
        "hierarchy",
        [
            {"participant_id": "A", "manager_id": "B", "valid_from": D(2025, 1, 1)},
            {"participant_id": "B", "manager_id": "A", "valid_from": D(2025, 1, 1)},
        ],
    )
    with pytest.raises(EngineError) as err:
        manager_chains(cyclic)
    assert err.value.reason is Reason.HIERARCHY_CYCLE
    assert err.value.findings[0].file == "hierarchy"


def test_amount_too_large_to_split_exactly_is_overflow() -> None:
    ds = dataset(
        calendar=CALENDAR,
        transactions=[_tx(amount_cents=10**17)],
        transaction_sellers=[
            {"transaction_id": "T1", "participant_id": "P1", "share_ppm": 1_000_000}
        ],
    )
    with pytest.raises(EngineError) as err:
        credit(ds, SPLIT)
    assert err.value.reason is Reason.OVERFLOW


def test_empty_inputs_give_empty_typed_outputs() -> None:
    result = credit(dataset(calendar=CALENDAR), SELLER)
    assert result.credits.height == 0
    assert result.credits.schema["level"] == pl.Int32
    assert result.counts.transactions == 0
    assert result.counts.balanced
    assert result.rollup_totals().height == 0


def test_no_rules_means_every_transaction_is_reported() -> None:
    ds = dataset(calendar=CALENDAR, transactions=[_tx(seller_id="P1")])
    result = credit(ds, CreditingSection())
    assert result.unrouted.select("transaction_id", "reason").rows() == [("T1", "NO_CREDIT_RULE")]
    assert result.counts.balanced


def test_missing_optional_tables_are_treated_as_empty() -> None:
    ds = dataset(calendar=CALENDAR, transactions=[_tx(territory_id="TA")])
    del ds.tables["territory_owners"]
    del ds.tables["hierarchy"]
    result = credit(ds, TERRITORY)
    assert result.unrouted["reason"].to_list() == ["NO_OWNER"]


def test_unrouted_message_names_the_rule_and_the_date() -> None:
    ds = dataset(
        calendar=CALENDAR,
        transactions=[_tx(territory_id="TA")],
        territory_owners=[
            {
                "territory_id": "TA",
                "participant_id": "P1",
                "share_ppm": 1_000_000,
                "valid_from": D(2026, 2, 1),
            }
        ],
    )
    message = credit(ds, TERRITORY).unrouted["message"].item()
    assert "TA" in message
    assert "2026-01-05" in message
    assert "rule t" in message


def test_a_condition_on_an_unknown_column_is_a_typed_error() -> None:
    section = CreditingSection.model_validate(
        {"rules": [{"name": "s", "source": "seller", "when": "colour = 'red'"}]}
    )
    with pytest.raises(EngineError) as err:
        credit(dataset(calendar=CALENDAR, transactions=[_tx(seller_id="P1")]), section)
    assert err.value.reason is Reason.RULE_UNKNOWN_COLUMN
