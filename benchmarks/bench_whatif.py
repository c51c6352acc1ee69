"""What-if sweep: the cost of 100 plan variants over one synth company, after one crediting pass.

A benchmark, not a test: nothing fails when the numbers move. The issue's target: 100
variants over scale M (10M transactions, 100k participants, 12 periods), after crediting, in
10 s or less on 2 cores.

The default grid is 100 variants of ``rules/examples/synth-company.yaml`` on the vector path
(:mod:`engine.whatif.vector`): the AE payout curve's factor at 150% (5 values) x the AE
commission cap (5 multiples of target) x the renewal draw (4 multiples of target): a curve
(tiers), two components, a cap and a draw. ``--path full`` runs the same grid (or
``--variants`` of it) through the full calculation instead.

Reported, each on its own: load, crediting (once), building and validating the variants, the
base calculation (the shared credit lines, measures and base payouts), then the vector path
(support check, preparation, rating, fold) and the cost-curve table; and the peak memory.

Run::

    .venv/bin/python benchmarks/bench_whatif.py --scale S
    .venv/bin/python benchmarks/bench_whatif.py --data /tmp/synth_m --scale M
    .venv/bin/python benchmarks/bench_whatif.py --scale XS --path full --variants 4
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import polars as pl

from engine.rules import load_ruleset
from engine.synth import synthesize
from engine.whatif.shared import Workbench
from engine.whatif.sweep import sweep

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "examples" / "synth-company.yaml"
GRID = [
    ("rate_tables.ae-commission-curve.points[2].rate", ["1.5", "1.75", "2", "2.25", "2.5"]),
    ("plans.AE.components.commission.cap.multiple_of_target", ["2", "2.5", "3", "3.5", "4"]),
    ("plans.RENEWAL.draw.multiple_of_target", ["0.3", "0.4", "0.5", "0.6"]),
]


def _run(data: Path, args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    bench = Workbench.load(data)
    t_load = time.perf_counter() - t0
    rs = load_ruleset(RULES)
    t0 = time.perf_counter()
    credited = bench.credits(rs)
    t_credit = time.perf_counter() - t0
    grid = GRID
    if args.path == "full" and args.variants:
        grid = [(GRID[0][0], GRID[0][1][: args.variants])]
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    result = sweep(bench, RULES, grid, vector=args.path == "vector")
    t_sweep = time.perf_counter() - t0
    sec = result.seconds
    tables = bench.dataset.tables
    n = result.table["variant"].n_unique() - 1
    paths = result.table.group_by("path").agg(pl.col("variant").n_unique()).sort("path")
    print(
        f"scale {args.scale}: {tables['transactions'].height} transactions, "
        f"{credited.credits.height} level-0 credits, {tables['participants'].height} "
        f"participants, {len(bench.periods)} periods"
    )
    print(f"load {t_load:.1f} s, credit {t_credit:.1f} s (once)")
    print(f"{n} variants (base excluded); paths: {dict(paths.iter_rows())}")
    print(
        f"variants built and validated {sec['variants']:.2f} s; "
        f"base calculation (shared lines and measures) {sec['base']:.1f} s"
    )
    if args.path == "vector":
        steps = ", ".join(
            f"{k.removeprefix('vector.').replace('_cpu', ' CPU')} {v:.2f} s"
            for k, v in sec.items()
            if k.startswith("vector.")
        )
        print(f"vector path {sec['vector']:.2f} s ({steps}); table {sec['table']:.2f} s")
        after_shared = sec["variants"] + sec["vector"] + sec["table"] + sec["full"]
        cpu = sec["variants_cpu"] + sec["vector_cpu"] + sec["table_cpu"]
        print(
            f"after the shared measures: {after_shared:.2f} s wall ({cpu:.2f} s CPU) for {n} "
            f"variants; after crediting: {after_shared + sec['base']:.1f} s wall "
            f"({cpu + sec['base_cpu']:.1f} s CPU)"
        )
    else:
        print(f"full path {sec['full']:.1f} s, {sec['full'] / max(n, 1):.2f} s per variant")
    print(f"sweep total {t_sweep:.1f} s; crediting passes during the sweep {result.credit_passes}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    print(f"peak RSS {peak:.1f} GB; load average before the sweep {load_before:.1f}")
    shown = result.table.select("variant", "currency", "total_cents", "delta_cents", "path")
    print(shown.filter(pl.col("currency") == shown["currency"][0]).head(6))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="S")
    parser.add_argument("--data", type=Path, help="existing synth data (else generated)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--path", choices=["vector", "full"], default="vector")
    parser.add_argument("--variants", type=int, default=0, help="full path: first N values")
    args = parser.parse_args()
    if args.data is not None:
        _run(args.data, args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        synthesize(data, args.scale, seed=args.seed)
        _run(data, args)


if __name__ == "__main__":
    main()
