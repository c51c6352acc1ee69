"""Build fold inputs by hand: one plan, a few monthly periods, rated amounts per period."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from engine.calc.fold import FoldResult, PayInputs, fold
from engine.calc.state import empty_state
from engine.money import RoundingMode
from engine.rules.plan_schema import Plan

PERIODS = [f"2026-{m:02d}" for m in range(1, 13)] + ["2027-01"]


def calendar() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "period": PERIODS,
            "seq": list(range(len(PERIODS))),
            "year": [p[:4] for p in PERIODS],
            "days": [30] * len(PERIODS),
        }
    )


def plan(**spec: Any) -> Plan:
    spec.setdefault("id", "P")
    spec.setdefault("components", [{"name": "c", "measure": "m", "rate_table": "t"}])
    return Plan.model_validate(spec)


def inputs(
    the_plan: Plan,
    rated: Mapping[str, Sequence[int]],
    *,
    periods: Sequence[str] | None = None,
    target: int | None = 100_000,
    hire_seq: int | None = None,
    plan_days: Mapping[str, int] | None = None,
    clawbacks: Mapping[tuple[str, str], int] | None = None,
    pid: str = "A",
) -> PayInputs:
    """``rated``: component -> cents per period, from 2026-01 on."""
    n = max(len(v) for v in rated.values())
    cal = calendar()
    run_periods = list(periods) if periods is not None else PERIODS[:n]
    seg = cal.head(n).select(
        pl.lit(pid).alias("participant_id"),
        "period",
        "seq",
        "year",
        pl.lit(the_plan.id).alias("plan_id"),
        pl.col("period")
        .replace_strict(plan_days or {}, default=30, return_dtype=pl.Int64)
        .alias("plan_days"),
        pl.lit(30, pl.Int64).alias("active_days"),
        "days",
        pl.lit(target, pl.Int64).alias("target_incentive_cents"),
        pl.lit(hire_seq, pl.Int64).alias("hire_seq"),
        pl.lit("USD").alias("pay_currency"),
    )
    rows = []
    spif_names = {s.name for s in the_plan.spifs}
    for comp, values in rated.items():
        for i, v in enumerate(values):
            rows.append(
                {
                    "participant_id": pid,
                    "period": PERIODS[i],
                    "seq": i,
                    "year": PERIODS[i][:4],
                    "plan_id": the_plan.id,
                    "component": comp,
                    "line": "spif" if comp in spif_names else "component",
                    "rated_cents": v,
                }
            )
    claws = pl.DataFrame(
        [
            {
                "participant_id": pid,
                "period": p,
                "plan_id": the_plan.id,
                "component": c,
                "clawback_cents": v,
            }
            for (p, c), v in (clawbacks or {}).items()
        ],
        schema={
            "participant_id": pl.Utf8,
            "period": pl.Utf8,
            "plan_id": pl.Utf8,
            "component": pl.Utf8,
            "clawback_cents": pl.Int64,
        },
    )
    return PayInputs(
        segments=seg,
        rated=pl.DataFrame(rows, schema_overrides={"seq": pl.Int64}),
        clawbacks=claws,
        plans={the_plan.id: the_plan},
        periods=run_periods,
        calendar=cal,
        mode=RoundingMode.HALF_UP,
    )


def run(the_plan: Plan, rated: Mapping[str, Sequence[int]], **kw: Any) -> FoldResult:
    return fold(inputs(the_plan, rated, **kw), empty_state())


def column(result: FoldResult, name: str, component: str = "(plan)") -> list[int]:
    rows = result.payouts.filter(pl.col("component") == component)
    return rows[name].to_list()


def total_payable(result: FoldResult) -> list[int]:
    return (
        result.payouts.group_by("period", maintain_order=True)
        .agg(pl.col("payable_cents").sum())
        .sort("period")["payable_cents"]
        .to_list()
    )
