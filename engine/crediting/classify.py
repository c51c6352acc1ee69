"""Classification: add the rule set's derived attributes to transactions before crediting.

The rule set's ``classify`` rules set text attributes (e.g. ``segment``) where their conditions
hold (:func:`engine.rules.schema.classification_exprs`: the highest priority wins, then the
first declared; no match = null). Extra columns the rule set declares but the file lacks are
added as blank text, so that conditions on them are false rather than errors. Crediting
conditions can then use the attributes like any text column.

Example:
    >>> from engine.rules.schema import RuleSet
    >>> rs = RuleSet.model_validate({"schema_version": 1, "name": "demo",
    ...     "extra_columns": {"channel": "text"},
    ...     "classify": [{"name": "big", "when": "amount >= 1000", "set": {"size": "big"}}]})
    >>> tx = pl.DataFrame({"transaction_id": ["T1", "T2"], "amount_cents": [100, 200000]})
    >>> out, kinds = classify(tx, rs)
    >>> out["size"].to_list(), out["channel"].to_list(), kinds
    ([None, 'big'], [None, None], {'channel': 'text', 'size': 'text'})
"""

from __future__ import annotations

import polars as pl

from engine.rules.references import condition_columns
from engine.rules.schema import RuleSet, classification_exprs

__all__ = ["classify"]


def classify(transactions: pl.DataFrame, ruleset: object) -> tuple[pl.DataFrame, dict[str, str]]:
    """Apply the rule set's classification.

    Args:
        transactions: typed transactions.
        ruleset: a :class:`~engine.rules.schema.RuleSet`; anything else (e.g. a bare crediting
            section) classifies nothing.

    Returns:
        The transactions with one Utf8 column per derived attribute (and per declared extra
        column the file lacked), and the kinds of those columns for conditions.
    """
    if not isinstance(ruleset, RuleSet):
        return transactions, {}
    kinds: dict[str, str] = dict(ruleset.extra_columns)
    frame = transactions.with_columns(
        pl.lit(None, dtype=pl.Utf8).alias(name)
        for name in ruleset.extra_columns
        if name not in transactions.columns
    )
    if ruleset.classify:
        columns = condition_columns("classify", extra_columns=ruleset.extra_columns)
        exprs = classification_exprs(ruleset.classify, columns)
        frame = frame.with_columns(expr.alias(name) for name, expr in exprs.items())
        kinds.update(dict.fromkeys(exprs, "text"))
    return frame, kinds
