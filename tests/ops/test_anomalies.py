"""Anomaly flags: a slow step and a volume drop are flagged; normal variation is not."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import engine.pipeline
from engine.cli import app
from engine.ops.anomalies import outlier
from engine.ops.db import connect, query
from engine.ops.runlog import record_run
from engine.pipeline import Step

from .conftest import RULES

runner = CliRunner()
T0 = datetime(2026, 1, 1, 6, 0)


def _steps(load_s: float, calc_s: float, rows: int) -> list[Step]:
    return [
        Step("load", "2026-01-01T06:00:00.000+00:00", load_s, 0, rows),
        Step("calculate", "2026-01-01T06:00:01.000+00:00", calc_s, rows, rows // 2),
    ]


def _record(db: Path, day: int, steps: list[Step]) -> list[str]:
    started = T0 + timedelta(days=day)
    logged = record_run(db, steps, started=started, finished=started + timedelta(seconds=5))
    return [f"{f.step}.{f.metric}.{f.direction}" for f in logged.flags]


def _history(db: Path) -> None:
    # a week of ordinary nightly runs: a little jitter in time and volume
    for day, (load_s, calc_s, rows) in enumerate(
        [(1.0, 10.0, 10_000), (1.1, 10.5, 10_050), (0.95, 9.8, 9_980), (1.02, 10.2, 10_010),
         (1.05, 9.9, 10_100), (0.98, 10.4, 9_950), (1.0, 10.1, 10_020)]
    ):  # fmt: skip
        assert _record(db, day, _steps(load_s, calc_s, rows)) == []


def test_slow_step_and_volume_drop_are_flagged(tmp_path: Path) -> None:
    db = tmp_path / "ops.duckdb"
    _history(db)
    flags = _record(db, 10, _steps(1.03, 60.0, 4_000))
    assert set(flags) == {
        "calculate.seconds.high",
        "load.rows_out.low",
        "calculate.rows_in.low",
        "calculate.rows_out.low",
    }
    con = connect(db)
    stored = query(con, "SELECT step, metric, direction, history FROM flags")
    con.close()
    assert stored.height == 4
    assert set(stored["history"].to_list()) == {7}


def test_normal_variation_is_not_flagged(tmp_path: Path) -> None:
    db = tmp_path / "ops.duckdb"
    _history(db)
    assert _record(db, 10, _steps(1.08, 10.6, 10_080)) == []
    assert _record(db, 11, _steps(0.92, 9.5, 9_900)) == []


def test_no_flag_before_five_runs_of_history(tmp_path: Path) -> None:
    db = tmp_path / "ops.duckdb"
    for day in range(4):
        _record(db, day, _steps(1.0, 10.0, 10_000))
    assert _record(db, 5, _steps(1.0, 100.0, 10)) == []


def test_failed_runs_do_not_count_as_history(tmp_path: Path) -> None:
    db = tmp_path / "ops.duckdb"
    _history(db)
    for day in range(10, 20):  # failed runs with a tiny volume
        started = T0 + timedelta(days=day)
        record_run(db, _steps(0.1, 0.1, 10), started=started, finished=started, error="x")
    assert "load.rows_out.low" in _record(db, 30, _steps(1.0, 10.0, 10))


def test_flags_are_shown_by_runs_show(tmp_path: Path) -> None:
    db = tmp_path / "ops.duckdb"
    _history(db)
    started = T0 + timedelta(days=10)
    logged = record_run(db, _steps(9, 10, 10_000), started=started, finished=started)
    shown = runner.invoke(app, ["runs", "show", logged.run_id, "--db", str(db)])
    assert shown.exit_code == 0, shown.output
    assert "warning: unusual load: seconds 9 is far above" in shown.output


def test_mad_floor_keeps_identical_history_from_flagging_noise() -> None:
    history = [2.0] * 10  # MAD is 0: without a floor, any change would be an outlier
    assert outlier("seconds", 2.4, history) is None
    assert outlier("rows_out", 10_100, [10_000.0] * 10) is None
    flag = outlier("rows_out", 8_000, [10_000.0] * 10)
    assert flag is not None
    assert flag.direction == "low"


def test_a_real_run_with_an_injected_slow_step_and_volume_drop_is_flagged(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Five ordinary runs of the sample company, then one with a calculation slowed by 5 s on
    half the transactions: both are flagged, stored, and shown as warnings."""
    out = tmp_path / "out"
    args = ["run", str(data_dir), "--rules", str(RULES), "--out", str(out)]
    for _ in range(5):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "warning" not in result.stderr  # too little history to flag anything

    tx = data_dir / "transactions.csv"
    header, *rows = tx.read_text().splitlines()
    tx.write_text("\n".join([header, *rows[: len(rows) // 2]]) + "\n")  # the volume drop
    real = engine.pipeline.calculate

    def slow(*args: object, **kwargs: object) -> object:
        time.sleep(5.0)  # the usual calculation takes about a second at most here
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(engine.pipeline, "calculate", slow)
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    assert "warning: unusual calculate: seconds" in result.stderr
    assert "warning: unusual load: rows_out 105 is far below its usual 120" in result.stderr

    con = connect(out / "ops.duckdb")
    run_id = query(con, "SELECT run_id FROM runs ORDER BY started DESC LIMIT 1").item()
    stored = query(con, "SELECT step, metric, direction FROM flags WHERE run_id = ?", [run_id])
    con.close()
    flags = set(stored.rows())
    assert ("calculate", "seconds", "high") in flags
    assert ("load", "rows_out", "low") in flags
    assert ("credit", "rows_in", "low") in flags  # 30 transactions -> 15
    shown = runner.invoke(app, ["runs", "show", run_id, "--out", str(out)])
    assert shown.exit_code == 0
    assert "warning: unusual calculate: seconds" in shown.output
