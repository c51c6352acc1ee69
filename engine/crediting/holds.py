"""Holds: credits kept but flagged ``held`` (not counted by measures until released).

A hold rule's condition is evaluated on the transaction; a credit is held when a hold rule
matches its transaction and either lists no ``credit_types`` or lists the credit's type. A
roll-up credit is held when the credit it rolls from is held, or when a hold rule matches it
on its own (roll-up) credit type: releasing the seller's credit releases the chain.

Example:
    >>> from engine.rules.crediting_schema import HoldRule
    >>> holds = [HoldRule(name="review", credit_types=("direct",))]
    >>> tx = mark_holds(pl.DataFrame({"transaction_id": ["T1"]}), holds, {})
    >>> tx.with_columns(c=pl.lit("direct")).select(held_expr(pl.col("c"), holds)).item()
    True
    >>> tx.with_columns(c=pl.lit("overlay")).select(held_expr(pl.col("c"), holds)).item()
    False
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import polars as pl

from engine.crediting.conditions import when_expr
from engine.rules.crediting_schema import HoldRule

__all__ = ["held_expr", "hold_column", "mark_holds"]


def hold_column(index: int) -> str:
    """The column flagging transactions matched by the ``index``-th hold rule."""
    return f"_hold_{index}"


def mark_holds(
    transactions: pl.DataFrame, holds: Sequence[HoldRule], kinds: Mapping[str, str]
) -> pl.DataFrame:
    """Add one boolean column per hold rule: does it match the transaction?"""
    return transactions.with_columns(
        when_expr(rule.when, kinds).alias(hold_column(i)) for i, rule in enumerate(holds)
    )


def held_expr(credit_type: pl.Expr, holds: Sequence[HoldRule]) -> pl.Expr:
    """Whether a credit of ``credit_type`` on a marked transaction is held."""
    held: pl.Expr = pl.lit(False)
    for i, rule in enumerate(holds):
        applies = (
            pl.lit(True) if rule.credit_types is None else credit_type.is_in(rule.credit_types)
        )
        held = held | (pl.col(hold_column(i)) & applies)
    return held
