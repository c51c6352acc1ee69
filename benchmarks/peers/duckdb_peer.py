"""The peer plan hand-written in DuckDB SQL (``duckdb_peer.sql``), run as its own process.

Reads the ``icm synth`` files of ``--data``, computes the payouts of ``benchmarks/peers/
plan.yaml`` with exact integer money, and writes to ``--out``: ``payouts.parquet`` (one row
per participant, period, plan and line), ``credits.parquet`` (the level-0 credit rows) and
``rollup_totals.parquet`` (each manager's roll-up totals per period and transaction currency):
the audit trail of the same size as the engine's published run.

Usage::

    python -m benchmarks.peers.duckdb_peer --data /tmp/s --out /tmp/peer_duckdb --threads 2
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import duckdb

SQL = Path(__file__).with_name("duckdb_peer.sql")
TABLES = (
    "participants",
    "hierarchy",
    "calendar",
    "exchange_rates",
    "territory_owners",
    "plan_assignments",
    "quotas",
)


def _source(data: Path, table: str) -> str:
    """A quoted Parquet path (or glob, for tables written in parts) for ``read_parquet``."""
    single = data / f"{table}.parquet"
    path = single if single.exists() else data / table / "*.parquet"
    return "'" + str(path).replace("'", "''") + "'"


def run(data: Path, out: Path, threads: int) -> dict[str, float]:
    """Compute the payouts and write them with the credit rows; return the step times.

    Args:
        data: a directory written by ``icm synth`` (Parquet).
        out: the output directory (created).
        threads: DuckDB worker threads (``SET threads``).

    Returns:
        Seconds per step (``calculate``, ``write``).
    """
    out.mkdir(parents=True, exist_ok=True)
    names = {t: _source(data, t) for t in TABLES}
    names["tx"] = _source(data, "transactions")
    names["sellers"] = _source(data, "transaction_sellers")
    script = SQL.read_text().format(**names)
    con = duckdb.connect()
    con.execute(f"SET threads = {int(threads)}")
    con.execute("SET preserve_insertion_order = false")
    started = time.perf_counter()
    con.execute(script)
    calculated = time.perf_counter()
    for table, order in (
        ("payouts", "participant_id, period, plan_id, component"),
        ("credits", "transaction_id, participant_id, rule"),
        ("rollup_totals", "participant_id, period, currency"),
    ):
        target = str(out / f"{table}.parquet").replace("'", "''")
        con.execute(
            f"COPY (SELECT * FROM {table} ORDER BY {order}) TO '{target}' "
            "(FORMAT parquet, COMPRESSION zstd)"
        )
    con.close()
    return {"calculate": calculated - started, "write": time.perf_counter() - calculated}


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--data DIR --out DIR [--threads N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    steps = run(args.data, args.out, args.threads)
    print(" ".join(f"{k} {v:.2f}s" for k, v in steps.items()))


if __name__ == "__main__":
    main()
