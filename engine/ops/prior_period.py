"""Prior-period adjustments: a closed period's payouts never change; differences are paid later.

A run that pays a closed period still calculates it, then (the pipeline's ``closed_periods``
step, :func:`post_closed`):

1. publishes the period's **frozen** payouts (:func:`frozen_payouts`) instead of the
   recalculated ones;
2. works out, per participant, plan, component (payout line) and currency, what is due now
   against what was settled for the period (:func:`differences`);
3. **posts** each difference in the first open period the run pays after the closed one: the
   open period's payout line gains it in ``adjustments_cents`` and ``payable_cents`` (a line is
   added when the open period has none), and the ``adjustments`` output gains a row of type
   ``closed_period`` naming the closed period (column ``closed_period``).

What was *settled* for a closed period is its frozen payable, minus the adjustments for earlier
periods that were posted in it (they belong to those periods), plus the adjustments for it that
were posted in periods closed since (they were paid too). Those posted adjustments are frozen
with the period they were paid in (:attr:`ClosedPeriod.posted`), so closing period after period
never posts one difference twice.

Example (P1 was paid 10.00 for January; January now calculates to 12.50; February is open):
    >>> jan = ClosedPeriod("2026-01", "fp", Path("unused"), "sha", 1)
    >>> paid = pl.DataFrame({"period": ["2026-01"], "participant_id": ["P1"], "plan_id": ["AE"],
    ...     "component": ["c"], "line": ["component"], "currency": ["USD"],
    ...     "payable_cents": [1000]})
    >>> now = paid.with_columns(pl.lit(1250).alias("payable_cents"))
    >>> ppa = differences(paid, now, [jan], {"2026-01": "2026-02"})
    >>> ppa.select("participant_id", "closed_period", "difference_cents", "posted_in").rows()
    [('P1', '2026-01', 250, '2026-02')]
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from engine.calc.payouts import CalcResult
from engine.errors import EngineError, Reason

KEY = ["participant_id", "plan_id", "component", "line", "currency"]
"""A payout line, across periods."""

ADJUSTMENT_TYPE = "closed_period"
"""``type`` of the rows of the ``adjustments`` output that post a closed period's difference."""

PPA_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.Utf8(),
    "closed_period": pl.Utf8(),
    "plan_id": pl.Utf8(),
    "component": pl.Utf8(),
    "line": pl.Utf8(),
    "currency": pl.Utf8(),
    "paid_cents": pl.Int64(),
    "recalculated_cents": pl.Int64(),
    "difference_cents": pl.Int64(),
    "posted_in": pl.Utf8(),
}
"""``prior_period_adjustments``: one row per closed period and payout line whose amount changed.
``paid_cents`` is what was settled for the closed period, ``difference_cents`` =
``recalculated_cents - paid_cents``, ``posted_in`` the open period that pays it (null when the
run pays no open period after the closed one: reported, not posted)."""

POSTED_SCHEMA: dict[str, pl.DataType] = {
    "posted_in": pl.Utf8(),
    "closed_period": pl.Utf8(),
    "participant_id": pl.Utf8(),
    "plan_id": pl.Utf8(),
    "component": pl.Utf8(),
    "line": pl.Utf8(),
    "currency": pl.Utf8(),
    "difference_cents": pl.Int64(),
}
"""Adjustments paid in a closed period (``posted_in``) for an earlier one (``closed_period``)."""


def _no_posts() -> pl.DataFrame:
    return pl.DataFrame(schema=POSTED_SCHEMA)


@dataclass(frozen=True)
class ClosedPeriod:
    """A closed period: its frozen payouts file and the adjustments it paid for earlier ones."""

    period: str
    fingerprint: str
    frozen_file: Path
    sha256: str
    rows: int
    posted: pl.DataFrame = field(default_factory=_no_posts)


def frozen_payouts(closed: ClosedPeriod) -> pl.DataFrame:
    """The frozen payouts of a closed period, checked against the recorded sha256.

    Raises:
        EngineError: ``FILE_UNREADABLE`` when the frozen file is missing or was changed.
    """
    path = closed.frozen_file
    if not path.exists() or hashlib.sha256(path.read_bytes()).hexdigest() != closed.sha256:
        raise EngineError.single(
            Reason.FILE_UNREADABLE,
            f"the frozen payouts of closed period {closed.period} are missing or were changed",
            file=str(path),
            hint="restore the file from backup; a closed period is never recalculated",
        )
    return pl.read_parquet(path)


def _posts(closed: Sequence[ClosedPeriod]) -> pl.DataFrame:
    """Every adjustment posted in a closed period (:data:`POSTED_SCHEMA`)."""
    return pl.concat([_no_posts(), *(c.posted for c in closed)], how="vertical_relaxed")


def _sum(frame: pl.DataFrame, period: str, amount: str, alias: str) -> pl.DataFrame:
    return (
        frame.group_by(pl.col(period).alias("period"), *KEY)
        .agg(pl.col(amount).sum().alias(alias))
        .select("period", *KEY, alias)
    )


