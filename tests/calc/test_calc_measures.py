"""Measures: filters, held credits, windows, counts, attainment, formulas, quotas, currency."""

from __future__ import annotations

from fractions import Fraction

import pytest

from engine.errors import EngineError, Reason

from .builders import build, direct_credits, measures_for, person, tx, value

P = [person("A"), person("B")]
TXS = [
    tx("T1", "2026-01-05", "1000.00", "A", product="A"),
    tx("T2", "2026-01-20", "500.50", "A", product="B"),
    tx("T3", "2026-02-03", "200.00", "A", product="A"),
    tx("T4", "2026-04-10", "300.00", "A", product="A"),
    tx("T5", "2026-02-11", "-100.00", "A", product="A"),
    tx("T6", "2026-01-07", "999.99", "B", product="A"),
]
PERIODS = ["2026-01", "2026-02", "2026-03", "2026-04"]


def run(measures, *, held=(), quotas=(), participants=P, transactions=TXS, **kw):
    ds = build(participants=participants, transactions=transactions, quotas=quotas, **kw)
    return measures_for(ds, direct_credits(ds, held), measures, PERIODS)


def test_sum_with_filter_and_held_credit():
    frame, _ = run(
        [{"name": "rev_a", "kind": "sum", "when": "product = 'A'"}, {"name": "rev", "kind": "sum"}],
        held=["T6"],
    )
    assert value(frame, "A", "2026-01", "rev_a") == (100_000, 1)
    assert value(frame, "A", "2026-01", "rev") == (150_050, 1)
    assert value(frame, "A", "2026-02", "rev") == (10_000, 1)  # 200 - 100 return
    assert value(frame, "B", "2026-01", "rev") == (0, 1)  # held: not counted
    assert value(frame, "A", "2026-03", "rev") == (0, 1)  # nothing: zero row


def test_returns_excluded_on_request():
    frame, _ = run([{"name": "rev", "kind": "sum", "include_returns": False}])
    assert value(frame, "A", "2026-02", "rev") == (20_000, 1)


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        ("period", [150_050, 10_000, 0, 30_000]),
        ("quarter_to_date", [150_050, 160_050, 160_050, 30_000]),
        ("year_to_date", [150_050, 160_050, 160_050, 190_050]),
    ],
)
def test_windows(window, expected):
    frame, _ = run([{"name": "rev", "kind": "sum", "window": window}])
    got = [value(frame, "A", p, "rev")[0] for p in PERIODS]
    assert got == expected


def test_count_and_distinct():
    frame, _ = run(
        [
            {"name": "deals", "kind": "count", "when": "amount > 0"},
            {
                "name": "deals_ytd",
                "kind": "count",
                "window": "year_to_date",
                "distinct": "transaction",
            },
        ]
    )
    assert value(frame, "A", "2026-01", "deals") == (200, 1)
    assert value(frame, "A", "2026-02", "deals") == (100, 1)
    assert value(frame, "A", "2026-04", "deals_ytd") == (500, 1)


def test_sum_of_quantity():
    txs = [
        tx("T1", "2026-01-05", "10.00", "A", quantity="2.5"),
        tx("T2", "2026-01-06", "1.00", "A"),
    ]
    frame, _ = run([{"name": "units", "kind": "sum", "of": "quantity"}], transactions=txs)
    assert value(frame, "A", "2026-01", "units") == (350, 1)


def test_attainment_exact_ratio_and_missing_quota():
    quotas = [
        {"participant_id": "A", "period": "2026-01", "measure": "rev", "quota": "3000"},
        {"participant_id": "A", "period": "2026-02", "measure": "rev", "quota": "3000"},
    ]
    frame, findings = run(
        [
            {"name": "rev", "kind": "sum", "window": "quarter_to_date"},
            {"name": "att", "kind": "attainment", "measure": "rev"},
        ],
        quotas=quotas,
    )
    n, d = value(frame, "A", "2026-01", "att")
    assert Fraction(n, d) == Fraction(150_050, 300_000)
    n, d = value(frame, "A", "2026-02", "att")
    assert Fraction(n, d) == Fraction(160_050, 600_000)  # QTD quota = 3000 + 3000
    assert value(frame, "B", "2026-01", "att") == (None, None)
    no_quota = findings.filter(findings["reason"] == Reason.NO_QUOTA.value)
    assert ("B", "2026-01", "att") in no_quota.select("participant_id", "period", "subject").rows()


def test_attainment_zero_when_no_quota_and_asked():
    frame, _findings = run(
        [
            {"name": "rev", "kind": "sum"},
            {"name": "att", "kind": "attainment", "measure": "rev", "no_quota": "zero"},
        ]
    )
    assert value(frame, "A", "2026-01", "att") == (0, 1)


