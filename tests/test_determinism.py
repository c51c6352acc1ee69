"""Same inputs and rules, same bytes: across thread counts, input row order and repeated runs;
and a run killed at any point leaves the previous results intact and readable.

Each run here is a separate process (`icm run`), as a scheduler would start it, so the thread
settings really apply. The data is small (synth XS, the sample company) to keep CI fast.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from engine.ops.db import connect, query
from engine.publish import owner_tag
from engine.synth import synthesize

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "fixtures" / "sample"
RULES = ROOT / "rules" / "sample.yaml"
SYNTH_RULES = ROOT / "rules" / "examples" / "synth-company.yaml"
ICM = Path(sys.executable).parent / "icm"

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")


def _run(data: Path, out: Path, rules: Path = RULES, **env: str) -> Path:
    result = subprocess.run(
        [str(ICM), "run", str(data), "--rules", str(rules), "--out", str(out)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return (out / "current").resolve()


def _files(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run.iterdir())}


def _threads(**env: str) -> tuple[int, int]:
    """The thread pools a process really gets under ``env``."""
    code = "import polars, numba; print(polars.thread_pool_size(), numba.config.NUMBA_NUM_THREADS)"
    shown = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    polars_threads, numba_threads = shown.stdout.split()
    return int(polars_threads), int(numba_threads)


def test_thread_counts_give_byte_identical_outputs(tmp_path: Path) -> None:
    data = tmp_path / "xs"
    synthesize(data, "XS", seed=3, transactions=2_000, participants=60)
    outputs = {}
    for polars_threads, numba_threads in [(1, 1), (2, 1), (1, 2), (2, 2)]:
        env = {"POLARS_MAX_THREADS": str(polars_threads), "NUMBA_NUM_THREADS": str(numba_threads)}
        assert _threads(**env) == (polars_threads, numba_threads)
        out = tmp_path / f"p{polars_threads}n{numba_threads}"
        outputs[out.name] = _files(_run(data, out, SYNTH_RULES, **env))
    first = outputs.pop("p1n1")
    assert len(first) > 10
    for name, files in outputs.items():
        assert files == first, name


def test_input_row_order_changes_no_result(tmp_path: Path) -> None:
    """Shuffled rows give the same results; only the source line numbers of lineage move."""
    shuffled = tmp_path / "data"
    shutil.copytree(SAMPLE, shuffled)
    rng = random.Random(7)
    for csv in shuffled.glob("*.csv"):
        header, *rows = csv.read_text(encoding="utf-8").splitlines()
        rng.shuffle(rows)
        csv.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    base = _run(SAMPLE, tmp_path / "a")
    moved = _run(shuffled, tmp_path / "b", POLARS_MAX_THREADS="2", NUMBA_NUM_THREADS="2")
    line_columns = ["route_line", "source_line", "line"]
    compared = 0
    for path in sorted(base.glob("*.parquet")):
        a, b = pl.read_parquet(path), pl.read_parquet(moved / path.name)
        drop = [c for c in line_columns if c in a.columns and a[c].dtype.is_integer()]
        if drop:
            assert a.drop(drop).equals(b.drop(drop)), path.name
        else:
            assert path.read_bytes() == (moved / path.name).read_bytes(), path.name
        compared += 1
    assert compared == len(list(moved.glob("*.parquet"))) > 10


def _manifest_holds(run: Path) -> None:
    """Every output of a published run is readable and has the bytes its manifest records."""
    manifest = json.loads((run / "manifest.json").read_text())
    for name, sha in manifest["outputs"].items():
        assert hashlib.sha256((run / name).read_bytes()).hexdigest() == sha, name
        assert pl.read_parquet(run / name).height == manifest["rows"][name.removesuffix(".parquet")]


def _kill_when(proc: subprocess.Popen[bytes], signal_file: Path) -> None:
    try:
        deadline = time.monotonic() + 180
        while not signal_file.exists():
            assert proc.poll() is None, "the run ended before it was killed"
            assert time.monotonic() < deadline, "the run never got there"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()


_SLOW_CALCULATION = """
import sys, time
from pathlib import Path
import engine.pipeline as pipeline
from engine.cli import main

real = pipeline.calculate
started = Path(sys.argv[1])
def slow(*args, **kwargs):
    started.touch()                    # tell the parent: the calculation has started
    time.sleep(60)
    return real(*args, **kwargs)
pipeline.calculate = slow
sys.argv = ["icm", "run", *sys.argv[2:]]
main()
"""


@posix_only
def test_a_run_killed_while_calculating_leaves_the_previous_results(tmp_path: Path) -> None:
    out, data = tmp_path / "out", tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    first = _run(data, out)
    before = _files(first)
    tx = data / "transactions.csv"
    tx.write_text(tx.read_text().replace("18000.00", "28000.00"))  # the next run differs
    signal_file = tmp_path / "calculating"
    args = [str(signal_file), str(data), "--rules", str(RULES), "--out", str(out)]
    _kill_when(subprocess.Popen([sys.executable, "-c", _SLOW_CALCULATION, *args]), signal_file)

    assert (out / "current").resolve() == first
    assert _files(first) == before
    _manifest_holds(out / "current")
    assert [p.name for p in (out / "runs").iterdir()] == [first.name]
    con = connect(out / "ops.duckdb")
    killed = query(con, "SELECT run_id, status FROM runs ORDER BY started DESC LIMIT 1").row(0)
    steps = query(con, "SELECT step, status FROM steps WHERE run_id = ? ORDER BY seq", [killed[0]])
    con.close()
    assert killed[1] == "running"  # its process never came back to say otherwise
    assert steps.rows() == [(s, "ok") for s in ("rules", "load", "credit", "rollup_totals")]

    second = _run(data, out)  # the next run publishes, and marks the killed one
    assert second != first
    con = connect(out / "ops.duckdb")
    status = query(con, "SELECT status FROM runs WHERE run_id = ?", [killed[0]]).item()
    con.close()
    assert status == "interrupted"


_SLOW_WRITER = """
import sys, time
from pathlib import Path
import engine.publish as publish
from engine.pipeline import run, write

real = publish.write_parquet
def slow(frame, path):
    digest = real(frame, path)
    Path(sys.argv[2]).touch()          # tell the parent: a file of the new run is written
    time.sleep(60)
    return digest
publish.write_parquet = slow
result = run(Path(sys.argv[3]), Path(sys.argv[4]))
result.run_id = "second-run"
write(result, Path(sys.argv[1]))
"""


@posix_only
def test_a_run_killed_while_publishing_leaves_the_previous_results(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _run(SAMPLE, out)
    before = _files(first)
    signal_file = tmp_path / "writing"
    args = [str(out), str(signal_file), str(SAMPLE), str(RULES)]
    _kill_when(subprocess.Popen([sys.executable, "-c", _SLOW_WRITER, *args]), signal_file)
    assert (out / "current").resolve() == first
    assert _files(first) == before
    _manifest_holds(out / "current")

    # the killed publish left its staging directory; a publish in progress (this process is
    # alive) has one too: the next successful publish removes the first, never the second
    left = [p for p in (out / "runs").iterdir() if p.name.startswith(".staging-")]
    assert len(left) == 1
    assert any(left[0].iterdir())
    live = out / "runs" / f".staging-{owner_tag()}-0123abcd"
    live.mkdir()
    _run(SAMPLE, out)
    assert not left[0].exists()
    assert live.exists()
    assert (out / "current").resolve() == first  # the same run again: its directory is reused
