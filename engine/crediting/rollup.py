"""Roll-up (indirect) credit: each manager above the credited participant gets credit.

For each roll-up rule, every level-0 credit whose type the rule rolls (and whose transaction
matches the rule's optional condition) gives its participant's managers credit, as of the
credit date: level 1 is the participant's manager, level k the k-th manager above, up to the
top or ``levels`` levels. The amount at level k is the credit's amount times the level's
override (100% without overrides), rounded to the currency's minor unit per credit line with
the rule's ``rounding_mode`` (default: the rule set's ``settings.rounding_mode``).

Two equivalent paths exist:

* :func:`materialise`: one row per credit per manager (the audit trail, for small data or for
  one manager on demand);
* :func:`totals`: roll-up totals per manager (and period, type...) computed from level-0
  credits grouped by participant and chain segment first, so that managers' measures need no
  row per manager per transaction. Because each line's rounding is done before grouping (one
  column per distinct override), both paths agree to the cent.

Example:
    >>> from datetime import date
    >>> from engine.crediting.hierarchy import manager_chains
    >>> from engine.rules.crediting_schema import RollupRule
    >>> h = pl.DataFrame({"participant_id": ["A", "B"], "manager_id": ["B", "C"],
    ...     "valid_from": [date(2026, 1, 1)] * 2, "valid_to": [None, None],
    ...     "source_line": [2, 3]})
    >>> level0 = pl.DataFrame({"transaction_id": ["T1"], "participant_id": ["A"],
    ...     "credit_type": ["direct"], "rule": ["r"], "level": [0],
    ...     "direct_participant_id": ["A"], "share_ppm": [1_000_000], "amount_cents": [1001],
    ...     "currency": ["USD"], "credit_date": [date(2026, 1, 5)], "period": ["2026-01"],
    ...     "held": [False], "route_table": ["transactions"], "route_line": [2]},
    ...     schema_overrides={"level": pl.Int32})
    >>> rule = RollupRule(name="mgr", credit_types=("direct",), overrides=("0.5", "0.25"))
    >>> basis = prepare(level0, manager_chains(h), [rule], [], RoundingMode.HALF_UP)
    >>> materialise(basis).select("participant_id", "level", "share_ppm", "amount_cents").rows()
    [('B', 1, 500000, 501), ('C', 2, 250000, 250)]
    >>> totals(basis).select("participant_id", "amount_cents", "credit_count").rows()
    [('B', 501, 1), ('C', 250, 1)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from engine.crediting.arith import apply_ppm, check_range, unit_expr
from engine.crediting.asof import asof_lookup
from engine.crediting.frames import CREDIT_SCHEMA, ROLLUP_TOTAL_KEYS, conform, keep_where
from engine.crediting.hierarchy import Chains
from engine.crediting.holds import held_expr, hold_column
from engine.crediting.order import TX_KEY, sort_credits
from engine.money import RoundingMode
from engine.rules.crediting_schema import HoldRule, RollupRule

__all__ = [
    "RollupBasis",
    "conform_keep",
    "materialise",
    "prepare",
    "roll_column",
    "rollup_rows",
    "totals",
]

SEG = "_chain_seg"

TOTAL_COLUMNS: tuple[str, ...] = (
    "participant_id",
    "direct_participant_id",
    "level",
    "period",
    "credit_type",
    "rule",
    "currency",
    "held",
)
"""Columns a roll-up total may be grouped by (plus columns of an ``attributes`` frame)."""


def roll_column(index: int) -> str:
    """The column flagging transactions matched by the ``index``-th roll-up's condition."""
    return f"_roll_{index}"


@dataclass(frozen=True)
class RollupBasis:
    """What roll-up credits are derived from.

    Attributes:
        credits: the level-0 credits that some roll-up rolls, with their chain segment
            (``_chain_seg``), roll-up condition flags (``_roll_<i>``) and hold flags.
        chains: the manager chains.
        rollups: the roll-up rules.
        holds: the hold rules.
        rounding: the rule set's default rounding mode.
    """

    credits: pl.DataFrame
    chains: Chains
    rollups: tuple[RollupRule, ...]
    holds: tuple[HoldRule, ...]
    rounding: RoundingMode

    def mode(self, rule: RollupRule) -> RoundingMode:
        """The rounding mode of ``rule``."""
        return rule.rounding_mode or self.rounding

    def max_level(self, rule: RollupRule) -> int:
        """The deepest level ``rule`` credits."""
        limit = rule.max_levels
        return self.chains.depth if limit is None else min(limit, self.chains.depth)


