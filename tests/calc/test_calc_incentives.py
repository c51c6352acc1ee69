"""Rate-table kinds end to end through calculate(), with numbers worked by hand."""

from __future__ import annotations

import pytest

from engine.errors import EngineError, Reason

from .builders import assign, calc, earned, one_plan, payable, person, tx

TIERS = [{"from": 0, "to": 100000, "rate": "5%"}, {"from": 100000, "rate": "8%"}]
SALE_120K = [tx("T1", "2026-01-05", "120000.00", "A")]


def test_retroactive_domain_example():
    r = calc(
        one_plan({"measure": "rev"}, {"kind": "retroactive", "tiers": TIERS}),
        transactions=SALE_120K,
    )
    assert earned(r) == 960_000  # 120k x 8%


def test_incremental_domain_example():
    r = calc(
        one_plan({"measure": "rev"}, {"kind": "incremental", "tiers": TIERS}),
        transactions=SALE_120K,
    )
    assert earned(r) == 660_000  # 100k x 5% + 20k x 8%


@pytest.mark.parametrize(
    ("boundary", "expected"),
    [("lower_inclusive", 800_000), ("upper_inclusive", 500_000)],
)
def test_boundary_inclusivity_at_the_boundary(boundary, expected):
    rules = one_plan(
        {"measure": "rev"}, {"kind": "retroactive", "tiers": TIERS, "boundary": boundary}
    )
    r = calc(rules, transactions=[tx("T1", "2026-01-05", "100000.00", "A")])
    assert earned(r) == expected


def test_both_inclusive_pays_nothing_in_a_gap():
    tiers = [{"from": 0, "to": 1000, "rate": "5%"}, {"from": 2000, "rate": "8%"}]
    rules = one_plan(
        {"measure": "rev"}, {"kind": "retroactive", "tiers": tiers, "boundary": "both_inclusive"}
    )
    assert earned(calc(rules, transactions=[tx("T1", "2026-01-05", "1500.00", "A")])) == 0
    assert earned(calc(rules, transactions=[tx("T1", "2026-01-05", "1000.00", "A")])) == 5_000


def test_settings_boundary_is_the_default():
    rules = one_plan({"measure": "rev"}, {"kind": "retroactive", "tiers": TIERS})
    rules["settings"] = {"boundary": "upper_inclusive"}
    assert earned(calc(rules, transactions=[tx("T1", "2026-01-05", "100000.00", "A")])) == 500_000


TWO_DEALS = [tx("T1", "2026-01-05", "60000.00", "A"), tx("T2", "2026-01-06", "60000.00", "A")]
SMALL = [{"from": 0, "to": 50000, "rate": "5%"}, {"from": 50000, "rate": "8%"}]


@pytest.mark.parametrize(
    ("method", "expected"), [("retroactive", 960_000), ("incremental", 660_000)]
)
def test_per_transaction(method, expected):
    rules = one_plan(
        {"measure": "rev"}, {"kind": "per_transaction", "tiers": SMALL, "method": method}
    )
    # each 60k deal alone: 60k x 8% = 4,800 (retroactive) or 50k x 5% + 10k x 8% = 3,300
    assert earned(calc(rules, transactions=TWO_DEALS)) == expected


def test_per_transaction_marginal_in_declared_order():
    rules = one_plan({"measure": "rev"}, {"kind": "per_transaction_marginal", "tiers": SMALL})
    r = calc(rules, transactions=TWO_DEALS)
    # T1 covers 0-60k: 2,500 + 800; T2 covers 60k-120k at 8%: 4,800
    assert earned(r) == 810_000
    lines = r.incentive_lines.select("transaction_id", "line_e8").rows()
    assert lines == [("T1", 330_000 * 10**6), ("T2", 480_000 * 10**6)]


def test_tiers_on_a_transaction_attribute():
    tiers = [{"from": 0, "to": 10, "rate": "5%"}, {"from": 10, "rate": "10%"}]
    rules = one_plan(
        {"measure": "rev"},
        {"kind": "per_transaction", "base": "attribute", "attribute": "quantity", "tiers": tiers},
    )
    txs = [
        tx("T1", "2026-01-05", "1000.00", "A", quantity="12"),
        tx("T2", "2026-01-06", "1000.00", "A", quantity="3"),
    ]
    assert earned(calc(rules, transactions=txs)) == 15_000  # 100 + 50


