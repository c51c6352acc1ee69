"""Deterministic order: number transactions once, sort credits on integer keys.

Every output of crediting is sorted by a documented key so that the same inputs give the same
bytes whatever the order of the input rows. Sorting millions of credit rows on text columns is
slow, so the stage numbers transactions once (``_tx``: their rank by ``transaction_id``, then
source line) and sorts credits on integers that order exactly as the text would: rule names,
participant ids and route tables are replaced by their rank among the sorted distinct values.
The result is the order of :data:`~engine.crediting.frames.CREDIT_SORT` (the columns left out
of the integer key are determined by the ones in it: a rule has one credit type; a transaction
one currency, date and period).

Example:
    >>> tx = number_transactions(pl.DataFrame({"transaction_id": ["T2", "T1"],
    ...                                        "source_line": [2, 3]}))
    >>> tx.rows()
    [('T1', 3, 0), ('T2', 2, 1)]
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from engine.crediting.frames import CREDIT_SCHEMA, CREDIT_SORT

__all__ = ["TX_KEY", "number_transactions", "sort_credits"]

TX_KEY = "_tx"
"""Column holding a transaction's rank by (transaction_id, source_line)."""


def number_transactions(transactions: pl.DataFrame) -> pl.DataFrame:
    """Sort transactions by id (then line) and number them ``_tx`` = 0, 1, 2..."""
    return (
        transactions.drop(TX_KEY, strict=False)
        .sort("transaction_id", "source_line")
        .with_row_index(TX_KEY)
        .with_columns(pl.col(TX_KEY).cast(pl.Int64))
        .select(*transactions.columns, TX_KEY)
    )


def _rank_of(column: str, values: list[str]) -> pl.Expr:
    """The rank of each value among the sorted distinct ``values`` (an Enum's physical code)."""
    return pl.col(column).cast(pl.Enum(sorted(values))).to_physical()


def sort_credits(frame: pl.DataFrame, keep: Sequence[str] = ()) -> pl.DataFrame:
    """Sort credits in :data:`CREDIT_SORT` order, fast when ``_tx`` is present.

    Args:
        frame: credit rows (:data:`CREDIT_SCHEMA` columns, optionally ``_tx``).
        keep: other columns of ``frame`` to carry along, after the credit columns.

    Returns:
        The rows, sorted, with the :data:`CREDIT_SCHEMA` columns and the ``keep`` columns.
    """
    columns = [*CREDIT_SCHEMA, *keep]
    if TX_KEY not in frame.columns or frame.height == 0:
        return frame.select(columns).sort(CREDIT_SORT)
    people = (
        pl.concat([frame["participant_id"].unique(), frame["direct_participant_id"].unique()])
        .unique()
        .to_list()
    )
    keys = frame.select(
        TX_KEY,
        "level",
        _rank_of("rule", frame["rule"].unique().to_list()).alias("_k_rule"),
        _rank_of("direct_participant_id", people).alias("_k_dp"),
        _rank_of("participant_id", people).alias("_k_p"),
        _rank_of("route_table", frame["route_table"].unique().to_list()).alias("_k_rt"),
        "route_line",
        "share_ppm",
        "amount_cents",
        "held",
    )
    # sort the narrow integer keys, then gather the credit columns once in that order
    order = keys.select(pl.arg_sort_by(keys.columns).alias("_order")).get_column("_order")
    del keys
    return frame.select(pl.col(c).gather(order) for c in columns)
