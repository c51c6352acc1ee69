"""Every payout's explanation as rows: the batch derivation equals the trees and adds up."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.audit.derivation import NODE_SCHEMA, derivation, money_leaves, problems
from engine.audit.explain import explain
from engine.audit.lineage import Lineage, build_lineage
from engine.pipeline import RunResult, run

from .conftest import RULES, SAMPLE

_FLAT = {k: NODE_SCHEMA[k] for k in ("id", "parent", "value", "unit", "op")}


def _tree_rows(lin: Lineage, pid: str, period: str) -> pl.DataFrame:
    """One payout's tree (``explain``), flattened: the slow, node-by-node reference."""
    root = explain(lin.select(pid, period), pid, period)
    assert root.check() == [], (pid, period)
    return pl.DataFrame(root.flatten(), schema=_FLAT).sort("id")


def _batch_rows(rows: pl.DataFrame, pid: str, period: str) -> pl.DataFrame:
    mine = rows.filter((pl.col("participant_id") == pid) & (pl.col("period") == period))
    return mine.select(list(_FLAT)).sort("id")


def _assert_adds_up(result: RunResult, rows: pl.DataFrame) -> int:
    """Every level adds up, and every payout's money leaves add up to the payout table."""
    assert problems(rows).height == 0, problems(rows).head(10)
    pays = result.calc.payouts
    payable = pays.group_by("participant_id", "period").agg(pl.col("payable_cents").sum())
    leaves = (
        money_leaves(rows)
        .group_by("participant_id", "period")
        .agg(pl.col("value").sum().alias("leaves"), pl.len().alias("n"))
    )
    both = payable.join(leaves, on=["participant_id", "period"], how="left").with_columns(
        pl.col("leaves").fill_null(0)
    )
    assert both.filter(pl.col("leaves") != pl.col("payable_cents")).height == 0
    roots = rows.filter(pl.col("id") == "payable").select("participant_id", "period", "value")
    assert roots.height == payable.height
    assert (
        roots.join(payable, on=["participant_id", "period"])
        .filter(pl.col("value") != pl.col("payable_cents"))
        .height
        == 0
    )
    # every payout row is a line node with its payable (or an all-zero plan line, not shown)
    lines = rows.filter(pl.col("kind") == "line")
    keyed = pays.with_columns(
        pl.concat_str(
            pl.lit("payable/line:"), "plan_id", pl.lit("|"), "component", pl.lit("|"), "line"
        ).alias("id")
    ).join(
        lines.select("participant_id", "period", "id", "value"),
        on=["participant_id", "period", "id"],
        how="left",
    )
    missing = keyed.filter(pl.col("value").is_null())
    assert (missing["payable_cents"] == 0).all()
    assert (missing["line"] == "plan").all()
    assert keyed.filter(pl.col("value") != pl.col("payable_cents")).height == 0
    return int(payable.height)


def test_batch_rows_are_the_trees_of_every_sample_payout(
    sample_run: RunResult, sample_lineage: Lineage
) -> None:
    rows = derivation(sample_lineage)
    assert _assert_adds_up(sample_run, rows) == 35
    pairs = sample_run.calc.payouts.select("participant_id", "period").unique().rows()
    for pid, period in pairs:
        tree = _tree_rows(sample_lineage, pid, period)
        assert tree.height > 0
        assert tree.equals(_batch_rows(rows, pid, period)), (pid, period)
    assert set(rows["kind"].to_list()) >= {"payout", "line", "incentive", "exact", "measure",
                                           "credit", "adjustment", "quota"}  # fmt: skip


@pytest.mark.parametrize("point", ["line", "total"])
def test_batch_rows_at_every_rounding_point(tmp_path: Path, point: str) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        RULES.read_text(encoding="utf-8").replace(
            "rounding_point: component", f"rounding_point: {point}"
        )
    )
    result = run(SAMPLE, rules)
    lin = build_lineage(result)
    rows = derivation(lin)
    _assert_adds_up(result, rows)
    assert rows.filter(pl.col("op") == {"line": "lines", "total": "share"}[point]).height > 0
    for pid, period in result.calc.payouts.select("participant_id", "period").unique().rows():
        assert _tree_rows(lin, pid, period).equals(_batch_rows(rows, pid, period))


def test_batch_rows_of_a_synth_xs_company(synth_run: RunResult) -> None:
    lin = build_lineage(synth_run)
    rows = derivation(lin)
    assert _assert_adds_up(synth_run, rows) > 0
    pairs = synth_run.calc.payouts.select("participant_id", "period").unique().sort("*").rows()
    for pid, period in pairs[::7]:
        assert _tree_rows(lin, pid, period).equals(_batch_rows(rows, pid, period)), (pid, period)


def _corrupt(rows: pl.DataFrame, where: pl.Expr, delta: int) -> pl.DataFrame:
    target = rows.filter(where).head(1)
    assert target.height == 1
    hit = (pl.col("participant_id") == target["participant_id"][0]) & (
        pl.col("period") == target["period"][0]
    ) & (pl.col("id") == target["id"][0])  # fmt: skip
    return rows.with_columns(
        pl.when(hit).then(pl.col("value") + delta).otherwise(pl.col("value")).alias("value")
    )


@pytest.mark.parametrize(
    ("kind", "delta"),
    [("adjustment", 1), ("incentive", 1), ("exact", 600_000), ("credit", 1), ("line", -1)],
)
def test_problems_finds_a_level_that_does_not_add_up(
    sample_lineage: Lineage, kind: str, delta: int
) -> None:
    rows = derivation(sample_lineage)
    bad = _corrupt(rows, (pl.col("kind") == kind) & (pl.col("value") != 0), delta)
    assert problems(bad).height > 0


def test_problems_checks_share_and_lines_nodes(tmp_path: Path) -> None:
    for point, op in (("line", "lines"), ("total", "share")):
        rules = tmp_path / f"{point}.yaml"
        rules.write_text(
            RULES.read_text(encoding="utf-8").replace(
                "rounding_point: component", f"rounding_point: {point}"
            )
        )
        rows = derivation(build_lineage(run(SAMPLE, rules)))
        assert problems(_corrupt(rows, pl.col("op") == op, 1)).height > 0


def test_a_lineage_without_credit_lines_gives_measure_values(sample_run: RunResult) -> None:
    full = derivation(build_lineage(sample_run))
    light = derivation(build_lineage(sample_run, credit_lines=False))
    assert light.filter(pl.col("kind") == "credit").height == 0
    assert problems(light).height == 0
    same = full.filter(pl.col("kind") != "credit").drop("op")
    assert same.equals(light.drop("op"))
    assert set(light.filter(pl.col("kind") == "measure")["op"].to_list()) <= {"leaf", "ratio"}
