"""`icm run` writes the run log: every step as it happens, failures with their step and error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import engine.pipeline
from engine.cli import app
from engine.ops.db import connect, query
from engine.ops.runlog import RunLog, run_logged
from engine.pipeline import Step, run

from .conftest import RULES

runner = CliRunner()


def _run(data_dir: Path, out: Path, *extra: str, rules: Path = RULES) -> tuple[int, str, str]:
    args = ["run", str(data_dir), "--rules", str(rules), "--out", str(out), *extra]
    result = runner.invoke(app, args)
    return result.exit_code, result.stdout, result.stderr


def _events(stderr: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stderr.splitlines()]


def test_run_is_logged_with_every_step_and_listed(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = _run(data_dir, out)
    assert code == 0, stdout + stderr
    assert "Total payable: 34726.62 USD" in stdout
    con = connect(out / "ops.duckdb")
    row = query(con, "SELECT * FROM runs").row(0, named=True)
    steps = query(con, "SELECT * FROM steps ORDER BY seq")
    con.close()
    assert f"Logged as run {row['run_id']} (ok" in stdout
    assert row["status"] == "ok"
    assert row["rules_name"] == "sample-company-fy2026"
    assert len(row["rules_hash"]) == 64
    assert row["data_dir"] == str(data_dir)
    assert (out / "runs" / row["fingerprint"] / "manifest.json").exists()
    names = ["rules", "load", "credit", "rollup_totals", "calculate", "publish"]
    assert steps["step"].to_list() == names
    assert set(steps["status"].to_list()) == {"ok"}
    assert steps.filter(step="load")["rows_out"].item() == 120
    assert steps.filter(step="credit")["rows_in"].item() == 30

    listed = runner.invoke(app, ["runs", "--out", str(out)])
    assert listed.exit_code == 0
    assert row["run_id"] in listed.output
    shown = runner.invoke(app, ["runs", "show", row["run_id"][:20], "--out", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "calculate" in shown.output
    assert "publish" in shown.output


def test_json_log_has_one_object_per_step_event_on_stderr(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "out"
    code, stdout, stderr = _run(data_dir, out, "--log-format", "json")
    assert code == 0, stdout + stderr
    assert "Total payable" in stdout  # standard output keeps the report
    events = _events(stderr)  # every line of standard error is one JSON object
    names = ["rules", "load", "credit", "rollup_totals", "calculate", "publish"]
    steps = [e for e in events if e["event"] in ("start", "end")]
    assert [(e["step"], e["event"]) for e in steps] == [
        (name, event) for name in names for event in ("start", "end")
    ]
    run_id = events[-1]["run_id"]
    assert {e["run_id"] for e in events} == {run_id}
    for e in steps:
        assert set(e) >= {"run_id", "step", "event", "elapsed", "rows_in", "rows_out", "status"}
        assert isinstance(e["elapsed"], float)
        assert e["elapsed"] >= 0
        if e["event"] == "start":
            assert (e["status"], e["elapsed"], e["rows_out"]) == ("running", 0.0, 0)
        else:
            assert e["status"] == "ok"
            assert e["error"] is None
    load_end = next(e for e in steps if e["step"] == "load" and e["event"] == "end")
    assert load_end["rows_out"] == 120
    summary = events[-1]
    assert summary["event"] == "run"
    assert (summary["status"], summary["exit_code"], summary["steps"]) == ("ok", 0, 6)
    con = connect(out / "ops.duckdb")
    logged = query(con, "SELECT step, rows_out FROM steps ORDER BY seq").rows()
    assert query(con, "SELECT run_id FROM runs").item() == run_id
    con.close()
    assert logged == [(e["step"], e["rows_out"]) for e in steps if e["event"] == "end"]


def test_run_logged_is_an_alias_of_run(tmp_path: Path, data_dir: Path) -> None:
    args = ["run-logged", str(data_dir), "--rules", str(RULES), "--out", str(tmp_path / "o")]
    result = runner.invoke(app, [*args, "--db", str(tmp_path / "log.duckdb")])
    assert result.exit_code == 0, result.output
    assert "Total payable: 34726.62 USD" in result.stdout
    con = connect(tmp_path / "log.duckdb")
    assert query(con, "SELECT count(*) FROM steps").item() == 6
    con.close()
    assert not (tmp_path / "o" / "ops.duckdb").exists()


def test_run_without_out_is_not_logged_unless_asked(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ICM_RUNLOG", raising=False)
    result = runner.invoke(app, ["run", str(data_dir), "--rules", str(RULES)])
    assert result.exit_code == 0, result.output
    assert "Logged as run" not in result.stdout
    assert not list(tmp_path.rglob("*.duckdb"))
    monkeypatch.setenv("ICM_RUNLOG", str(tmp_path / "env.duckdb"))
    result = runner.invoke(app, ["run", str(data_dir), "--rules", str(RULES)])
    assert result.exit_code == 0, result.output
    con = connect(tmp_path / "env.duckdb")
    steps = query(con, "SELECT step FROM steps ORDER BY seq")["step"].to_list()
    con.close()
    assert steps == ["rules", "load", "credit", "rollup_totals", "calculate"]  # no publish


def test_bad_rules_fail_the_rules_step_without_a_traceback(tmp_path: Path, data_dir: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nname: [unclosed\n")
    out = tmp_path / "out"
    code, stdout, stderr = _run(data_dir, out, rules=bad)
    assert code == 2, stdout + stderr
    assert "Traceback" not in stdout + stderr
    assert "error: step rules failed" in stderr
    con = connect(out / "ops.duckdb")
    row = query(con, "SELECT status, error FROM runs").row(0, named=True)
    steps = query(con, "SELECT step, status, error FROM steps ORDER BY seq")
    con.close()
    assert row["status"] == "failed"
    assert "RULE_YAML_SYNTAX" in row["error"]
    assert steps.rows()[0][:2] == ("rules", "failed")
    assert "RULE_YAML_SYNTAX" in steps.rows()[0][2]


def test_internal_failure_in_a_later_step_is_logged(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(engine.pipeline, "credit", broken)
    monkeypatch.delenv("ICM_DEBUG", raising=False)
    out = tmp_path / "out"
    code, stdout, stderr = _run(data_dir, out, "--log-format", "json")
    assert code == 3, stdout + stderr
    assert "Traceback" not in stdout + stderr
    events = _events(stderr)
    ends = [(e["step"], e["status"]) for e in events if e["event"] == "end"]
    assert ends == [("rules", "ok"), ("load", "ok"), ("credit", "failed")]
    failed = next(e for e in events if e["event"] == "end" and e["status"] == "failed")
    assert failed["error"] == "RuntimeError: disk on fire"
    assert failed["rows_in"] == 30
    assert events[-1]["event"] == "run"
    assert (events[-1]["status"], events[-1]["exit_code"]) == ("failed", 3)
    assert not (out / "current").exists()
    con = connect(out / "ops.duckdb")
    logged = query(con, "SELECT step, status, error FROM steps ORDER BY seq").rows()
    con.close()
    assert logged[-1] == ("credit", "failed", "RuntimeError: disk on fire")


def test_the_hook_hears_each_step_start_and_end_including_the_failure(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    heard: list[tuple[str, str]] = []
    run(data_dir, RULES, on_step=lambda s: heard.append((s.name, s.status)))
    assert heard == [
        (name, status)
        for name in ("rules", "load", "credit", "rollup_totals", "calculate")
        for status in ("started", "ok")
    ]

    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(engine.pipeline, "calculate", broken)
    seen: list[Step] = []
    with pytest.raises(RuntimeError):
        run(data_dir, RULES, on_step=seen.append)
    assert (seen[-1].name, seen[-1].status, seen[-1].error) == (
        "calculate",
        "failed",
        "RuntimeError: boom",
    )


def test_steps_are_in_the_log_while_the_run_goes(tmp_path: Path, data_dir: Path) -> None:
    db = tmp_path / "ops.duckdb"
    seen: list[tuple[str, list[str]]] = []

    def peek(step: Step) -> None:  # another process could read the log at this moment
        if step.status == "started":
            con = connect(db)
            status = query(con, "SELECT status FROM runs").item()
            done = query(con, "SELECT step FROM steps ORDER BY seq")["step"].to_list()
            con.close()
            seen.append((status, done))

    logged = run_logged(data_dir, RULES, db, on_step=peek)
    assert logged.status == "ok"
    assert seen[0] == ("running", [])
    assert seen[-1] == ("running", ["rules", "load", "credit", "rollup_totals"])


def test_a_run_whose_process_is_gone_is_marked_interrupted(tmp_path: Path) -> None:
    from datetime import datetime

    db = tmp_path / "ops.duckdb"
    RunLog(db, "old", datetime(2026, 1, 1)).start()
    con = connect(db)
    con.execute("UPDATE runs SET pid = 2147483646")  # no such process
    con.close()
    RunLog(db, "new", datetime(2026, 1, 2)).start()
    con = connect(db)
    rows = query(con, "SELECT run_id, status, error FROM runs ORDER BY run_id").rows()
    con.close()
    assert rows[0][0] == "new"
    assert rows[0][1] == "running"  # its process is this one, alive
    assert rows[1][:2] == ("old", "interrupted")
    assert "killed" in rows[1][2]


def test_show_unknown_run_is_a_usage_error(tmp_path: Path) -> None:
    db = tmp_path / "ops.duckdb"
    result = runner.invoke(app, ["runs", "show", "nope", "--db", str(db)])
    assert result.exit_code == 2
    assert "FILE_MISSING" in result.output
    listed = runner.invoke(app, ["runs", "--db", str(db)])
    assert listed.exit_code == 0
    assert "no runs logged yet" in listed.output
    assert not db.exists()  # reading never creates a database
    connect(db).close()
    result = runner.invoke(app, ["runs", "show", "nope", "--db", str(db)])
    assert result.exit_code == 2
    assert "USAGE" in result.output
