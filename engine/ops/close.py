"""Closing a period: its published payouts are frozen, and later runs never change them.

``close_period`` takes the period's rows of the **current published** payouts
(``OUT/current/payouts.parquet``), writes them to ``OUT/closed/<period>.parquet`` (kept beside
the runs, never rewritten), and records the period, the run it came from, the file's sha256 and
the amounts per participant, plan, component and currency in the operations database.

A later logged run that recalculates a closed period keeps the frozen rows in its published
payouts (checked against the recorded sha256) and reports every difference as a **prior-period
adjustment** posted in the first open period after it: one row per participant, closed period,
plan, component and currency with the amount paid, the amount recalculated and the difference
(``prior_period_adjustments.parquet``).

Example:
    >>> paid = pl.DataFrame({"participant_id": ["P1"], "period": ["2026-01"], "plan_id": ["AE"],
    ...     "component": ["c"], "currency": ["USD"], "payable_cents": [1000]})
    >>> now = paid.with_columns(pl.lit(1250, dtype=pl.Int64).alias("payable_cents"))
    >>> ppa = differences(paid, now, {"2026-01": "2026-02"})
    >>> ppa.select("participant_id", "closed_period", "difference_cents", "posted_in").rows()
    [('P1', '2026-01', 250, '2026-02')]
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from engine.errors import EngineError, Reason
from engine.ops.db import connect, query, utc_now
from engine.publish import MANIFEST, publish, write_parquet

if TYPE_CHECKING:
    from engine.pipeline import RunResult

KEY = ["participant_id", "plan_id", "component", "currency"]
PPA_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.Utf8(),
    "closed_period": pl.Utf8(),
    "plan_id": pl.Utf8(),
    "component": pl.Utf8(),
    "currency": pl.Utf8(),
    "paid_cents": pl.Int64(),
    "recalculated_cents": pl.Int64(),
    "difference_cents": pl.Int64(),
    "posted_in": pl.Utf8(),
}


@dataclass(frozen=True)
class ClosedPeriod:
    """A closed period as recorded."""

    period: str
    fingerprint: str
    frozen_file: Path
    sha256: str
    rows: int


def close_period(out_dir: Path, period: str, db_path: Path) -> ClosedPeriod:
    """Freeze the published payouts of ``period``.

    Args:
        out_dir: the output root (``OUT/current`` must be a published run).
        period: the period to close.
        db_path: the operations database.

    Returns:
        The closed period.

    Raises:
        EngineError: ``FILE_MISSING`` without published results, ``USAGE`` when the period is
            not in them or is already closed.
    """
    current = out_dir / "current"
    if not (current / "payouts.parquet").exists():
        raise EngineError.single(
            Reason.FILE_MISSING, "no published results to close", file=str(current)
        )
    manifest = json.loads((current / MANIFEST).read_text())
    payouts = pl.read_parquet(current / "payouts.parquet").filter(pl.col("period") == period)
    if payouts.height == 0:
        raise EngineError.single(
            Reason.USAGE,
            f"period {period} is not in the published results",
            file=str(current),
            hint="run (and publish) the period before closing it",
        )
    con = connect(db_path)
    try:
        if query(con, "SELECT 1 FROM closed_periods WHERE period = ?", [period]).height:
            raise EngineError.single(
                Reason.USAGE,
                f"period {period} is already closed; later changes are prior-period adjustments",
                file=str(db_path),
            )
        folder = out_dir / "closed"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{period}.parquet"
        temp = folder / f".{period}.parquet.tmp"
        sha = write_parquet(payouts.sort(pl.all()), temp)
        os.replace(temp, target)
        fingerprint = str(manifest.get("run_id", ""))
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "INSERT INTO closed_periods VALUES (?, ?, ?, ?, ?, ?)",
            [period, utc_now(), fingerprint, str(target), sha, payouts.height],
        )
        amounts = _amounts(payouts)
        con.executemany(
            "INSERT INTO closed_payouts VALUES (?, ?, ?, ?, ?, ?)",
            [[period, *row] for row in amounts.select(*KEY, "payable_cents").iter_rows()],
        )
        con.execute("COMMIT")
    finally:
        con.close()
    return ClosedPeriod(period, fingerprint, target, sha, payouts.height)


def closed_periods(db_path: Path) -> list[ClosedPeriod]:
    """Every closed period, in period order."""
    con = connect(db_path)
    try:
        rows = query(
            con,
            "SELECT period, fingerprint, frozen_file, sha256, rows FROM closed_periods "
            "ORDER BY period",
        )
    finally:
        con.close()
    return [
        ClosedPeriod(r["period"], r["fingerprint"], Path(r["frozen_file"]), r["sha256"], r["rows"])
        for r in rows.iter_rows(named=True)
    ]


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


def _amounts(payouts: pl.DataFrame) -> pl.DataFrame:
    return payouts.group_by(*KEY).agg(pl.col("payable_cents").sum()).sort(KEY)


def differences(
    paid: pl.DataFrame, recalculated: pl.DataFrame, posted_in: dict[str, str | None]
) -> pl.DataFrame:
    """Prior-period adjustments: per closed period, what was paid against what is due now.

    Args:
        paid: frozen payouts of the closed periods (``period``, key columns, ``payable_cents``).
        recalculated: this run's payouts of the same periods.
        posted_in: closed period -> the open period its adjustments are posted in.

    Returns:
        One row per participant, closed period, plan, component and currency that changed.
    """
    cols = ["period", *KEY]
    old = paid.group_by(cols).agg(pl.col("payable_cents").sum().alias("paid_cents"))
    new = recalculated.group_by(cols).agg(pl.col("payable_cents").sum().alias("recalculated_cents"))
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
        .sort("closed_period", "participant_id", "plan_id", "component", "currency")
    )


def apply_closed(
    payouts: pl.DataFrame,
    closed: Sequence[ClosedPeriod],
    periods: Sequence[str],
    calendar: Sequence[str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep closed periods' payouts frozen and compute their prior-period adjustments.

    Args:
        payouts: this run's payouts.
        closed: the closed periods.
        periods: the periods this run pays.
        calendar: every period in calendar order.

    Returns:
        The payouts to publish (closed periods' rows replaced by their frozen rows) and the
        prior-period adjustments.
    """
    touched = [c for c in closed if c.period in periods]
    if not touched:
        return payouts, pl.DataFrame(schema=PPA_SCHEMA)
    closed_names = {c.period for c in closed}
    order = {p: i for i, p in enumerate(calendar)}
    open_periods = [p for p in periods if p not in closed_names]
    posted: dict[str, str | None] = {}
    for c in touched:
        later = [p for p in open_periods if order.get(p, -1) > order.get(c.period, -1)]
        posted[c.period] = min(later, key=lambda p: order[p]) if later else None
    frozen = pl.concat([frozen_payouts(c) for c in touched], how="diagonal_relaxed")
    names = [c.period for c in touched]
    recalculated = payouts.filter(pl.col("period").is_in(names))
    ppa = differences(frozen, recalculated, posted)
    kept = pl.concat(
        [payouts.filter(~pl.col("period").is_in(names)), frozen.select(payouts.columns)],
        how="vertical_relaxed",
    ).sort("participant_id", "period", "plan_id", "component", maintain_order=True)
    return kept, ppa


def publish_with_closed(
    result: RunResult, closed: Sequence[ClosedPeriod], out_dir: Path
) -> tuple[Path, pl.DataFrame]:
    """Publish a run whose periods include closed ones: frozen payouts plus adjustments.

    The published run's id is the pipeline's fingerprint combined with the closed periods'
    hashes (the same inputs give other results once a period is closed).

    Returns:
        The run's directory and the prior-period adjustments.
    """
    calendar = result.dataset.tables["calendar"].sort("start_date")["period"].to_list()
    frames = result.frames()
    payouts, ppa = apply_closed(frames["payouts"], closed, result.periods, calendar)
    frames = {**frames, "payouts": payouts, "prior_period_adjustments": ppa}
    hashes = {c.period: c.sha256 for c in closed if c.period in result.periods}
    manifest = {
        **result.manifest(),
        "closed_periods": hashes,
        "rows": {name: frame.height for name, frame in sorted(frames.items())},
    }
    seed = json.dumps({"run": result.run_id, "closed": hashes}, sort_keys=True)
    run_id = hashlib.sha256(seed.encode()).hexdigest()
    return publish(out_dir, run_id, frames, manifest), ppa
