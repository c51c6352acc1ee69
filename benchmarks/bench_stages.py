"""The pipeline stage by stage at scale S: load, credit, roll-up, measure, kernels, payouts, write.

A benchmark, not a test: nothing fails when the numbers move (CI runs it through ``make test``
to keep it working and to record the figures; ``make bench`` runs it too). A synth company
(scale S by default: 1,000,000 transactions, 10,000 participants, seed 42,
``rules/examples/synth-company.yaml``) is generated once per session, then run once through
:func:`engine.pipeline.run` with each stage function wrapped to capture its inputs. Each
benchmark then replays one stage on those captured inputs:

============== =========================================================== ====================
stage          function replayed                                           rows
============== =========================================================== ====================
load           :func:`engine.loading.load_dataset`                         rows accepted
credit         :func:`engine.crediting.credit` (roll-ups aggregated)       transactions
rollup_totals  :func:`engine.crediting.rollup.totals` (part of credit)       level-0 credits
lines          :func:`engine.calc.rollup_lines.result_lines` (roll-up)     level-0 credits
measure        :func:`engine.calc.measures.compute_measures`               credit lines
incentives     :func:`engine.calc.incentives.compute_incentives`           measure rows
kernels        every tier-kernel call the incentives made, replayed        kernel evaluations
payouts        :func:`engine.calc.fold.fold` (caps, draws, true-ups)        rated rows
write          :func:`engine.pipeline.write` (outputs, audit trail, manifest) rows written
============== =========================================================== ====================

The stages are timed with ``benchmark.pedantic`` for ``ICM_BENCH_ROUNDS`` rounds (default 1:
one S run is about 20 s of work on two cores); beside the wall time, ``extra_info`` records the
process CPU time of the best round (all threads), steadier on a shared machine.
``ICM_BENCH_SCALE=XS`` gives a smoke check.

Run (the JSON feeds ``benchmarks/stages_table.py``, which prints the Markdown table of
``benchmarks/results/stages-S.md``)::

    .venv/bin/python -m pytest benchmarks/bench_stages.py --benchmark-only -p no:cacheprovider \\
        --benchmark-json=.benchmarks/stages-S.json
    .venv/bin/python benchmarks/stages_table.py .benchmarks/stages-S.json
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.calc import incentives as incentives_module
from engine.calc import payouts as payouts_module
from engine.calc import rating as rating_module
from engine.pipeline import RunResult, run, write
from engine.synth import synthesize

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "examples" / "synth-company.yaml"
SCALE = os.environ.get("ICM_BENCH_SCALE", "S")
ROUNDS = int(os.environ.get("ICM_BENCH_ROUNDS", "1"))

CALC_STAGES = {
    "lines": "result_lines",
    "measure": "compute_measures",
    "incentives": "compute_incentives",
    "payouts": "fold",
}
"""Stage name -> the function :func:`engine.calc.payouts.calculate` calls by that name."""
KERNELS = (
    "retroactive",
    "incremental",
    "marginal",
    "attainment_incremental",
    "interpolated",
    "payout_curve",
    "matrix_lookup",
)
"""Kernel wrappers called by :mod:`engine.calc.rating` (``round_to_cents`` by incentives)."""


@dataclass
class Call:
    """A captured call: the function, its arguments, the rows it processed."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    rows: int = 0


@dataclass
class Captured:
    """One instrumented pipeline run and the inputs of each stage."""

    data: Path
    result: RunResult
    calls: dict[str, Call] = field(default_factory=dict)
    kernel_calls: list[Call] = field(default_factory=list)


def _capture_calc(mp: pytest.MonkeyPatch, calls: dict[str, Call], kernel_calls: list[Call]) -> None:
    for stage, name in CALC_STAGES.items():
        original = getattr(payouts_module, name)

        def wrapper(*args: Any, _fn: Any = original, _stage: str = stage, **kwargs: Any) -> Any:
            calls.setdefault(_stage, Call(_fn, args, kwargs))
            return _fn(*args, **kwargs)

        mp.setattr(payouts_module, name, wrapper)
    for module, names in ((rating_module, KERNELS), (incentives_module, ("round_to_cents",))):
        for name in names:
            original = getattr(module, name)

            def kernel(*args: Any, _fn: Any = original, **kwargs: Any) -> Any:
                out = _fn(*args, **kwargs)
                kernel_calls.append(Call(_fn, args, kwargs, rows=len(out)))
                return out

            mp.setattr(module, name, kernel)


