"""calculate_rated(): the frames calculate() computes before clawbacks and its fold."""

from __future__ import annotations

from typing import Any

import pytest

from engine.calc.payouts import Rules, calculate, calculate_rated

from .builders import assign, build, direct_credits, person, tx

RULES: dict[str, Any] = {
    "measures": [
        {"name": "rev", "kind": "sum", "include_returns": False},
        {"name": "ytd", "kind": "sum", "window": "year_to_date"},
    ],
    "rate_tables": [
        {
            "name": "t",
            "kind": "per_transaction",
            "tiers": [{"from": 0, "to": 1000, "rate": "5%"}, {"from": 1000, "rate": "10%"}],
        },
        {
            "name": "r",
            "kind": "retroactive",
            "tiers": [{"from": 0, "to": 1000, "rate": "1%"}, {"from": 1000, "rate": "2%"}],
        },
    ],
    "plans": [
        {
            "id": "P",
            "components": [
                {"name": "c", "measure": "rev", "rate_table": "t"},
                {"name": "y", "measure": "ytd", "rate_table": "r", "true_up": True},
            ],
            "clawback": {"window_days": 90, "percent": "1", "components": ["c"]},
            "spifs": [{"name": "s", "measure": "rev", "amount": "50", "per": "period"}],
        },
        {"id": "Q", "components": [{"name": "c", "measure": "ytd", "rate_table": "r"}]},
    ],
}

TXS = [
    tx("T1", "2026-01-10", "2000.00", "A"),
    tx("T2", "2026-02-05", "400.00", "A"),
    tx("R1", "2026-02-15", "-500.00", "A", original="T1"),
    tx("T3", "2026-01-20", "1500.00", "B"),
    tx("T4", "2026-03-02", "700.00", "B"),
]


def _dataset():  # type: ignore[no-untyped-def]
    return build(
        participants=[person("A"), person("B"), person("C")],
        transactions=TXS,
        plans=[assign("A", "P"), assign("B", "Q"), assign("C", "X")],
    )


@pytest.mark.parametrize("periods", [None, ["2026-02"], ["2026-01", "2026-03"]])
def test_rated_frames_equal_calculate(periods: list[str] | None) -> None:
    ds = _dataset()
    credits = direct_credits(ds)
    rules = Rules.model_validate(RULES)
    rated = calculate_rated(ds, credits, rules, periods)
    full = calculate(ds, credits, rules, periods)
    assert rated.measures.equals(full.measures)
    assert rated.incentives.equals(full.incentives)
    assert rated.incentive_lines.equals(full.incentive_lines)
    assert full.incentives.height > 0
    assert full.findings.height > 0  # plan X is assigned but not defined
    assert rated.findings.unique(maintain_order=True).equals(full.findings)


def test_rated_keeps_every_rated_period_for_the_fold() -> None:
    ds = _dataset()
    rated = calculate_rated(ds, direct_credits(ds), Rules.model_validate(RULES), ["2026-02"])
    assert rated.periods == ("2026-02",)
    assert set(rated.incentives["period"]) == {"2026-02"}
    # a true-up and a clawback window reach back: January is rated too, not published
    assert set(rated.rated_incentives["period"]) == {"2026-01", "2026-02"}
    assert set(rated.rated_incentive_lines["period"]) == {"2026-01", "2026-02"}
    assert set(rated.segments["period"]) == set(ds.tables["calendar"]["period"])
    assert rated.lines.frame.height > 0


def test_no_period_filter_copy_when_every_rated_period_is_paid() -> None:
    ds = _dataset()
    rules = Rules.model_validate({**RULES, "plans": [RULES["plans"][1]]})
    rated = calculate_rated(ds, direct_credits(ds), rules, None)
    assert rated.incentives is rated.rated_incentives
