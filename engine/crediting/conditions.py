"""Compile rule conditions (``when``) against the transaction frame.

Conditions are SQL-like strings compiled by :func:`engine.rules.expr.compile_condition` with the
kinds of the columns a transaction has: the contract columns, the extra columns the file
carried (text), the columns classification added, and two columns crediting derives before
any rule is evaluated:

* ``period`` (id): the calendar period containing the credit date;
* ``split_sellers`` (a number): how many ``transaction_sellers`` rows the transaction has, so a
  split rule can say ``when: "split_sellers > 0"``.

An absent condition is always true; a condition that evaluates to null (a comparison with a
blank value) is false.

Example:
    >>> kinds = transaction_kinds(pl.DataFrame(schema={"transaction_id": pl.Utf8,
    ...     "amount_cents": pl.Int64, "region_code": pl.Utf8, "source_line": pl.Int64}))
    >>> kinds["amount"], kinds["region_code"], kinds["period"]
    ('money', 'text', 'id')
    >>> pl.select(when_expr(None)).item()
    True
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from engine.contract import TABLES

__all__ = ["add_split_sellers", "transaction_kinds", "when_expr"]

SPLIT_SELLERS = "split_sellers"
"""Derived column: the number of ``transaction_sellers`` rows of the transaction."""

_SUFFIX = {"money": "_cents", "share": "_ppm", "fx": "_e10", "decimal": "_e2"}


def transaction_kinds(
    transactions: pl.DataFrame, extra_kinds: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Column name -> contract kind for conditions on ``transactions``.

    Contract columns present in the frame get their contract kind; any other Utf8 column is
    ``text``; ``period`` is ``id``; ``extra_kinds`` (e.g. classification outputs) override.
    """
    kinds: dict[str, str] = {}
    stored: set[str] = set()
    for column in TABLES["transactions"].columns:
        name = column.name + _SUFFIX.get(column.kind, "")
        if name in transactions.columns:
            kinds[column.name] = column.kind
            stored.add(name)
    for name, dtype in transactions.schema.items():
        if name not in stored and name != "source_line" and dtype == pl.Utf8:
            kinds.setdefault(name, "text")
    kinds["period"] = "id"
    if SPLIT_SELLERS + "_e2" in transactions.columns:
        kinds[SPLIT_SELLERS] = "decimal"
    kinds.update(extra_kinds or {})
    return kinds


def when_expr(text: str | None, kinds: Mapping[str, str] | None = None) -> pl.Expr:
    """The boolean expression of a rule's ``when`` (null counts as false).

    Args:
        text: the condition, or None for "always".
        kinds: column kinds (see :func:`transaction_kinds`).

    Returns:
        A non-null boolean expression.

    Raises:
        EngineError: the condition does not compile (``RULE_BAD_EXPRESSION``,
            ``RULE_UNKNOWN_COLUMN``).
    """
    if text is None or not text.strip():
        return pl.lit(True)
    from engine.rules.expr import compile_condition  # noqa: PLC0415  (the rules package imports us)

    return compile_condition(text, dict(kinds or {})).fill_null(False)


def add_split_sellers(transactions: pl.DataFrame, sellers: pl.DataFrame) -> pl.DataFrame:
    """Add ``split_sellers_e2``: the number of split-seller rows, stored as a decimal (x100).

    Example:
        >>> tx = pl.DataFrame({"transaction_id": ["T1", "T2"]})
        >>> s = pl.DataFrame({"transaction_id": ["T1", "T1"]})
        >>> add_split_sellers(tx, s)["split_sellers_e2"].to_list()
        [200, 0]
    """
    column = SPLIT_SELLERS + "_e2"
    counts = sellers.group_by("transaction_id").agg((pl.len().cast(pl.Int64) * 100).alias(column))
    return (
        transactions.drop(column, strict=False)
        .join(counts, on="transaction_id", how="left", maintain_order="left")
        .with_columns(pl.col(column).fill_null(0))
    )