QUOTA = [{"participant_id": "A", "period": "2026-01", "measure": "rev", "quota": "100000"}]
ATT_MEASURES = (
    {"name": "rev", "kind": "sum"},
    {"name": "att", "kind": "attainment", "measure": "rev"},
)
ATT_TIERS = [{"from": 0, "to": 1, "rate": "2%"}, {"from": 1, "rate": "5%"}]


@pytest.mark.parametrize(("amount", "expected"), [("99999.99", 200_000), ("100000.00", 500_000)])
def test_attainment_tiers_exact_at_100_percent(amount, expected):
    rules = one_plan(
        {"measure": "rev", "tier_measure": "att"},
        {"kind": "retroactive", "base": "attainment", "tiers": ATT_TIERS},
        *ATT_MEASURES,
    )
    r = calc(rules, transactions=[tx("T1", "2026-01-05", amount, "A")], quotas=QUOTA)
    assert earned(r) == expected  # 99,999.99 x 2% = 1,999.9998 -> 2,000.00


def test_attainment_incremental():
    rules = one_plan(
        {"measure": "rev", "tier_measure": "att"},
        {"kind": "incremental", "base": "attainment", "tiers": ATT_TIERS},
        *ATT_MEASURES,
    )
    r = calc(rules, transactions=[tx("T1", "2026-01-05", "150000.00", "A")], quotas=QUOTA)
    assert earned(r) == 450_000  # 100k x 2% + 50k x 5%


def test_payout_curve_percent_of_target():
    curve = {
        "kind": "payout_curve",
        "points": [{"at": 0.5, "rate": 0}, {"at": 1, "rate": 1}, {"at": 1.5, "rate": 2}],
    }
    rules = one_plan({"measure": "att"}, curve, *ATT_MEASURES)
    r = calc(
        rules,
        transactions=[tx("T1", "2026-01-05", "120000.00", "A")],
        quotas=QUOTA,
        plans=[assign("A", "P", target="10000")],
    )
    assert earned(r) == 1_400_000  # 120% -> 140% of 10,000


def test_payout_curve_target_prorated_for_mid_month_start():
    curve = {"kind": "payout_curve", "points": [{"at": 0, "rate": 0}, {"at": 1, "rate": 1}]}
    rules = one_plan({"measure": "att"}, curve, *ATT_MEASURES)
    r = calc(
        rules,
        participants=[person("A", hire="2026-01-17")],
        transactions=[tx("T1", "2026-01-20", "48387.10", "A")],
        quotas=QUOTA,  # prorated: 100,000 x 15/31 = 48,387.10
        plans=[assign("A", "P", target="3100")],
    )
    assert earned(r) == 150_000  # 100% of 3,100 x 15/31


def test_interpolated_rate():
    curve = {
        "kind": "interpolated",
        "base": "amount",
        "points": [{"at": 0, "rate": "2%"}, {"at": 100000, "rate": "4%"}],
    }
    r = calc(
        one_plan({"measure": "rev"}, curve), transactions=[tx("T1", "2026-01-05", "50000.00", "A")]
    )
    assert earned(r) == 150_000  # 50k x 3%


def test_matrix_two_dimensions():
    table = {
        "kind": "matrix",
        "rows": [{"from": 0, "to": 1}, {"from": 1}],
        "column_base": "amount",
        "columns": [{"from": 0, "to": 30}, {"from": 30}],
        "rates": [["2%", "3%"], ["4%", "6%"]],
    }
    measures = (*ATT_MEASURES, {"name": "margin", "kind": "sum", "of": "quantity"})
    rules = one_plan(
        {"measure": "rev", "tier_measure": "att", "column_measure": "margin"}, table, *measures
    )
    r = calc(
        rules, transactions=[tx("T1", "2026-01-05", "110000.00", "A", quantity="35")], quotas=QUOTA
    )
    assert earned(r) == 660_000  # 110% and 35: 6% of 110,000


