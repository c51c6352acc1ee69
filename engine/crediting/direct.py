"""Primary (direct and split) credits: route by the chosen rule, then allocate by shares.

Each transaction with a chosen rule (:mod:`.select`) is routed by that rule's source
(:mod:`.route`); the amount is allocated among the recipients by largest remainder
(:mod:`.split`), so the credits of a transaction sum exactly to its amount.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from engine.crediting.frames import keep_where
from engine.crediting.order import TX_KEY
from engine.crediting.route import FIXED_PARTICIPANT, Sources, route
from engine.crediting.select import RULE_INDEX
from engine.crediting.split import allocate
from engine.rules.crediting_schema import CreditRule

__all__ = ["SPLIT_SOURCES", "label", "primary_credits", "split_group"]


def label(frame: pl.DataFrame, rule: pl.Expr, credit_type: pl.Expr) -> pl.DataFrame:
    """Add the level-0 credit columns: rule, credit_type, level 0 and the direct participant."""
    return frame.with_columns(
        rule.alias("rule"),
        credit_type.alias("credit_type"),
        pl.lit(0, dtype=pl.Int32).alias("level"),
        pl.col("participant_id").alias("direct_participant_id"),
    )


def primary_credits(
    transactions: pl.DataFrame, rules: Sequence[CreditRule], sources: Sources
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Credit each transaction by its chosen rule.

    Args:
        transactions: transactions with ``_rule`` (the chosen rule's index).
        rules: the primary rules, in declared order.
        sources: the prepared routing tables.

    Returns:
        ``(credits, missed)``: level-0 credits (transaction columns plus the credit columns),
        and the transactions nobody could be found for (reason ``NO_OWNER``).
    """
    found: list[pl.DataFrame] = []
    missed: list[pl.DataFrame] = []
    names = {i: r.name for i, r in enumerate(rules)}
    types = {i: r.credit_type for i, r in enumerate(rules)}
    fixed = {i: r.participant for i, r in enumerate(rules) if r.participant is not None}
    for kind in ("seller", "sellers", "territory", "participant"):
        indexes = [i for i, r in enumerate(rules) if r.source == kind]
        if not indexes:
            continue
        subset = keep_where(transactions, pl.col(RULE_INDEX).is_in(indexes))
        if kind == "participant":
            subset = subset.with_columns(
                pl.col(RULE_INDEX)
                .replace_strict(fixed, return_dtype=pl.Utf8)
                .alias(FIXED_PARTICIPANT)
            )
        got, lost = route(subset, kind, sources)
        del subset
        if kind in SPLIT_SOURCES:
            got = allocate(got, split_group(got))
        found.append(got)
        missed.append(
            lost.with_columns(
                (
                    pl.col("message")
                    + " (rule "
                    + pl.col(RULE_INDEX).replace_strict(names, return_dtype=pl.Utf8)
                    + ")"
                ).alias("message")
            )
        )
    if not found:
        return transactions.clear(), transactions.clear()
    # labelled part by part: a column added to a frame of several chunks makes Polars
    # rechunk (copy) every column, which labelling the concatenation would do
    credits = pl.concat(
        [
            label(
                part,
                pl.col(RULE_INDEX).replace_strict(names, return_dtype=pl.Utf8),
                pl.col(RULE_INDEX).replace_strict(types, return_dtype=pl.Utf8),
            )
            for part in found
        ],
        how="diagonal_relaxed",
    )
    return credits, pl.concat(missed, how="diagonal_relaxed")


SPLIT_SOURCES = frozenset({"sellers", "territory"})
"""Sources that may name several recipients with shares (the others give one, at 100%)."""


def split_group(frame: pl.DataFrame) -> list[str]:
    """The columns identifying one transaction's split under one rule.

    Within one call of a routing step a transaction has at most one rule, so the transaction
    number (or, without it, the transaction id) is enough.
    """
    return [TX_KEY] if TX_KEY in frame.columns else ["transaction_id"]