def test_annual_quota_with_seasonality_and_mid_year_hire():
    participants = [person("A"), person("B", hire="2026-02-15")]
    quotas = [
        {"participant_id": "A", "period": "2026-01", "measure": "rev", "quota": "1200.00"},
        {"participant_id": "B", "period": "2026-01", "measure": "rev", "quota": "1200.00"},
    ]
    weights = ["2", "1", "1", "1", "1", "1", "1", "1", "1", "1", "1", "0"]
    frame, _ = run(
        [
            {"name": "rev", "kind": "sum"},
            {
                "name": "att",
                "kind": "attainment",
                "measure": "rev",
                "quota": {"basis": "annual", "weights": weights},
                "no_quota": "zero",
            },
        ],
        participants=participants,
        quotas=quotas,
    )
    quota = {
        (r["participant_id"], r["period"]): r["quota_e2"]
        for r in frame.filter(frame["measure"] == "att").iter_rows(named=True)
    }
    # 1200.00 spread 2:1:...:1:0 over 12 weights summing to 12 -> 200.00, 100.00, ...
    assert quota["A", "2026-01"] == 20_000
    assert quota["A", "2026-02"] == 10_000
    # B hired 15 Feb: January not employed (quota prorated to 0), February 14/28 days
    assert quota["B", "2026-01"] == 0
    assert quota["B", "2026-02"] == 5_000
    assert quota["B", "2026-03"] == 10_000


def test_period_quota_prorated_for_termination():
    participants = [person("A", term="2026-01-10")]
    quotas = [{"participant_id": "A", "period": "2026-01", "measure": "rev", "quota": "3100"}]
    frame, _ = run(
        [{"name": "rev", "kind": "sum"}, {"name": "att", "kind": "attainment", "measure": "rev"}],
        participants=participants,
        quotas=quotas,
        transactions=[tx("T1", "2026-01-05", "500.00", "A")],
    )
    assert value(frame, "A", "2026-01", "att") == (50_000, 100_000)  # quota 3100 x 10/31


def test_formula():
    frame, _ = run(
        [
            {"name": "a", "kind": "sum", "when": "product = 'A'"},
            {"name": "b", "kind": "sum", "when": "product = 'B'"},
            {"name": "blend", "kind": "formula", "formula": "a + 0.5 * b"},
            {"name": "share_b", "kind": "formula", "formula": "b / (a + b)"},
        ]
    )
    n, d = value(frame, "A", "2026-01", "blend")  # natural units: currency
    assert Fraction(n, d) == Fraction(1000) + Fraction(50_050, 200)
    n, d = value(frame, "A", "2026-01", "share_b")
    assert Fraction(n, d) == Fraction(50_050, 150_050)
    assert value(frame, "A", "2026-03", "share_b") == (None, None)  # 0 / 0


def test_formula_errors():
    with pytest.raises(EngineError) as err:
        run([{"name": "f", "kind": "formula", "formula": "nope * 2"}])
    assert err.value.reason is Reason.RULE_DANGLING_REFERENCE
    with pytest.raises(EngineError) as err:
        run(
            [
                {"name": "f", "kind": "formula", "formula": "g"},
                {"name": "g", "kind": "formula", "formula": "f"},
            ]
        )
    assert err.value.reason is Reason.RULE_BAD_VALUE
    with pytest.raises(EngineError) as err:
        run([{"name": "f", "kind": "formula", "formula": "(1 +"}])
    assert err.value.reason is Reason.RULE_BAD_EXPRESSION


def test_bad_condition_is_typed_error():
    with pytest.raises(EngineError) as err:
        run([{"name": "x", "kind": "sum", "when": "prodcut = 'A'"}])
    assert err.value.reason is Reason.RULE_UNKNOWN_COLUMN


def test_currency_conversion_per_line_and_missing_rate():
    participants = [person("A", currency="EUR")]
    txs = [
        tx("T1", "2026-01-05", "100.01", "A", currency="USD"),
        tx("T2", "2026-01-06", "100.01", "A", currency="USD"),
        tx("T3", "2026-01-07", "50.00", "A", currency="EUR"),
        tx("T4", "2026-01-08", "10.00", "A", currency="GBP"),
    ]
    rates = [
        {
            "from_currency": "USD",
            "to_currency": "EUR",
            "rate": "0.925",
            "valid_from": "2026-01-01",
            "valid_to": "",
        }
    ]
    frame, findings = run(
        [{"name": "rev", "kind": "sum"}], participants=participants, transactions=txs, rates=rates
    )
    # 10001 x 0.925 = 9250.925 -> 9251 per line (rounded per line), + 5000
    assert value(frame, "A", "2026-01", "rev") == (2 * 9251 + 5000, 1)
    assert frame.filter(frame["measure"] == "rev")["currency"].unique().to_list() == ["EUR"]
    assert findings.filter(findings["reason"] == "NO_EXCHANGE_RATE").height == 1


def test_output_sorted_and_typed():
    frame, _ = run([{"name": "z", "kind": "sum"}, {"name": "a", "kind": "count"}])
    keys = frame.select("participant_id", "period", "measure").rows()
    assert keys == sorted(keys)
    assert frame.schema["num"].is_integer()
