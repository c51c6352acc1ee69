"""The operations database waits for another process to release it instead of failing."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from engine.ops.db import connect

HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold(path: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_waits_for_another_process(tmp_path: Path) -> None:
    path = tmp_path / "ops.duckdb"
    connect(path).close()
    proc = _hold(path, 0.5)
    t0 = time.monotonic()
    with proc:
        con = connect(path, wait=20)
        con.close()
    assert time.monotonic() - t0 > 0.1


def test_gives_up_after_the_wait(tmp_path: Path) -> None:
    path = tmp_path / "ops.duckdb"
    connect(path).close()
    proc = _hold(path, 5.0)
    with proc:
        try:
            with pytest.raises(duckdb.IOException):
                connect(path, wait=0.3)
        finally:
            proc.kill()
