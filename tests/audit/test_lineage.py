"""Lineage frames: every level keyed to its parent, every measure reconciled to its credits."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import polars as pl

from engine.audit.lineage import LEVELS, Lineage, build_lineage
from engine.pipeline import RunResult


def test_every_level_is_present_and_keyed(sample_lineage: Lineage) -> None:
    assert set(sample_lineage.frames) == set(LEVELS)
    for level in LEVELS[:-1]:
        frame = sample_lineage[level]
        assert {"participant_id", "period"} <= set(frame.columns), level
    assert "transaction_id" in sample_lineage["transactions"].columns


def test_measures_reconcile_to_their_credit_lines(sample_lineage: Lineage) -> None:
    assert sample_lineage.unreconciled.height == 0


def test_identity_is_the_run_manifest(sample_run: RunResult, sample_lineage: Lineage) -> None:
    man = sample_lineage.manifest()
    assert man["run_id"] == sample_run.run_id
    assert man["ruleset"] == sample_run.manifest()["ruleset"]
    assert man["inputs"] == sample_run.manifest()["inputs"]


def test_split_credit_keeps_share_rule_and_routing_row(sample_lineage: Lineage) -> None:
    credits = sample_lineage.select("P021", "2026-02")["credits"]
    row = credits.filter(pl.col("transaction_id") == "T1015").to_dicts()
    assert len(row) == 1
    r = row[0]
    assert (r["rule"], r["share_ppm"], r["amount_cents"]) == ("split-deal", 400_000, 1_000_000)
    assert (r["route_table"], r["route_line"]) == ("transaction_sellers", 3)


def test_rollup_credits_carry_level_and_direct_seller(sample_lineage: Lineage) -> None:
    # P014 moved from P010 to P020 on 03-01: T1023 rolls up to P020 (hierarchy line 9)
    credits = sample_lineage.select("P020", "2026-03")["credits"]
    row = credits.filter(pl.col("transaction_id") == "T1023").to_dicts()[0]
    assert (row["level"], row["direct_participant_id"]) == (1, "P014")
    assert (row["route_table"], row["route_line"]) == ("hierarchy", 9)
    top = sample_lineage.select("P001", "2026-03")["credits"]
    levels = top.filter(pl.col("transaction_id") == "T1023")["level"].to_list()
    assert levels == [2]


def test_queryable_with_duckdb(sample_lineage: Lineage) -> None:
    payouts = sample_lineage["payouts"]
    incentives = sample_lineage["incentives"]  # noqa: F841  (read by DuckDB by name)
    got = duckdb.sql(
        "select sum(i.rated_cents) from payouts p join incentives i using "
        "(participant_id, period, plan_id, component) where p.participant_id = 'P021'"
    ).fetchall()
    assert got[0][0] == payouts.filter(pl.col("participant_id") == "P021")["earned_cents"].sum()


def test_one_participant_lineage_equals_the_full_one(
    sample_run: RunResult, sample_lineage: Lineage
) -> None:
    one = build_lineage(sample_run, ["P001"]).select("P001", "2026-02")
    full = sample_lineage.select("P001", "2026-02")
    for level in LEVELS:
        assert one[level].equals(full[level]), level


def test_synth_measures_reconcile(synth_run: RunResult) -> None:
    assert build_lineage(synth_run).unreconciled.height == 0


def test_materialised_and_aggregated_rollups_give_the_same_lineage(
    sample_run: RunResult, sample_lineage: Lineage
) -> None:
    from dataclasses import replace

    from engine.crediting import credit

    # the pipeline credits with aggregated roll-ups (derived on demand); materialise them here
    assert not sample_run.credits.rollups_materialised
    materialised = credit(sample_run.dataset, sample_run.ruleset, rollups="materialise")
    assert materialised.rollups_materialised
    other = replace(sample_run, credits=materialised)
    for who in (None, ["P001", "P020"]):
        lin = build_lineage(other, who)
        assert lin.unreconciled.height == 0
        for pid in ("P001", "P020"):
            got = lin.select(pid, "2026-03")
            want = sample_lineage.select(pid, "2026-03")
            for level in LEVELS:
                assert got[level].equals(want[level]), (who, pid, level)


def test_clawback_names_the_return_and_the_original_deal(sample_lineage: Lineage) -> None:
    claws = sample_lineage.select("P021", "2026-02")["clawbacks"].to_dicts()
    assert len(claws) == 1
    c = claws[0]
    assert (c["transaction_id"], c["original_transaction_id"]) == ("T1020", "T1003")
    assert (c["return_cents"], c["original_cents"]) == (-400_000, 1_200_000)
    assert (c["original_period"], c["original_line_e8"]) == ("2026-01", 600 * 10**8)
    # the reversal: 4,000 / 12,000 x 600.00 x 100% = 200.00, the adjustment
    adj = sample_lineage.select("P021", "2026-02")["adjustments"].to_dicts()[0]
    assert adj["amount_cents"] * c["original_cents"] * 10**6 == (
        c["return_cents"] * c["original_line_e8"]
    )
    assert adj["rule"].startswith("clawback: a return within 90 days")


def test_incentives_carry_rate_type_and_target(sample_lineage: Lineage) -> None:
    inc = sample_lineage.select("P021", "2026-02")["incentives"].to_dicts()[0]
    assert (inc["rate_type"], inc["target_incentive_cents"]) == ("percent", 300_000)
    assert inc["rounding_e8"] == 0


def test_icm_lineage_writes_every_level(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from engine.cli import app

    from .conftest import RULES, SAMPLE

    args = ["lineage", "--data", str(SAMPLE), "--rules", str(RULES), "--out", str(tmp_path)]
    result = CliRunner().invoke(app, [*args, "--participant", "P021", "--period", "2026-02"])
    assert result.exit_code == 0, result.output
    assert sorted(p.stem for p in tmp_path.glob("*.parquet")) == sorted(LEVELS)
    meta = json.loads((tmp_path / "lineage.json").read_text())
    assert meta["levels"] == list(LEVELS)
    got = duckdb.sql(
        f"select c.transaction_id, c.route_table, c.route_line, t.source_line "
        f"from '{tmp_path / 'credits.parquet'}' c "
        f"join '{tmp_path / 'transactions.parquet'}' t using (transaction_id) order by 1"
    ).fetchall()
    assert got == [
        ("T1014", "territory_owners", 5, 15),
        ("T1015", "transaction_sellers", 3, 16),
        ("T1016", "territory_owners", 8, 17),
    ]
    csv = tmp_path / "csv"
    result = CliRunner().invoke(app, [*args[:-1], str(csv), "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert (csv / "payouts.csv").exists()
