"""The calendar as the calculation sees it: ordered periods, windows and days.

Windows (see ``docs/plans.md``): for a period ``p``, ``period`` covers ``p`` alone,
``quarter_to_date`` the periods of ``p``'s quarter that start on or before ``p``, and
``year_to_date`` the periods of ``p``'s plan year that start on or before ``p``.

Example:
    >>> from datetime import date
    >>> cal = pl.DataFrame({"period": ["2026-02", "2026-01", "2026-04"],
    ...     "start_date": [date(2026, 2, 1), date(2026, 1, 1), date(2026, 4, 1)],
    ...     "end_date": [date(2026, 2, 28), date(2026, 1, 31), date(2026, 4, 30)],
    ...     "quarter": ["Q1", "Q1", "Q2"], "year": ["2026", "2026", "2026"]})
    >>> window_map(cal, "year_to_date").filter(pl.col("period") == "2026-04")["source"].to_list()
    ['2026-01', '2026-02', '2026-04']
    >>> ordered_periods(cal)
    ['2026-01', '2026-02', '2026-04']
"""

from __future__ import annotations

import polars as pl

from engine.rules.plan_schema import Window

__all__ = ["calendar_frame", "ordered_periods", "window_map"]


def calendar_frame(calendar: pl.DataFrame) -> pl.DataFrame:
    """The calendar sorted by start date, with ``seq`` (0-based order) and ``days`` columns.

    Example:
        >>> from datetime import date
        >>> cal = pl.DataFrame({"period": ["P1"], "start_date": [date(2026, 2, 1)],
        ...     "end_date": [date(2026, 2, 28)], "quarter": ["Q1"], "year": ["2026"]})
        >>> calendar_frame(cal).select("period", "seq", "days").rows()
        [('P1', 0, 28)]
    """
    return (
        calendar.select("period", "start_date", "end_date", "quarter", "year")
        .sort("start_date", "period")
        .with_row_index("seq")
        .with_columns(
            pl.col("seq").cast(pl.Int64),
            ((pl.col("end_date") - pl.col("start_date")).dt.total_days() + 1)
            .cast(pl.Int64)
            .alias("days"),
        )
    )


def ordered_periods(calendar: pl.DataFrame) -> list[str]:
    """Every calendar period, in date order.

    Example:
        >>> from datetime import date
        >>> ordered_periods(pl.DataFrame({"period": ["B", "A"],
        ...     "start_date": [date(2026, 2, 1), date(2026, 1, 1)],
        ...     "end_date": [date(2026, 2, 28), date(2026, 1, 31)],
        ...     "quarter": ["Q", "Q"], "year": ["Y", "Y"]}))
        ['A', 'B']
    """
    return calendar_frame(calendar)["period"].to_list()


def window_map(calendar: pl.DataFrame, window: Window) -> pl.DataFrame:
    """Pairs ``(period, source)``: the source periods whose credits the window of ``period`` covers.

    Example:
        >>> from datetime import date
        >>> cal = pl.DataFrame({"period": ["A", "B"],
        ...     "start_date": [date(2026, 1, 1), date(2026, 2, 1)],
        ...     "end_date": [date(2026, 1, 31), date(2026, 2, 28)],
        ...     "quarter": ["Q1", "Q1"], "year": ["Y", "Y"]})
        >>> window_map(cal, "quarter_to_date").rows()
        [('A', 'A'), ('B', 'A'), ('B', 'B')]
    """
    cal = calendar_frame(calendar)
    if window == "period":
        return cal.select("period", pl.col("period").alias("source"))
    group = "quarter" if window == "quarter_to_date" else "year"
    keys = [group] if group == "year" else ["year", "quarter"]
    src = cal.select(*keys, pl.col("period").alias("source"), pl.col("seq").alias("src_seq"))
    return (
        cal.select(*keys, "period", "seq")
        .join(src, on=keys, how="inner")
        .filter(pl.col("src_seq") <= pl.col("seq"))
        .sort("seq", "src_seq")
        .select("period", "source")
    )
