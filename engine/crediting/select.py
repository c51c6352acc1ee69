"""Choose each transaction's primary crediting rule.

Among the rules whose condition holds, the one with the highest ``priority`` wins; between equal
priorities, the first declared. A transaction no rule matches is unrouted with reason
``NO_CREDIT_RULE``.

Example:
    >>> from engine.rules.crediting_schema import CreditRule
    >>> rules = [CreditRule(name="low", source="territory"),
    ...          CreditRule(name="high", source="seller", priority=5)]
    >>> tx = pl.DataFrame({"transaction_id": ["T1"], "source_line": [2]})
    >>> chosen, unrouted = choose_rules(tx, rules, {})
    >>> chosen["_rule"].to_list(), unrouted.height
    ([1], 0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from engine.crediting.conditions import when_expr
from engine.crediting.frames import UNROUTED_SCHEMA, conform
from engine.errors import Reason
from engine.rules.crediting_schema import CreditRule

__all__ = ["RULE_INDEX", "choose_rules"]

RULE_INDEX = "_rule"
"""Column holding the chosen rule's position in the declared list."""


def choose_rules(
    transactions: pl.DataFrame, rules: Sequence[CreditRule], kinds: Mapping[str, str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add ``_rule`` (index of the winning rule) to matched transactions; report the rest.

    Args:
        transactions: transactions to credit.
        rules: the primary rules, in declared order.
        kinds: column kinds for conditions.

    Returns:
        ``(matched, unrouted)``; unrouted has reason ``NO_CREDIT_RULE``.
    """
    order = sorted(range(len(rules)), key=lambda i: (-rules[i].priority, i))
    choice: pl.Expr = pl.lit(None, dtype=pl.Int32)
    for i in reversed(order):
        choice = (
            pl.when(when_expr(rules[i].when, kinds))
            .then(pl.lit(i, dtype=pl.Int32))
            .otherwise(choice)
        )
    tagged = transactions.with_columns(choice.alias(RULE_INDEX))
    none = tagged.get_column(RULE_INDEX).null_count() == 0
    matched = tagged if none else tagged.filter(pl.col(RULE_INDEX).is_not_null())
    unrouted = tagged.filter(pl.col(RULE_INDEX).is_null()).with_columns(
        pl.lit(Reason.NO_CREDIT_RULE.value).alias("reason"),
        pl.lit("no crediting rule matches this transaction").alias("message"),
    )
    return matched, conform(unrouted, UNROUTED_SCHEMA)
