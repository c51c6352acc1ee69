"""Tier kernels: evaluations per second (warm), and compile / cache-load time (cold).

A benchmark, not a test: nothing fails when the numbers move. Each kernel of
``tests/kernels/comparisons.py`` (``COMPARISONS``, shared with the equality tests) is timed on
its seeded large case through its public wrapper (validation, output allocation and overflow
guard included): 10 million rows for retroactive and incremental (a 5-tier table, the
headline), 1 million for the others. Kernels are serial; ``NUMBA_NUM_THREADS=1`` is set for
the cold runs and recommended for the whole run. Because the machine may be shared, each
kernel also reports its best CPU time of the calling thread beside its best wall time.

Run (about 10 seconds; ``-s`` prints the summary lines; ``make bench`` runs it too)::

    NUMBA_NUM_THREADS=1 .venv/bin/python -m pytest benchmarks/bench_kernels.py \\
        --benchmark-only -s -p no:cacheprovider

``test_cold_start`` runs two fresh processes on an empty Numba cache: the first compiles
retroactive and incremental (cold), the second loads them from the cache it left (the test
checks both cache hits). Each process also times a one-row call first, which runs as Python
without importing Numba (:mod:`engine.kernels.jit`); the Numba calls are forced.

Recorded figures, with the machine and load: ``benchmarks/results/kernels.md``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.kernels.comparisons import COMPARISONS

ROWS = {"retroactive": 10_000_000, "incremental": 10_000_000}
"""Rows per kernel; the others run on 1 million."""
REPO = Path(__file__).resolve().parents[1]

COLD_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
from engine.kernels import TierTable, incremental, retroactive
from engine.kernels import tiers
from engine.kernels.jit import forced
t1 = time.perf_counter()
table = TierTable.steps([0, 100], [1, 2])
retroactive(table, [1])  # a small call: the loop run as Python, Numba not imported
t2 = time.perf_counter()
python_numba_loaded = "numba" in sys.modules
with forced("numba"):
    retroactive(table, [1])
    t3 = time.perf_counter()
    incremental(table, [1])
    t4 = time.perf_counter()
hits = sum(
    sum(kernel.stats.cache_hits.values())
    for kernel in (tiers._retroactive_kernel, tiers._incremental_kernel)
)
print(json.dumps({"import": t1 - t0, "python": t2 - t1, "retroactive": t3 - t2,
                  "incremental": t4 - t3, "cache_hits": hits,
                  "numba_after_python": python_numba_loaded}))
"""


@pytest.mark.parametrize("name", list(COMPARISONS))
def test_throughput(
    name: str, benchmark: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str]
) -> None:
    comparison = COMPARISONS[name]
    rows = ROWS.get(name, 1_000_000)
    case = comparison.bench_case(rows, 42)
    comparison.fast(case)  # compile, or load from the cache: not timed here
    cpu = []
    for _ in range(5):
        start = time.thread_time()
        comparison.fast(case)
        cpu.append(time.thread_time() - start)
    benchmark.pedantic(comparison.fast, args=(case,), rounds=5, iterations=1)  # type: ignore[attr-defined]
    wall = benchmark.stats.stats.min  # type: ignore[attr-defined]
    rate_wall, rate_cpu = rows / wall, rows / min(cpu)
    benchmark.extra_info.update(  # type: ignore[attr-defined]
        rows=rows, evals_per_s_wall=rate_wall, evals_per_s_cpu=rate_cpu
    )
    with capsys.disabled():
        print(
            f"\n{name:24s} {rows:>11,d} rows  best wall {wall * 1e3:8.1f} ms "
            f"({rate_wall / 1e6:6.1f} M/s)  best cpu {min(cpu) * 1e3:8.1f} ms "
            f"({rate_cpu / 1e6:6.1f} M/s)"
        )


def _fresh_process(cache: Path) -> dict[str, float]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "NUMBA_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", COLD_SCRIPT],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    times: dict[str, float] = json.loads(done.stdout)
    return times


def test_cold_start(
    benchmark: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cold = _fresh_process(tmp_path)  # empty cache: compiles
    cached = benchmark.pedantic(_fresh_process, args=(tmp_path,), rounds=1, iterations=1)  # type: ignore[attr-defined]
    benchmark.extra_info.update(cold=cold, cached=cached)  # type: ignore[attr-defined]
    assert cold["cache_hits"] == 0
    assert cached["cache_hits"] == 2  # the second process loads both kernels from the cache
    assert not cold["numba_after_python"]
    with capsys.disabled():
        for label, times in (("cold (compile)", cold), ("cached (load)", cached)):
            print(
                f"\n{label:16s} import {times['import']:.2f} s, first small call (Python) "
                f"{times['python'] * 1e3:.1f} ms, first retroactive (Numba) "
                f"{times['retroactive']:.2f} s, first incremental {times['incremental']:.2f} s, "
                f"cache hits {times['cache_hits']}"
            )
