"""Pay mechanics, worked by hand from the domain spec, through the fold."""

from __future__ import annotations

import polars as pl
import pytest

from engine.calc.fold import fold
from engine.calc.state import empty_state

from .fold_support import column, inputs, plan, run, total_payable

DRAW = {"amount": "1000", "recoverable": True}


def test_draw_example_from_the_spec():
    # draw 1,000, earned 500: paid 1,000, balance 500; next period earned 1,800: paid 1,300
    r = run(plan(draw=DRAW), {"c": [50_000, 180_000]})
    assert total_payable(r) == [100_000, 130_000]
    assert column(r, "draw_cents") == [50_000, 0]
    assert column(r, "recovered_cents") == [0, 50_000]
    assert column(r, "draw_balance_cents") == [50_000, 0]


def test_draw_recovery_limit_per_period():
    r = run(plan(draw={**DRAW, "recovery_limit": "300"}), {"c": [50_000, 180_000, 180_000]})
    assert total_payable(r) == [100_000, 150_000, 160_000]
    assert column(r, "draw_balance_cents") == [50_000, 20_000, 0]


@pytest.mark.parametrize(
    ("recover_from", "paid"), [("any_earnings", 70_000), ("above_draw", 100_000)]
)
def test_draw_recover_from(recover_from, paid):
    r = run(plan(draw={**DRAW, "recover_from": recover_from}), {"c": [50_000, 120_000]})
    assert total_payable(r) == [100_000, paid]


def test_non_recoverable_draw():
    r = run(plan(draw={"amount": "1000", "recoverable": False}), {"c": [50_000, 180_000]})
    assert total_payable(r) == [100_000, 180_000]
    assert column(r, "draw_balance_cents") == [0, 0]


def test_draw_recovery_starts_and_term_end_forgiven():
    spec = {**DRAW, "periods": ["2026-01", "2026-02"], "recovery_starts": "2026-03"}
    r = run(plan(draw=spec), {"c": [50_000, 150_000, 120_000]})
    # Jan: draw 500 -> balance 500; Feb: 1500 >= draw, but recovery only from March; March:
    # draw over (term was Jan-Feb), recovered 500 from 1,200
    assert total_payable(r) == [100_000, 150_000, 70_000]
    forgive = run(plan(draw={**spec, "at_term_end": "forgive"}), {"c": [50_000, 150_000, 120_000]})
    assert total_payable(forgive) == [100_000, 150_000, 120_000]
    assert column(forgive, "draw_forgiven_cents") == [0, 0, 50_000]


def test_draw_multiple_of_target_prorated_target():
    r = run(
        plan(draw={"multiple_of_target": "0.5", "recoverable": False}),
        {"c": [0]},
        target=200_000,
        plan_days={"2026-01": 15},
    )
    # target 2,000 x 15/30 = 1,000; draw = 50% = 500
    assert total_payable(r) == [50_000]


def test_clawback_never_drawn_by_the_draw():
    r = run(
        plan(draw={"amount": "1000", "recoverable": False}),
        {"c": [0]},
        clawbacks={("2026-01", "c"): -20_000},
    )
    assert total_payable(r) == [80_000]


def test_component_cap_lost_and_carried():
    lost = run(
        plan(
            components=[{"name": "c", "measure": "m", "rate_table": "t", "cap": {"amount": "1000"}}]
        ),
        {"c": [120_000, 50_000]},
    )
    assert total_payable(lost) == [100_000, 50_000]
    carry = run(
        plan(
            components=[
                {
                    "name": "c",
                    "measure": "m",
                    "rate_table": "t",
                    "cap": {"amount": "1000", "excess": "carry_forward"},
                }
            ]
        ),
        {"c": [120_000, 50_000, 190_000]},
    )
    assert total_payable(carry) == [100_000, 70_000, 100_000]
    assert column(carry, "carried_forward_cents", "c") == [20_000, 0, 90_000]
    adj = (
        carry.adjustments.filter(pl.col("period") == "2026-02")
        .select("type", "amount_cents")
        .rows()
    )
    assert adj == [("cap_carry_in", 20_000)]


def test_cap_multiple_of_target_and_year_to_date():
    r = run(
        plan(
            components=[
                {
                    "name": "c",
                    "measure": "m",
                    "rate_table": "t",
                    "cap": {"multiple_of_target": "1.5"},
                }
            ]
        ),
        {"c": [200_000]},
        target=100_000,
    )
    assert total_payable(r) == [150_000]
    ytd = run(
        plan(
            components=[
                {
                    "name": "c",
                    "measure": "m",
                    "rate_table": "t",
                    "cap": {"amount": "2500", "window": "year_to_date"},
                }
            ]
        ),
        {"c": [100_000, 100_000, 100_000, 100_000]},
    )
    assert total_payable(ytd) == [100_000, 100_000, 50_000, 0]


