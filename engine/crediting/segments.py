"""Cut effective-dated rows into elementary segments of constant membership.

Several rows of one key can be in force on the same day (the owners of a territory with their
split shares; the managers of a participant at levels 1, 2, 3...). For lookups by date, each
key's timeline is cut at every ``valid_from`` and every ``valid_to + 1``: inside one segment the
set of rows in force does not change. A transaction then finds its segment with one as-of join
(:mod:`.asof`) and its rows with one equi-join on ``seg_id``; the cost depends on the size of
the effective-dated table, not on the number of transactions.

Example:
    >>> from datetime import date
    >>> rows = pl.DataFrame({"k": ["T", "T", "T"], "who": ["A", "B", "C"],
    ...     "valid_from": [date(2026, 1, 1), date(2026, 1, 1), date(2026, 1, 16)],
    ...     "valid_to": [None, date(2026, 1, 15), None]})
    >>> segs, members = segment(rows, key="k")
    >>> segs.select("seg_id", "seg_start", "seg_end").rows()
    [(0, datetime.date(2026, 1, 1), datetime.date(2026, 1, 15)),
     (1, datetime.date(2026, 1, 16), None)]
    >>> members.sort("seg_id", "who").select("seg_id", "who").rows()
    [(0, 'A'), (0, 'B'), (1, 'A'), (1, 'C')]
"""

from __future__ import annotations

import polars as pl

from engine.crediting.frames import FAR_FUTURE

__all__ = ["segment"]


def segment(
    rows: pl.DataFrame,
    *,
    key: str,
    valid_from: str = "valid_from",
    valid_to: str = "valid_to",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cut each key's timeline into segments in which the same rows are in force.

    Args:
        rows: effective-dated rows (``valid_to`` null = open-ended).
        key: the column whose timeline is cut (e.g. ``territory_id``).
        valid_from: first day a row applies (inclusive).
        valid_to: last day a row applies (inclusive).

    Returns:
        ``(segments, members)``: segments has ``key, seg_id, seg_start, seg_end`` (seg_end null =
        open-ended), one row per segment in which at least one row is in force, numbered in
        ``(key, seg_start)`` order; members has ``seg_id`` plus every column of ``rows`` (one
        row per row in force in the segment).
    """
    far = FAR_FUTURE
    closed = rows.with_columns(pl.col(valid_to).fill_null(far).alias("_to"))
    starts = closed.select(pl.col(key), pl.col(valid_from).alias("_b"))
    ends = closed.filter(pl.col("_to") < far).select(
        pl.col(key), (pl.col("_to") + pl.duration(days=1)).cast(pl.Date).alias("_b")
    )
    bounds = (
        pl.concat([starts, ends])
        .unique()
        .sort(key, "_b")
        .with_columns(
            (pl.col("_b").shift(-1).over(key) - pl.duration(days=1)).cast(pl.Date).alias("_e")
        )
    )
    members = (
        bounds.join(closed, on=key)
        .filter((pl.col(valid_from) <= pl.col("_b")) & (pl.col("_to") >= pl.col("_b")))
        .drop("_to")
    )
    segs = (
        members.select(key, "_b", "_e")
        .unique()
        .sort(key, "_b")
        .with_row_index("seg_id")
        .with_columns(pl.col("seg_id").cast(pl.Int64))
    )
    members = members.join(segs.select(key, "_b", "seg_id"), on=[key, "_b"]).select(
        "seg_id", *rows.columns
    )
    segs = segs.select(
        key,
        "seg_id",
        pl.col("_b").alias("seg_start"),
        pl.col("_e").alias("seg_end"),
    )
    return segs, members