def test_dimension_overrides_most_specific_wins():
    table = {
        "kind": "retroactive",
        "tiers": [{"from": 0, "rate": "5%"}],
        "by": ["product", "deal_type"],
        "overrides": [
            {"match": {"product": "A"}, "tiers": [{"from": 0, "rate": "10%"}]},
            {
                "match": {"product": "A", "deal_type": "renewal"},
                "tiers": [{"from": 0, "rate": "2%"}],
            },
        ],
    }
    txs = [
        tx("T1", "2026-01-05", "1000.00", "A", product="A"),
        tx("T2", "2026-01-06", "1000.00", "A", product="A", deal_type="renewal"),
        tx("T3", "2026-01-07", "1000.00", "A", product="B"),
    ]
    assert earned(calc(one_plan({"measure": "rev"}, table), transactions=txs)) == 17_000


def test_gate_pays_nothing_until_passed_then_from_first_dollar():
    measures = (
        {"name": "rev", "kind": "sum"},
        {"name": "logos", "kind": "count", "when": "deal_type = 'new'"},
    )
    rules = one_plan(
        {"measure": "rev", "gates": [{"measure": "logos", "threshold": 2}]},
        {"kind": "retroactive", "tiers": TIERS},
        *measures,
    )
    one = [tx("T1", "2026-01-05", "1000.00", "A")]
    two = [*one, tx("T2", "2026-01-06", "1000.00", "A")]
    assert earned(calc(rules, transactions=one)) == 0
    assert earned(calc(rules, transactions=two)) == 10_000


def test_gate_above_threshold_pays_only_the_excess():
    rules = one_plan(
        {
            "measure": "rev",
            "gates": [{"measure": "rev", "threshold": 10000, "pay": "above_threshold"}],
        },
        {"kind": "retroactive", "tiers": [{"from": 0, "rate": "5%"}]},
    )
    assert earned(calc(rules, transactions=[tx("T1", "2026-01-05", "25000.00", "A")])) == 75_000
    assert earned(calc(rules, transactions=[tx("T1", "2026-01-05", "9000.00", "A")])) == 0


def test_linked_modifier_halves_below_half_new_logo_attainment():
    measures = (
        {"name": "rev", "kind": "sum"},
        {"name": "logos", "kind": "count", "when": "deal_type = 'new'"},
        {"name": "logo_att", "kind": "attainment", "measure": "logos"},
    )
    rules = one_plan(
        {"measure": "rev", "modifier": {"measure": "logo_att", "rate_table": "f"}},
        {"kind": "retroactive", "tiers": [{"from": 0, "rate": "10%"}]},
        *measures,
    )
    rules["rate_tables"].append(
        {
            "name": "f",
            "kind": "retroactive",
            "base": "attainment",
            "rate_type": "factor",
            "tiers": [{"from": 0, "to": 0.5, "rate": 0.5}, {"from": 0.5, "rate": 1}],
        }
    )
    quotas = [{"participant_id": "A", "period": "2026-01", "measure": "logos", "quota": "4"}]
    one_logo = [
        tx("T1", "2026-01-05", "1000.00", "A"),
        tx("T2", "2026-01-06", "1000.00", "A", deal_type="renewal"),
    ]
    r = calc(rules, transactions=one_logo, quotas=quotas)
    assert earned(r) == 10_000  # 200 x 0.5 (1 of 4 new logos = 25%)
    assert r.incentives["modifier_ppm"].to_list() == [500_000]


@pytest.mark.parametrize(
    ("point", "mode", "expected"),
    [
        ("line", "half_up", 3),  # 0.005 -> 0.01 per line, three lines
        ("line", "half_even", 0),  # 0.005 -> 0.00 per line
        ("component", "half_up", 2),  # 0.015 -> 0.02
        ("component", "half_even", 2),  # 0.015 -> 0.02 (to even)
    ],
)
def test_rounding_point_and_mode_on_ties(point, mode, expected):
    rules = one_plan(
        {"measure": "rev"}, {"kind": "per_transaction", "tiers": [{"from": 0, "rate": "5%"}]}
    )
    rules["settings"] = {"rounding_point": point, "rounding_mode": mode}
    txs = [tx(f"T{i}", "2026-01-05", "0.10", "A") for i in range(3)]
    assert earned(calc(rules, transactions=txs)) == expected


