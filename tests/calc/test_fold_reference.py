"""The fold against its reference (the Polars fold it replaced) on random small inputs.

Random plans (component caps per period or year to date, lost or carried; floors; cumulative
components and plan true-ups; SPIFs; plan caps, plan floors, a guarantee; recoverable or not
draws with limits, recovery starts and a term forgiven or carried), random people moving
between plans (within and between periods), two plan years, clawbacks, and a run split in two
with the state carried from the first part into the second. Every output must be identical:
payouts, adjustments and state (values, dtypes, column and row order).
"""

from __future__ import annotations

from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from engine.calc.fold import FoldResult, PayInputs, fold
from engine.calc.state import empty_state
from engine.money import RoundingMode
from engine.rules.plan_schema import Plan

from . import fold_reference

PERIODS = ["2026-10", "2026-11", "2026-12", "2027-01", "2027-02", "2027-03"]
DAYS = [31, 30, 31, 31, 28, 31]
PEOPLE = ["A", "B", "C", "D"]


def calendar() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "period": PERIODS,
            "seq": list(range(len(PERIODS))),
            "year": [p[:4] for p in PERIODS],
            "days": DAYS,
        }
    )


money = st.sampled_from(["0", "100", "250.50", "1000", "3000"])
multiple = st.sampled_from(["0", "0.5", "1", "1.5", "0.333"])


@st.composite
def amount(draw: Any) -> dict[str, str]:
    if draw(st.booleans()):
        return {"amount": draw(money)}
    return {"multiple_of_target": draw(multiple)}


@st.composite
def a_cap(draw: Any) -> dict[str, str]:
    return {
        **draw(amount()),
        "window": draw(st.sampled_from(["period", "year_to_date"])),
        "excess": draw(st.sampled_from(["lost", "carry_forward"])),
    }


@st.composite
def term(draw: Any) -> dict[str, Any]:
    if draw(st.booleans()):
        return {"first_periods": draw(st.integers(1, 4))}
    return {"periods": draw(st.lists(st.sampled_from(PERIODS), min_size=1, max_size=3))}


@st.composite
def a_plan(draw: Any, plan_id: str, *, plan_caps: bool) -> Plan:
    components = []
    for k in range(draw(st.integers(1, 2))):
        comp: dict[str, Any] = {"name": f"c{k}", "measure": "m", "rate_table": "t"}
        if draw(st.booleans()):
            comp["cap"] = draw(a_cap())
        if draw(st.integers(0, 3)) == 0:
            comp["floor"] = draw(amount())
        comp["true_up"] = draw(st.integers(0, 3)) == 0
        components.append(comp)
    spec: dict[str, Any] = {"id": plan_id, "components": components}
    if draw(st.booleans()):
        spec["spifs"] = [{"name": "s", "measure": "m", "amount": "50"}]
    if plan_caps:
        spec["caps"] = draw(st.lists(a_cap(), max_size=2))
    if draw(st.integers(0, 3)) == 0:
        spec["floors"] = [draw(amount())]
    if draw(st.integers(0, 2)) == 0:
        spec["guarantee"] = {**draw(amount()), **draw(term())}
    if draw(st.booleans()):
        d: dict[str, Any] = {**draw(amount()), "recoverable": draw(st.booleans())}
        if draw(st.booleans()):
            d.update(draw(term()))
        if draw(st.booleans()):
            d["recovery_limit"] = draw(money)
        d["recover_from"] = draw(st.sampled_from(["any_earnings", "above_draw"]))
        if draw(st.booleans()):
            d["recovery_starts"] = draw(st.sampled_from(PERIODS))
        d["at_term_end"] = draw(st.sampled_from(["forgive", "carry"]))
        spec["draw"] = d
    if draw(st.booleans()):
        spec["true_up"] = {}
    spec["proration"] = {
        "target_incentive": draw(st.booleans()),
        "caps": draw(st.booleans()),
        "draw": draw(st.booleans()),
    }
    return Plan.model_validate(spec)


cents = st.integers(-50_000, 400_000)


