"""Effective-dated lookups: "the row of this key in force on this date", as one sorted join.

Polars' ``join_asof(by=...)`` does not check that rows are sorted inside each ``by`` group, so
this module never uses ``by``: the key and the date are packed into one ``Int64`` (key code in
the high 32 bits, day number in the low 32), both sides are sorted on it here, and a single
backward as-of join finds, for each left row, the right row with the same key and the latest
start on or before the date. A match whose key differs, or whose end is before the date, is
discarded.

The right side's intervals must not overlap for one key (guaranteed by the loader for
effective-dated tables, and by construction for :mod:`.segments`).

Example:
    >>> from datetime import date
    >>> right = pl.DataFrame({"k": ["A", "A", "B"],
    ...                       "start": [date(2026, 1, 1), date(2026, 2, 1), date(2026, 1, 1)],
    ...                       "end": [date(2026, 1, 31), None, date(2026, 1, 10)],
    ...                       "v": [1, 2, 3]})
    >>> left = pl.DataFrame({"k": ["A", "A", "B", "C"],
    ...                      "d": [date(2026, 1, 31), date(2026, 2, 1), date(2026, 1, 11),
    ...                            date(2026, 1, 1)]})
    >>> asof_lookup(left, right, left_key="k", left_date="d", right_key="k",
    ...             right_start="start", right_end="end", take=["v"]).sort("d")["v"].to_list()
    [None, None, 1, 2]
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

_DAY_OFFSET = 2**31


def _pack(code: pl.Expr, day: pl.Expr) -> pl.Expr:
    return code.cast(pl.Int64) * (2**32) + (day.cast(pl.Int32).cast(pl.Int64) + _DAY_OFFSET)


def asof_lookup(
    left: pl.DataFrame,
    right: pl.DataFrame,
    *,
    left_key: str,
    left_date: str,
    right_key: str,
    right_start: str,
    right_end: str,
    take: Sequence[str],
) -> pl.DataFrame:
    """Add to ``left`` the ``take`` columns of the ``right`` row in force on ``left_date``.

    Args:
        left: rows to look up; every column is kept.
        right: effective-dated rows: ``right_key``, ``right_start`` (inclusive),
            ``right_end`` (inclusive, null = open-ended) and the ``take`` columns.
        left_key: the key column on the left (matched to ``right_key``).
        left_date: the date column on the left.
        right_key: the key column on the right.
        right_start: first day the right row applies.
        right_end: last day the right row applies; null = open-ended.
        take: right columns to add (null when nothing is in force); must not clash with
            left columns.

    Returns:
        ``left`` with the ``take`` columns, rows in their order (the left frame's columns are
        shared, not copied).
    """
    take = list(take)
    clash = set(take) & set(left.columns)
    if clash:
        raise ValueError(f"columns {sorted(clash)} are on both sides")
    out_schema = {c: right.schema[c] for c in take}
    if left.height == 0 or right.height == 0:
        return left.with_columns(pl.lit(None, dtype=t).alias(c) for c, t in out_schema.items())
    codes = (
        right.select(pl.col(right_key).alias("_key")).unique().sort("_key").with_row_index("_code")
    )
    r = (
        right.select(
            pl.col(right_key).alias("_key"),
            pl.col(right_start).alias("_start"),
            pl.col(right_end).alias("_end"),
            *take,
        )
        .join(codes, on="_key")
        .with_columns(_pack(pl.col("_code"), pl.col("_start")).alias("_packed"))
        .select("_packed", "_code", "_end", *take)
        .rename({"_code": "_rcode"})
        .sort("_packed")
    )
    # the lookup runs on (row number, key, date) only; its answers are put back in row order,
    # so the wide left frame is never copied, sorted or filtered here
    found = (
        left.select(pl.col(left_key).alias("_key"), pl.col(left_date).alias("_date"))
        .with_row_index("_row")
        .join(codes, on="_key", how="inner")
        .drop("_key")
        .filter(pl.col("_date").is_not_null())
        .with_columns(_pack(pl.col("_code"), pl.col("_date")).alias("_packed"))
        .sort("_packed")
        .join_asof(r, on="_packed", strategy="backward", check_sortedness=False)
        .filter(
            (pl.col("_rcode") == pl.col("_code"))
            & (pl.col("_end").is_null() | (pl.col("_end") >= pl.col("_date")))
        )
        .select("_row", *take)
    )
    answers = (
        pl.DataFrame({"_row": pl.int_range(left.height, dtype=pl.UInt32, eager=True)})
        .join(found, on="_row", how="left")
        .sort("_row")
    )
    return left.with_columns(answers.get_column(c) for c in take)
