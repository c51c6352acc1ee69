"""Compare our grains with the vendor's: one row per key of either side, classified.

A key's difference is ``ours - theirs`` (a side without the key counts 0). Classes:

* ``match``: no difference (a key one side lacks, with 0 on the other, is a match: vendors
  rarely export zero lines); matches are not breaks;
* ``only_ours`` / ``only_theirs``: one side lacks the key;
* ``within_tolerance`` / ``over_tolerance``: both sides have it, ``|difference|`` within the
  tolerance or over it.

``over`` marks every break whose ``|difference|`` exceeds the tolerance (one-sided breaks too):
what fails a reconciliation.

Example:
    >>> ours = {"payment": pl.DataFrame({"participant_id": ["A", "B", "C"],
    ...     "period": ["p1"] * 3, "amount_cents": [100, 200, 0]})}
    >>> theirs = {"payment": pl.DataFrame({"participant_id": ["A", "B", "D"],
    ...     "period": ["p1"] * 3, "amount_cents": [100, 201, 5]})}
    >>> c = compare(ours, theirs, Tolerance(tolerance_cents=1))
    >>> c.breaks.select("key", "difference_cents", "class", "cause").rows()
    [('B / p1', -1, 'within_tolerance', 'rounding'), ('D / p1', -5, 'only_theirs', 'data')]
    >>> c.failed
    True
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from engine.reconcile.causes import attach_causes
from engine.reconcile.mapping import GRAIN_KEYS
from engine.reconcile.vendor import KEY_COLUMNS, grain_columns

ALL_KEYS = ["participant_id", "period", "component", "measure", "transaction_id"]
CLASSES = ("only_ours", "only_theirs", "within_tolerance", "over_tolerance")
ROW_SCHEMA: dict[str, pl.DataType] = {
    "grain": pl.Utf8(),
    **{c: pl.Utf8() for c in ALL_KEYS},
    "ours_cents": pl.Int64(),
    "theirs_cents": pl.Int64(),
    "difference_cents": pl.Int64(),
    "class": pl.Utf8(),
    "over": pl.Boolean(),
}


@dataclass(frozen=True)
class Tolerance:
    """What counts as a break and as rounding.

    Attributes:
        tolerance_cents: an absolute difference up to this is ``within_tolerance`` (0: exact).
        rounding_unit_cents: a difference up to this per line (per component for a payment)
            is probably rounding.
    """

    tolerance_cents: int = 0
    rounding_unit_cents: int = 1


@dataclass(frozen=True)
class Comparison:
    """Every compared key of every grain both sides have, with class, cause and detail."""

    rows: pl.DataFrame
    grains: tuple[str, ...]
    tolerance: Tolerance

    @property
    def breaks(self) -> pl.DataFrame:
        """The rows that are not matches, with their key, by grain (coarsest first) and key."""
        return sort_rows(with_key(self.rows.filter(pl.col("class") != "match")))

    @property
    def failed(self) -> bool:
        """Whether any break is over the tolerance."""
        return bool(self.rows["over"].any())

    def summary(self) -> pl.DataFrame:
        """Breaks by grain, class and cause: count, net and absolute amounts."""
        return (
            self.breaks.group_by("grain", "class", "cause")
            .agg(
                pl.len().alias("breaks"),
                pl.col("difference_cents").sum().alias("net_difference_cents"),
                pl.col("difference_cents").abs().sum().alias("abs_difference_cents"),
            )
            .with_columns(pl.col("grain").replace_strict(_ORDER, return_dtype=pl.Int32).alias("o"))
            .sort("o", "class", "cause")
            .drop("o")
        )


_ORDER = {g: i for i, g in enumerate(GRAIN_KEYS)}


def with_key(rows: pl.DataFrame) -> pl.DataFrame:
    """Add ``key``: the row's grain keys joined by `` / `` (second column, after ``grain``).

    Example:
        >>> f = pl.DataFrame({"grain": ["payment"], **{c: [None] for c in ALL_KEYS}},
        ...     schema={"grain": pl.Utf8, **{c: pl.Utf8 for c in ALL_KEYS}})
        >>> with_key(f.with_columns(participant_id=pl.lit("A"), period=pl.lit("p")))["key"][0]
        'A / p'
    """
    key = pl.concat_str([pl.col(c) for c in ALL_KEYS], separator=" / ", ignore_nulls=True)
    return rows.with_columns(key.alias("key")).select("grain", "key", pl.exclude("grain", "key"))


def sort_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """Rows by grain (coarsest first) and keys."""
    order = pl.col("grain").replace_strict(_ORDER, return_dtype=pl.Int32)
    return rows.sort([order, *ALL_KEYS], nulls_last=True)


def compare_grain(
    ours: pl.DataFrame, theirs: pl.DataFrame, grain: str, tol: Tolerance
) -> pl.DataFrame:
    """Join one grain's two sides on its keys and classify each key (no causes yet).

    Example:
        >>> a = pl.DataFrame({"participant_id": ["A"], "period": ["p"], "amount_cents": [5]})
        >>> compare_grain(a, a.clear(), "payment", Tolerance()).select("class", "over").rows()
        [('only_ours', True)]
    """
    keys = grain_columns(grain)
    side = [*keys, "amount_cents"]
    joined = (
        ours.lazy()
        .select(side)
        .join(theirs.lazy().select(side), on=keys, how="full", coalesce=True, suffix="_theirs")
        .rename({"amount_cents": "ours_cents", "amount_cents_theirs": "theirs_cents"})
    )
    diff = pl.col("ours_cents").fill_null(0) - pl.col("theirs_cents").fill_null(0)
    cls = (
        pl.when(pl.col("difference_cents") == 0)
        .then(pl.lit("match"))
        .when(pl.col("theirs_cents").is_null())
        .then(pl.lit("only_ours"))
        .when(pl.col("ours_cents").is_null())
        .then(pl.lit("only_theirs"))
        .when(pl.col("difference_cents").abs() <= tol.tolerance_cents)
        .then(pl.lit("within_tolerance"))
        .otherwise(pl.lit("over_tolerance"))
    )
    return (
        joined.with_columns(diff.alias("difference_cents"))
        .with_columns(
            cls.alias("class"),
            (pl.col("difference_cents").abs() > tol.tolerance_cents).alias("over"),
            pl.lit(grain).alias("grain"),
            *(pl.lit(None, dtype=pl.Utf8).alias(c) for c in ALL_KEYS if c not in keys),
        )
        .select(list(ROW_SCHEMA))
        .cast(pl.Schema(ROW_SCHEMA))
        .collect(engine="streaming")
    )


def compare(
    ours: dict[str, pl.DataFrame], theirs: dict[str, pl.DataFrame], tol: Tolerance
) -> Comparison:
    """Compare every grain both sides have and attach each break's probable cause.

    Args:
        ours: our grain frames (:func:`engine.reconcile.ours.our_grains`).
        theirs: the vendor's (:func:`engine.reconcile.vendor.read_vendor`).
        tol: the tolerance and rounding unit.

    Returns:
        The comparison; its ``rows`` hold every key, matches too (for drill-downs).
    """
    grains = tuple(g for g in GRAIN_KEYS if g in ours and g in theirs)
    parts = [compare_grain(ours[g], theirs[g], g, tol) for g in grains]
    rows = pl.concat(parts) if parts else pl.DataFrame(schema=ROW_SCHEMA)
    rows = attach_causes(rows, ours, theirs, grains, tol)
    return Comparison(rows, grains, tol)


__all__ = ["KEY_COLUMNS", "Comparison", "Tolerance", "compare", "compare_grain"]
