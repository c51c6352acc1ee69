"""Route a transaction to the participants a rule's ``source`` names, with their shares.

Sources (see :data:`engine.rules.crediting_schema.SourceKind`):

===============  ====================================================  =====================
source           who, with what share                                  route_table / line
===============  ====================================================  =====================
``seller``       ``transactions.seller_id``, 100%                      transactions
``participant``  the rule's fixed ``participant``, 100%                transactions
``sellers``      the ``transaction_sellers`` rows, with their shares   transaction_sellers
``territory``    the territory's owners as of ``credit_date``, shares  territory_owners
===============  ====================================================  =====================

A transaction the source finds nobody for is returned apart with reason ``NO_OWNER``.

Example:
    >>> from datetime import date
    >>> tx = pl.DataFrame({"transaction_id": ["T1", "T2"], "seller_id": ["P1", None],
    ...     "credit_date": [date(2026, 1, 5)] * 2, "source_line": [2, 3]})
    >>> found, missed = route(tx, "seller", Sources.build({}))
    >>> found.select("transaction_id", "participant_id", "share_ppm").rows()
    [('T1', 'P1', 1000000)]
    >>> missed.select("transaction_id", "reason").rows()
    [('T2', 'NO_OWNER')]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from engine.crediting.asof import asof_lookup
from engine.crediting.frames import keep_where
from engine.crediting.segments import segment
from engine.errors import Reason
from engine.money import PPM

__all__ = ["FIXED_PARTICIPANT", "Sources", "route"]

FIXED_PARTICIPANT = "_fixed_participant"
"""Column holding the rule's fixed participant for ``source: participant``."""

_RECIPIENT = ("participant_id", "share_ppm", "route_table", "route_line")


@dataclass(frozen=True)
class Sources:
    """The routing tables, prepared once per run.

    Attributes:
        sellers: ``transaction_sellers`` (transaction_id, participant_id, share_ppm, line).
        territory_segments: territory timelines cut where their owners change.
        territory_members: owners (participant_id, share_ppm, source_line) per segment.
    """

    sellers: pl.DataFrame
    territory_segments: pl.DataFrame
    territory_members: pl.DataFrame

    @classmethod
    def build(cls, tables: Mapping[str, pl.DataFrame]) -> Sources:
        """Prepare the routing tables from typed dataset tables (absent tables = empty)."""
        sellers = tables.get("transaction_sellers")
        if sellers is None:
            sellers = pl.DataFrame(
                schema={
                    "transaction_id": pl.Utf8,
                    "participant_id": pl.Utf8,
                    "share_ppm": pl.Int64,
                    "source_line": pl.Int64,
                }
            )
        owners = tables.get("territory_owners")
        if owners is None:
            owners = pl.DataFrame(
                schema={
                    "territory_id": pl.Utf8,
                    "participant_id": pl.Utf8,
                    "share_ppm": pl.Int64,
                    "valid_from": pl.Date,
                    "valid_to": pl.Date,
                    "source_line": pl.Int64,
                }
            )
        owners = owners.select(
            "territory_id",
            "participant_id",
            pl.col("share_ppm").fill_null(PPM),
            "valid_from",
            "valid_to",
            "source_line",
        )
        segs, members = segment(owners, key="territory_id")
        return cls(
            sellers=sellers.select("transaction_id", "participant_id", "share_ppm", "source_line"),
            territory_segments=segs,
            territory_members=members.select(
                "seg_id", "participant_id", "share_ppm", "source_line"
            ),
        )


def _no_owner(frame: pl.DataFrame, message: pl.Expr) -> pl.DataFrame:
    return frame.with_columns(
        pl.lit(Reason.NO_OWNER.value).alias("reason"), message.alias("message")
    )


def _whole(frame: pl.DataFrame, who: pl.Expr) -> pl.DataFrame:
    return frame.with_columns(
        who.alias("participant_id"),
        pl.lit(PPM, dtype=pl.Int64).alias("share_ppm"),
        pl.lit("transactions").alias("route_table"),
        pl.col("source_line").alias("route_line"),
    )


def route(
    transactions: pl.DataFrame, source: str, sources: Sources
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Find who a source credits for each transaction.

    Args:
        transactions: transactions with ``transaction_id, credit_date, source_line`` and the
            columns the source reads (``seller_id``, ``territory_id`` or ``_fixed_participant``).
        source: ``seller``, ``sellers``, ``territory`` or ``participant``.
        sources: the prepared routing tables.

    Returns:
        ``(found, missed)``: found has one row per recipient (the transaction's columns plus
        ``participant_id, share_ppm, route_table, route_line``); missed has the transaction's
        columns plus ``reason`` (``NO_OWNER``) and ``message``.
    """
    tx = transactions.drop(*_RECIPIENT, strict=False)
    if source == "participant":
        return _whole(tx, pl.col(FIXED_PARTICIPANT)), _no_owner(tx.clear(), pl.lit(""))
    if source == "seller":
        seller = pl.col("seller_id")
        found = _whole(keep_where(tx, seller.is_not_null()), seller)
        missed = _no_owner(
            tx.filter(seller.is_null()), pl.lit("the transaction names no seller (seller_id)")
        )
        return found, missed
    if source == "sellers":
        rows = sources.sellers.select(
            "transaction_id",
            "participant_id",
            "share_ppm",
            pl.lit("transaction_sellers").alias("route_table"),
            pl.col("source_line").alias("route_line"),
        )
        found = tx.join(rows, on="transaction_id")
        missed = _no_owner(
            tx.join(rows, on="transaction_id", how="anti"),
            pl.lit("the transaction has no rows in transaction_sellers"),
        )
        return found, missed
    if source == "territory":
        return _territory(tx, sources)
    raise ValueError(f"unknown source {source!r}")


def _territory(tx: pl.DataFrame, sources: Sources) -> tuple[pl.DataFrame, pl.DataFrame]:
    with_territory = keep_where(tx, pl.col("territory_id").is_not_null())
    no_territory = _no_owner(
        tx.filter(pl.col("territory_id").is_null()),
        pl.lit("the transaction names no territory (territory_id)"),
    )
    looked_up = asof_lookup(
        with_territory,
        sources.territory_segments.rename({"seg_id": "_seg"}),
        left_key="territory_id",
        left_date="credit_date",
        right_key="territory_id",
        right_start="seg_start",
        right_end="seg_end",
        take=["_seg"],
    )
    members = sources.territory_members.select(
        pl.col("seg_id").alias("_seg"),
        "participant_id",
        "share_ppm",
        pl.lit("territory_owners").alias("route_table"),
        pl.col("source_line").alias("route_line"),
    )
    found = (
        keep_where(looked_up, pl.col("_seg").is_not_null()).join(members, on="_seg").drop("_seg")
    )
    nobody = _no_owner(
        looked_up.filter(pl.col("_seg").is_null()).drop("_seg"),
        pl.lit("territory ")
        + pl.col("territory_id")
        + " has no owner on "
        + pl.col("credit_date").cast(pl.Utf8),
    )
    return found, pl.concat([no_territory, nobody])
