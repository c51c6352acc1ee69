"""Profile a run stage by stage: wall time and peak resident memory per step and sub-step.

Runs the pipeline's stages in one process (rules, load, credit, roll-up totals, calculate,
publish), exactly as :func:`engine.pipeline.run` and :func:`engine.pipeline.write` do, while a
thread samples the process's resident set (``VmRSS`` in ``/proc/self/status``) every few
milliseconds. The sub-steps of loading, crediting and calculating are timed by wrapping the
functions their stage modules call (nothing in the engine is changed), so a sub-step's peak is
the highest RSS sampled while it ran.

Usage::

    flock /tmp/heavy.lock python benchmarks/profile_stages.py /tmp/synth_m \\
        --rules rules/examples/synth-company.yaml --out /tmp/prof_m [--cprofile credit]

Prints a Markdown table of steps and sub-steps (seconds, RSS before, peak, RSS after, in MB)
and the process's high-water mark (``VmHWM``). A benchmark, not a test: nothing fails.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import io
import pstats
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_PAGE_MB = 1024.0


def _status_kb(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(key):
                return int(line.split()[1])
    return 0


@dataclass
class Probe:
    """One timed call: name, depth, seconds, RSS before, peak while running, RSS after (KB)."""

    name: str
    depth: int
    seconds: float = 0.0
    before: int = 0
    peak: int = 0
    after: int = 0


@dataclass
class Sampler:
    """Samples VmRSS in a thread and raises the peak of every probe that is running."""

    interval: float = 0.005
    active: list[Probe] = field(default_factory=list)
    done: list[Probe] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        """Start the sampling thread."""
        threading.Thread(target=self._loop, daemon=True).start()

    def stop(self) -> None:
        """Stop the sampling thread."""
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            rss = _status_kb("VmRSS:")
            for probe in list(self.active):
                probe.peak = max(probe.peak, rss)
            time.sleep(self.interval)

    def measure(self, name: str, body: Callable[[], Any]) -> Any:
        """Run ``body`` as the probe ``name``; returns what it returns."""
        probe = Probe(name, len(self.active))
        probe.before = probe.peak = _status_kb("VmRSS:")
        self.active.append(probe)
        self.done.append(probe)
        t0 = time.perf_counter()
        try:
            return body()
        finally:
            probe.seconds = time.perf_counter() - t0
            probe.after = _status_kb("VmRSS:")
            probe.peak = max(probe.peak, probe.after)
            self.active.remove(probe)

    def wrap(self, module: Any, attr: str, label: str | None = None) -> None:
        """Replace ``module.attr`` by a function that measures each call."""
        inner = getattr(module, attr)
        name = label or attr

        @functools.wraps(inner)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            return self.measure(name, lambda: inner(*args, **kwargs))

        setattr(module, attr, wrapped)


def _instrument(sampler: Sampler) -> None:
    """Wrap the sub-steps that the stage modules call."""
    from engine.calc import payouts
    from engine.crediting import stage
    from engine.loading import dataset

    for attr in ("read_table", "validate_cells", "_apply"):
        sampler.wrap(dataset, attr, f"load.{attr}")
    for attr in (
        "classify",
        "add_split_sellers",
        "number_transactions",
        "assign_periods",
        "apply_exclusions",
        "mark_holds",
        "choose_rules",
        "primary_credits",
        "overlay_credits",
        "manager_chains",
        "prepare",
        "conform_keep",
        "sort_credits",
        "totals",
        "_rollup_counts",
    ):
        if hasattr(stage, attr):
            sampler.wrap(stage, attr, f"credit.{attr}")
    for attr in (
        "_segments",
        "result_lines",
        "compute_measures",
        "compute_incentives",
        "clawbacks",
        "fold",
    ):
        if hasattr(payouts, attr):
            sampler.wrap(payouts, attr, f"calc.{attr}")


def _merge(probes: list[Probe]) -> list[Probe]:
    """Sum repeated calls of one sub-step (first position kept; peak is the max)."""
    merged: dict[tuple[str, int], Probe] = {}
    order: list[Probe] = []
    for p in probes:
        key = (p.name, p.depth)
        if p.depth == 0 or key not in merged:
            copy = Probe(p.name, p.depth, p.seconds, p.before, p.peak, p.after)
            merged[key] = copy
            order.append(copy)
            continue
        m = merged[key]
        m.seconds += p.seconds
        m.peak = max(m.peak, p.peak)
        m.after = p.after
    return order


def _table(probes: list[Probe], counts: dict[str, int]) -> str:
    rows = [
        "| step | calls | seconds | RSS before MB | peak RSS MB | RSS after MB |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for p in _merge(probes):
        label = ("&nbsp;&nbsp;" * p.depth) + (p.name if p.depth == 0 else f"`{p.name}`")
        rows.append(
            f"| {label} | {counts.get(p.name, 1)} | {p.seconds:.1f} | {p.before / _PAGE_MB:,.0f}"
            f" | {p.peak / _PAGE_MB:,.0f} | {p.after / _PAGE_MB:,.0f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Profile one run; see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--rules", type=Path, required=True)
    parser.add_argument("--out", type=Path, help="publish here (skipped when absent)")
    parser.add_argument("--cprofile", choices=("load", "credit", "calculate"), action="append")
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)

    sampler = Sampler()
    sampler.start()
    _instrument(sampler)
    from engine import pipeline
    from engine.crediting import credit
    from engine.loading import load_dataset
    from engine.rules import load_ruleset

    profiles: dict[str, str] = {}

    def step(name: str, body: Callable[[], Any]) -> Any:
        if name not in (args.cprofile or []):
            return sampler.measure(name, body)
        prof = cProfile.Profile()
        result = sampler.measure(name, lambda: prof.runcall(body))
        text = io.StringIO()
        pstats.Stats(prof, stream=text).sort_stats("cumulative").print_stats(args.top)
        profiles[name] = text.getvalue()
        return result

    ruleset = step("rules", lambda: load_ruleset(args.rules))
    dataset = step("load", lambda: load_dataset(args.data))
    calendar = dataset.tables["calendar"].sort("start_date")["period"].to_list()
    credited = step("credit", lambda: credit(dataset, ruleset, calendar, rollups="aggregate"))
    totals = step("rollup_totals", credited.rollup_totals)
    from engine.calc.payouts import calculate

    calc = step("calculate", lambda: calculate(dataset, credited, ruleset, calendar))
    if args.out is not None:
        run_id = pipeline.fingerprint(ruleset.content_hash, dataset.file_hashes, calendar)
        result = pipeline.RunResult(dataset, ruleset, credited, calc, calendar, run_id, [], totals)
        step("publish", lambda: pipeline.write(result, args.out))
    sampler.stop()
    counts: dict[str, int] = {}
    for p in sampler.done:
        counts[p.name] = counts.get(p.name, 0) + 1
    print(_table(sampler.done, counts))
    print(f"\nVmHWM (process peak RSS): {_status_kb('VmHWM:') / _PAGE_MB:,.0f} MB")
    for name, text in profiles.items():
        print(f"\n## cProfile: {name}\n\n```\n{text}\n```")
    return 0


if __name__ == "__main__":
    sys.exit(main())
