"""Clawbacks: a return within N days reverses the original deal's commission, at its rate.

A *return* is a transaction that names an ``original_transaction_id`` and has a negative
amount. Every participant credited on the original deal is clawed back, whoever the return
itself is routed to (a territory may have moved in between): when that participant's plan in
the return's period has a ``clawback`` and the return's credit date is at most ``window_days``
after the original's, each clawed component that paid on the original deal (its per-line
earnings, :data:`engine.calc.incentives.LINE_SCHEMA`, in the original's period) is reversed by::

    |return amount| / original amount x original line earnings x percent

with both amounts in the transaction currency (so an exchange-rate move between the sale and the
return changes nothing), posted as a negative adjustment on that component in the return's
period. Clawbacks are
cumulative per original deal: all its returns up to a period together never reverse more than
the original line paid (rounded to cents), so a period's clawback is the cumulative amount up to
it minus the cumulative amount before. An original that earned nothing (or less than nothing)
is never clawed: a credit note never raises anyone's pay.

The measures of a clawed component must leave returns out (``include_returns: false``);
otherwise the return would lower the measure *and* be clawed back, and the calculation stops
with ``RULE_BAD_VALUE``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from engine.calc.exact import round_div_expr
from engine.calc.lines import Lines
from engine.calc.quotas import FINDING_COLUMNS
from engine.calc.windows import calendar_frame
from engine.errors import EngineError, Reason
from engine.kernels import EXACT_PER_CENT
from engine.money import RoundingMode
from engine.rules.plan_schema import Plan

__all__ = ["CLAWBACK_SCHEMA", "ClawbackResult", "clawbacks"]

CLAWBACK_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.Utf8(),
    "period": pl.Utf8(),
    "plan_id": pl.Utf8(),
    "component": pl.Utf8(),
    "clawback_cents": pl.Int64(),
}
"""Clawback per participant, period (of the return), plan and component: zero or negative."""

DETAIL_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.Utf8(),
    "period": pl.Utf8(),
    "plan_id": pl.Utf8(),
    "component": pl.Utf8(),
    "original_transaction_id": pl.Utf8(),
    "original_period": pl.Utf8(),
    "original_e8": pl.Int64(),
    "clawback_cents": pl.Int64(),
}
"""One row per original deal clawed in a period (the audit trail of a clawback)."""


@dataclass(frozen=True)
class ClawbackResult:
    """Clawbacks per component and period, their per-deal detail, and findings."""

    frame: pl.DataFrame
    detail: pl.DataFrame
    findings: pl.DataFrame


def _ratio(value: Decimal) -> tuple[int, int]:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    places = max(-exponent, 0)
    return int(value.scaleb(places)), 10**places


def _empty() -> ClawbackResult:
    return ClawbackResult(
        pl.DataFrame(schema=CLAWBACK_SCHEMA),
        pl.DataFrame(schema=DETAIL_SCHEMA),
        pl.DataFrame(schema=FINDING_COLUMNS),
    )


def clawbacks(
    *,
    plans: Mapping[str, Plan],
    lines: Lines,
    incentive_lines: pl.DataFrame,
    incentives: pl.DataFrame,
    calendar: pl.DataFrame,
    periods: Sequence[str],
    mode: RoundingMode,
) -> ClawbackResult:
    """Clawbacks posted in ``periods``.

    Args:
        plans: plans by id.
        lines: the credit lines (returns and originals among them).
        incentive_lines: per-line earnings of every rated period.
        incentives: incentive rows (which plan each participant is on in each period).
        calendar: the calendar table.
        periods: the periods paid.
        mode: the rounding mode.

    Returns:
        The clawbacks, their detail per original deal, and findings.
    """
    config = [
        {
            "plan_id": p.id,
            "component": c.name,
            "window_days": p.clawback.window_days,
            "pct_n": _ratio(p.clawback.percent)[0],
            "pct_d": _ratio(p.clawback.percent)[1],
        }
        for p in plans.values()
        if p.clawback is not None
        for c in p.components
        if p.clawback.components is None or c.name in p.clawback.components
    ]
    if not config or "original_transaction_id" not in lines.frame.columns:
        return _empty()
    cfg = pl.DataFrame(config)
    # only lines that earned something on a clawed component's name can be clawed: when there
    # are none (no per-line earnings, or nothing earned), no return can reverse anything
    earned = incentive_lines.filter(
        pl.col("component").is_in(cfg["component"].unique()) & (pl.col("line_e8") > 0)
    ).select(
        "participant_id",
        pl.col("period").alias("original_period"),
        pl.col("component"),
        pl.col("transaction_id").alias("original_transaction_id"),
        pl.col("line_e8").alias("original_e8"),
    )
    if earned.height == 0:
        return _empty()
    cal = calendar_frame(calendar).select("period", "seq")
    # lines of other deals can neither be a clawed original nor a return of one
    deals = earned["original_transaction_id"].unique()
    frame = lines.frame.filter(
        pl.col("transaction_id").is_in(deals) | pl.col("original_transaction_id").is_in(deals)
    )
    # one row per return transaction: how much of its original deal it reverses, measured in
    # the transaction currency (a pay-currency ratio would move with the exchange rate)
    returns = (
        frame.filter(pl.col("original_transaction_id").is_not_null() & (pl.col("amount_cents") < 0))
        .select(
            "transaction_id",
            "period",
            pl.col("credit_date").alias("r_date"),
            pl.col("transaction_amount_cents").abs().alias("r_cents"),
            "original_transaction_id",
        )
        .unique(subset=["transaction_id", "period"], keep="first", maintain_order=True)
        .drop("transaction_id")
    )
    # everyone credited on the original deal is clawed back, whoever the return is routed to
    originals = frame.select(
        "participant_id",
        pl.col("transaction_id").alias("original_transaction_id"),
        pl.col("period").alias("original_period"),
        pl.col("credit_date").alias("o_date"),
        pl.col("transaction_amount_cents").alias("o_cents"),
    ).unique(subset=["participant_id", "original_transaction_id"], keep="first")
    # which plan (and clawback settings) the participant is on when the return is processed
    current = (
        incentives.filter(pl.col("line") == "component")
        .select("participant_id", "period", "plan_id", "component")
        .join(cfg, on=["plan_id", "component"], how="inner")
    )
    joined = (
        returns.join(originals, on="original_transaction_id", how="inner")
        .join(current, on=["participant_id", "period"], how="inner")
        .join(
            earned,
            on=["participant_id", "original_period", "component", "original_transaction_id"],
            how="inner",
        )
        .filter(
            (pl.col("r_date") >= pl.col("o_date"))
            & ((pl.col("r_date") - pl.col("o_date")).dt.total_days() <= pl.col("window_days"))
            & (pl.col("original_e8") > 0)
            & (pl.col("o_cents") > 0)
        )
    )
    if joined.height == 0:
        return _empty()
    key = ["participant_id", "plan_id", "component", "original_transaction_id"]
    per_period = (
        joined.group_by([*key, "period", "original_period"])
        .agg(
            pl.col("r_cents").sum(),
            pl.col("original_e8").first(),
            pl.col("o_cents").first(),
            pl.col("pct_n").first(),
            pl.col("pct_d").first(),
        )
        .join(cal, on="period", how="left")
        .sort([*key, "seq"])
    )
    exact_num = (
        pl.col("r_cents").cum_sum().over(key).cast(pl.Int128)
        * pl.col("original_e8")
        * pl.col("pct_n")
    )
    exact_den = pl.col("o_cents").cast(pl.Int128) * pl.col("pct_d") * EXACT_PER_CENT
    paid_cents = round_div_expr(pl.col("original_e8"), EXACT_PER_CENT, mode)
    cumulative = pl.min_horizontal(round_div_expr(exact_num, exact_den, mode), paid_cents)
    per_period = per_period.with_columns(cumulative.cast(pl.Int64).alias("_cum")).with_columns(
        ((pl.col("_cum") - pl.col("_cum").shift(1).over(key).fill_null(0)) * -1).alias(
            "clawback_cents"
        )
    )
    detail = (
        per_period.filter(pl.col("period").is_in(list(periods)))
        .select(list(DETAIL_SCHEMA))
        .cast(DETAIL_SCHEMA)  # type: ignore[arg-type]
    )
    summed = (
        detail.group_by("participant_id", "period", "plan_id", "component")
        .agg(pl.col("clawback_cents").sum())
        .sort("participant_id", "period", "plan_id", "component")
        .cast(CLAWBACK_SCHEMA)  # type: ignore[arg-type]
    )
    return ClawbackResult(
        summed, detail.sort(list(DETAIL_SCHEMA)[:5]), pl.DataFrame(schema=FINDING_COLUMNS)
    )


def check_measures(plans: Mapping[str, Plan], measure_defs: Mapping[str, object]) -> None:
    """Refuse clawed components whose measure also counts returns (they would count twice).

    Raises:
        EngineError: ``RULE_BAD_VALUE`` naming the plan, component and measure.

    Example:
        >>> from engine.rules.plan_schema import MEASURE_ADAPTER
        >>> p = Plan.model_validate({"id": "AE", "clawback": {"window_days": 90},
        ...     "components": [{"name": "c", "measure": "rev", "rate_table": "t"}]})
        >>> check_measures({"AE": p}, {"rev": MEASURE_ADAPTER.validate_python(
        ...     {"name": "rev", "kind": "sum", "include_returns": False})})
    """
    for plan in plans.values():
        if plan.clawback is None:
            continue
        for comp in plan.components:
            if plan.clawback.components is not None and comp.name not in plan.clawback.components:
                continue
            measure = measure_defs.get(comp.measure)
            if getattr(measure, "include_returns", False):
                raise EngineError.single(
                    Reason.RULE_BAD_VALUE,
                    f"plan {plan.id!r} claws back component {comp.name!r}, whose measure "
                    f"{comp.measure!r} also counts returns: they would be deducted twice",
                    column=f"measures.{comp.measure}.include_returns",
                    hint="set include_returns: false on the measure",
                )
