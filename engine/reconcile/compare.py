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
    """Every compared key of every grain both sides have, classed; the breaks with causes.

    Attributes:
        rows: every compared key, matches too (no cause), for drill-downs.
        broken: the breaks, with ``cause`` and ``detail``, in no particular order.
        grains: the grains compared, coarsest first.
        tolerance: the tolerance used.
    """

    rows: pl.DataFrame
    broken: pl.DataFrame
    grains: tuple[str, ...]
    tolerance: Tolerance

    @property
    def breaks(self) -> pl.DataFrame:
        """The breaks with their key, by grain (coarsest first) and keys."""
        return sort_rows(with_key(self.broken))

    @property
    def failed(self) -> bool:
        """Whether any break is over the tolerance."""
        return bool(self.broken["over"].any())

    def participant_rows(self, participants: list[str]) -> pl.DataFrame:
        """Every compared key of these participants, breaks with their cause, sorted."""
        who = pl.col("participant_id").is_in(participants)
        none = pl.lit(None, pl.Utf8)
        matches = self.rows.filter(who & (pl.col("class") == "match")).with_columns(
            none.alias("cause"), none.alias("detail")
        )
        return sort_rows(with_key(pl.concat([matches, self.broken.filter(who)])))

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


def _hash(keys: list[str]) -> pl.Expr:
    return pl.struct(keys).hash()


def _exact_join(ours: pl.DataFrame, theirs: pl.DataFrame, keys: list[str]) -> pl.LazyFrame:
    side = [*keys, "amount_cents"]
    return (
        ours.lazy()
        .select(side)
        .join(theirs.lazy().select(side), on=keys, how="full", coalesce=True, suffix="_theirs")
        .rename({"amount_cents": "ours_cents", "amount_cents_theirs": "theirs_cents"})
    )


def _join(ours: pl.DataFrame, theirs: pl.DataFrame, keys: list[str]) -> pl.LazyFrame:
    """Full join on the keys, through a 64-bit hash of them (much faster than on text keys).

    Exact: when two distinct keys share a hash (on one side, or across the sides), the join is
    redone on the text keys.
    """
    h = _hash(keys).alias("_h")
    a = ours.select(h, *keys, pl.col("amount_cents").alias("ours_cents"))
    b = theirs.select(h, *keys, pl.col("amount_cents").alias("theirs_cents"))
    dup = a["_h"].n_unique() < a.height or b["_h"].n_unique() < b.height
    if dup:
        return _exact_join(ours, theirs, keys)
    j = a.join(b, on="_h", how="full", coalesce=True, suffix="_t")
    both = pl.col("ours_cents").is_not_null() & pl.col("theirs_cents").is_not_null()
    clash = pl.any_horizontal(pl.col(k) != pl.col(f"{k}_t") for k in keys)
    if j.select((both & clash).any()).item():
        return _exact_join(ours, theirs, keys)
    return j.lazy().select(
        *(pl.coalesce(k, f"{k}_t").alias(k) for k in keys), "ours_cents", "theirs_cents"
    )


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
    joined = _join(ours, theirs, keys)
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
        The comparison; its ``rows`` hold every key, matches too (for drill-downs), its
        ``broken`` the breaks with their causes.
    """
    grains = tuple(g for g in GRAIN_KEYS if g in ours and g in theirs)
    parts = [compare_grain(ours[g], theirs[g], g, tol) for g in grains]
    rows = pl.concat(parts) if parts else pl.DataFrame(schema=ROW_SCHEMA)
    broken = attach_causes(rows.filter(pl.col("class") != "match"), ours, theirs, grains, tol)
    return Comparison(rows, broken, grains, tol)


__all__ = ["KEY_COLUMNS", "Comparison", "Tolerance", "compare", "compare_grain"]