@st.composite
def scenario(draw: Any) -> tuple[PayInputs, int]:
    # plan caps on one plan only: see _plan_cap_state in engine/calc/fold.py
    plans = {
        "P1": draw(a_plan("P1", plan_caps=True)),
        "P2": draw(a_plan("P2", plan_caps=False)),
    }
    cal = calendar()
    seg_rows, rated_rows, claw_rows = [], [], []
    for pid in PEOPLE[: draw(st.integers(1, len(PEOPLE)))]:
        hire = draw(st.one_of(st.none(), st.integers(-2, len(PERIODS) - 1)))
        target = draw(st.sampled_from([None, 0, 100_000, 333_333]))
        for seq, period in enumerate(PERIODS):
            on = draw(st.sampled_from([(), ("P1",), ("P2",), ("P1", "P2"), ("P2", "P1")]))
            for plan_id in on:
                days = DAYS[seq]
                seg_rows.append(
                    {
                        "participant_id": pid,
                        "period": period,
                        "seq": seq,
                        "year": period[:4],
                        "plan_id": plan_id,
                        "plan_days": days if len(on) == 1 else draw(st.integers(1, days - 1)),
                        "days": days,
                        "target_incentive_cents": target,
                        "hire_seq": hire,
                        "pay_currency": "USD",
                    }
                )
                plan = plans[plan_id]
                names = [c.name for c in plan.components] + [s.name for s in plan.spifs]
                for name in names:
                    if draw(st.integers(0, 4)) == 0:
                        continue
                    rated_rows.append(
                        {
                            "participant_id": pid,
                            "period": period,
                            "plan_id": plan_id,
                            "component": name,
                            "line": "spif" if name == "s" else "component",
                            "rated_cents": draw(cents),
                            "seq": seq,
                            "year": period[:4],
                        }
                    )
                    if name != "s" and draw(st.integers(0, 5)) == 0:
                        claw_rows.append(
                            {
                                "participant_id": pid,
                                "period": period,
                                "plan_id": plan_id,
                                "component": name,
                                "clawback_cents": -draw(st.integers(0, 90_000)),
                            }
                        )
    seg_schema = {
        "participant_id": pl.Utf8,
        "period": pl.Utf8,
        "seq": pl.Int64,
        "year": pl.Utf8,
        "plan_id": pl.Utf8,
        "plan_days": pl.Int64,
        "days": pl.Int64,
        "target_incentive_cents": pl.Int64,
        "hire_seq": pl.Int64,
        "pay_currency": pl.Utf8,
    }
    rated_schema = {
        "participant_id": pl.Utf8,
        "period": pl.Utf8,
        "plan_id": pl.Utf8,
        "component": pl.Utf8,
        "line": pl.Utf8,
        "rated_cents": pl.Int64,
        "seq": pl.Int64,
        "year": pl.Utf8,
    }
    claw_schema = {
        "participant_id": pl.Utf8,
        "period": pl.Utf8,
        "plan_id": pl.Utf8,
        "component": pl.Utf8,
        "clawback_cents": pl.Int64,
    }
    inputs = PayInputs(
        segments=pl.DataFrame(seg_rows, schema=seg_schema).sort("participant_id", "seq", "plan_id"),
        rated=pl.DataFrame(rated_rows, schema=rated_schema),
        clawbacks=pl.DataFrame(claw_rows, schema=claw_schema),
        plans=plans,
        periods=PERIODS,
        calendar=cal,
        mode=draw(st.sampled_from(list(RoundingMode))),
    )
    return inputs, draw(st.integers(0, len(PERIODS) - 1))


def _same(new: FoldResult, old: FoldResult) -> None:
    for name in ("payouts", "adjustments", "state"):
        assert_frame_equal(getattr(new, name), getattr(old, name), check_exact=True)


def _part(inputs: PayInputs, periods: list[str]) -> PayInputs:
    return PayInputs(
        segments=inputs.segments,
        rated=inputs.rated,
        clawbacks=inputs.clawbacks,
        plans=inputs.plans,
        periods=periods,
        calendar=inputs.calendar,
        mode=inputs.mode,
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(scenario())
def test_fold_matches_reference(case: tuple[PayInputs, int]) -> None:
    inputs, split = case
    _same(fold(inputs, empty_state()), fold_reference.fold(inputs, empty_state()))
    # the same periods run in two parts, the state carried from the first into the second
    first = _part(inputs, PERIODS[:split])
    second = _part(inputs, PERIODS[split:])
    old = fold_reference.fold(first, empty_state())
    _same(fold(first, empty_state()), old)
    _same(fold(second, old.state), fold_reference.fold(second, old.state))
