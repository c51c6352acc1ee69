"""The peer comparison of issue 9: the engine beside DuckDB SQL, pandas and the I/O floor.

On one ``icm synth`` company and the plan ``benchmarks/peers/plan.yaml``, runs each contender
as its own process under ``/usr/bin/time -v`` with the same pinned thread counts
(``POLARS_MAX_THREADS``, ``NUMBA_NUM_THREADS``, DuckDB ``SET threads``): one cold run (the
engine with an empty Numba cache) then ``--warm`` warm runs. It checks that the engine's
published payouts and each peer's agree to the cent per participant and period (a difference
is a hard failure, with the first differing rows shown), then writes ``benchmarks/RESULTS.md``:
machine, versions, commit, commands, the table, the targets, and the fragments other
benchmarks leave in ``benchmarks/results/*.md``. See ``docs/benchmarks.md``.

Usage::

    flock /tmp/heavy.lock python -m benchmarks.peers.run --scale M --data /tmp/synth_m --warm 3
    python -m benchmarks.peers.run --scale XS --work /tmp/peers_xs --warm 1
    python -m benchmarks.peers.run --report-only --scale M    # rewrite RESULTS.md from JSON
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
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

import polars as pl

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PLAN = HERE / "plan.yaml"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
FRAGMENTS = ROOT / "benchmarks" / "results"
FRAGMENT_ORDER = (
    ("sample-run.md", "Sample run"),
    ("stages-S.md", "Stages at S"),
    ("profile-M.md", "Profile at M"),
    ("explain-M.md", "Explain at M"),
    ("sweep-M.md", "What-if sweep at M"),
    ("kernels.md", "Kernels"),
    ("L.md", "Scale L"),
)
SCALE_ORDER = ["M", "L", "S", "XS"]  # the headline first
CONTENDERS = ("engine", "duckdb", "io_floor", "pandas")  # run order: the targets first
LABELS = {
    "engine": "engine (`icm run`, audit trail published)",
    "duckdb": "DuckDB SQL peer",
    "pandas": "pandas peer",
    "io_floor": "I/O floor (Polars read + write)",
}
TIME_BIN = Path("/usr/bin/time")
# issue 9 targets at M: engine / DuckDB <= 1/10, engine / floor <= 2, engine peak <= 2 GB
TARGET_VS_DUCKDB = 0.1
TARGET_VS_FLOOR = 2.0
TARGET_PEAK_GB = 2.0


@dataclass
class Measure:
    """One process run: wall seconds, peak RSS in KB, exit code, CPU seconds (user + sys)."""

    wall_s: float
    peak_kb: int
    code: int
    cpu_s: float | None = None
    detail: str | None = None


@dataclass
class Contender:
    """The runs of one contender."""

    name: str
    command: list[str]
    cold: Measure | None = None
    warm: list[Measure] = field(default_factory=list)

    def median(self) -> float | None:
        """Median warm wall time (the cold run's when no warm run finished)."""
        if self.warm:
            return statistics.median(m.wall_s for m in self.warm)
        return self.cold.wall_s if self.cold else None

    def cpu_median(self) -> float | None:
        """Median warm CPU seconds (None when not measured)."""
        runs = self.warm or ([self.cold] if self.cold else [])
        cpu = [m.cpu_s for m in runs if m.cpu_s is not None]
        return statistics.median(cpu) if cpu else None

    def peak_kb(self) -> int:
        """Largest peak RSS over all its runs."""
        runs = self.warm + ([self.cold] if self.cold else [])
        return max((m.peak_kb for m in runs), default=0)


def _env(threads: int, numba_cache: Path) -> dict[str, str]:
    """The environment of every contender: the same pinned thread counts."""
    env = dict(os.environ)
    env.update(
        {
            "POLARS_MAX_THREADS": str(threads),
            "NUMBA_NUM_THREADS": str(threads),
            "OMP_NUM_THREADS": str(threads),
            "DUCKDB_THREADS": str(threads),
            "NUMBA_CACHE_DIR": str(numba_cache),
        }
    )
    return env


def measure(command: list[str], env: dict[str, str], log: Path) -> Measure:
    """Run ``command`` once under ``/usr/bin/time -v`` (else getrusage) and measure it."""
    use_time = TIME_BIN.exists()
    full = [str(TIME_BIN), "-v", *command] if use_time else command
    before = _children_maxrss()
    started = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.run(full, env=env, stdout=out, stderr=subprocess.STDOUT, check=False)
    wall = time.perf_counter() - started
    text = log.read_text(errors="replace")
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    if found:
        peak = int(found.group(1))
    else:  # RUSAGE_CHILDREN is a maximum over all children so far: only a rise is ours
        peak = max(_children_maxrss() - before, 0) or _children_maxrss()
    code = proc.returncode
    status = re.search(r"Exit status: (\d+)", text)
    if use_time and status:
        code = int(status.group(1))
    return Measure(
        wall_s=round(wall, 3), peak_kb=peak, code=code, cpu_s=cpu_seconds(text), detail=steps(text)
    )


def steps(text: str) -> str | None:
    """The contender's own split of its time (``Steps: ...``, ``calculate ... write ...``)."""
    found = re.findall(
        r"^(Steps: .*|calculate [0-9.]+s write .*|read [0-9.]+s write .*)$",
        text,
        flags=re.MULTILINE,
    )
    return found[-1] if found else None


def cpu_seconds(text: str) -> float | None:
    """User + system seconds from ``/usr/bin/time -v`` output (None without it)."""
    user = re.search(r"User time \(seconds\): ([0-9.]+)", text)
    system = re.search(r"System time \(seconds\): ([0-9.]+)", text)
    if not (user and system):
        return None
    return round(float(user.group(1)) + float(system.group(1)), 2)


def backfill_cpu(raw: dict[str, object], work: Path) -> None:
    """Fill CPU seconds missing from ``raw`` from the run logs kept in ``work``."""
    for name, c in raw["contenders"].items():  # type: ignore[attr-defined]
        runs = [c["cold"], *c["warm"]]
        for i, m in enumerate(runs):
            log = work / f"{name}-{i}.log"
            if m and log.exists():
                text = log.read_text(errors="replace")
                if m.get("cpu_s") is None:
                    m["cpu_s"] = cpu_seconds(text)
                if m.get("detail") is None:
                    m["detail"] = steps(text)


def _children_maxrss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def commands(data: Path, work: Path, threads: int) -> dict[str, list[str]]:
    """The command line of each contender."""
    py = sys.executable
    icm = str(Path(py).with_name("icm"))
    return {
        "engine": [icm, "run", str(data), "--rules", str(PLAN), "--out", str(work / "engine")],
        "duckdb": [
            py,
            "-m",
            "benchmarks.peers.duckdb_peer",
            "--data",
            str(data),
            "--out",
            str(work / "duckdb"),
            "--threads",
            str(threads),
        ],
        "pandas": [
            py,
            "-m",
            "benchmarks.peers.pandas_peer",
            "--data",
            str(data),
            "--out",
            str(work / "pandas"),
        ],
        "io_floor": [
            py,
            "-m",
            "benchmarks.peers.io_floor",
            "--data",
            str(data),
            "--like",
            str(work / "engine" / "current"),
            "--out",
            str(work / "io_floor"),
        ],
    }


def payout_totals(path: Path) -> pl.DataFrame:
    """Payable cents summed per participant and period."""
    return (
        pl.read_parquet(path, columns=["participant_id", "period", "payable_cents"])
        .group_by("participant_id", "period")
        .agg(pl.col("payable_cents").sum())
    )


def disagreements(engine: Path, peer: Path) -> pl.DataFrame:
    """Participant-periods whose payable differs (or exists on one side only), sorted."""
    a = payout_totals(engine).rename({"payable_cents": "engine_cents"})
    b = payout_totals(peer).rename({"payable_cents": "peer_cents"})
    joined = a.join(b, on=["participant_id", "period"], how="full", coalesce=True)
    return joined.filter(
        pl.col("engine_cents").is_null()
        | pl.col("peer_cents").is_null()
        | (pl.col("engine_cents") != pl.col("peer_cents"))
    ).sort("participant_id", "period")


def check_agreement(work: Path, peers: list[str]) -> dict[str, int]:
    """Compare each peer's payouts with the engine's; raise SystemExit on any difference.

    Returns:
        Participant-periods compared per peer.
    """
    engine = work / "engine" / "current" / "payouts.parquet"
    compared = {}
    for peer in peers:
        bad = disagreements(engine, work / peer / "payouts.parquet")
        if bad.height:
            with pl.Config(tbl_rows=20, tbl_cols=-1):
                print(
                    f"FAIL: {peer} disagrees with the engine on {bad.height} "
                    f"participant-periods; first rows:\n{bad.head(20)}"
                )
            raise SystemExit(1)
        compared[peer] = payout_totals(engine).height
    return compared


def run_all(args: argparse.Namespace, save: Callable[[dict[str, object]], None]) -> None:
    """Generate or reuse the data, run every contender, check agreement as soon as it can.

    ``save`` receives the raw results after every run (a stopped run keeps what it measured).
    """
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    data: Path = args.data or work / "data"
    if not (data / "transactions.parquet").exists() and not (data / "transactions").is_dir():
        subprocess.run(
            [
                str(Path(sys.executable).with_name("icm")),
                "synth",
                str(data),
                "--scale",
                args.scale,
                "--seed",
                str(args.seed),
            ],
            check=True,
        )
    cmds = commands(data, work, args.threads)
    warm_cache = work / "numba-cache"
    shutil.rmtree(warm_cache, ignore_errors=True)
    info = environment(data)
    if args.commit:
        info["commit"] = args.commit
    raw: dict[str, object] = {
        "scale": args.scale,
        "data": str(data),
        "warm": args.warm,
        "threads": args.threads,
        "started": info.pop("started"),
        "environment": info,
        "load_average": [round(os.getloadavg()[0], 2)],
        "agreement": {},
        "contenders": {},
        "complete": False,
        "note": args.note or "",
    }
    load: list[float] = raw["load_average"]  # type: ignore[assignment]
    agreement: dict[str, int] = raw["agreement"]  # type: ignore[assignment]
    contenders: dict[str, object] = raw["contenders"]  # type: ignore[assignment]
    runs = {name: Contender(name, cmds[name]) for name in args.contenders}
    # round 0: every contender cold (and each peer checked against the engine at once);
    # rounds 1..warm: every contender warm, interleaved so that load drifts hit all alike
    for i in range(1 + args.warm):
        cold = i == 0
        for name, c in runs.items():
            shutil.rmtree(work / name, ignore_errors=True)
            env = _env(args.threads, warm_cache)  # empty before the engine's cold run
            m = measure(c.command, env, work / f"{name}-{i}.log")
            print(
                f"{name} {'cold' if cold else 'warm'} {m.wall_s:.1f} s "
                f"{m.peak_kb / 1e6:.2f} GB exit {m.code}",
                flush=True,
            )
            if m.code not in (0, 1):
                print((work / f"{name}-{i}.log").read_text()[-3000:])
                raise SystemExit(f"{name} failed with exit code {m.code}")
            if cold:
                c.cold = m
                if name in ("duckdb", "pandas") and "engine" in runs:
                    agreement.update(check_agreement(work, [name]))
            else:
                c.warm.append(m)
            load.append(round(os.getloadavg()[0], 2))
            contenders[name] = asdict(c)
            save(raw)
    raw["complete"] = True
    save(raw)


def environment(data: Path) -> dict[str, object]:
    """Machine, versions, commit and data description."""
    cpu = ""
    with Path("/proc/cpuinfo").open() as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with Path("/proc/meminfo").open() as f:
        for line in f:
            if line.startswith("MemTotal"):
                mem_kb = int(line.split()[1])
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "engine", "benchmarks/peers"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    versions = {}
    for pkg in ("polars", "duckdb", "pandas", "numpy", "numba", "pyarrow"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = "absent"
    synth = data / "synth.json"
    counts = json.loads(synth.read_text()).get("rows", {}) if synth.exists() else {}
    return {
        "started": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(mem_kb / 2**20, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit + (" (engine or peers modified)" if dirty else ""),
        "rows": counts,
    }


def _fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:,.1f} s"


def render(raws: list[dict[str, object]]) -> str:
    """RESULTS.md: one section per scale measured, then the fragments of other benchmarks."""
    lines = [
        "# Benchmarks: the engine beside its peers",
        "",
        "Written by `python -m benchmarks.peers.run` (how to run and read it: "
        "[docs/benchmarks.md](../docs/benchmarks.md)). The plan is "
        "[benchmarks/peers/plan.yaml](peers/plan.yaml): split, named-seller and territory "
        "crediting with returns, roll-up to all managers as of the credit date, per-line "
        "currency conversion, retroactive and incremental tiers, a component cap, a plan cap "
        "and a non-recoverable draw.",
    ]
    for raw in raws:
        lines += section(raw)
    lines += fragments()
    return "\n".join(lines) + "\n"


def section(raw: dict[str, object]) -> list[str]:
    """The section of one peer comparison run."""
    env = raw["environment"]
    assert isinstance(env, dict)
    cs: dict[str, Contender] = {}
    for n, d in raw["contenders"].items():  # type: ignore[attr-defined]
        c = Contender(n, d["command"])
        c.cold = Measure(**d["cold"]) if d["cold"] else None
        c.warm = [Measure(**m) for m in d["warm"]]
        cs[n] = c
    engine = cs.get("engine")
    e_med = engine.median() if engine else None
    e_cpu = engine.cpu_median() if engine else None
    agreed: dict[str, int] = raw["agreement"]  # type: ignore[assignment]
    lines = [
        "",
        f"## Peer comparison, scale {raw['scale']} ({raw['started']})",
        "",
        *([f"- **note**: {raw['note']}"] if raw.get("note") else []),
        f"- machine: {env['cpu']}, {env['cores']} cores, {env['ram_gib']} GiB RAM, {env['os']}",
        f"- Python {env['python']}; " + ", ".join(f"{k} {v}" for k, v in env["versions"].items()),
        f"- commit `{env['commit']}`; data `{raw['data']}` (seed 42): "
        + ", ".join(
            f"{k} {v:,}"
            for k, v in env["rows"].items()
            if k in ("transactions", "transaction_sellers", "participants")
        ),
        f"- threads pinned to {raw['threads']} for every contender (`POLARS_MAX_THREADS`, "
        "`NUMBA_NUM_THREADS`, DuckDB `SET threads`); each run a separate process; peak memory "
        "is the maximum resident set size of `/usr/bin/time -v`",
        (
            "- **incomplete: the run was stopped before every contender finished**"
            if not raw.get("complete", True)
            else "- all runs finished"
        ),
        f"- {raw['warm']} warm run(s) (median) after 1 cold run per contender (cold: the engine "
        "with an empty Numba cache, so its kernels compile; for the peers the first run)",
        f"- load average (1 min) before and after each run: {raw['load_average']}; the machine "
        "has 2 cores shared with other jobs, so a load above 2 means the wall times include "
        "waiting for a core",
        "- payouts agree to the cent: "
        + (
            ", ".join(f"engine = {p} on all {n:,} participant-periods" for p, n in agreed.items())
            or "not checked"
        ),
        "",
        "| contender | warm median | warm runs | cold | CPU s, warm median (user + sys) "
        "| peak RSS | engine / contender (warm wall) | engine / contender (CPU) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in CONTENDERS:
        if n not in cs:
            continue
        c = cs[n]
        med = c.median()
        ratio = "-" if not (e_med and med) else f"{e_med / med:.2f}"
        runs = ", ".join(f"{m.wall_s:.1f}" for m in c.warm)
        cold = _fmt_s(c.cold.wall_s) if c.cold else "-"
        cpu = c.cpu_median()
        cpu_ratio = "-" if not (e_cpu and cpu) else f"{e_cpu / cpu:.2f}"
        lines.append(
            f"| {LABELS[n]} | {_fmt_s(med)}{'' if c.warm else ' (cold only)'} | {runs} | "
            f"{cold} | {_fmt_s(cpu)} | "
            f"{c.peak_kb() / 1e6:.2f} GB | {ratio} | {cpu_ratio} |"
        )
    details = [
        f"- {n} ({'warm' if c.warm else 'cold'}): {m.detail}"
        for n, c in cs.items()
        for m in (c.warm or ([c.cold] if c.cold else []))[-1:]
        if m.detail
    ]
    if details:
        lines += ["", "Each contender's own split of its last run (printed by the process):", ""]
        lines += details
    lines += ["", f"### Targets (issue 9, set for M; here at {raw['scale']})", ""]
    lines += targets(cs)
    lines += [
        "",
        "### Commands",
        "",
        "```sh",
        f"icm synth DATA --scale {raw['scale']} --seed 42        # unless --data is reused",
        f"flock /tmp/heavy.lock python -m benchmarks.peers.run --scale {raw['scale']} "
        f"--data {raw['data']} --warm {raw['warm']}",
        "```",
        "",
        "Each contender's command (run by the script under `/usr/bin/time -v`):",
        "",
    ]
    for n, c in cs.items():
        lines.append(f"- {n}: `{' '.join(c.command)}`")
    return lines


def targets(cs: dict[str, Contender]) -> list[str]:
    """The three targets, each measured, met or missed, and by how much."""
    out = []
    e = cs.get("engine")
    e_med = e.median() if e else None
    d = cs.get("duckdb")
    f = cs.get("io_floor")

    def by_cpu(other: Contender | None) -> str:
        a, b = (e.cpu_median() if e else None), (other.cpu_median() if other else None)
        return f"; by CPU time {a / b:.2f}" if a and b else ""

    if e_med and d and d.median():
        ratio = e_med / (d.median() or 1)
        verdict = (
            "met"
            if ratio <= TARGET_VS_DUCKDB
            else (
                f"missed: the engine takes {ratio:.2f}x DuckDB's time where the target is "
                f"{TARGET_VS_DUCKDB:.2f}x, {ratio / TARGET_VS_DUCKDB:.0f}x away"
            )
        )
        out.append(
            f"- at least 10x faster than the DuckDB SQL peer: engine {e_med:.1f} s, "
            f"DuckDB {d.median():.1f} s (engine / DuckDB {ratio:.2f}{by_cpu(d)}): **{verdict}**"
        )
    if e_med and f and f.median():
        ratio = e_med / (f.median() or 1)
        verdict = (
            "met" if ratio <= TARGET_VS_FLOOR else (f"missed by {ratio / TARGET_VS_FLOOR:.1f}x")
        )
        out.append(
            f"- within 2x of the I/O floor: engine / floor {ratio:.2f} "
            f"(floor {f.median():.1f} s{by_cpu(f)}): **{verdict}**"
        )
    if e:
        gb = e.peak_kb() / 1e6
        verdict = "met" if gb <= TARGET_PEAK_GB else f"missed by {gb / TARGET_PEAK_GB:.1f}x"
        out.append(f"- peak memory 2 GB or less: engine {gb:.2f} GB: **{verdict}**")
    return out or ["- not measured"]


def fragments() -> list[str]:
    """Every known fragment of ``benchmarks/results/``, verbatim, in a fixed order."""
    out: list[str] = []
    known = {name for name, _ in FRAGMENT_ORDER}
    extra = sorted(p.name for p in FRAGMENTS.glob("*.md") if p.name not in known)
    for name, title in (*FRAGMENT_ORDER, *((n, n.removesuffix(".md")) for n in extra)):
        path = FRAGMENTS / name
        if path.exists():
            out += [
                "",
                "---",
                "",
                f"# {title}: `benchmarks/results/{name}`, verbatim",
                "",
                path.read_text().strip(),
            ]
    return out


def main(argv: list[str] | None = None) -> None:
    """Command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", default="S", choices=["XS", "S", "M", "L"])
    p.add_argument("--data", type=Path, help="an existing synth directory (else generated)")
    p.add_argument("--work", type=Path, help="outputs and logs (default /tmp/peers-<scale>)")
    p.add_argument("--warm", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--contenders", default=",".join(CONTENDERS))
    p.add_argument("--results", type=Path, default=RESULTS, help="the Markdown written")
    p.add_argument("--raw", type=Path, help="JSON of the measurements (default in peers/)")
    p.add_argument("--note", help="a remark printed with the run (e.g. on machine load)")
    p.add_argument("--commit", help="the commit measured, when run from a git archive of it")
    p.add_argument("--report-only", action="store_true", help="rewrite RESULTS.md from JSON")
    args = p.parse_args(argv)
    args.work = args.work or Path(f"/tmp/peers-{args.scale}")
    args.contenders = [c for c in args.contenders.split(",") if c]
    unknown = set(args.contenders) - set(CONTENDERS)
    if unknown:
        p.error(f"unknown contenders: {sorted(unknown)}")
    raw_path = args.raw or HERE / f"results-{args.scale}.json"

    def save(raw: dict[str, object]) -> None:
        raw_path.write_text(json.dumps(raw, indent=1) + "\n")
        known = {p.resolve() for p in HERE.glob("results-*.json")} | {raw_path.resolve()}
        raws = [json.loads(p.read_text()) for p in known]
        raws.sort(key=lambda r: SCALE_ORDER.index(str(r["scale"])))
        args.results.write_text(render(raws))

    if args.report_only:
        raw = json.loads(raw_path.read_text())
        backfill_cpu(raw, args.work)
        if args.note:
            raw["note"] = args.note
        save(raw)  # with every results-*.json beside it
    else:
        run_all(args, save)
    print(f"wrote {args.results} and {raw_path}")


if __name__ == "__main__":
    main()
