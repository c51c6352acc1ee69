"""Golden-case comparers for plan calculation.

Sections: ``measures``, ``incentives``, ``payouts``, ``plan_adjustments``, ``calc_findings``
and ``calc_error``. Importing this module registers them with
:func:`engine.golden.register`. A case lists the expected rows with the columns it cares
about; values are compared exactly (money as decimals with two places, measure values as exact
decimals, or ``n/d`` when a ratio does not terminate)::

    expect:
      measures:  [{participant_id: A, period: 2026-01, measure: att, value: "1.2"}]
      incentives: [{participant_id: A, period: 2026-01, component: c, earned: "9600.00"}]
      payouts:
        - {participant_id: A, period: 2026-01, component: c, payable: "9600.00"}

Columns available:

* ``measures``: participant_id, period, measure, kind, window, unit, currency, value, quota;
* ``incentives``: participant_id, period, plan_id, component, line, rate_table, kind, measure,
  tier_measure, gate_passed, tier, tier_rate, modifier, earned, earned_exact;
* ``payouts``: the payout columns without the ``_cents`` suffix;
* ``plan_adjustments``: participant_id, period, plan_id, component, type, amount;
* ``calc_findings``: participant_id, period, subject, reason.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import polars as pl

from engine.calc.measures import E2_UNITS
from engine.calc.payouts import CalcResult, Rules, calculate
from engine.errors import EngineError
from engine.golden import CaseContext, compare_rows, register
from engine.money import format_cents

__all__ = ["exact_text", "plan_result"]


def exact_text(num: int | None, den: int | None) -> str | None:
    """An exact ratio as a plain decimal, or ``n/d`` when it does not terminate.

    Example:
        >>> exact_text(3, 4), exact_text(1, 3), exact_text(-150, 100), exact_text(None, 1)
        ('0.75', '1/3', '-1.5', None)
    """
    if num is None or den is None:
        return None
    value = Fraction(num, den)
    d = value.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d != 1:
        return f"{value.numerator}/{value.denominator}"
    return format((Decimal(value.numerator) / Decimal(value.denominator)).normalize(), "f")


def _rules(ctx: CaseContext) -> Any:
    if hasattr(ctx.ruleset, "plans"):
        return ctx.ruleset
    raw = ctx.case.rules or {}
    return Rules.model_validate(
        {k: raw[k] for k in ("settings", "measures", "rate_tables", "plans") if k in raw}
    )


def plan_result(ctx: CaseContext) -> CalcResult:
    """The case's calculation result, computed once per case."""

    def run() -> CalcResult:
        credits = ctx.credit_result().all_credits()
        return calculate(ctx.dataset, credits, _rules(ctx), ctx.case.periods)

    result: CalcResult = ctx.memo("calc", run)
    return result


def _money(frame: pl.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for row in frame.iter_rows(named=True):
        out: dict[str, Any] = {}
        for name, value in row.items():
            if name.endswith("_cents"):
                out[name.removesuffix("_cents")] = None if value is None else format_cents(value)
            else:
                out[name] = value
        rows.append(out)
    return rows


@register("measures")
def _measures(ctx: CaseContext, expected: Any) -> list[str]:
    rows = []
    for r in plan_result(ctx).measures.iter_rows(named=True):
        scale = 100 if r["unit"] in E2_UNITS else 1
        den = None if r["den"] is None else r["den"] * scale
        rows.append(
            {
                "participant_id": r["participant_id"],
                "period": r["period"],
                "measure": r["measure"],
                "kind": r["kind"],
                "window": r["window"],
                "unit": r["unit"],
                "currency": r["currency"],
                "value": exact_text(r["num"], den),
                "quota": exact_text(r["quota_e2"], 100),
            }
        )
    return compare_rows("measures", expected, rows)


@register("incentives")
def _incentives(ctx: CaseContext, expected: Any) -> list[str]:
    rows = []
    for r in plan_result(ctx).incentives.iter_rows(named=True):
        rows.append(
            {
                "participant_id": r["participant_id"],
                "period": r["period"],
                "plan_id": r["plan_id"],
                "component": r["component"],
                "line": r["line"],
                "rate_table": r["rate_table"],
                "kind": r["kind"],
                "measure": r["measure"],
                "tier_measure": r["tier_measure"],
                "gate_passed": r["gate_passed"],
                "tier": r["tier"],
                "tier_rate": r["tier_rate"],
                "modifier": exact_text(r["modifier_ppm"], 1_000_000),
                "earned": format_cents(r["rated_cents"]),
                "earned_exact": exact_text(r["earned_e8"], 10**8),
            }
        )
    return compare_rows("incentives", expected, rows)


@register("payouts")
def _payouts(ctx: CaseContext, expected: Any) -> list[str]:
    return compare_rows("payouts", expected, _money(plan_result(ctx).payouts))


@register("plan_adjustments")
def _adjustments(ctx: CaseContext, expected: Any) -> list[str]:
    return compare_rows("plan_adjustments", expected, _money(plan_result(ctx).adjustments))


@register("calc_findings")
def _findings(ctx: CaseContext, expected: Any) -> list[str]:
    frame = plan_result(ctx).findings.select("participant_id", "period", "subject", "reason")
    return compare_rows("calc_findings", expected, frame.to_dicts())


@register("calc_error")
def _error(ctx: CaseContext, expected: Any) -> list[str]:
    wanted = expected if isinstance(expected, list) else [expected]
    reasons = sorted({str(w["reason"] if isinstance(w, dict) else w) for w in wanted})
    try:
        plan_result(ctx)
    except EngineError as exc:
        got = sorted({f.code for f in exc.findings})
        return [] if got == reasons else [f"calc_error: expected {reasons}, got {got}"]
    return [f"calc_error: expected the calculation to fail with {reasons}, but it succeeded"]
