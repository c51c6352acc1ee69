"""``icm run`` on the bundled sample company: cold start and warm runs, wall and CPU seconds.

A benchmark, not a test: nothing fails when the numbers move. Each run is a fresh process::

    icm run fixtures/sample --rules rules/sample.yaml --out OUT

*cold*: the first run with an empty Numba cache and an empty bytecode cache (a private
``PYTHONPYCACHEPREFIX``: every engine module is compiled from source); *warm*: the next
``--repeats`` runs with both caches filled (median reported). ``--numba`` runs the same with
the kernels forced through Numba (what a run cost before small calls ran as Python), for the
comparison; ``--demo`` times ``icm demo`` on the same files (the run printed and published,
without the run log); ``--pipeline`` times ``engine.pipeline.run`` and ``write`` alone in a
fresh process (no CLI, no printing, no run log). CPU is user + system of the child process:
steadier than wall time on a shared machine. ``--baseline DIR`` also times ``icm run`` from
another copy of the engine (``git archive <commit> | tar -x -C DIR``), warm only, its runs
interleaved with the current code's so that both see the same machine load.

Run::

    .venv/bin/python benchmarks/bench_sample_run.py --repeats 5 --numba --demo --pipeline
    .venv/bin/python benchmarks/bench_sample_run.py --repeats 9 --baseline /tmp/before
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ICM = Path(sys.executable).with_name("icm")
ARGS = ["run", "fixtures/sample", "--rules", "rules/sample.yaml"]
PIPELINE_ONLY = (
    "import sys; from pathlib import Path; from engine.pipeline import run, write; "
    "write(run(Path(sys.argv[2]), Path(sys.argv[4])), Path(sys.argv[6]))"
)
FORCE_NUMBA = (
    "import sys; from engine.kernels import jit; jit._mode = 'numba'; "
    "from engine.cli import main; sys.argv = ['icm', *sys.argv[1:]]; main()"
)


def _once(command: list[str], env: dict[str, str], cwd: Path = REPO) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(label: str, command: list[str], repeats: int, tmp: Path) -> str:
    """Cold then warm runs of ``command``; one Markdown row."""
    slug = str(abs(hash(label)))
    env = {
        **os.environ,
        "NUMBA_CACHE_DIR": str(tmp / f"numba-{slug}"),
        "PYTHONPYCACHEPREFIX": str(tmp / f"pyc-{slug}"),
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = ["--out", str(tmp / f"out-{slug}")]
    cold = _once(command + out, env)
    warm = [_once(command + out, env) for _ in range(repeats)]
    walls = [w for w, _ in warm]
    cpus = [c for _, c in warm]
    return (
        f"| {label} | {cold[0]:.2f} | {cold[1]:.2f} | **{statistics.median(walls):.2f}** "
        f"| {statistics.median(cpus):.2f} | {', '.join(f'{w:.2f}' for w in walls)} |"
    )


def compare(baseline: Path, repeats: int, tmp: Path) -> list[str]:
    """Warm ``icm run`` from ``baseline`` and from this tree, interleaved; two Markdown rows."""
    rows: list[str] = []
    trees = {"this tree": REPO, f"baseline `{baseline}`": baseline}
    times: dict[str, list[tuple[float, float]]] = {label: [] for label in trees}
    for i in range(repeats + 1):  # the first round fills the caches and is not counted
        for label, tree in trees.items():
            env = {**os.environ, "PYTHONPATH": str(tree)}
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            out = tmp / f"out-compare-{abs(hash(label))}"
            measured = _once([str(ICM), *ARGS, "--out", str(out)], env, cwd=tree)
            if i:
                times[label].append(measured)
    for label, measured in times.items():
        walls = [w for w, _ in measured]
        cpus = [c for _, c in measured]
        rows.append(
            f"| `icm run`, {label} | | | **{statistics.median(walls):.2f}** "
            f"| {statistics.median(cpus):.2f} | {', '.join(f'{w:.2f}' for w in walls)} |"
        )
    return rows


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--numba", action="store_true", help="also with kernels forced to Numba")
    parser.add_argument(
        "--demo", action="store_true", help="also `icm demo`: the same run, printed, no run log"
    )
    parser.add_argument(
        "--pipeline", action="store_true", help="also engine.pipeline run + write alone (no CLI)"
    )
    parser.add_argument(
        "--baseline",
        type=Path,
        help="also warm `icm run` from this copy of the engine, interleaved with this tree's",
    )
    args = parser.parse_args()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    print(
        f"commit {commit}, Python {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average {', '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    print()
    print(
        "| command | cold wall s | cold CPU s | warm wall s (median) | warm CPU s (median) "
        "| warm wall s (each) |"
    )
    print("|---|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory() as tmp:
        print(measure("`icm run`", [str(ICM), *ARGS], args.repeats, Path(tmp)), flush=True)
        if args.numba:
            command = [sys.executable, "-c", FORCE_NUMBA, *ARGS]
            print(
                measure("`icm run`, kernels forced to Numba", command, args.repeats, Path(tmp)),
                flush=True,
            )
        if args.demo:
            demo = [str(ICM), "demo", *ARGS[1:]]
            print(measure("`icm demo` (no run log)", demo, args.repeats, Path(tmp)), flush=True)
        if args.pipeline:
            command = [sys.executable, "-c", PIPELINE_ONLY, *ARGS]
            print(
                measure("pipeline run + write only", command, args.repeats, Path(tmp)), flush=True
            )
        if args.baseline is not None:
            for row in compare(args.baseline.resolve(), args.repeats, Path(tmp)):
                print(row, flush=True)
    print(f"\nload average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
