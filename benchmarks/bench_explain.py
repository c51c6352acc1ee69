"""``icm explain``: the cost of explaining one participant's payout after a run.

A benchmark, not a test: nothing fails when the numbers move. A synth company (scale S by
default: 1,000,000 transactions, ``rules/examples/synth-company.yaml``) is generated into a
temporary directory and run once; then, for a manager (roll-ups derived on demand) and for a
seller, the lineage of one participant (``build_lineage(run, [pid]).select(pid, period)``) and
the explanation tree (``explain``) are timed, best of ``--repeats``. The pipeline run itself is
reported but not part of the explain figure.

Run::

    .venv/bin/python benchmarks/bench_explain.py --scale S --repeats 3
    .venv/bin/python benchmarks/bench_explain.py --scale XS      # seconds, for a smoke check
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import polars as pl

from engine.audit.explain import explain
from engine.audit.lineage import build_lineage
from engine.pipeline import run
from engine.synth import synthesize

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "examples" / "synth-company.yaml"


def _best(fn, repeats: int) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="S")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        t0 = time.perf_counter()
        synthesize(data, args.scale, seed=args.seed)
        t_synth = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = run(data, RULES)
        t_run = time.perf_counter() - t0
        pays = result.calc.payouts.group_by("participant_id", "period").agg(
            pl.col("payable_cents").sum()
        )
        period = result.periods[-1]
        managers = result.calc.incentives.filter(pl.col("tier_measure").str.contains("team"))
        manager = managers["participant_id"][0] if managers.height else None
        seller = (
            pays.filter(pl.col("period") == period)
            .sort("payable_cents", "participant_id", descending=[True, False])["participant_id"]
            .to_list()[0]
        )
        print(f"scale {args.scale}: synth {t_synth:.1f} s, run {t_run:.1f} s, period {period}")
        for label, pid in (("manager", manager), ("top seller", seller)):
            if pid is None:
                continue

            def once(pid: str = pid) -> int:
                lin = build_lineage(result, [pid]).select(pid, period)
                root = explain(lin, pid, period)
                assert root.check() == []
                return lin["credits"].height

            lines = once()
            best = _best(once, args.repeats)
            print(f"explain {label} {pid}: {lines} credit lines, best {best * 1000:.0f} ms")


if __name__ == "__main__":
    main()