def prepare(
    level0: pl.DataFrame,
    chains: Chains,
    rollups: Sequence[RollupRule],
    holds: Sequence[HoldRule],
    rounding: RoundingMode,
) -> RollupBasis:
    """Keep the level-0 credits that roll and find each one's chain segment.

    Args:
        level0: level-0 credits (credit columns, plus ``_roll_<i>`` and ``_hold_<i>`` flags
            when there are roll-up conditions or holds; missing flags count as true / false).
        chains: the manager chains (:func:`engine.crediting.hierarchy.manager_chains`).
        rollups: the roll-up rules.
        holds: the hold rules.
        rounding: the default rounding mode.

    Returns:
        The roll-up basis.
    """
    rolled_types = sorted({t for r in rollups for t in r.credit_types})
    flags = [roll_column(i) for i in range(len(rollups))]
    hold_flags = [hold_column(i) for i in range(len(holds))]
    keep_tx = [TX_KEY] if TX_KEY in level0.columns else []
    # select before filtering: a filter copies every column of the frame it is given
    base = level0.select(
        *CREDIT_SCHEMA,
        *[pl.col(c) if c in level0.columns else pl.lit(True).alias(c) for c in flags],
        *[pl.col(c) if c in level0.columns else pl.lit(False).alias(c) for c in hold_flags],
        *keep_tx,
    )
    rolls = pl.col("credit_type").is_in(rolled_types)
    if not base.select(rolls.all()).item():
        base = base.filter(rolls)  # when every credit rolls, the columns stay shared
    check_range(base)
    base = asof_lookup(
        base,
        chains.segments.rename({"seg_id": SEG}),
        left_key="participant_id",
        left_date="credit_date",
        right_key="participant_id",
        right_start="seg_start",
        right_end="seg_end",
        take=[SEG],
    )
    if base.get_column(SEG).null_count():
        base = base.filter(pl.col(SEG).is_not_null())
    return RollupBasis(base, chains, tuple(rollups), tuple(holds), rounding)


def _level_ppm(rule: RollupRule, top: int) -> pl.Expr:
    mapping = {level: rule.level_ppm(level) for level in range(1, top + 1)}
    return pl.col("level").replace_strict(mapping, default=0, return_dtype=pl.Int64)


def _rows_of(basis: RollupBasis, index: int, links: pl.DataFrame) -> pl.DataFrame:
    rule = basis.rollups[index]
    top = basis.max_level(rule)
    base = basis.credits.filter(
        pl.col("credit_type").is_in(rule.credit_types) & pl.col(roll_column(index))
    )
    ppm = _level_ppm(rule, top)
    return (
        base.drop("level", "route_table", "route_line", "share_ppm")
        .join(
            links.filter(pl.col("level") <= top).rename({"seg_id": SEG}),
            on=SEG,
        )
        .with_columns(
            pl.col("participant_id").alias("direct_participant_id"),
            pl.col("manager_id").alias("participant_id"),
            pl.lit(rule.credit_type).alias("credit_type"),
            pl.lit(rule.name).alias("rule"),
            ppm.alias("share_ppm"),
            pl.lit("hierarchy").alias("route_table"),
            (pl.col("held") | held_expr(pl.lit(rule.credit_type), basis.holds)).alias("held"),
        )
        .with_columns(
            apply_ppm(
                pl.col("amount_cents"),
                pl.col("share_ppm"),
                unit_expr(pl.col("currency")),
                basis.mode(rule),
            ).alias("amount_cents")
        )
    )


def rollup_rows(basis: RollupBasis, participant_id: str | None = None) -> pl.DataFrame:
    """Roll-up credit rows in no particular order (with ``_tx`` when the basis has it).

    Args:
        basis: the roll-up basis.
        participant_id: only the roll-up credits of this manager.

    Returns:
        :data:`~engine.crediting.frames.CREDIT_SCHEMA` columns (plus ``_tx``).
    """
    links = basis.chains.links
    if participant_id is not None:
        links = links.filter(pl.col("manager_id") == participant_id)
    extra = [TX_KEY] if TX_KEY in basis.credits.columns else []
    parts = [
        _rows_of(basis, i, links).select(*CREDIT_SCHEMA, *extra) for i in range(len(basis.rollups))
    ]
    if not parts:
        return pl.DataFrame(schema=CREDIT_SCHEMA).with_columns(
            pl.lit(None, dtype=pl.Int64).alias(c) for c in extra
        )
    return pl.concat(parts)


