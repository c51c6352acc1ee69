"""``icm explain``: the cost of explaining one participant's payout.

A benchmark, not a test: nothing fails when the numbers move. Two modes.

**After a run, in process** (default): a synth company (scale S by default: 1,000,000
transactions, ``rules/examples/synth-company.yaml``) is generated into a temporary directory and
run once; then, for a manager (roll-ups derived on demand) and for a seller, the lineage of one
participant (``build_lineage(run, [pid]).select(pid, period)``) and the explanation tree
(``explain``) are timed, best of ``--repeats``; and the batch derivation of every payout
(``derivation(build_lineage(run, credit_lines=False))``) once::

    .venv/bin/python benchmarks/bench_explain.py --scale S --repeats 3
    .venv/bin/python benchmarks/bench_explain.py --scale XS      # seconds, for a smoke check

**A published run** (``--run``): ``icm explain P --period X --run RUN --data DATA --rules R``
as a command, under ``/usr/bin/time -v`` (wall, user + system CPU, peak RSS), for a seller and
two managers (a median team and a large one, by the number of chain links below them in the
published roll-up basis) unless ``--participant`` names them. *Cold*: the run's Parquet files
and the input files are first dropped from the page cache (``posix_fadvise DONTNEED``, those
files only); *warm*: the same command again, best of ``--repeats``. In process, the same
explanation is timed step by step (read the published run and the inputs, lineage, tree,
render), without the interpreter start and imports. ``--record FILE`` writes the numbers as
Markdown::

    flock /tmp/heavy.lock icm run /tmp/synth_m --rules rules/examples/synth-company.yaml \\
        --out /tmp/m_out
    .venv/bin/python benchmarks/bench_explain.py --run /tmp/m_out --data /tmp/synth_m \\
        --period 2026-06 --record benchmarks/results/explain-M.md
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "rules" / "examples" / "synth-company.yaml"
ICM = Path(sys.executable).parent / "icm"


def _best(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def after_a_run(scale: str, seed: int, repeats: int) -> None:
    """The in-process mode (see the module docstring)."""
    from engine.audit.derivation import derivation, problems
    from engine.audit.explain import explain
    from engine.audit.lineage import build_lineage
    from engine.pipeline import run
    from engine.synth import synthesize

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        t0 = time.perf_counter()
        synthesize(data, scale, seed=seed)
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
        print(f"scale {scale}: synth {t_synth:.1f} s, run {t_run:.1f} s, period {period}")
        for label, pid in (("manager", manager), ("top seller", seller)):
            if pid is None:
                continue

            def once(pid: str = pid) -> int:
                lin = build_lineage(result, [pid]).select(pid, period)
                root = explain(lin, pid, period)
                assert root.check() == []
                return lin["credits"].height

            lines = once()
            best = _best(once, repeats)
            print(f"explain {label} {pid}: {lines} credit lines, best {best * 1000:.0f} ms")
        t0 = time.perf_counter()
        rows = derivation(build_lineage(result, credit_lines=False))
        bad = problems(rows).height
        t_batch = time.perf_counter() - t0
        print(f"batch derivation of {pays.height} payouts: {rows.height} nodes, {bad} problems, "
              f"{t_batch:.1f} s")  # fmt: skip


def _evict(paths: list[Path]) -> None:
    """Drop these files (only) from the page cache."""
    for path in paths:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _timed_command(args: list[str]) -> dict[str, float]:
    """Run a command under ``/usr/bin/time -v``: wall and CPU seconds, peak RSS (MB)."""
    got = subprocess.run(
        ["/usr/bin/time", "-v", *args], capture_output=True, text=True, check=False
    )
    if got.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{got.stderr[-2000:]}")
    err = got.stderr

    def field(name: str) -> str:
        match = re.search(rf"{re.escape(name)}: (.+)", err)
        return match.group(1).strip() if match else "0"

    wall_text = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    parts = [float(p) for p in wall_text.split(":")]
    wall = sum(p * 60**i for i, p in enumerate(reversed(parts)))
    return {
        "wall": wall,
        "cpu": float(field("User time (seconds)")) + float(field("System time (seconds)")),
        "rss_mb": int(field("Maximum resident set size (kbytes)")) / 1024,
        "lines": float(got.stdout.count("\n")),
    }


def _pick(run_dir: Path, period: str) -> list[tuple[str, str]]:
    """A seller with the most credit lines, a median-team manager and a large-team one."""
    links = pl.scan_parquet(run_dir / "rollup_chain_links.parquet")
    pays = pl.scan_parquet(run_dir / "payouts.parquet").filter(pl.col("period") == period)
    managers = pays.filter(pl.col("plan_id") == "MANAGER").select("participant_id").unique()
    team = (
        links.group_by("manager_id")
        .len()
        .join(managers, left_on="manager_id", right_on="participant_id")
        .sort("len", "manager_id")
        .collect()
    )
    sellers = pays.filter(pl.col("plan_id") == "AE").select("participant_id").unique()
    busiest = (
        pl.scan_parquet(run_dir / "credits.parquet")
        .filter(pl.col("period") == period)
        .join(sellers, on="participant_id", how="semi")
        .group_by("participant_id")
        .len()
        .sort("len", "participant_id", descending=[True, False])
        .head(1)
        .collect()
    )
    picked = [("seller (AE, most credits)", busiest["participant_id"][0])]
    if team.height:
        picked.append(("manager (median team)", team["manager_id"][team.height // 2]))
        picked.append(("manager (90th pct team)", team["manager_id"][team.height * 9 // 10]))
    return picked


def _in_process(run_dir: Path, data: Path, pid: str, period: str) -> dict[str, float]:
    """The explanation's steps, timed in process (imports excluded)."""
    from rich.console import Console

    from engine.audit.explain import explain, render
    from engine.audit.lineage import build_lineage
    from engine.audit.published import open_run, published_result
    from engine.pipeline import RunResult  # the imports the steps do lazily, not timed

    assert RunResult
    t0 = time.perf_counter()
    result = published_result(open_run(run_dir), data, RULES, [pid])
    t1 = time.perf_counter()
    lin = build_lineage(result, [pid]).select(pid, period)
    t2 = time.perf_counter()
    root = explain(lin, pid, period)
    assert root.check() == []
    t3 = time.perf_counter()
    Console(file=io.StringIO(), width=160).print(render(root))
    t4 = time.perf_counter()
    return {
        "read": t1 - t0,
        "lineage": t2 - t1,
        "tree": t3 - t2,
        "render": t4 - t3,
        "credits": float(lin["credits"].height),
    }


