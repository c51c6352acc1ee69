"""`icm run-logged`, `icm runs`: every step recorded, failures logged without a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import engine.pipeline
from engine.cli import app
from engine.ops.db import connect, query

from .conftest import RULES

runner = CliRunner()


def _run_logged(data_dir: Path, out: Path, *extra: str, rules: Path = RULES) -> tuple[int, str]:
    args = ["run-logged", str(data_dir), "--rules", str(rules), "--out", str(out), *extra]
    result = runner.invoke(app, args)
    return result.exit_code, result.output


def test_run_is_logged_with_every_step_and_listed(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "out"
    code, output = _run_logged(data_dir, out, "--log-format", "json")
    assert code == 0, output
    events = [json.loads(line) for line in output.splitlines()]
    assert [e["event"] for e in events] == ["step"] * (len(events) - 1) + ["run"]
    names = [e["step"] for e in events[:-1]]
    assert names[:3] == ["rules", "load", "credit"]
    assert "calculate" in names
    assert names[-1] == "publish"
    assert all(e["status"] == "ok" for e in events[:-1])
    summary = events[-1]
    assert summary["status"] == "ok"
    assert summary["exit_code"] == 0
    assert (out / "runs" / summary["fingerprint"] / "manifest.json").exists()

    con = connect(out / "ops.duckdb")
    run = query(con, "SELECT * FROM runs").row(0, named=True)
    steps = query(con, "SELECT * FROM steps ORDER BY seq")
    con.close()
    assert run["run_id"] == summary["run_id"]
    assert run["status"] == "ok"
    assert run["rules_name"] == "sample-company-fy2026"
    assert len(run["rules_hash"]) == 64
    assert run["data_dir"] == str(data_dir)
    load = steps.filter(step="load").row(0, named=True)
    assert load["rows_out"] == 120
    assert steps["step"].to_list() == names
    assert set(steps["status"].to_list()) == {"ok"}

    listed = runner.invoke(app, ["runs", "--out", str(out)])
    assert listed.exit_code == 0
    assert summary["run_id"] in listed.output
    shown = runner.invoke(app, ["runs", "show", summary["run_id"][:20], "--out", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "calculate" in shown.output
    assert "publish" in shown.output


def test_bad_rules_fail_the_rules_step_without_a_traceback(tmp_path: Path, data_dir: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nname: [unclosed\n")
    out = tmp_path / "out"
    code, output = _run_logged(data_dir, out, rules=bad)
    assert code == 2, output
    assert "Traceback" not in output
    assert "step rules failed" in output
    con = connect(out / "ops.duckdb")
    run = query(con, "SELECT status, error FROM runs").row(0, named=True)
    steps = query(con, "SELECT step, status, error FROM steps ORDER BY seq")
    con.close()
    assert run["status"] == "failed"
    assert "RULE_YAML_SYNTAX" in run["error"]
    assert steps.rows()[0][:2] == ("rules", "failed")


def test_internal_failure_in_a_later_step_is_logged(
    tmp_path: Path, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object, **__: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(engine.pipeline, "credit", broken)
    monkeypatch.delenv("ICM_DEBUG", raising=False)
    out = tmp_path / "out"
    code, output = _run_logged(data_dir, out, "--log-format", "json")
    assert code == 3, output
    assert "Traceback" not in output
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    steps = [(e["step"], e["status"]) for e in events if e["event"] == "step"]
    assert steps == [("rules", "ok"), ("load", "ok"), ("credit", "failed")]
    failed = events[2]
    assert failed["error"] == "RuntimeError: disk on fire"
    assert failed["rows_in"] == 30
    assert events[-1]["status"] == "failed"
    assert not (out / "current").exists()


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