def materialise(basis: RollupBasis, participant_id: str | None = None) -> pl.DataFrame:
    """One roll-up credit row per level-0 credit per manager, sorted by the credit sort key.

    Args:
        basis: the roll-up basis.
        participant_id: only the roll-up credits of this manager (lineage on demand).

    Returns:
        Roll-up credits following :data:`~engine.crediting.frames.CREDIT_SCHEMA`.
    """
    return sort_credits(conform_keep(rollup_rows(basis, participant_id)))


def conform_keep(frame: pl.DataFrame) -> pl.DataFrame:
    """Cast to the credit schema, keeping ``_tx`` when present."""
    extra = [TX_KEY] if TX_KEY in frame.columns else []
    return (
        pl.concat([conform(frame, CREDIT_SCHEMA), frame.select(extra)], how="horizontal")
        if extra
        else conform(frame, CREDIT_SCHEMA)
    )


def totals(
    basis: RollupBasis,
    by: Sequence[str] = ROLLUP_TOTAL_KEYS,
    attributes: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Roll-up totals without materialising one row per manager per transaction.

    Level-0 credits are first grouped by direct participant, chain segment, period, currency,
    held flag (and the ``attributes`` columns in ``by``), with one pre-rounded sum per distinct
    override; only then are the groups joined to the manager chains.

    Args:
        basis: the roll-up basis.
        by: grouping columns, from :data:`TOTAL_COLUMNS` and the ``attributes`` columns.
        attributes: optional frame keyed by ``transaction_id`` with extra grouping columns
            (e.g. a measure's filter result), joined to the level-0 credits first.

    Returns:
        ``by`` columns plus ``amount_cents`` (sum) and ``credit_count`` (number of roll-up
        credit rows), sorted by ``by``.
    """
    by = list(by)
    extra = [c for c in by if c not in TOTAL_COLUMNS]
    credits = basis.credits
    if attributes is not None:
        credits = credits.join(
            attributes.select("transaction_id", *extra), on="transaction_id", how="left"
        )
    elif extra:
        raise ValueError(f"columns {extra} need an attributes frame")
    parts = []
    for index, rule in enumerate(basis.rollups):
        top = basis.max_level(rule)
        ppms = sorted({rule.level_ppm(level) for level in range(1, top + 1)} - {0})
        group_keys = [SEG, "participant_id", "period", "currency", "held", *extra]
        read = [*group_keys, "amount_cents", "credit_type", roll_column(index)]
        read += [hold_column(i) for i in range(len(basis.holds))]
        # only the columns the totals read are filtered (a filter copies what it is given)
        base = keep_where(
            credits.select(list(dict.fromkeys(read))),
            pl.col("credit_type").is_in(rule.credit_types) & pl.col(roll_column(index)),
        ).with_columns(
            (pl.col("held") | held_expr(pl.lit(rule.credit_type), basis.holds)).alias("held")
        )
        unit = unit_expr(pl.col("currency"))
        mode = basis.mode(rule)
        grouped = base.group_by(group_keys).agg(
            *[apply_ppm(pl.col("amount_cents"), p, unit, mode).sum().alias(f"_a{p}") for p in ppms],
            pl.len().cast(pl.Int64).alias("credit_count"),
        )
        amount: pl.Expr = pl.lit(0, dtype=pl.Int64)
        for p in ppms:
            amount = pl.when(pl.col("share_ppm") == p).then(pl.col(f"_a{p}")).otherwise(amount)
        rows = (
            grouped.join(
                basis.chains.links.filter(pl.col("level") <= top).rename({"seg_id": SEG}),
                on=SEG,
            )
            .with_columns(
                pl.col("participant_id").alias("direct_participant_id"),
                pl.col("manager_id").alias("participant_id"),
                pl.lit(rule.credit_type).alias("credit_type"),
                pl.lit(rule.name).alias("rule"),
                _level_ppm(rule, top).alias("share_ppm"),
            )
            .with_columns(amount.alias("amount_cents"))
        )
        parts.append(
            rows.group_by(by).agg(pl.col("amount_cents").sum(), pl.col("credit_count").sum())
        )
    schema = {**{c: CREDIT_SCHEMA.get(c, pl.Utf8()) for c in by}}
    if not parts:
        return pl.DataFrame(
            schema={**schema, "amount_cents": pl.Int64(), "credit_count": pl.Int64()}
        )
    out = pl.concat(parts, how="vertical_relaxed")
    return out.group_by(by).agg(pl.col("amount_cents").sum(), pl.col("credit_count").sum()).sort(by)
