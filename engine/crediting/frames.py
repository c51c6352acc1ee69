"""Schemas of the frames crediting produces, and their documented sort keys.

Example:
    >>> list(CREDIT_SCHEMA)[:4]
    ['transaction_id', 'participant_id', 'credit_type', 'rule']
    >>> empty(UNROUTED_SCHEMA).columns
    ['transaction_id', 'reason', 'message', 'source_line']
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import polars as pl

FAR_FUTURE = pl.date(9999, 12, 31)
"""Stands for an open-ended ``valid_to`` inside lookups (never written to an output)."""

CREDIT_SCHEMA: dict[str, pl.DataType] = {
    "transaction_id": pl.Utf8(),
    "participant_id": pl.Utf8(),
    "credit_type": pl.Utf8(),
    "rule": pl.Utf8(),
    "level": pl.Int32(),
    "direct_participant_id": pl.Utf8(),
    "share_ppm": pl.Int64(),
    "amount_cents": pl.Int64(),
    "currency": pl.Utf8(),
    "credit_date": pl.Date(),
    "period": pl.Utf8(),
    "held": pl.Boolean(),
    "route_table": pl.Utf8(),
    "route_line": pl.Int64(),
}
"""One row per credit (the data contract between crediting and measures)."""

CREDIT_SORT: tuple[str, ...] = (
    "transaction_id",
    "level",
    "rule",
    "direct_participant_id",
    "participant_id",
    "route_table",
    "route_line",
    "credit_type",
    "share_ppm",
    "amount_cents",
    "held",
    "currency",
    "credit_date",
    "period",
)
"""Credits are sorted by every column, in this order. The first five identify a credit, except
when one participant holds two rolled credits of one transaction (e.g. a direct and an overlay
credit): their roll-up rows then differ only in amount or held flag, and the rest of the key
still orders them the same way on every run."""

UNROUTED_SCHEMA: dict[str, pl.DataType] = {
    "transaction_id": pl.Utf8(),
    "reason": pl.Utf8(),
    "message": pl.Utf8(),
    "source_line": pl.Int64(),
}
"""A transaction that got no credit for a reason other than an exclusion rule."""

EXCLUDED_SCHEMA: dict[str, pl.DataType] = {
    "transaction_id": pl.Utf8(),
    "rule": pl.Utf8(),
    "source_line": pl.Int64(),
}
"""A transaction excluded by an exclusion rule (not an error)."""

OVERLAY_MISS_SCHEMA: dict[str, pl.DataType] = {
    "transaction_id": pl.Utf8(),
    "rule": pl.Utf8(),
    "reason": pl.Utf8(),
    "message": pl.Utf8(),
    "source_line": pl.Int64(),
}
"""An overlay that matched a credited transaction but found nobody to credit."""

ROLLUP_TOTAL_KEYS: tuple[str, ...] = (
    "participant_id",
    "period",
    "credit_type",
    "rule",
    "currency",
    "held",
)
"""Default grouping of aggregated roll-up totals (one row per manager, period, type...)."""


def empty(schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """An empty frame with ``schema``.

    A new frame each call, copied from a cached template: far cheaper than building one from
    the schema.
    """
    return _empty_template(tuple(schema.items())).clear()


@functools.cache
def _empty_template(columns: tuple[tuple[str, pl.DataType], ...]) -> pl.DataFrame:
    return pl.DataFrame(schema=dict(columns))


def conform(frame: pl.DataFrame, schema: Mapping[str, pl.DataType]) -> pl.DataFrame:
    """Select and cast ``frame`` to exactly the columns of ``schema``, in order.

    Example:
        >>> conform(pl.DataFrame({"x": [1], "transaction_id": ["T1"], "rule": ["r"],
        ...                       "source_line": [2]}), EXCLUDED_SCHEMA).columns
        ['transaction_id', 'rule', 'source_line']
    """
    return frame.select(pl.col(name).cast(dtype) for name, dtype in schema.items())


def keep_where(frame: pl.DataFrame, predicate: pl.Expr) -> pl.DataFrame:
    """``frame.filter(predicate)``, but the frame itself (no copy) when every row passes.

    A filter copies every column even when it keeps every row; crediting's frames are wide and
    most filters keep everything on clean data.

    Example:
        >>> df = pl.DataFrame({"x": [1, 2, None]})
        >>> keep_where(df, pl.col("x") > 0)["x"].to_list()
        [1, 2]
        >>> keep_where(df, pl.col("x").is_null() | (pl.col("x") > 0)) is df
        True
    """
    if frame.select(predicate.fill_null(False).all()).item():
        return frame
    return frame.filter(predicate)
