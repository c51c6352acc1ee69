"""`icm explain`: every payout's derivation adds up, level by level, to the cent."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from engine.audit.explain import Node, explain
from engine.audit.lineage import Lineage, build_lineage
from engine.cli import app
from engine.pipeline import RunResult, run

from .conftest import RULES, SAMPLE

runner = CliRunner()


def _check_all(result: RunResult, lin: Lineage) -> int:
    totals = result.calc.payouts.group_by("participant_id", "period").agg(
        pl.col("payable_cents").sum()
    )
    for pid, period, payable in totals.iter_rows():
        root = explain(lin.select(pid, period), pid, period)
        assert root.check() == [], (pid, period)
        leaves = root.money_leaves()
        assert all(isinstance(leaf.value, int) for leaf in leaves)
        assert sum(int(leaf.value or 0) for leaf in leaves) == payable == root.value
    return totals.height


def test_every_sample_payout_adds_up(sample_run: RunResult, sample_lineage: Lineage) -> None:
    assert _check_all(sample_run, sample_lineage) == 35  # P023 is hired in February


def test_every_synth_payout_adds_up(synth_run: RunResult) -> None:
    assert _check_all(synth_run, build_lineage(synth_run)) > 0


def test_check_finds_a_level_that_does_not_add_up() -> None:
    bad = Node("x", 6, "cents", "sum", "", [Node("a", 2), Node("b", 3)])
    assert bad.check() != []
    rounded = Node("r", 3, "cents", "round", "", [Node("e", 2_500_000, "e8")])
    assert rounded.check() == []
    assert Node("r", 1, "cents", "round", "", [Node("e", 2_500_000, "e8")]).check() != []


def test_explain_text_shows_the_arithmetic() -> None:
    args = ["explain", "P021", "--period", "2026-02", "--data", str(SAMPLE), "--rules", str(RULES)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "payable 4,240.00 = earned 4,440.00 + adjustments -200.00" in out
    assert "revenue 55,500.00 = T1014 40,000.00 + T1015 10,000.00 + T1016 5,500.00" in out
    assert "40% of 25,000.01" in out
    assert "revenue_att = 55,500.00 / quota 40,000.00 = 138.75%" in out
    assert "revenue 55,500.00 x 8%" in out
    assert "return T1020 -4,000.00 of T1003 12,000.00 (2026-01, earned 600.00000000)" in out


def test_explain_json_is_the_same_tree(sample_lineage: Lineage) -> None:
    args = [
        "explain", "P010", "--period", "2026-03", "--component", "team-override",
        "--data", str(SAMPLE), "--rules", str(RULES), "--format", "json",
    ]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    tree = json.loads(result.output)
    expected = explain(sample_lineage.select("P010", "2026-03", "team-override"), "P010",
                       "2026-03", "Bruno Diaz")  # fmt: skip
    assert tree["value"] == expected.value == 69500
    assert tree["children"][0]["children"][0]["op"] == "sum"
    assert tree["data"]["ruleset"]["content_hash"] == sample_lineage.ruleset_hash


def test_explain_unknown_participant_is_a_usage_error() -> None:
    args = ["explain", "NOPE", "--period", "2026-02", "--data", str(SAMPLE), "--rules", str(RULES)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_explain_unknown_component_or_period_is_a_usage_error() -> None:
    base = ["explain", "P021", "--data", str(SAMPLE), "--rules", str(RULES)]
    result = runner.invoke(app, [*base, "--period", "2026-02", "--component", "nope"])
    assert result.exit_code == 2
    result = runner.invoke(app, [*base, "--period", "2027-01"])
    assert result.exit_code == 2


def test_explain_a_period_without_payout() -> None:
    # P023 is hired on 2026-02-16: nothing in January
    args = ["explain", "P023", "--period", "2026-01", "--data", str(SAMPLE), "--rules", str(RULES)]
    result = runner.invoke(app, [*args, "--format", "json"])
    assert result.exit_code == 0, result.output
    tree = json.loads(result.output)
    assert (tree["value"], tree["children"]) == (0, [])


@pytest.mark.parametrize("point", ["line", "total"])
def test_every_payout_adds_up_at_every_rounding_point(tmp_path: Path, point: str) -> None:
    rules = tmp_path / "rules.yaml"
    text = RULES.read_text(encoding="utf-8")
    assert "rounding_point: component" in text
    rules.write_text(text.replace("rounding_point: component", f"rounding_point: {point}"))
    result = run(SAMPLE, rules)
    lin = build_lineage(result)
    assert set(lin["incentives"]["rounding_point"].to_list()) == {point}
    assert _check_all(result, lin) == 35


@pytest.mark.parametrize("seed", [7, 23])
def test_small_synth_companies_add_up(tmp_path: Path, seed: int) -> None:
    from engine.synth import synthesize

    from .conftest import SYNTH_RULES

    synthesize(tmp_path, "XS", seed=seed, transactions=1500, participants=40, fmt="csv")
    result = run(tmp_path, SYNTH_RULES)
    lin = build_lineage(result)
    assert lin.unreconciled.height == 0
    assert _check_all(result, lin) > 0
