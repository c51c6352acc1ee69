"""The I/O floor: read the inputs and write outputs of the same size, with Polars alone.

Reads every table of an ``icm synth`` directory into memory (all columns, as a calculation
would), then writes, for each Parquet file of a reference run directory (the engine's published
run, ``--like``), a file with the same name, schema and number of rows, filled with real input
values (ids, amounts, dates gathered from the transactions), so that it compresses like real
output. Nothing is calculated: the time of this process is what any engine must spend at
least on the same files.

Usage::

    python -m benchmarks.peers.io_floor --data /tmp/s --like /tmp/run_s/current --out /tmp/floor
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import polars as pl


def read_inputs(data: Path) -> dict[str, pl.DataFrame]:
    """Every Parquet table of ``data`` (files, or directories of parts) read into memory."""
    tables: dict[str, pl.DataFrame] = {}
    for path in sorted(data.iterdir()):
        if path.suffix == ".parquet":
            tables[path.stem] = pl.read_parquet(path)
        elif path.is_dir() and any(path.glob("*.parquet")):
            tables[path.name] = pl.read_parquet(path / "*.parquet")
    return tables


def _column(pool: dict[pl.DataType, list[pl.Series]], dtype: pl.DataType, i: int) -> pl.Series:
    """A source series for an output column of ``dtype`` (the i-th of that kind, cycling)."""
    for kind, sources in pool.items():
        if dtype == kind:
            return sources[i % len(sources)]
    if dtype.is_integer():
        return pool[pl.Int64()][i % len(pool[pl.Int64()])].cast(dtype, strict=False)
    if dtype == pl.Boolean():
        return pool[pl.Int64()][0] > 0
    return pool[pl.String()][i % len(pool[pl.String()])].cast(dtype, strict=False)


def write_like(tables: dict[str, pl.DataFrame], like: Path, out: Path) -> int:
    """Write one file per Parquet file of ``like``: same schema and rows, input values.

    Returns:
        The number of rows written.
    """
    tx = tables["transactions"]
    pool: dict[pl.DataType, list[pl.Series]] = {
        pl.String(): [tx["transaction_id"], tx["currency"], tx["product"], tx["customer"]],
        pl.Int64(): [(tx["amount"].cast(pl.Decimal(20, 2)) * 100).cast(pl.Int64)],
        pl.Date(): [tx["credit_date"]],
    }
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    for path in sorted(like.glob("*.parquet")):
        schema = pl.read_parquet_schema(path)
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
        idx = pl.int_range(0, rows, eager=True) % tx.height
        seen: dict[str, int] = {}
        columns = []
        for name, dtype in schema.items():
            k = seen.get(str(dtype), 0)
            seen[str(dtype)] = k + 1
            columns.append(_column(pool, dtype, k).gather(idx).alias(name))
        pl.DataFrame(columns).write_parquet(out / path.name, compression="zstd")
        written += rows
    return written


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--data DIR --like RUN_DIR --out DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--like", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    tables = read_inputs(args.data)
    read = time.perf_counter()
    rows = write_like(tables, args.like, args.out)
    print(f"read {read - started:.2f}s write {time.perf_counter() - read:.2f}s ({rows:,} rows)")


if __name__ == "__main__":
    main()
