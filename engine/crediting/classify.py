"""Classification: add the rule set's derived columns to transactions before crediting.

Placeholder until the rule set's ``classify`` section exists: returns the transactions
unchanged and no extra column kinds.
"""

from __future__ import annotations

import polars as pl

__all__ = ["classify"]


def classify(transactions: pl.DataFrame, ruleset: object) -> tuple[pl.DataFrame, dict[str, str]]:
    """Apply the rule set's classification; returns the frame and the kinds of added columns.

    Example:
        >>> frame, kinds = classify(pl.DataFrame({"transaction_id": ["T1"]}), object())
        >>> frame.columns, kinds
        (['transaction_id'], {})
    """
    del ruleset
    return transactions, {}
