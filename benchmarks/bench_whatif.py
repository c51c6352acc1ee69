"""What-if sweep: the cost of N plan variants over one synth company, after one crediting pass.

A benchmark, not a test: nothing fails when the numbers move. A synth company (scale S by
default, ``rules/examples/synth-company.yaml``) is generated into a temporary directory; the
data is loaded and credited once, then ``--variants`` values of a plan parameter (default the
partner commission's accelerated rate) are swept with :func:`engine.whatif.sweep.sweep`.
Reported: load, crediting, the base calculation, and the sweep (seconds per variant). The
issue's target is 100 variants over scale M in 10 s on 2 cores.

Run::

    .venv/bin/python benchmarks/bench_whatif.py --scale S --variants 20
    .venv/bin/python benchmarks/bench_whatif.py --scale XS --variants 5   # a smoke check
"""

from __future__ import annotations

import argparse
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
PARAMETER = "rate_tables.ae-commission-curve.points[2].rate"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="S")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--variants", type=int, default=20)
    parser.add_argument("--parameter", default=PARAMETER)
    args = parser.parse_args()
    step = 1.0 / max(1, args.variants - 1)
    values = [f"{1.5 + step * i:.3f}" for i in range(args.variants)]  # factor at 150%: 1.5-2.5
    if args.parameter == "quota_scale":
        values = [f"{90 + i * 20 / max(1, args.variants - 1):.2f}%" for i in range(args.variants)]
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        t0 = time.perf_counter()
        synthesize(data, args.scale, seed=args.seed)
        t_synth = time.perf_counter() - t0
        t0 = time.perf_counter()
        bench = Workbench.load(data)
        t_load = time.perf_counter() - t0
        rs = load_ruleset(RULES)
        t0 = time.perf_counter()
        credited = bench.credits(rs)
        t_credit = time.perf_counter() - t0
        t0 = time.perf_counter()
        bench.calculate(rs)
        t_base = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = sweep(bench, RULES, [(args.parameter, values)])
        t_sweep = time.perf_counter() - t0
        n = result.table["variant"].n_unique()
        tables = bench.dataset.tables
        print(
            f"scale {args.scale}: {tables['transactions'].height} transactions, "
            f"{credited.credits.height} level-0 credits, {tables['participants'].height} "
            f"participants, {len(bench.periods)} periods"
        )
        print(
            f"synth {t_synth:.1f} s, load {t_load:.1f} s, credit {t_credit:.1f} s (once), "
            f"base calculation {t_base:.2f} s"
        )
        print(
            f"sweep of {args.parameter}: {n} variants (base included) in {t_sweep:.1f} s, "
            f"{t_sweep / n:.2f} s per variant; crediting passes during the sweep: "
            f"{result.credit_passes}"
        )
        shown = result.table.select("variant", "currency", "total_cents", "delta_cents")
        print(shown.filter(shown["currency"] == shown["currency"][0]).head(6))
        print(
            result.table.group_by("variant")
            .agg(pl.sum("winners", "losers"))
            .sort("variant")
            .head(6)
        )


if __name__ == "__main__":
    main()