@pytest.fixture(scope="session")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Captured:
    """Synth data at ``SCALE`` and one instrumented run over it."""
    data = tmp_path_factory.mktemp("stages") / "data"
    synthesize(data, SCALE, seed=42)
    calls: dict[str, Call] = {}
    kernel_calls: list[Call] = []
    with pytest.MonkeyPatch.context() as mp:
        _capture_calc(mp, calls, kernel_calls)
        result = run(data, RULES)
    return Captured(data, result, calls, kernel_calls)


def _bench(benchmark: Any, stage: str, rows: int, fn: Callable[[], Any]) -> Any:
    cpu: list[float] = []

    def timed() -> Any:
        start = time.process_time()
        out = fn()
        cpu.append(time.process_time() - start)
        return out

    result = benchmark.pedantic(timed, rounds=ROUNDS, iterations=1, warmup_rounds=0)
    seconds = benchmark.stats.stats.min
    benchmark.extra_info.update(
        stage=stage,
        scale=SCALE,
        rows=rows,
        rows_per_s=rows / seconds if seconds else 0.0,
        cpu_s=min(cpu),
    )
    return result


def _step_rows(result: RunResult, name: str) -> int:
    return next(s.rows_out for s in result.steps if s.name == name)


def test_load(benchmark: Any, captured: Captured) -> None:
    from engine.loading import load_dataset

    rows = _step_rows(captured.result, "load")
    loaded = _bench(benchmark, "load", rows, lambda: load_dataset(captured.data))
    assert (
        loaded.tables["transactions"].height
        == captured.result.dataset.tables["transactions"].height
    )


def test_credit(benchmark: Any, captured: Captured) -> None:
    from engine.crediting import credit

    res = captured.result
    rows = res.dataset.tables["transactions"].height
    credited = _bench(
        benchmark,
        "credit",
        rows,
        lambda: credit(res.dataset, res.ruleset, res.periods, rollups="aggregate"),
    )
    assert credited.counts == res.credits.counts


def test_rollup_totals(benchmark: Any, captured: Captured) -> None:
    from engine.crediting.rollup import totals

    res = captured.result
    basis = res.credits.basis
    # computed afresh: the crediting result keeps the totals it computed while crediting
    rolled = _bench(benchmark, "rollup_totals", res.credits.credits.height, lambda: totals(basis))
    assert res.rollup_totals is not None
    assert rolled.equals(res.rollup_totals)


def _replay(benchmark: Any, captured: Captured, stage: str, rows: int) -> Any:
    call = captured.calls[stage]
    return _bench(benchmark, stage, rows, lambda: call.fn(*call.args, **call.kwargs))


def test_lines(benchmark: Any, captured: Captured) -> None:
    lines = _replay(benchmark, captured, "lines", captured.result.credits.credits.height)
    assert lines.frame.height > 0


def test_measure(benchmark: Any, captured: Captured) -> None:
    call = captured.calls["measure"]
    lines = call.args[0] if call.args else call.kwargs["lines"]
    measures = _replay(benchmark, captured, "measure", lines.frame.height)
    assert measures.frame.height > 0


def test_incentives(benchmark: Any, captured: Captured) -> None:
    measures = captured.calls["incentives"].kwargs["measures"]
    incentives = _replay(benchmark, captured, "incentives", measures.height)
    assert incentives.frame.height > 0


def test_kernels(benchmark: Any, captured: Captured) -> None:
    calls = captured.kernel_calls
    rows = sum(c.rows for c in calls)

    def replay() -> int:
        return sum(len(c.fn(*c.args, **c.kwargs)) for c in calls)

    assert _bench(benchmark, "kernels", rows, replay) == rows
    benchmark.extra_info["calls"] = len(calls)


def test_payouts(benchmark: Any, captured: Captured) -> None:
    inputs = captured.calls["payouts"].args[0]
    folded = _replay(benchmark, captured, "payouts", inputs.rated.height)
    assert folded.payouts.equals(captured.result.calc.payouts)


def test_write(benchmark: Any, captured: Captured, tmp_path: Path) -> None:
    res = captured.result
    rows = sum(frame.height for frame in res.frames().values())
    published = _bench(benchmark, "write", rows, lambda: write(res, tmp_path / "out"))
    assert (published / "manifest.json").is_file()
