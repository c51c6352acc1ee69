"""The plan schema: exact numbers, strictness, and the checks a reader relies on."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from engine.rules.plan_schema import (
    MEASURE_ADAPTER,
    RATE_TABLE_ADAPTER,
    RATE_TABLE_KINDS,
    Plan,
    cross_reference_errors,
)


def table(**kw):
    return RATE_TABLE_ADAPTER.validate_python({"name": "t", **kw})


@pytest.mark.parametrize(
    ("written", "exact"), [("5%", "0.05"), (0.1, "0.1"), ("12.5%", "0.125"), (1, "1")]
)
def test_numbers_are_exact(written, exact):
    t = table(kind="retroactive", tiers=[{"from": 0, "rate": written}])
    assert t.tiers[0].rate == Decimal(exact)


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "retroactive", "tiers": [{"from": 0, "rate": True}]},
        {"kind": "retroactive", "tiers": [{"from": 0, "rate": "nan"}]},
        {
            "kind": "retroactive",
            "tiers": [{"from": 0, "to": 10, "rate": 1}, {"from": 11, "rate": 2}],
        },
        {"kind": "retroactive", "tiers": [{"from": 0, "rate": 1}, {"from": 10, "rate": 2}]},
        {
            "kind": "retroactive",
            "boundary": "both_inclusive",
            "tiers": [{"from": 0, "to": 10, "rate": 1}, {"from": 10, "rate": 2}],
        },
        {"kind": "retroactive", "tiers": [{"from": 10, "to": 5, "rate": 1}]},
        {"kind": "incremental", "by": ["product"], "tiers": [{"from": 0, "rate": 1}]},
        {
            "kind": "retroactive",
            "tiers": [{"from": 0, "rate": 1}],
            "overrides": [{"match": {"x": "A"}, "tiers": [{"from": 0, "rate": 1}]}],
        },
        {"kind": "per_transaction", "base": "attainment", "tiers": [{"from": 0, "rate": 1}]},
        {
            "kind": "retroactive",
            "base": "attribute",
            "attribute": "quantity",
            "tiers": [{"from": 0, "rate": 1}],
        },
        {"kind": "incremental", "rate_type": "factor", "tiers": [{"from": 0, "rate": 1}]},
        {
            "kind": "payout_curve",
            "base": "amount",
            "points": [{"at": 0, "rate": 0}, {"at": 1, "rate": 1}],
        },
        {"kind": "interpolated", "points": [{"at": 1, "rate": 0}, {"at": 1, "rate": 1}]},
        {"kind": "matrix", "rows": [{"from": 0}], "columns": [{"from": 0}], "rates": [[1, 2]]},
        {"kind": "retroactive", "tiers": [{"from": 0, "rate": 1}], "colour": "red"},
        {"kind": "nope"},
    ],
)
def test_bad_tables_are_refused(spec):
    with pytest.raises(ValidationError):
        table(**spec)


def test_both_inclusive_allows_gaps():
    t = table(
        kind="retroactive",
        boundary="both_inclusive",
        tiers=[{"from": 0, "to": 10, "rate": 1}, {"from": 11, "rate": 2}],
    )
    assert len(t.tiers) == 2


def test_every_kind_is_documented_and_rated():
    from engine.calc.rating import RATERS

    assert set(RATERS) == set(RATE_TABLE_KINDS)


@pytest.mark.parametrize(
    "spec",
    [
        {
            "id": "P",
            "components": [
                {
                    "name": "c",
                    "measure": "m",
                    "rate_table": "t",
                    "cap": {"amount": "1", "multiple_of_target": "1"},
                }
            ],
        },
        {"id": "P", "components": [{"name": "c", "measure": "m", "rate_table": "t", "cap": {}}]},
        {
            "id": "P",
            "components": [{"name": "c", "measure": "m", "rate_table": "t"}],
            "spifs": [{"name": "c", "measure": "m", "amount": "1"}],
        },
        {"id": "P", "components": [], "guarantee": {"amount": "1"}},
        {"id": "P", "components": [], "draw": {"amount": "1.005", "recoverable": True}},
        {"id": "P", "components": [], "clawback": {"window_days": 30, "percent": "1.5"}},
        {"id": "P", "components": [], "currency": {"pay_in": "usd"}},
    ],
)
def test_bad_plans_are_refused(spec):
    with pytest.raises(ValidationError):
        Plan.model_validate(spec)


def test_quota_weights_only_for_annual():
    with pytest.raises(ValidationError):
        MEASURE_ADAPTER.validate_python(
            {"name": "a", "kind": "attainment", "measure": "m", "quota": {"weights": [1]}}
        )


def test_cross_references_name_the_place():
    measures = tuple(
        MEASURE_ADAPTER.validate_python(m)
        for m in (
            {"name": "rev", "kind": "sum"},
            {"name": "att", "kind": "attainment", "measure": "nope"},
        )
    )
    tables = (table(kind="payout_curve", points=[{"at": 0, "rate": 0}, {"at": 1, "rate": 1}]),)
    plans = (
        Plan.model_validate(
            {
                "id": "P",
                "components": [
                    {
                        "name": "c",
                        "measure": "rev",
                        "rate_table": "t",
                        "column_measure": "rev",
                        "modifier": {"measure": "x", "rate_table": "t"},
                    },
                    {
                        "name": "d",
                        "measure": "rev",
                        "rate_table": "u",
                        "gates": [{"measure": "att", "threshold": 1, "pay": "above_threshold"}],
                    },
                ],
                "spifs": [{"name": "s", "measure": "gone", "amount": "5"}],
                "clawback": {"window_days": 1, "components": ["zz"]},
            }
        ),
    )
    paths = [path for path, _ in cross_reference_errors(measures, tables, plans)]
    assert paths == [
        ("measures", 1, "measure"),
        ("plans", 0, "components", 0, "column_measure"),
        ("plans", 0, "components", 0, "modifier", "measure"),
        ("plans", 0, "components", 1, "rate_table"),
        ("plans", 0, "components", 1, "gates", 0, "pay"),
        ("plans", 0, "spifs", 0, "measure"),
        ("plans", 0, "clawback", "components", 0),
    ]
