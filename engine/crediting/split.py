"""Largest-remainder allocation: split an amount by shares so the parts add up exactly.

For one group (a transaction's credits under one rule) with amount ``A`` (in the currency's
minor unit) and shares ``s_i`` in ppm summing to exactly 1,000,000:

1. each part gets ``floor(|A| x s_i / 1e6)``;
2. the units left over (fewer than the number of parts) go one each to the parts with the
   largest remainders ``|A| x s_i mod 1e6``; equal remainders go first to the smaller
   ``participant_id`` (byte order);
3. a negative amount (a return) is allocated as its magnitude and the parts negated, so a return
   splits exactly as the mirror image of the sale it reverses.

Example:
    >>> df = pl.DataFrame({"g": ["T1"] * 3, "participant_id": ["P3", "P1", "P2"],
    ...                    "amount_cents": [100] * 3, "currency": ["USD"] * 3,
    ...                    "share_ppm": [333_334, 333_333, 333_333]})
    >>> allocate(df, ["g"]).sort("participant_id")["amount_cents"].to_list()
    [33, 33, 34]
"""

from __future__ import annotations

import polars as pl

from engine.crediting.arith import check_range, unit_expr
from engine.crediting.frames import keep_where
from engine.errors import EngineError, Finding, Reason
from engine.money import PPM

__all__ = ["allocate", "check_shares"]


def check_shares(frame: pl.DataFrame, group: list[str], *, what: str) -> None:
    """Raise ``SHARES_NOT_100`` when the shares of a group do not sum to exactly 1.

    Args:
        frame: rows with ``share_ppm`` (and ``route_table`` / ``route_line`` when known).
        group: the columns identifying one split.
        what: a phrase naming the split for the message, e.g. ``"transaction_sellers"``.

    Example:
        >>> df = pl.DataFrame({"g": ["T1", "T1"], "share_ppm": [600_000, 300_000]})
        >>> check_shares(df, ["g"], what="sellers")
        Traceback (most recent call last):
        engine.errors.EngineError: <input> [share] SHARES_NOT_100: ...
    """
    if frame.height == 0:
        return
    line_cols = [c for c in ("route_table", "route_line") if c in frame.columns]
    sums = frame.group_by(group).agg(
        pl.col("share_ppm").sum().alias("_sum"), *[pl.col(c).min() for c in line_cols]
    )
    bad = sums.filter(pl.col("_sum") != PPM).sort(group)
    if bad.height == 0:
        return
    findings = []
    for row in bad.head(20).iter_rows(named=True):
        key = ", ".join(str(row[g]) for g in group)
        findings.append(
            Finding(
                Reason.SHARES_NOT_100,
                f"{what} shares of {key} sum to {row['_sum'] / PPM:.6f}, not exactly 1",
                file=row.get("route_table"),
                line=row.get("route_line"),
                column="share",
            )
        )
    raise EngineError(findings)


def allocate(
    frame: pl.DataFrame,
    group: list[str],
    *,
    amount: str = "amount_cents",
    share: str = "share_ppm",
    tie: str = "participant_id",
) -> pl.DataFrame:
    """Replace ``amount`` by each row's exact largest-remainder part of it.

    Args:
        frame: one row per part: the group's whole ``amount`` repeated, the row's ``share``
            (ppm), ``currency`` and the ``tie`` column.
        group: the columns identifying one allocation (e.g. transaction and rule).
        amount: the amount column (hundredths), replaced by the allocated part.
        share: the share column (ppm); shares of a group must sum to exactly 1,000,000.
        tie: breaks equal remainders, ascending.

    Returns:
        ``frame`` with ``amount`` allocated; row order is not preserved.

    Raises:
        EngineError: ``SHARES_NOT_100`` or ``OVERFLOW``.
    """
    if frame.height == 0:
        return frame
    check_range(frame, amount)
    columns = frame.columns
    sized = frame.with_columns(pl.len().over(group).alias("_n"))
    whole = keep_where(sized, pl.col("_n") == 1)
    if whole.filter(pl.col(share) != PPM).height:
        check_shares(whole, group, what="split")
    parts = sized.filter(pl.col("_n") > 1).drop("_n")
    del sized
    check_shares(parts, group, what="split")
    return pl.concat([whole.select(columns), _largest_remainder(parts, group, amount, share, tie)])


def _largest_remainder(
    frame: pl.DataFrame, group: list[str], amount: str, share: str, tie: str
) -> pl.DataFrame:
    if frame.height == 0:
        return frame
    columns = frame.columns
    unit = unit_expr(pl.col("currency"))
    magnitude = pl.col("_units").abs()
    work = (
        frame.with_columns((pl.col(amount) // unit).alias("_units"), unit.alias("_unit"))
        .with_columns((magnitude * pl.col(share)).alias("_exact"))
        .with_columns(
            (pl.col("_exact") // PPM).alias("_base"),
            (pl.col("_exact") % PPM).alias("_rem"),
        )
        .with_columns((magnitude - pl.col("_base").sum().over(group)).alias("_left"))
        .sort([*group, "_rem", tie], descending=[False] * len(group) + [True, False])
        .with_columns(pl.int_range(pl.len(), dtype=pl.Int64).over(group).alias("_pos"))
    )
    part = (pl.col("_base") + (pl.col("_pos") < pl.col("_left")).cast(pl.Int64)) * pl.col("_unit")
    return work.with_columns(
        pl.when(pl.col("_units") < 0).then(-part).otherwise(part).alias(amount)
    ).select(columns)
