"""Same inputs and rules, same bytes: across thread counts, input row order, and a killed run.

Each run here is a separate process (`icm run`), as a scheduler would start it, so the thread
settings really apply.
"""

from __future__ import annotations

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

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "fixtures" / "sample"
RULES = ROOT / "rules" / "sample.yaml"
ICM = Path(sys.executable).parent / "icm"


def _run(data: Path, out: Path, **env: str) -> Path:
    result = subprocess.run(
        [str(ICM), "run", str(data), "--rules", str(RULES), "--out", str(out)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return (out / "current").resolve()


def _files(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(run.iterdir())}


def test_thread_counts_give_byte_identical_outputs(tmp_path: Path) -> None:
    one = _run(SAMPLE, tmp_path / "one", POLARS_MAX_THREADS="1", NUMBA_NUM_THREADS="1")
    two = _run(SAMPLE, tmp_path / "two", POLARS_MAX_THREADS="2", NUMBA_NUM_THREADS="2")
    assert _files(one) == _files(two)


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
    moved = _run(shuffled, tmp_path / "b")
    for name in ("payouts", "measures", "incentives", "adjustments", "carry_state"):
        assert (base / f"{name}.parquet").read_bytes() == (moved / f"{name}.parquet").read_bytes()
    line_columns = ["route_line", "source_line"]
    for name in ("credits", "rollup_totals"):
        a = pl.read_parquet(base / f"{name}.parquet")
        b = pl.read_parquet(moved / f"{name}.parquet")
        drop = [c for c in line_columns if c in a.columns]
        assert a.drop(drop).equals(b.drop(drop)), name


_SLOW_WRITER = """
import sys, time
from pathlib import Path
import engine.publish as publish
from engine.pipeline import run, write

real = publish.write_parquet
def slow(frame, path):
    digest = real(frame, path)
    Path(sys.argv[2]).touch()          # tell the parent: a file of the new run is written
    time.sleep(30)
    return digest
publish.write_parquet = slow
result = run(Path(sys.argv[3]), Path(sys.argv[4]))
result.run_id = "second-run"
write(result, Path(sys.argv[1]))
"""


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_a_run_killed_while_publishing_leaves_the_previous_results(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = _run(SAMPLE, out)
    before = _files(first)
    signal_file = tmp_path / "writing"
    proc = subprocess.Popen(
        [sys.executable, "-c", _SLOW_WRITER, str(out), str(signal_file), str(SAMPLE), str(RULES)]
    )
    try:
        deadline = time.monotonic() + 120
        while not signal_file.exists():
            assert proc.poll() is None, "the writer ended before it was killed"
            assert time.monotonic() < deadline, "the writer never started writing"
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert (out / "current").resolve() == first
    assert _files(first) == before
    assert pl.read_parquet(out / "current" / "payouts.parquet").height > 0
