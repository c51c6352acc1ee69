"""Assign each transaction the calendar period that contains its credit date.

A transaction whose credit date falls in no calendar period, or in a period the run did not ask
for, is *unrouted* with reason ``OUTSIDE_PERIODS``: reported, never dropped.

Example:
    >>> from datetime import date
    >>> cal = pl.DataFrame({"period": ["2026-01", "2026-02"],
    ...     "start_date": [date(2026, 1, 1), date(2026, 2, 1)],
    ...     "end_date": [date(2026, 1, 31), date(2026, 2, 28)]})
    >>> tx = pl.DataFrame({"transaction_id": ["T1", "T2", "T3"],
    ...     "credit_date": [date(2026, 1, 31), date(2026, 2, 1), date(2026, 3, 1)],
    ...     "source_line": [2, 3, 4]})
    >>> inside, outside = assign_periods(tx, cal, ["2026-02"])
    >>> inside.select("transaction_id", "period").rows()
    [('T2', '2026-02')]
    >>> outside.select("transaction_id", "reason").rows()
    [('T1', 'OUTSIDE_PERIODS'), ('T3', 'OUTSIDE_PERIODS')]
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from engine.crediting.frames import UNROUTED_SCHEMA, conform
from engine.errors import EngineError, Reason

__all__ = ["assign_periods", "check_periods"]


def check_periods(calendar: pl.DataFrame, periods: Sequence[str] | None) -> list[str]:
    """The periods of the run: all calendar periods, or the ones asked for (which must exist).

    Raises:
        EngineError: ``UNKNOWN_REFERENCE`` naming a period that is not in the calendar.

    Example:
        >>> cal = pl.DataFrame({"period": ["2026-02", "2026-01"]})
        >>> check_periods(cal, None)
        ['2026-01', '2026-02']
        >>> check_periods(cal, ["2026-03"])
        Traceback (most recent call last):
        engine.errors.EngineError: calendar [period] UNKNOWN_REFERENCE: ...
    """
    known = set(calendar["period"].to_list())
    if periods is None:
        return sorted(known)
    missing = sorted(set(periods) - known)
    if missing:
        raise EngineError.single(
            Reason.UNKNOWN_REFERENCE,
            f"periods {missing} are not in the calendar (known: {sorted(known)})",
            file="calendar",
            column="period",
            hint="ask for periods listed in calendar.csv, or add them there",
        )
    return sorted(set(periods))


def assign_periods(
    transactions: pl.DataFrame, calendar: pl.DataFrame, periods: Sequence[str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split transactions into those inside the run's periods (with ``period``) and the rest.

    Args:
        transactions: typed transactions with ``credit_date`` and ``source_line``.
        calendar: the calendar (``period, start_date, end_date``; periods do not overlap).
        periods: the periods of the run; None = every calendar period.

    Returns:
        ``(inside, unrouted)``: inside carries a new ``period`` column; unrouted follows
        :data:`~engine.crediting.frames.UNROUTED_SCHEMA` with reason ``OUTSIDE_PERIODS``.
    """
    wanted = check_periods(calendar, periods)
    cal = calendar.select(
        pl.col("start_date").alias("_start"), pl.col("end_date").alias("_end"), "period"
    ).sort("_start")
    tx = transactions.drop("period", strict=False)
    # one period per distinct credit date, then mapped onto the rows: the transactions
    # themselves are neither sorted nor joined (each would copy every column)
    by_date = (
        tx.select(pl.col("credit_date").unique())
        .drop_nulls()
        .sort("credit_date")
        .join_asof(
            cal,
            left_on="credit_date",
            right_on="_start",
            strategy="backward",
            check_sortedness=False,
        )
        .select(
            "credit_date",
            pl.when(pl.col("_end") >= pl.col("credit_date")).then(pl.col("period")).alias("period"),
        )
    )
    period = (
        tx.select("credit_date")
        .join(by_date, on="credit_date", how="left", maintain_order="left")
        .get_column("period")
    )
    dated = tx.with_columns(period)
    wanted_expr = pl.col("period").is_in(wanted)
    all_inside = dated.select(wanted_expr.fill_null(False).all()).item()
    inside = dated if all_inside else dated.filter(wanted_expr)
    outside = dated.filter(~wanted_expr | pl.col("period").is_null())
    message = (
        pl.when(pl.col("period").is_null())
        .then(
            pl.lit("credit date ")
            + pl.col("credit_date").cast(pl.Utf8)
            + " is in no calendar period"
        )
        .otherwise(
            pl.lit("credit date ")
            + pl.col("credit_date").cast(pl.Utf8)
            + " is in period "
            + pl.col("period")
            + ", which is not in this run"
        )
    )
    unrouted = outside.with_columns(
        pl.lit(Reason.OUTSIDE_PERIODS.value).alias("reason"), message.alias("message")
    )
    return inside, conform(unrouted, UNROUTED_SCHEMA)