def test_rounding_point_total_spreads_cents():
    rules = {
        "settings": {"rounding_point": "total"},
        "measures": [{"name": "rev", "kind": "sum"}],
        "rate_tables": [{"name": "t", "kind": "retroactive", "tiers": [{"from": 0, "rate": "5%"}]}],
        "plans": [
            {
                "id": "P",
                "components": [
                    {"name": n, "measure": "rev", "rate_table": "t"} for n in ("a", "b", "c")
                ],
            }
        ],
    }
    r = calc(rules, transactions=[tx("T1", "2026-01-05", "0.10", "A")])
    # each component 0.005 exact; total 0.015 -> 0.02, spread 1 + 1 + 0 cents
    assert r.incentives["rated_cents"].to_list() == [1, 1, 0]


def test_negative_measure_from_credit_note_earns_negative_not_positive():
    rules = one_plan({"measure": "rev"}, {"kind": "retroactive", "tiers": TIERS})
    r = calc(rules, transactions=[tx("T1", "2026-01-05", "-1000.00", "A")])
    assert earned(r) == -5_000


def test_spif_per_deal_in_window_and_per_period():
    rules = {
        "measures": [
            {"name": "rev", "kind": "sum"},
            {"name": "x_deals", "kind": "count", "when": "product = 'X'"},
        ],
        "rate_tables": [{"name": "t", "kind": "retroactive", "tiers": [{"from": 0, "rate": "0%"}]}],
        "plans": [
            {
                "id": "P",
                "components": [{"name": "c", "measure": "rev", "rate_table": "t"}],
                "spifs": [
                    {
                        "name": "push",
                        "measure": "x_deals",
                        "amount": "250",
                        "from_date": "2026-01-10",
                    },
                    {
                        "name": "three",
                        "measure": "x_deals",
                        "amount": "1000",
                        "per": "period",
                        "at_least": 3,
                    },
                ],
            }
        ],
    }
    txs = [tx(f"T{i}", f"2026-01-{5 * i + 1:02d}", "10.00", "A", product="X") for i in range(3)]
    r = calc(rules, transactions=txs)
    assert earned(r, "push") == 25_000  # deals on 1, 6 and 11 Jan: one from 10 Jan on
    assert earned(r, "three") == 100_000
    assert payable(r) == 125_000


def test_bad_table_value_is_a_typed_error():
    rules = one_plan(
        {"measure": "rev"},
        {"kind": "retroactive", "base": "attainment", "tiers": [{"from": 0, "rate": "0.00000001"}]},
    )
    with pytest.raises(EngineError) as err:
        calc(rules, transactions=SALE_120K)
    assert err.value.reason is Reason.RULE_BAD_VALUE


def test_sum_and_tiers_on_an_extra_column():
    rules = {
        "measures": [
            {"name": "points", "kind": "sum", "of": "points"},
            {"name": "rev", "kind": "sum"},
        ],
        "rate_tables": [
            {
                "name": "t",
                "kind": "retroactive",
                "rate_type": "per_unit",
                "tiers": [{"from": 0, "rate": "2.00"}],
            },
            {
                "name": "d",
                "kind": "per_transaction",
                "base": "attribute",
                "attribute": "discount",
                "tiers": [{"from": 0, "to": 10, "rate": "10%"}, {"from": 10, "rate": "5%"}],
            },
        ],
        "plans": [
            {
                "id": "P",
                "components": [
                    {"name": "c", "measure": "points", "rate_table": "t"},
                    {"name": "d", "measure": "rev", "rate_table": "d"},
                ],
            }
        ],
    }
    txs = [
        tx("T1", "2026-01-05", "1000.00", "A", points="2.5", discount="12"),
        tx("T2", "2026-01-06", "1000.00", "A", points="1", discount="3.5"),
        tx(
            "T3", "2026-01-07", "1000.00", "A", points="x", discount=""
        ),  # unreadable: 0 / not rated
    ]
    r = calc(rules, transactions=txs)
    assert earned(r, "c") == 700  # 3.5 points x 2.00
    assert earned(r, "d") == 15_000  # 1,000 x 5% + 1,000 x 10%