def differences(
    frozen: pl.DataFrame,
    recalculated: pl.DataFrame,
    closed: Sequence[ClosedPeriod],
    posted_in: dict[str, str | None],
) -> pl.DataFrame:
    """Prior-period adjustments: per closed period, what is due now against what was settled.

    Args:
        frozen: frozen payouts of the closed periods recalculated (``period``, :data:`KEY`,
            ``payable_cents``).
        recalculated: this run's payouts of the same periods.
        closed: every closed period (their :attr:`ClosedPeriod.posted` adjustments count).
        posted_in: closed period recalculated -> the open period its adjustments are posted in.

    Returns:
        :data:`PPA_SCHEMA` rows, one per closed period and payout line that changed.
    """
    names = list(posted_in)
    posts = _posts(closed)
    into = posts.filter(pl.col("posted_in").is_in(names))  # paid in it for an earlier period
    since = posts.filter(pl.col("closed_period").is_in(names))  # paid for it in a later one
    settled = pl.concat(
        [
            _sum(frozen, "period", "payable_cents", "paid_cents"),
            _sum(into, "posted_in", "difference_cents", "paid_cents").with_columns(
                -pl.col("paid_cents")
            ),
            _sum(since, "closed_period", "difference_cents", "paid_cents"),
        ],
        how="vertical_relaxed",
    )
    cols = ["period", *KEY]
    old = settled.group_by(cols).agg(pl.col("paid_cents").sum())
    new = _sum(recalculated, "period", "payable_cents", "recalculated_cents")
    both = old.join(new, on=cols, how="full", coalesce=True, nulls_equal=True).with_columns(
        pl.col("paid_cents").fill_null(0), pl.col("recalculated_cents").fill_null(0)
    )
    return (
        both.with_columns(
            (pl.col("recalculated_cents") - pl.col("paid_cents")).alias("difference_cents"),
            pl.col("period")
            .replace_strict(posted_in, default=None, return_dtype=pl.Utf8)
            .alias("posted_in"),
        )
        .filter(pl.col("difference_cents") != 0)
        .rename({"period": "closed_period"})
        .select(list(PPA_SCHEMA))
        .cast(pl.Schema(PPA_SCHEMA))
        .sort("closed_period", "participant_id", "plan_id", "component", "line", "currency")
    )


def post_closed(
    calc: CalcResult,
    closed: Sequence[ClosedPeriod],
    periods: Sequence[str],
    calendar: Sequence[str],
) -> tuple[CalcResult, pl.DataFrame]:
    """Keep closed periods' payouts frozen and post their differences in open periods.

    Args:
        calc: the calculation of ``periods``.
        closed: every closed period (those in ``periods`` are recalculated).
        periods: the periods this run pays.
        calendar: every period in calendar order.

    Returns:
        The calculation with closed periods' payouts frozen, the differences posted in open
        periods' payout lines and the ``closed_period`` rows added to its adjustments (column
        ``closed_period`` added); and the prior-period adjustments (:data:`PPA_SCHEMA`).
    """
    order = {p: i for i, p in enumerate(calendar)}
    closed_names = {c.period for c in closed}
    touched = [c for c in closed if c.period in periods]
    open_periods = sorted((p for p in periods if p not in closed_names), key=order.__getitem__)
    posted_in = {
        c.period: next((p for p in open_periods if order[p] > order[c.period]), None)
        for c in touched
    }
    names = list(posted_in)
    payouts = calc.payouts
    frozen = pl.concat([frozen_payouts(c) for c in touched], how="diagonal_relaxed")
    recalculated = payouts.filter(pl.col("period").is_in(names))
    ppa = differences(frozen, recalculated, closed, posted_in)

    posting = ppa.filter(pl.col("posted_in").is_not_null())
    line = ["participant_id", "period", *KEY[1:]]
    add = posting.group_by(pl.col("posted_in").alias("period"), *KEY).agg(
        pl.col("difference_cents").sum().alias("_posted")
    )
    unknown = ("target_incentive_cents", "draw_balance_cents", "draw_forgiven_cents")
    new_lines = (
        add.join(payouts, on=line, how="anti")
        .with_columns(
            pl.lit(None if c in unknown else 0, pl.Int64).alias(c)
            for c in payouts.columns
            if c.endswith("_cents")
        )
        .select(payouts.columns)
    )
    posted = (
        pl.concat(
            [
                payouts.filter(~pl.col("period").is_in(names)),
                frozen.select(payouts.columns),
                new_lines,
            ],
            how="vertical_relaxed",
        )
        .join(add, on=line, how="left", nulls_equal=True)
        .with_columns(
            (pl.col(c) + pl.col("_posted").fill_null(0)).alias(c)
            for c in ("adjustments_cents", "payable_cents")
        )
        .drop("_posted")
        .sort(
            "participant_id",
            pl.col("period").replace_strict(order, default=None),
            "plan_id",
            "line",
            "component",
        )
    )

    # the adjustments: posted now in open periods, or earlier in closed ones this run pays
    earlier = _posts(closed).filter(pl.col("posted_in").is_in(periods))
    rows = pl.concat(
        [posting.select(list(POSTED_SCHEMA)), earlier],
        how="vertical_relaxed",
    ).select(
        "participant_id",
        pl.col("posted_in").alias("period"),
        "plan_id",
        "component",
        pl.lit(ADJUSTMENT_TYPE).alias("type"),
        pl.col("difference_cents").alias("amount_cents"),
        "closed_period",
    )
    adjustments = (
        pl.concat(
            [calc.adjustments.with_columns(pl.lit(None, pl.Utf8).alias("closed_period")), rows],
            how="vertical_relaxed",
        )
        .sort(
            "participant_id",
            pl.col("period").replace_strict(order, default=None),
            "plan_id",
            "component",
            "type",
            "closed_period",
            nulls_last=False,
        )
        .cast(calc.adjustments.schema)
    )
    return replace(calc, payouts=posted, adjustments=adjustments), ppa
