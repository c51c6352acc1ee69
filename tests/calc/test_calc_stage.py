"""calculate() end to end: clawbacks, proration, currency, true-ups, multi-period runs."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError, Reason

from .builders import assign, calc, earned, payable, person, tx

PERIODS = ["2026-01", "2026-02", "2026-03", "2026-04"]


def claw_rules(window=90, percent="1", include_returns=False, **plan):
    return {
        "measures": [{"name": "rev", "kind": "sum", "include_returns": include_returns}],
        "rate_tables": [
            {
                "name": "t",
                "kind": "per_transaction",
                "tiers": [{"from": 0, "to": 1000, "rate": "5%"}, {"from": 1000, "rate": "10%"}],
            }
        ],
        "plans": [
            {
                "id": "P",
                "components": [{"name": "c", "measure": "rev", "rate_table": "t"}],
                "clawback": {"window_days": window, "percent": percent},
                **plan,
            }
        ],
    }


DEAL = tx("T1", "2026-01-10", "2000.00", "A")  # paid 2,000 x 10% = 200.00


def test_clawback_at_original_rate_in_return_period():
    txs = [DEAL, tx("R1", "2026-02-15", "-500.00", "A", original="T1")]
    r = calc(claw_rules(), transactions=txs, periods=PERIODS[:2])
    assert earned(r, period="2026-01") == 20_000
    assert earned(r, period="2026-02") == 0  # the return is not in the measure
    assert payable(r, "2026-02") == -5_000  # 500 x 10% (the original deal's rate), not 5%
    adj = r.adjustments.select("period", "type", "amount_cents").rows()
    assert adj == [("2026-02", "clawback", -5_000)]


def test_clawback_percentage_and_window():
    txs = [DEAL, tx("R1", "2026-02-15", "-500.00", "A", original="T1")]
    half = calc(claw_rules(percent="0.5"), transactions=txs, periods=PERIODS[:2])
    assert payable(half, "2026-02") == -2_500
    late = calc(claw_rules(window=30), transactions=txs, periods=PERIODS[:2])
    assert payable(late, "2026-02") == 0  # 36 days after the deal: outside a 30-day window


def test_clawback_never_more_than_paid_across_periods():
    txs = [
        DEAL,
        tx("R1", "2026-02-01", "-1500.00", "A", original="T1"),
        tx("R2", "2026-03-01", "-1500.00", "A", original="T1"),  # more than the deal in total
    ]
    r = calc(claw_rules(), transactions=txs, periods=PERIODS[:3])
    assert payable(r, "2026-02") == -15_000
    assert payable(r, "2026-03") == -5_000  # only 50.00 of the 200.00 paid is left


def test_credit_note_without_original_never_raises_pay():
    rules = claw_rules(include_returns=True)
    rules["plans"][0].pop("clawback")
    txs = [DEAL, tx("C1", "2026-01-20", "-100.00", "A")]
    r = calc(rules, transactions=txs)
    assert earned(r) == 20_000 - 500  # the note is rated like the deal it reduces, negative


def test_clawed_measure_must_leave_returns_out():
    with pytest.raises(EngineError) as err:
        calc(claw_rules(include_returns=True), transactions=[DEAL])
    assert err.value.reason is Reason.RULE_BAD_VALUE


def simple_rules(**plan):
    return {
        "measures": [{"name": "rev", "kind": "sum"}],
        "rate_tables": [
            {"name": "t", "kind": "retroactive", "tiers": [{"from": 0, "rate": "10%"}]}
        ],
        "plans": [
            {"id": "P", "components": [{"name": "c", "measure": "rev", "rate_table": "t"}], **plan},
            {"id": "Q", "components": [{"name": "c", "measure": "rev", "rate_table": "t"}]},
        ],
    }


def test_plan_change_mid_period_prorates_each_plan_by_days():
    plans = [assign("A", "P", "2026-01-01", "2026-01-10"), assign("A", "Q", "2026-01-11")]
    r = calc(simple_rules(), transactions=[tx("T1", "2026-01-05", "3100.00", "A")], plans=plans)
    rows = r.incentives.select("plan_id", "rated_cents").rows()
    assert rows == [("P", 10_000), ("Q", 21_000)]  # 310 x 10/31, 310 x 21/31


def test_currency_conversion_pays_in_pay_currency():
    rates = [
        {
            "from_currency": "USD",
            "to_currency": "EUR",
            "rate": "0.9",
            "valid_from": "2026-01-01",
            "valid_to": "",
        }
    ]
    r = calc(
        simple_rules(),
        participants=[person("A", currency="EUR")],
        transactions=[tx("T1", "2026-01-05", "1000.00", "A")],
        rates=rates,
    )
    rows = (
        r.payouts.filter(pl.col("line") == "component").select("payable_cents", "currency").rows()
    )
    assert rows == [(9_000, "EUR")]


def test_convert_at_period_end():
    rates = [
        {
            "from_currency": "USD",
            "to_currency": "EUR",
            "rate": "0.9",
            "valid_from": "2026-01-01",
            "valid_to": "2026-01-30",
        },
        {
            "from_currency": "USD",
            "to_currency": "EUR",
            "rate": "0.8",
            "valid_from": "2026-01-31",
            "valid_to": "",
        },
    ]
    rules = simple_rules(currency={"convert_at": "period_end"})
    r = calc(
        rules,
        participants=[person("A", currency="EUR")],
        transactions=[tx("T1", "2026-01-05", "1000.00", "A")],
        rates=rates,
    )
    assert payable(r) == 8_000


def test_ytd_cumulative_component_pays_earned_to_date_minus_paid():
    rules = {
        "measures": [{"name": "rev", "kind": "sum", "window": "year_to_date"}],
        "rate_tables": [
            {
                "name": "t",
                "kind": "retroactive",
                "tiers": [{"from": 0, "to": 1000, "rate": "5%"}, {"from": 1000, "rate": "10%"}],
            }
        ],
        "plans": [
            {
                "id": "P",
                "components": [{"name": "c", "measure": "rev", "rate_table": "t", "true_up": True}],
            }
        ],
    }
    txs = [tx("T1", "2026-01-05", "800.00", "A"), tx("T2", "2026-02-05", "400.00", "A")]
    r = calc(rules, transactions=txs, periods=PERIODS[:2])
    # Jan: 800 x 5% = 40; Feb: YTD 1,200 x 10% = 120, minus 40 paid = 80 (the accelerator
    # applies retroactively to January's sales)
    assert [payable(r, p) for p in PERIODS[:2]] == [4_000, 8_000]


def test_late_transaction_for_closed_period_is_trued_up():
    rules = simple_rules(true_up={})
    jan = calc(rules, transactions=[tx("T1", "2026-01-05", "100.00", "A")], periods=["2026-01"])
    late = [
        tx("T1", "2026-01-05", "100.00", "A"),
        tx("T9", "2026-01-20", "50.00", "A"),
        tx("T2", "2026-02-03", "10.00", "A"),
    ]
    feb = calc(rules, transactions=late, periods=["2026-02"], state=jan.state)
    assert payable(feb, "2026-02") == 100 + 500  # February's own 1.00 + 5.00 late January
    assert feb.adjustments.select("type", "amount_cents").rows() == [("prior_period", 500)]


FULL_RULES = {
    "measures": [
        {"name": "rev", "kind": "sum", "include_returns": False},
        {"name": "rev_ytd", "kind": "sum", "window": "year_to_date"},
        {"name": "att", "kind": "attainment", "measure": "rev"},
    ],
    "rate_tables": [
        {
            "name": "t",
            "kind": "retroactive",
            "base": "attainment",
            "tiers": [{"from": 0, "to": 1, "rate": "4%"}, {"from": 1, "rate": "9%"}],
        },
        {
            "name": "y",
            "kind": "incremental",
            "tiers": [{"from": 0, "to": 5000, "rate": "1%"}, {"from": 5000, "rate": "2%"}],
        },
    ],
    "plans": [
        {
            "id": "P",
            "components": [
                {
                    "name": "c",
                    "measure": "rev",
                    "tier_measure": "att",
                    "rate_table": "t",
                    "cap": {"amount": "300", "excess": "carry_forward"},
                },
                {"name": "y", "measure": "rev_ytd", "rate_table": "y", "true_up": True},
            ],
            "draw": {"amount": "150", "recoverable": True, "recovery_limit": "40"},
            "caps": [{"multiple_of_target": "3", "window": "year_to_date"}],
            "clawback": {"window_days": 60, "components": ["c"]},
            "true_up": {},
        }
    ],
}


@st.composite
def histories(draw):
    n = draw(st.integers(min_value=1, max_value=8))
    txs = []
    for i in range(n):
        month = draw(st.integers(min_value=1, max_value=4))
        day = draw(st.integers(min_value=1, max_value=28))
        cents = draw(st.integers(min_value=1, max_value=800_000))
        who = draw(st.sampled_from(["A", "B"]))
        txs.append(
            tx(f"T{i}", f"2026-{month:02d}-{day:02d}", f"{cents // 100}.{cents % 100:02d}", who)
        )
        if draw(st.booleans()) and month < 4:
            back = draw(st.integers(min_value=1, max_value=cents))
            txs.append(
                tx(
                    f"R{i}",
                    f"2026-{month + 1:02d}-{day:02d}",
                    f"-{back // 100}.{back % 100:02d}",
                    who,
                    original=f"T{i}",
                )
            )
    return txs


QUOTAS = [
    {"participant_id": p, "period": m, "measure": "rev", "quota": "3000"}
    for p in "AB"
    for m in PERIODS
]


LEAN_RULES = {
    **FULL_RULES,
    "plans": [
        {k: v for k, v in FULL_RULES["plans"][0].items() if k not in ("true_up", "clawback")}
    ],
}


@pytest.mark.parametrize("rules", [FULL_RULES, LEAN_RULES], ids=["true-up-clawback", "lean"])
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_period_by_period_equals_all_at_once(rules, txs):
    people = [person("A"), person("B", hire="2026-02-10")]
    plans = [assign("A", "P", target="100"), assign("B", "P", target="100")]
    kw = {"participants": people, "transactions": txs, "quotas": QUOTAS, "plans": plans}
    whole = calc(rules, periods=PERIODS, **kw)
    state = None
    parts = []
    for p in PERIODS:
        step = calc(rules, periods=[p], state=state, **kw)
        parts.append(step.payouts)
        state = step.state
    keys = ["participant_id", "period", "plan_id", "line", "component"]
    assert pl.concat(parts).sort(keys).equals(whole.payouts.sort(keys))
    assert state is not None
    assert state.equals(whole.state)
    p = whole.payouts
    assert (
        p["earned_cents"] + p["adjustments_cents"] + p["draw_cents"] - p["recovered_cents"]
        == p["payable_cents"]
    ).all()


def test_unknown_plan_is_a_finding_and_pay_in_overrides_currency():
    rates = [
        {
            "from_currency": "USD",
            "to_currency": "GBP",
            "rate": "0.8",
            "valid_from": "2026-01-01",
            "valid_to": "",
        }
    ]
    rules = simple_rules(currency={"pay_in": "GBP"})
    r = calc(
        rules,
        participants=[person("A"), person("B")],
        transactions=[tx("T1", "2026-01-05", "100.00", "A")],
        plans=[assign("A", "P"), assign("B", "NOPE")],
        rates=rates,
    )
    assert r.payouts.filter(pl.col("component") == "c").select(
        "payable_cents", "currency"
    ).rows() == [(800, "GBP")]
    assert r.findings.select("participant_id", "subject", "reason").rows() == [
        ("B", "NOPE", "NO_PLAN")
    ]


def test_missing_exchange_rate_is_a_finding():
    r = calc(
        simple_rules(),
        participants=[person("A", currency="EUR")],
        transactions=[tx("T1", "2026-01-05", "100.00", "A")],
    )
    assert r.findings["reason"].to_list() == ["NO_EXCHANGE_RATE"]
    assert payable(r) == 0


def test_missing_target_incentive_is_a_finding():
    rules = simple_rules(draw={"multiple_of_target": "0.5", "recoverable": False})
    r = calc(rules, transactions=[tx("T1", "2026-01-05", "100.00", "A")])
    assert r.findings.select("subject", "reason").rows() == [("P", "REQUIRED_VALUE_MISSING")]