def published(args: argparse.Namespace) -> None:
    """The published-run mode (see the module docstring)."""
    from engine.audit.published import open_run

    run_dir = open_run(args.run).directory
    period = args.period
    people = [(f"given {p}", p) for p in args.participant] or _pick(run_dir, period)
    files = [*sorted(run_dir.glob("*.parquet")), *sorted(args.data.glob("*.parquet"))]
    load = os.getloadavg()
    rows: list[str] = []
    for label, pid in people:
        cmd = [str(ICM), "explain", pid, "--period", period, "--run", str(args.run),
               "--data", str(args.data), "--rules", str(RULES)]  # fmt: skip
        _evict(files)
        cold = _timed_command(cmd)
        warm = min((_timed_command(cmd) for _ in range(args.repeats)), key=lambda r: r["wall"])
        steps = _in_process(run_dir, args.data, pid, period)
        row = (
            f"| {label} | {pid} | {int(steps['credits'])} | {cold['wall']:.2f} / "
            f"{cold['cpu']:.2f} | {warm['wall']:.2f} / {warm['cpu']:.2f} | "
            f"{warm['rss_mb']:.0f} | {steps['read']:.2f} + {steps['lineage']:.2f} + "
            f"{steps['tree']:.2f} + {steps['render']:.2f} |"
        )
        print(row, flush=True)
        rows.append(row)
    header = (
        "| participant | id | credit lines | cold: wall / CPU s | warm (best of "
        f"{args.repeats}): wall / CPU s | peak RSS MB | in process: read + lineage + tree + "
        "render s |\n| --- | --- | ---: | ---: | ---: | ---: | --- |"
    )
    table = "\n".join([header, *rows])
    print(f"load average before: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    if args.record:
        _record(args, table, load, os.getloadavg())


def _record(
    args: argparse.Namespace,
    table: str,
    before: tuple[float, float, float],
    after: tuple[float, float, float],
) -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False,
        cwd=ROOT,
    ).stdout.strip()  # fmt: skip
    text = args.record.read_text(encoding="utf-8") if args.record.exists() else ""
    marker = "<!-- bench_explain.py -->"
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    head, _, _ = text.partition(marker)
    measured = (
        f"{marker}\nMeasured by `benchmarks/bench_explain.py --run {args.run} --data {args.data} "
        f"--period {args.period}` at commit {commit} ({stamp}); "
        f"{os.cpu_count()} cores, load average {before[0]:.1f} before and {after[0]:.1f} after "
        "(other jobs were running on the machine: wall times are noisy, CPU times less so).\n\n"
        f"{table}\n"
    )  # fmt: skip
    args.record.parent.mkdir(parents=True, exist_ok=True)
    args.record.write_text(head + measured, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--scale", default="S")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--run", type=Path, help="a published run (icm run --out)")
    parser.add_argument("--data", type=Path, help="the run's data directory (with --run)")
    parser.add_argument("--period", default="2026-06")
    parser.add_argument("--participant", action="append", default=[])
    parser.add_argument("--record", type=Path, help="write the table to this Markdown file")
    args = parser.parse_args()
    if args.run is not None:
        if args.data is None:
            parser.error("--run needs --data")
        published(args)
    else:
        after_a_run(args.scale, args.seed, args.repeats)


if __name__ == "__main__":
    main()
