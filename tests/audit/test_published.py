"""`icm explain --run`: a published run explained without recomputing, inputs checked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.audit.explain import explain
from engine.audit.lineage import Lineage, build_lineage
from engine.audit.published import open_run, published_result
from engine.cli import app
from engine.errors import EngineError, Reason
from engine.pipeline import RunResult, write

from .conftest import RULES, SAMPLE, SYNTH_RULES

runner = CliRunner()


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from engine.pipeline import run

    out = tmp_path_factory.mktemp("published")
    write(run(SAMPLE, RULES), out)
    return out


def test_every_sample_payout_reads_back_the_same(
    sample_run: RunResult, sample_lineage: Lineage, published: Path
) -> None:
    found = open_run(published)
    assert found.run_id == sample_run.run_id
    people = sorted(set(sample_run.calc.payouts["participant_id"].to_list()))
    for pid in people:
        result = published_result(found, SAMPLE, RULES, [pid])
        assert set(result.calc.payouts["participant_id"].to_list()) == {pid}
        lin = build_lineage(result, [pid])
        assert lin.unreconciled.height == 0
        for period in sample_run.periods:
            want = explain(sample_lineage.select(pid, period), pid, period).to_dict()
            got = explain(lin.select(pid, period), pid, period).to_dict()
            assert got == want, (pid, period)


def test_a_managers_rollup_lines_come_from_the_published_basis(
    sample_run: RunResult, published: Path
) -> None:
    result = published_result(open_run(published), SAMPLE, RULES, ["P001"])
    want = sample_run.credits.rollup_credits("P001")
    assert want.height > 0
    assert result.credits.rollup_credits("P001").equals(want)


def _explain(*extra: str) -> tuple[int, str]:
    args = ["explain", "P021", "--period", "2026-02", "--rules", str(RULES), "--format", "json"]
    got = runner.invoke(app, [*args, *extra])
    return got.exit_code, got.output


def test_the_command_on_a_published_run_prints_the_same_tree(published: Path) -> None:
    code, fresh = _explain("--data", str(SAMPLE))
    assert code == 0, fresh
    for where in (published, published / "current"):
        code, read = _explain("--data", str(SAMPLE), "--run", str(where))
        assert code == 0, read
        assert json.loads(read) == json.loads(fresh)


def test_a_changed_input_file_is_a_usage_error(published: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    tx = data / "transactions.csv"
    tx.write_text(tx.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    with pytest.raises(EngineError) as caught:
        published_result(open_run(published), data, RULES, ["P021"])
    assert caught.value.reason is Reason.USAGE
    assert "transactions.csv changed since run" in str(caught.value)
    assert "icm run" in (caught.value.findings[0].hint or "")
    code, out = _explain("--data", str(data), "--run", str(published))
    assert code == 2
    assert "changed since run" in out
    assert "Traceback" not in out


def test_other_rules_or_no_run_are_errors(published: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES.read_text(encoding="utf-8").replace("half_up", "half_even"))
    with pytest.raises(EngineError, match="not the one of run") as caught:
        published_result(open_run(published), SAMPLE, rules, ["P021"])
    assert caught.value.reason is Reason.USAGE
    with pytest.raises(EngineError) as missing:
        open_run(tmp_path)
    assert missing.value.reason is Reason.FILE_MISSING
    code, out = _explain("--data", str(SAMPLE), "--run", str(tmp_path))
    assert code != 0
    assert "no published run" in out
    assert "Traceback" not in out


def test_a_parquet_company_reads_only_the_credited_rows(
    synth_run: RunResult, tmp_path: Path
) -> None:
    import polars as pl

    data = synth_run.dataset.root
    assert data is not None
    assert (data / "transactions.parquet").is_file()
    write(synth_run, tmp_path)
    found = open_run(tmp_path)
    pays = synth_run.calc.payouts
    managers = pays.filter(pl.col("plan_id") == "MANAGER")["participant_id"].unique().sort()
    sellers = pays.filter(pl.col("plan_id") != "MANAGER")["participant_id"].unique().sort()
    full = synth_run.dataset.tables["transactions"]
    for pid in [*managers.head(2).to_list(), *sellers.head(2).to_list()]:
        result = published_result(found, data, SYNTH_RULES, [pid])
        tx = result.dataset.tables["transactions"]
        assert 0 < tx.height < full.height
        assert tx.equals(full.join(tx.select("transaction_id"), on="transaction_id", how="semi"))
        lin = build_lineage(synth_run, [pid])
        again = build_lineage(result, [pid])
        for period in synth_run.periods[::3]:
            want = explain(lin.select(pid, period), pid, period).to_dict()
            assert explain(again.select(pid, period), pid, period).to_dict() == want


def test_one_period_reads_only_the_credit_periods_it_needs(
    sample_run: RunResult, sample_lineage: Lineage, published: Path
) -> None:
    found = open_run(published)
    every = published_result(found, SAMPLE, RULES, ["P001"])
    for period in sample_run.periods:
        one = published_result(found, SAMPLE, RULES, ["P001"], periods=[period])
        rolled = one.credits.rollup_credits("P001")
        assert set(rolled["period"].to_list()) <= {period}
        assert rolled.height < every.credits.rollup_credits("P001").height
        lin = build_lineage(one, ["P001"]).select("P001", period)
        want = explain(sample_lineage.select("P001", period), "P001", period).to_dict()
        assert explain(lin, "P001", period).to_dict() == want
