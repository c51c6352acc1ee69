"""Closing a period: its published payouts are frozen, and later runs never change them.

``close_period`` takes the period's rows of the **current published** payouts
(``OUT/current/payouts.parquet``), writes them to ``OUT/closed/<period>.parquet`` (kept beside
the runs, never rewritten), and records in the operations database the period, the run it came
from, the file's sha256, the amounts per participant, plan, component and currency, and the
prior-period adjustments that the published run posted in the period (they are paid with it,
so they are never posted again).

A later run that pays a closed period keeps the frozen rows and posts every difference in an
open period: :mod:`engine.ops.prior_period`.

Example:
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     closed_periods(Path(d) / "ops.duckdb")
    []
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import polars as pl

from engine.errors import EngineError, Reason
from engine.ops.db import connect, query, utc_now
from engine.ops.prior_period import POSTED_SCHEMA, ClosedPeriod
from engine.publish import MANIFEST, write_parquet

AMOUNT_KEY = ["participant_id", "plan_id", "component", "currency"]
"""The grain of the ``closed_payouts`` table."""


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
    ppa_file = current / "prior_period_adjustments.parquet"
    posted = (
        pl.read_parquet(ppa_file).filter(pl.col("posted_in") == period).select(list(POSTED_SCHEMA))
        if ppa_file.exists()
        else pl.DataFrame(schema=POSTED_SCHEMA)
    )
    con = connect(db_path)
    try:
        if query(con, "SELECT 1 FROM closed_periods WHERE period = ?", [period]).height:
            raise EngineError.single(
                Reason.USAGE,
                f"period {period} is already closed; later changes are prior-period adjustments",
                file=str(db_path),
            )
        folder = (out_dir / "closed").resolve()
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
        amounts = payouts.group_by(AMOUNT_KEY).agg(pl.col("payable_cents").sum()).sort(AMOUNT_KEY)
        con.executemany(
            "INSERT INTO closed_payouts VALUES (?, ?, ?, ?, ?, ?)",
            [[period, *row] for row in amounts.iter_rows()],
        )
        if posted.height:
            con.executemany(
                f"INSERT INTO closed_adjustments ({', '.join(POSTED_SCHEMA)}) "
                f"VALUES ({', '.join('?' * len(POSTED_SCHEMA))})",
                posted.rows(),
            )
        con.execute("COMMIT")
    finally:
        con.close()
    return ClosedPeriod(period, fingerprint, target, sha, payouts.height, posted)


def closed_periods(db_path: Path) -> list[ClosedPeriod]:
    """Every closed period, in period order, with the adjustments posted in it.

    Without a database there is none (reading never creates one).
    """
    if not db_path.exists():
        return []
    con = connect(db_path)
    try:
        rows = query(
            con,
            "SELECT period, fingerprint, frozen_file, sha256, rows FROM closed_periods "
            "ORDER BY period",
        )
        posted = query(con, f"SELECT {', '.join(POSTED_SCHEMA)} FROM closed_adjustments")
    finally:
        con.close()
    posted = posted.cast(POSTED_SCHEMA) if posted.height else pl.DataFrame(schema=POSTED_SCHEMA)  # type: ignore[arg-type]
    return [
        ClosedPeriod(
            r["period"],
            r["fingerprint"],
            Path(r["frozen_file"]),
            r["sha256"],
            r["rows"],
            posted.filter(pl.col("posted_in") == r["period"]),
        )
        for r in rows.iter_rows(named=True)
    ]
