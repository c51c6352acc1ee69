"""Flatten the effective-dated reporting hierarchy into manager chains per date segment.

The hierarchy table holds one manager per participant per day. For roll-ups we need, for a
participant and a date, the whole chain above: level 1 = the manager, level 2 = the manager's
manager (as of the same date), and so on to the top. This module builds that chain once, from
the hierarchy alone (a closure table with date intervals, then :mod:`.segments`), so that
crediting needs one as-of join per credit, not one per level, and the cost does not grow with
the number of transactions.

A cycle is rejected by the loader; as a guard, a chain deeper than the number of people in the
hierarchy raises ``HIERARCHY_CYCLE`` instead of looping.

Example:
    >>> from datetime import date
    >>> h = pl.DataFrame({"participant_id": ["A", "B", "B"], "manager_id": ["B", "C", "D"],
    ...     "valid_from": [date(2026, 1, 1), date(2026, 1, 1), date(2026, 2, 1)],
    ...     "valid_to": [None, date(2026, 1, 31), None], "source_line": [2, 3, 4]})
    >>> chains = manager_chains(h)
    >>> (chains.links.join(chains.segments, on="seg_id").filter(pl.col("participant_id") == "A")
    ...  .sort("seg_start", "level").select("seg_start", "level", "manager_id").rows())
    [(datetime.date(2026, 1, 1), 1, 'B'), (datetime.date(2026, 1, 1), 2, 'C'),
     (datetime.date(2026, 2, 1), 1, 'B'), (datetime.date(2026, 2, 1), 2, 'D')]
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from engine.crediting.frames import FAR_FUTURE
from engine.crediting.segments import segment
from engine.errors import EngineError, Reason

__all__ = ["Chains", "manager_chains"]

LINE = "source_line"


@dataclass(frozen=True)
class Chains:
    """Manager chains by participant and date segment.

    Attributes:
        segments: ``participant_id, seg_id, seg_start, seg_end`` (seg_end null = open-ended):
            the periods over which a participant's whole chain is constant.
        links: ``seg_id, level, manager_id, route_line``: the manager at each level in the
            segment, and the hierarchy line that links level - 1 to level.
        depth: the deepest level present (0 when nobody has a manager).
    """

    segments: pl.DataFrame
    links: pl.DataFrame
    depth: int


def manager_chains(hierarchy: pl.DataFrame, max_depth: int | None = None) -> Chains:
    """Build every participant's manager chain, by date segment.

    Args:
        hierarchy: typed hierarchy rows: ``participant_id, manager_id, valid_from, valid_to,
            source_line``.
        max_depth: the deepest level allowed; defaults to the number of people in the
            hierarchy (a deeper chain can only come from a cycle).

    Returns:
        The chains.

    Raises:
        EngineError: ``HIERARCHY_CYCLE`` when a chain is deeper than ``max_depth``.
    """
    edges = hierarchy.select(
        "participant_id",
        "manager_id",
        "valid_from",
        pl.col("valid_to").fill_null(FAR_FUTURE),
        pl.col(LINE).cast(pl.Int64),
    )
    if max_depth is None:
        people = pl.concat([edges["participant_id"], edges["manager_id"]]).n_unique()
        max_depth = people + 1
    level = edges.select(
        "participant_id",
        pl.lit(1, dtype=pl.Int32).alias("level"),
        "manager_id",
        "valid_from",
        "valid_to",
        pl.col(LINE).alias("route_line"),
    )
    parts = []
    depth = 0
    step = edges.select(
        pl.col("participant_id").alias("manager_id"),
        pl.col("manager_id").alias("_next"),
        pl.col("valid_from").alias("_from"),
        pl.col("valid_to").alias("_to"),
        pl.col(LINE).alias("_line"),
    )
    while level.height:
        depth += 1
        if depth > max_depth:
            sample = level.sort("participant_id", "valid_from").row(0, named=True)
            raise EngineError.single(
                Reason.HIERARCHY_CYCLE,
                f"the reporting chain above {sample['participant_id']} on "
                f"{sample['valid_from']} is deeper than {max_depth} levels: a cycle",
                file="hierarchy",
                line=sample["route_line"],
                column="manager_id",
            )
        parts.append(level)
        level = (
            level.join(step, on="manager_id")
            .filter(
                (pl.col("_from") <= pl.col("valid_to")) & (pl.col("_to") >= pl.col("valid_from"))
            )
            .select(
                "participant_id",
                (pl.col("level") + 1).cast(pl.Int32).alias("level"),
                pl.col("_next").alias("manager_id"),
                pl.max_horizontal("valid_from", "_from").alias("valid_from"),
                pl.min_horizontal("valid_to", "_to").alias("valid_to"),
                pl.col("_line").alias("route_line"),
            )
        )
    if not parts:
        empty_segments = pl.DataFrame(
            schema={
                "participant_id": pl.Utf8(),
                "seg_id": pl.Int64(),
                "seg_start": pl.Date(),
                "seg_end": pl.Date(),
            }
        )
        empty_links = pl.DataFrame(
            schema={
                "seg_id": pl.Int64(),
                "level": pl.Int32(),
                "manager_id": pl.Utf8(),
                "route_line": pl.Int64(),
            }
        )
        return Chains(empty_segments, empty_links, 0)
    closure = pl.concat(parts).with_columns(
        pl.when(pl.col("valid_to") < FAR_FUTURE).then(pl.col("valid_to")).alias("valid_to")
    )
    segments, members = segment(closure, key="participant_id")
    links = members.select("seg_id", "level", "manager_id", "route_line").sort("seg_id", "level")
    return Chains(segments, links, depth)
