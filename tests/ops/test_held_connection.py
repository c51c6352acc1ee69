"""The run log holds the operations database between close writes and releases it when idle."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from engine.ops.db import HeldConnection, connect, query

_OTHER_PROCESS = (
    "import sys, duckdb; con = duckdb.connect(sys.argv[1]); "
    "print(con.execute('SELECT count(*) FROM runs').fetchone()[0]); con.close()"
)


def _other_process_reads(db: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, str(db)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_writes_close_together_share_one_open(tmp_path: Path) -> None:
    held = HeldConnection(tmp_path / "ops.duckdb", idle=30)
    with held.use() as first:
        first.execute("INSERT INTO runs (run_id, started, finished, seconds, status) "
                      "VALUES ('a', now(), now(), 0, 'ok')")  # fmt: skip
    with held.use() as second:
        assert second is first
    con = connect(tmp_path / "ops.duckdb")  # this process: the same instance, no second open
    assert query(con, "SELECT run_id FROM runs").item() == "a"
    con.close()
    held.close()


def test_released_when_idle_so_another_process_can_read(tmp_path: Path) -> None:
    db = tmp_path / "ops.duckdb"
    held = HeldConnection(db, idle=0.2)
    with held.use() as con:
        con.execute("INSERT INTO runs (run_id, started, finished, seconds, status) "
                    "VALUES ('a', now(), now(), 0, 'running')")  # fmt: skip
    time.sleep(0.6)
    other = _other_process_reads(db)
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == "1"
    with held.use() as con:  # opened again on the next write
        assert query(con, "SELECT count(*) AS n FROM runs").item() == 1
    held.close()


def test_a_failed_statement_rolls_back_and_releases(tmp_path: Path) -> None:
    db = tmp_path / "ops.duckdb"
    held = HeldConnection(db, idle=30)

    def broken_write() -> None:
        with held.use() as con:
            con.execute("BEGIN TRANSACTION")
            con.execute("INSERT INTO runs (run_id, started, finished, seconds, status) "
                        "VALUES ('a', now(), now(), 0, 'ok')")  # fmt: skip
            con.execute("SELECT no_such_column FROM runs")

    with pytest.raises(duckdb.Error):
        broken_write()
    other = _other_process_reads(db)  # released at once, and the insert rolled back
    assert other.returncode == 0, other.stderr
    assert other.stdout.strip() == "0"
    with held.use() as con:
        con.execute("INSERT INTO runs (run_id, started, finished, seconds, status) "
                    "VALUES ('b', now(), now(), 0, 'ok')")  # fmt: skip
    held.close()
    con = connect(db)
    assert query(con, "SELECT run_id FROM runs").rows() == [("b",)]
    con.close()


_KILLED_MID_RUN = """
import os, signal, sys
from datetime import datetime
from pathlib import Path
from engine.ops.runlog import RunLog
from engine.pipeline import Step

log = RunLog(Path(sys.argv[1]), "killed", datetime(2026, 1, 1))
log.start()
log(Step("rules", "2026-01-01T00:00:00.000+00:00", 0.1, 0, 1))
log(Step("load", "2026-01-01T00:00:01.000+00:00", 0.2, 0, 120))
os.kill(os.getpid(), signal.SIGKILL)  # while the database is still held
"""


def test_a_run_killed_while_holding_the_log_keeps_its_finished_steps(tmp_path: Path) -> None:
    from datetime import datetime

    from engine.ops.runlog import RunLog

    db = tmp_path / "ops.duckdb"
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_MID_RUN, str(db)], check=False, timeout=120
    )
    assert killed.returncode == -9
    RunLog(db, "next", datetime(2026, 1, 2)).start()  # marks the dead process's run
    con = connect(db)
    steps = query(con, "SELECT step, rows_out FROM steps ORDER BY seq").rows()
    status = query(con, "SELECT status FROM runs WHERE run_id = 'killed'").item()
    con.close()
    assert steps == [("rules", 1), ("load", 120)]
    assert status == "interrupted"
