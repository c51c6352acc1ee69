"""Proration by days: employment and plan-assignment days within each period.

* ``active_days``: the days of the period on which the participant is employed
  (``hire_date`` .. ``termination_date``, both inclusive).
* ``plan_days``: the days of the period on which the participant is employed *and* assigned to
  the plan (``valid_from`` .. ``valid_to``, both inclusive).

Quotas are prorated by ``active_days / days``; a plan's target incentive by
``plan_days / days``; a plan's earnings in a period with a plan change by
``plan_days / active_days`` (see ``docs/plans.md``). Each proration is one exact product rounded
once with the rule set's rounding mode (:func:`prorate_expr`).

Example:
    >>> from datetime import date
    >>> cal = pl.DataFrame({"period": ["2026-01"], "start_date": [date(2026, 1, 1)],
    ...     "end_date": [date(2026, 1, 31)], "quarter": ["Q1"], "year": ["2026"]})
    >>> people = pl.DataFrame({"participant_id": ["A"], "hire_date": [date(2026, 1, 17)],
    ...     "termination_date": [None]}, schema_overrides={"termination_date": pl.Date})
    >>> employment_days(people, cal).select("participant_id", "active_days", "days").rows()
    [('A', 15, 31)]
"""

from __future__ import annotations

import polars as pl

from engine.calc.exact import round_div_expr
from engine.calc.windows import calendar_frame
from engine.money import RoundingMode

__all__ = ["employment_days", "plan_segments", "prorate_expr"]

_FAR = pl.date(9999, 12, 31)
_PAST = pl.date(1, 1, 1)


def _overlap(start: pl.Expr, end: pl.Expr) -> pl.Expr:
    """Days in ``[max(start, start_date), min(end, end_date)]``, at least 0."""
    lo = pl.max_horizontal(start, pl.col("start_date"))
    hi = pl.min_horizontal(end, pl.col("end_date"))
    return pl.max_horizontal((hi - lo).dt.total_days() + 1, pl.lit(0)).cast(pl.Int64)


def employment_days(participants: pl.DataFrame, calendar: pl.DataFrame) -> pl.DataFrame:
    """One row per participant and calendar period: ``active_days`` and the period's ``days``.

    Example:
        >>> from datetime import date
        >>> cal = pl.DataFrame({"period": ["P"], "start_date": [date(2026, 2, 1)],
        ...     "end_date": [date(2026, 2, 28)], "quarter": ["Q"], "year": ["Y"]})
        >>> people = pl.DataFrame({"participant_id": ["A"], "hire_date": [date(2020, 1, 1)],
        ...     "termination_date": [date(2026, 2, 10)]})
        >>> employment_days(people, cal)["active_days"].to_list()
        [10]
    """
    cal = calendar_frame(calendar)
    return (
        participants.select("participant_id", "hire_date", "termination_date")
        .join(cal, how="cross")
        .with_columns(
            _overlap(
                pl.col("hire_date").fill_null(_PAST), pl.col("termination_date").fill_null(_FAR)
            ).alias("active_days")
        )
        .select("participant_id", "period", "seq", "year", "active_days", "days")
        .sort("participant_id", "seq")
    )


def plan_segments(
    assignments: pl.DataFrame, participants: pl.DataFrame, calendar: pl.DataFrame
) -> pl.DataFrame:
    """One row per participant, period and plan the participant is on for at least one day.

    Columns: ``participant_id, period, seq, year, plan_id, plan_days, active_days, days,
    target_incentive_cents, assignment_line`` (the plan_assignments row).

    Example:
        >>> from datetime import date
        >>> cal = pl.DataFrame({"period": ["P"], "start_date": [date(2026, 1, 1)],
        ...     "end_date": [date(2026, 1, 31)], "quarter": ["Q"], "year": ["Y"]})
        >>> people = pl.DataFrame({"participant_id": ["A"], "hire_date": [date(2020, 1, 1)],
        ...     "termination_date": [None]}, schema_overrides={"termination_date": pl.Date})
        >>> plans = pl.DataFrame({"participant_id": ["A", "A"], "plan_id": ["X", "Y"],
        ...     "valid_from": [date(2025, 1, 1), date(2026, 1, 11)],
        ...     "valid_to": [date(2026, 1, 10), None], "target_incentive_cents": [1000, 2000],
        ...     "source_line": [2, 3]}, schema_overrides={"valid_to": pl.Date})
        >>> plan_segments(plans, people, cal).select("plan_id", "plan_days", "days").rows()
        [('X', 10, 31), ('Y', 21, 31)]
    """
    cal = calendar_frame(calendar)
    people = participants.select("participant_id", "hire_date", "termination_date")
    line = pl.col("source_line") if "source_line" in assignments.columns else pl.lit(None, pl.Int64)
    assigned = assignments.select(
        "participant_id",
        "plan_id",
        "valid_from",
        "valid_to",
        "target_incentive_cents",
        line.alias("assignment_line"),
    ).join(people, on="participant_id", how="inner")
    start = pl.max_horizontal(pl.col("valid_from"), pl.col("hire_date").fill_null(_PAST))
    end = pl.min_horizontal(
        pl.col("valid_to").fill_null(_FAR), pl.col("termination_date").fill_null(_FAR)
    )
    employed = _overlap(
        pl.col("hire_date").fill_null(_PAST), pl.col("termination_date").fill_null(_FAR)
    )
    return (
        assigned.join(cal, how="cross")
        .with_columns(_overlap(start, end).alias("plan_days"), employed.alias("active_days"))
        .filter(pl.col("plan_days") > 0)
        .select(
            "participant_id",
            "period",
            "seq",
            "year",
            "plan_id",
            "plan_days",
            "active_days",
            "days",
            "target_incentive_cents",
            "assignment_line",
        )
        .sort("participant_id", "seq", "plan_id")
    )


def prorate_expr(
    value: pl.Expr, numerator: pl.Expr, denominator: pl.Expr, mode: RoundingMode
) -> pl.Expr:
    """``value * numerator / denominator`` rounded once with ``mode`` (Int128; null if den is 0).

    Example:
        >>> pl.select(prorate_expr(pl.lit(100_000), pl.lit(15), pl.lit(31),
        ...           RoundingMode.HALF_UP)).item()
        48387
    """
    return round_div_expr(value.cast(pl.Int128) * numerator, denominator, mode)
