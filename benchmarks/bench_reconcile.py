"""Benchmark reconciliation: compare (and classify) millions of payout and credit rows.

Frames are generated synthetically (no engine run): ``--payments`` payment keys (participant x
12 periods) and ``--credits`` credit keys (participant, period, transaction); the vendor side
is ours with a few perturbations (cent differences, changed and missing credits, credits moved
to the next period). With ``--read`` the vendor side is also written as a Parquet export (text
amounts, vendor column names) and read back through a mapping, exactly parsed.

    POLARS_MAX_THREADS=2 .venv/bin/python benchmarks/bench_reconcile.py \
        --payments 1000000 --credits 10000000 --read
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time
from pathlib import Path

import polars as pl

from engine.reconcile.compare import Tolerance, compare
from engine.reconcile.mapping import VendorMapping
from engine.reconcile.vendor import read_vendor

PERIODS = [f"2026-{m:02d}" for m in range(1, 13)]


def ours(payments: int, credits: int) -> dict[str, pl.DataFrame]:
    people = max(payments // len(PERIODS), 1)
    period = pl.lit(pl.Series(PERIODS))
    pay = (
        pl.select(pl.int_range(people * len(PERIODS)).alias("i"))
        .with_columns(
            pl.format("P{}", pl.col("i") // len(PERIODS)).alias("participant_id"),
            period.gather(pl.col("i") % len(PERIODS)).alias("period"),
            ((pl.col("i") * 7919) % 1_000_000).alias("amount_cents"),
        )
        .drop("i")
    )
    cre = (
        pl.select(pl.int_range(credits).alias("i"))
        .with_columns(
            pl.format("P{}", pl.col("i") % people).alias("participant_id"),
            period.gather((pl.col("i") // people) % len(PERIODS)).alias("period"),
            pl.format("T{}", pl.col("i")).alias("transaction_id"),
            ((pl.col("i") * 104729) % 5_000_000).alias("amount_cents"),
        )
        .drop("i")
    )
    return {"payment": pay, "credit": cre}


def theirs(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    n = pl.int_range(pl.len())
    pay = frames["payment"].with_columns(
        pl.when(n % 1000 == 1).then(pl.col("amount_cents") + 1)
        .when(n % 5000 == 2).then(pl.col("amount_cents") * 2)
        .otherwise(pl.col("amount_cents"))
    )  # fmt: skip
    cre = (
        frames["credit"]
        .filter(n % 20000 != 3)
        .with_columns(
            pl.when(n % 10000 == 4).then(pl.col("amount_cents") + 500)
            .otherwise(pl.col("amount_cents")),
            pl.when(n % 10000 == 5).then(pl.lit("2026-12")).otherwise(pl.col("period"))
            .alias("period"),
        )
    )  # fmt: skip
    return {"payment": pay, "credit": cre}


MAPPING = VendorMapping.from_data({
    "vendor": "bench",
    "grains": {
        "payment": {"file": "payments.parquet", "amount": "VALUE",
                    "keys": {"participant": "PAYEE_ID", "period": "PERIOD_NAME"}},
        "credit": {"file": "credits.parquet", "amount": "VALUE",
                   "keys": {"participant": "PAYEE_ID", "period": "PERIOD_NAME",
                            "transaction": "ORDER_ID"}},
    },
})  # fmt: skip


def _export(frames: dict[str, pl.DataFrame], out: Path) -> None:
    names = {"participant_id": "PAYEE_ID", "period": "PERIOD_NAME", "transaction_id": "ORDER_ID"}
    cents = pl.col("amount_cents")
    text = pl.format(
        "{}{}.{}",
        pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (cents.abs() // 100).cast(pl.Utf8),
        (cents.abs() % 100).cast(pl.Utf8).str.zfill(2),
    )
    for grain, frame in frames.items():
        shaped = frame.with_columns(text.alias("VALUE")).drop("amount_cents")
        shaped.rename({k: v for k, v in names.items() if k in frame.columns}).write_parquet(
            out / f"{grain}s.parquet"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--payments", type=int, default=1_000_000)
    p.add_argument("--credits", type=int, default=10_000_000)
    p.add_argument("--read", action="store_true", help="also read the vendor side from Parquet")
    args = p.parse_args()
    t0 = time.perf_counter()
    mine = ours(args.payments, args.credits)
    vendor = theirs(mine)
    print(f"generated in {time.perf_counter() - t0:.1f} s: "
          f"{mine['payment'].height:,} payments, {mine['credit'].height:,} credits")  # fmt: skip
    if args.read:
        with tempfile.TemporaryDirectory() as tmp:
            _export(vendor, Path(tmp))
            t0, c0 = time.perf_counter(), time.process_time()
            vendor = read_vendor(Path(tmp), MAPPING)
            print(f"read vendor Parquet (exact amounts) in {time.perf_counter() - t0:.1f} s "
                  f"(CPU {time.process_time() - c0:.1f} s)")  # fmt: skip
    t0, c0 = time.perf_counter(), time.process_time()
    c = compare(mine, vendor, Tolerance())
    breaks = c.breaks
    seconds = time.perf_counter() - t0
    print(f"compared and classified in {seconds:.1f} s (CPU {time.process_time() - c0:.1f} s): "
          f"{breaks.height:,} breaks")  # fmt: skip
    print(c.summary())
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {rss:,.0f} MiB; {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores, Polars {pl.__version__}, "
          f"POLARS_MAX_THREADS={os.environ.get('POLARS_MAX_THREADS', 'all')}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
