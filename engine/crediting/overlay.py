"""Overlays: a specialist or partner manager also gets 100% of the same deal.

Every overlay whose condition holds applies, in addition to the primary credit, to transactions
that received a primary credit (a transaction that is excluded or unrouted gets no overlay). An
overlay credits its source like a primary rule does (a territory overlay splits among the
territory's owners). When an overlay's source finds nobody, the transaction stays credited and
the miss is reported in ``overlay_misses`` with reason ``NO_OWNER``.
"""

from __future__ import annotations

from collections.abc import Mapping

import polars as pl

from engine.crediting.conditions import when_expr
from engine.crediting.direct import SPLIT_SOURCES, label, split_group
from engine.crediting.frames import OVERLAY_MISS_SCHEMA, conform
from engine.crediting.route import FIXED_PARTICIPANT, Sources, route
from engine.crediting.split import allocate
from engine.rules.crediting_schema import OverlayRule

__all__ = ["overlay_credits"]


def overlay_credits(
    transactions: pl.DataFrame,
    overlay: OverlayRule,
    sources: Sources,
    kinds: Mapping[str, str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Credit the transactions matched by one overlay.

    Args:
        transactions: the transactions that received a primary credit.
        overlay: the overlay rule.
        sources: the prepared routing tables.
        kinds: column kinds for the condition.

    Returns:
        ``(credits, misses)``: level-0 credits (transaction columns plus credit columns) and
        misses following :data:`~engine.crediting.frames.OVERLAY_MISS_SCHEMA`.
    """
    subset = transactions.filter(when_expr(overlay.when, kinds))
    if overlay.participant is not None:
        subset = subset.with_columns(pl.lit(overlay.participant).alias(FIXED_PARTICIPANT))
    got, lost = route(subset, overlay.source, sources)
    if overlay.source in SPLIT_SOURCES:
        got = allocate(got, split_group(got))
    credits = label(got, pl.lit(overlay.name), pl.lit(overlay.credit_type))
    misses = lost.with_columns(pl.lit(overlay.name).alias("rule"))
    return credits, conform(misses, OVERLAY_MISS_SCHEMA)
