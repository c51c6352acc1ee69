"""`icm run`, `icm demo` and `icm test`: exit codes, published results, no tracebacks."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from engine import publish
from engine.cli import app
from engine.pipeline import run, write

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
RULES = ROOT / "rules" / "sample.yaml"

runner = CliRunner()


def test_run_publishes_results_and_a_manifest(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["run", str(SAMPLE), "--rules", str(RULES), "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    current = tmp_path / "out" / "current"
    assert current.is_symlink()
    manifest = json.loads((current / "manifest.json").read_text())
    assert manifest["ruleset"]["name"] == "sample-company-fy2026"
    assert set(manifest["inputs"]) >= {"transactions.csv", "participants.csv"}
    payouts = pl.read_parquet(current / "payouts.parquet")
    assert payouts.height > 0
    assert manifest["rows"]["payouts"] == payouts.height
    assert set(manifest["libraries"]) >= {"python", "polars", "numba", "duckdb"}
    for name, sha in manifest["outputs"].items():
        assert hashlib.sha256((current / name).read_bytes()).hexdigest() == sha
    assert "Total payable:" in result.stdout


def test_demo_runs_the_sample_company(tmp_path: Path) -> None:
    args = ["demo", str(SAMPLE), "--rules", str(RULES), "--out", str(tmp_path / "o")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Payable by participant and period" in result.stdout
    assert "Total payable: 34726.62 USD" in result.stdout
    assert "Logged" not in result.output  # the demo is not logged
    assert not (tmp_path / "o" / "ops.duckdb").exists()


def test_same_inputs_give_byte_identical_outputs(tmp_path: Path) -> None:
    first = write(run(SAMPLE, RULES), tmp_path / "a")
    second = write(run(SAMPLE, RULES), tmp_path / "b")
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_a_failed_publish_leaves_the_previous_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run(SAMPLE, RULES)
    out = tmp_path / "out"
    write(result, out)
    before = {p.name: p.read_bytes() for p in (out / "current").iterdir()}

    def crash(frame: pl.DataFrame, path: Path) -> str:
        raise KeyboardInterrupt  # a process interrupted in the middle of writing

    monkeypatch.setattr(publish, "write_parquet", crash)
    result.run_id = "another-run"
    with pytest.raises(KeyboardInterrupt):
        write(result, out)
    after = {p.name: p.read_bytes() for p in (out / "current").iterdir()}
    assert after == before
    leftovers = [p.name for p in (out / "runs").iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_a_published_run_is_never_rewritten(tmp_path: Path) -> None:
    result = run(SAMPLE, RULES)
    out = tmp_path / "out"
    first = write(result, out)
    stamp = (first / "payouts.parquet").stat().st_mtime_ns
    assert write(result, out) == first  # the same bytes again: the directory is reused
    assert (first / "payouts.parquet").stat().st_mtime_ns == stamp
    other = run(SAMPLE, RULES, periods=["2026-01"])
    other.run_id = result.run_id  # another content under the same id goes beside it
    second = write(other, out)
    assert second.name == f"{result.run_id}-2"
    assert (out / "current").resolve() == second
    assert pl.read_parquet(first / "payouts.parquet")["period"].n_unique() == 3


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["run", "no/such/dir", "--rules", str(RULES)], 2),
        (["run", str(SAMPLE), "--rules", "no/such/rules.yaml"], 2),
        (["test", "no/such/case.yaml"], 2),
    ],
)
def test_user_mistakes_exit_2_without_a_traceback(args: list[str], code: int) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert "error:" in result.output


def test_a_malformed_rule_set_names_its_line(tmp_path: Path) -> None:
    rules = tmp_path / "r.yaml"
    rules.write_text(RULES.read_text().replace("source: territory", "source: territry"))
    result = runner.invoke(app, ["run", str(SAMPLE), "--rules", str(rules)])
    assert result.exit_code == 2, result.output
    assert "RULE_BAD_VALUE" in result.output
    assert f"{rules}:" in result.output


def test_golden_cases_run_from_the_cli() -> None:
    cases = ROOT / "tests" / "golden" / "plans"
    result = runner.invoke(app, ["test", str(cases)])
    assert result.exit_code == 0, result.output
    assert " 0 failed" in result.output


def test_internal_errors_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.pipeline

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(engine.pipeline, "calculate", boom)
    monkeypatch.delenv("ICM_DEBUG", raising=False)
    result = runner.invoke(app, ["run", str(SAMPLE), "--rules", str(RULES)])
    assert result.exit_code == 3
    assert "internal error" in result.output
    assert "Traceback" not in result.output
    assert os.environ.get("ICM_DEBUG") is None
