"""Which tier a rated row reached: the audit trail's "tier segments used".

For retroactive and incremental tables rated on a row's tier base, ``tier`` is the 1-based index
of the highest tier the base reaches (its absolute value, as the kernels rate a negative base as
the mirror image of its absolute value): a retroactive table pays that tier's rate on the whole
base, an incremental one pays every tier up to it. ``tier_from``, ``tier_to`` and ``tier_rate``
repeat that tier's bounds and rate as written in the rule set. A base in no tier (below the
first, or in a gap of a ``both_inclusive`` table) has a null tier.

This is a lookup for people, computed by exact comparison (cross-multiplication for
attainment); the earnings themselves come from the kernels.

Example:
    >>> from engine.rules.plan_schema import RATE_TABLE_ADAPTER as A
    >>> t = A.validate_python({"name": "t", "kind": "retroactive",
    ...     "tiers": [{"from": 0, "to": 100000, "rate": "5%"}, {"from": 100000, "rate": "8%"}]})
    >>> df = pl.DataFrame({"tier_n": [12_000_000, 10_000_000, 5], "tier_d": [100, 100, 100]})
    >>> df.select(**tier_exprs(t, "lower_inclusive")).rows()
    [(2, '100000', None, '0.08'), (2, '100000', None, '0.08'), (1, '0', '100000', '0.05')]
"""

from __future__ import annotations

import polars as pl

from engine.calc.specs import tier_table
from engine.rules.plan_schema import TieredTable

__all__ = ["tier_exprs"]


def tier_exprs(table: TieredTable, default_boundary: str) -> dict[str, pl.Expr]:
    """Expressions ``tier``, ``tier_from``, ``tier_to``, ``tier_rate`` over ``tier_n / tier_d``.

    Uses the table's own tiers (dimension overrides are per line and not shown here).
    """
    if not table.tiers:
        none = pl.lit(None, pl.Utf8)
        return {
            "tier": pl.lit(None, pl.Int32),
            "tier_from": none,
            "tier_to": none,
            "tier_rate": none,
        }
    spec = tier_table(table, table.tiers, default_boundary=default_boundary)
    boundary = table.boundary or default_boundary
    n = pl.col("tier_n").cast(pl.Int128).abs()
    d = pl.col("tier_d").cast(pl.Int128)
    scale = 1_000_000 if spec.attainment else 100  # bounds are ppm, or hundredths

    def at_least(bound: int, strict: bool) -> pl.Expr:
        lhs, rhs = n * scale, d * bound
        return (lhs > rhs) if strict else (lhs >= rhs)

    index: pl.Expr = pl.lit(None, pl.Int32)
    for i, tier in enumerate(spec.tiers, start=1):
        inside = at_least(tier.lower, strict=boundary == "upper_inclusive")
        if tier.upper is not None:
            past = at_least(tier.upper, strict=boundary != "lower_inclusive")
            inside = inside & ~past
        index = pl.when(inside).then(pl.lit(i, pl.Int32)).otherwise(index)
    index = pl.when(pl.col("tier_d").is_null()).then(None).otherwise(index)
    written = table.tiers
    frm = {i: str(t.lower) for i, t in enumerate(written, start=1)}
    to = {i: (None if t.upper is None else str(t.upper)) for i, t in enumerate(written, start=1)}
    rate = {i: str(t.rate) for i, t in enumerate(written, start=1)}
    return {
        "tier": index,
        "tier_from": index.replace_strict(frm, default=None, return_dtype=pl.Utf8),
        "tier_to": index.replace_strict(to, default=None, return_dtype=pl.Utf8),
        "tier_rate": index.replace_strict(rate, default=None, return_dtype=pl.Utf8),
    }