def test_ytd_cap_resets_with_the_year():
    spec = plan(
        components=[
            {
                "name": "c",
                "measure": "m",
                "rate_table": "t",
                "cap": {"amount": "100", "window": "year_to_date"},
            }
        ]
    )
    r = run(spec, {"c": [20_000] * 13})
    assert total_payable(r) == [10_000] + [0] * 11 + [10_000]


def test_component_floor_and_plan_cap_and_floor():
    r = run(
        plan(
            components=[
                {"name": "a", "measure": "m", "rate_table": "t", "floor": {"amount": "100"}},
                {"name": "b", "measure": "m", "rate_table": "t"},
            ],
            caps=[{"amount": "1500"}],
            floors=[{"amount": "300"}],
        ),
        {"a": [5_000, 100_000, 0], "b": [100_000, 100_000, 0]},
    )
    # P1: a floored 50 -> 100; total 1,100. P2: 2,000 capped to 1,500. P3: a 100, plan floor 300.
    assert total_payable(r) == [110_000, 150_000, 30_000]


def test_guarantee_first_periods_after_hire():
    r = run(
        plan(guarantee={"amount": "2000", "first_periods": 2}),
        {"c": [50_000, 250_000, 50_000, 50_000]},
        hire_seq=1,
    )
    assert total_payable(r) == [50_000, 250_000, 200_000, 50_000]


def test_cumulative_component_true_up():
    spec = plan(components=[{"name": "c", "measure": "m", "rate_table": "t", "true_up": True}])
    r = run(spec, {"c": [100_000, 250_000, 240_000]})  # year-to-date rated amounts
    assert column(r, "earned_cents", "c") == [100_000, 150_000, -10_000]


def test_prior_period_true_up_posts_difference():
    spec = plan(true_up={})
    first = fold(inputs(spec, {"c": [100_000]}, periods=["2026-01"]), empty_state())
    # late data: January is now worth 1,200; February 500
    second = fold(inputs(spec, {"c": [120_000, 50_000]}, periods=["2026-02"]), first.state)
    rows = second.payouts.filter(pl.col("component") == "c")
    assert rows.select("earned_cents", "adjustments_cents", "payable_cents").row(0) == (
        50_000,
        20_000,
        70_000,
    )
    assert second.adjustments.select("type", "amount_cents").rows() == [("prior_period", 20_000)]


def test_spif_line():
    spec = plan(spifs=[{"name": "s", "measure": "m", "amount": "250"}])
    r = run(spec, {"c": [10_000], "s": [50_000]})
    assert total_payable(r) == [60_000]
    assert r.payouts.filter(pl.col("line") == "spif")["payable_cents"].to_list() == [50_000]


def test_payable_identity_on_every_line():
    spec = plan(draw=DRAW, caps=[{"amount": "1500", "excess": "carry_forward"}])
    r = run(spec, {"c": [50_000, 200_000, 0, 180_000]})
    p = r.payouts
    assert (
        p["earned_cents"] + p["adjustments_cents"] + p["draw_cents"] - p["recovered_cents"]
        == p["payable_cents"]
    ).all()
    sums = r.adjustments.group_by("period", "component").agg(pl.col("amount_cents").sum())
    joined = p.join(sums, on=["period", "component"], how="left").with_columns(
        pl.col("amount_cents").fill_null(0)
    )
    assert (joined["amount_cents"] == joined["adjustments_cents"]).all()


def test_period_by_period_equals_all_at_once():
    spec = plan(
        components=[
            {
                "name": "c",
                "measure": "m",
                "rate_table": "t",
                "cap": {"amount": "1500", "excess": "carry_forward"},
            }
        ],
        draw={**DRAW, "recovery_limit": "200"},
        caps=[{"amount": "5000", "window": "year_to_date"}],
        true_up={},
    )
    rated = {"c": [50_000, 300_000, 0, 180_000, 20_000]}
    whole = fold(inputs(spec, rated), empty_state())
    state = empty_state()
    parts = []
    for i in range(5):
        step = fold(inputs(spec, rated, periods=[f"2026-{i + 1:02d}"]), state)
        parts.append(step.payouts)
        state = step.state
    assert pl.concat(parts).equals(whole.payouts)
    assert state.equals(whole.state)
