"""Benchmark of ``icm synth``: wall time and peak memory per scale (not a test).

Runs ``icm synth OUT --scale X --seed 42 --format F`` under ``/usr/bin/time -v`` in a fresh
process for each run, with threads pinned, and prints one Markdown row per run plus the
median per scale, with the machine, library versions and git commit to record beside them
(``benchmarks/SYNTH.md``).

Usage:
    .venv/bin/python benchmarks/bench_synth.py --scales S M --repeats 3
    .venv/bin/python benchmarks/bench_synth.py --scales L --repeats 1 --out /big/disk/synth
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ICM = Path(sys.executable).with_name("icm")


@dataclass(frozen=True)
class Run:
    scale: str
    fmt: str
    run: int
    wall_s: float
    cpu_s: float
    peak_rss_mib: float
    bytes_written: int


def _seconds(text: str) -> float:
    parts = [float(p) for p in text.strip().split(":")]
    total = 0.0
    for p in parts:
        total = total * 60 + p
    return total


def _field(report: str, label: str) -> str:
    match = re.search(rf"^\s*{re.escape(label)}: (.*)$", report, re.MULTILINE)
    if match is None:
        raise RuntimeError(f"/usr/bin/time gave no {label!r}:\n{report}")
    return match.group(1)


def run_once(scale: str, fmt: str, *, seed: int, out: Path, threads: int, number: int) -> Run:
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "POLARS_MAX_THREADS": str(threads), "NUMBA_NUM_THREADS": str(threads)}
    command = ["/usr/bin/time", "-v", str(ICM), "synth", str(out), "--scale", scale,
               "--seed", str(seed), "--format", fmt]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"icm synth failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    report = done.stderr
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    return Run(
        scale=scale,
        fmt=fmt,
        run=number,
        wall_s=_seconds(_field(report, "Elapsed (wall clock) time (h:mm:ss or m:ss)")),
        cpu_s=float(_field(report, "User time (seconds)"))
        + float(_field(report, "System time (seconds)")),
        peak_rss_mib=int(_field(report, "Maximum resident set size (kbytes)")) / 1024,
        bytes_written=size,
    )


def environment(threads: int) -> dict[str, str]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=REPO,
        check=False,
    ).stdout.strip()  # fmt: skip
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.processor(),
    )  # fmt: skip
    mem_kib = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )  # fmt: skip
    return {
        "commit": commit,
        "machine": f"{cpu}, {os.cpu_count()} cores, {mem_kib / 1024**2:.0f} GiB RAM",
        "os": platform.platform(),
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "polars": version("polars"),
        "numpy": version("numpy"),
        "pyarrow": version("pyarrow"),
        "threads": str(threads),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", default=["S", "M"])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--format", default="parquet", choices=["parquet", "csv"])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None, help="scratch directory (deleted)")
    parser.add_argument("--json", type=Path, default=None, help="also write results here")
    args = parser.parse_args()

    scratch = args.out or Path(tempfile.mkdtemp(prefix="bench_synth_"))
    env = environment(args.threads)
    print("\n".join(f"- {k}: {v}" for k, v in env.items()))
    print("\n| scale | format | run | wall s | CPU s | peak RSS MiB | output MiB |")
    print("|---|---|---|---|---|---|---|")
    runs: list[Run] = []
    for scale in args.scales:
        for number in range(1, args.repeats + 1):
            run = run_once(
                scale,
                args.format,
                seed=args.seed,
                out=scratch / scale,
                threads=args.threads,
                number=number,
            )
            runs.append(run)
            mib = run.bytes_written / 2**20
            print(
                f"| {run.scale} | {run.fmt} | {run.run} | {run.wall_s:.1f} | {run.cpu_s:.1f} "
                f"| {run.peak_rss_mib:.0f} | {mib:.0f} |",
                flush=True,
            )
        shutil.rmtree(scratch / scale, ignore_errors=True)
    print("\n| scale | median wall s | median peak RSS MiB |")
    print("|---|---|---|")
    for scale in args.scales:
        mine = [r for r in runs if r.scale == scale]
        wall = statistics.median(r.wall_s for r in mine)
        rss = statistics.median(r.peak_rss_mib for r in mine)
        print(f"| {scale} | {wall:.1f} | {rss:.0f} |")
    if args.out is None:
        shutil.rmtree(scratch, ignore_errors=True)
    if args.json:
        body = {"env": env, "runs": [asdict(r) for r in runs]}
        args.json.write_text(json.dumps(body, indent=2) + "\n")


if __name__ == "__main__":
    main()
