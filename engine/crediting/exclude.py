"""Exclusions: transactions that get no credit at all, by rule (not an error).

Each excluded transaction is reported with the name of the first exclusion rule (in declared
order) whose condition holds.

Example:
    >>> from engine.rules.crediting_schema import ExclusionRule
    >>> tx = pl.DataFrame({"transaction_id": ["T1", "T2"], "source_line": [2, 3],
    ...                    "flag": [True, False]})
    >>> kept, excluded = apply_exclusions(tx, [], {})
    >>> kept.height, excluded.height
    (2, 0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from engine.crediting.conditions import when_expr
from engine.crediting.frames import EXCLUDED_SCHEMA, conform, empty
from engine.rules.crediting_schema import ExclusionRule

__all__ = ["apply_exclusions"]


def apply_exclusions(
    transactions: pl.DataFrame, exclusions: Sequence[ExclusionRule], kinds: Mapping[str, str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split transactions into those kept and those excluded (with the excluding rule).

    Returns:
        ``(kept, excluded)``; excluded follows :data:`~engine.crediting.frames.EXCLUDED_SCHEMA`.
    """
    if not exclusions:
        return transactions, empty(EXCLUDED_SCHEMA)
    which: pl.Expr = pl.lit(None, dtype=pl.Utf8)
    for rule in reversed(exclusions):
        which = pl.when(when_expr(rule.when, kinds)).then(pl.lit(rule.name)).otherwise(which)
    tagged = transactions.with_columns(which.alias("_excluded_by"))
    kept = tagged.filter(pl.col("_excluded_by").is_null()).drop("_excluded_by")
    excluded = tagged.filter(pl.col("_excluded_by").is_not_null()).rename({"_excluded_by": "rule"})
    return kept, conform(excluded, EXCLUDED_SCHEMA)
