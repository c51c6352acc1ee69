"""`icm sweep`: each point equals a standalone run of its variant, to the cent; bad paths."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.errors import EngineError
from engine.money import format_cents
from engine.pipeline import RunResult, run
from engine.whatif.params import dump_rules
from engine.whatif.shared import Workbench
from engine.whatif.sweep import scaled_quotas, sweep, sweep_chart, variants
from tests.whatif.conftest import RULES, SAMPLE

RATE = "rate_tables.ae-commission.tiers[1].rate"
CAP = "plans.AE.components.commission.cap.multiple_of_target"
SPIF = "plans.SDR.spifs.meeting-held.amount"
OVERRIDE = "rate_tables.manager-override.tiers[1].rate"


def _total(result: RunResult) -> int:
    return int(result.calc.payouts["payable_cents"].sum())


def _scaled_data(tmp_path: Path, bench: Workbench, ppm: int, number: int) -> Path:
    """The sample data with quotas.csv rewritten at the scaled quotas."""
    from engine.rules import load_ruleset

    if ppm == 1_000_000:
        return SAMPLE
    target = tmp_path / f"data{number}"
    shutil.copytree(SAMPLE, target)
    quotas = scaled_quotas(bench.dataset, ppm, load_ruleset(RULES)).tables["quotas"]
    quotas.select(
        "participant_id",
        "period",
        "measure",
        pl.col("quota_e2").map_elements(format_cents, return_dtype=pl.Utf8).alias("quota"),
    ).write_csv(target / "quotas.csv")
    return target


def test_every_point_equals_a_standalone_run(tmp_path: Path, bench: Workbench) -> None:
    grid = [(RATE, ["6%", "10%"]), ("quota_scale", ["90%", "115%"]), (OVERRIDE, ["2%"])]
    result = sweep(bench, RULES, grid)
    assert result.credit_passes == 1
    table = result.table
    assert table["variant"].to_list() == [0, 1, 2, 3, 4]
    points = variants(RULES, grid)
    base_per: dict[str, int] = {}
    for v in points:
        rules = tmp_path / f"variant{v.number}.yaml"
        rules.write_text(dump_rules(v.data), encoding="utf-8")
        alone = run(_scaled_data(tmp_path, bench, v.quota_scale_ppm, v.number), rules)
        row = table.filter(pl.col("variant") == v.number).row(0, named=True)
        assert row["total_cents"] == _total(alone), v.label
        per = dict(
            alone.calc.payouts.group_by("participant_id")
            .agg(pl.col("payable_cents").sum())
            .iter_rows()
        )
        if v.number == 0:
            base_per = per
            assert row["delta_cents"] == 0
        deltas = [per.get(p, 0) - base_per.get(p, 0) for p in base_per.keys() | per.keys()]
        assert row["winners"] == sum(d > 0 for d in deltas), v.label
        assert row["losers"] == sum(d < 0 for d in deltas), v.label
        assert row["delta_cents"] == sum(deltas)
    assert table.filter(pl.col("variant") == 1)["parameters"].item() == (
        f"{RATE}=6%; quota_scale=90%; {OVERRIDE}=2%"
    )


def test_cap_and_spif_points(tmp_path: Path, bench: Workbench, sample_run: RunResult) -> None:
    result = sweep(bench, RULES, [(CAP, ["1", "2"]), (SPIF, ["150.00", "175.00"])])
    table = result.table
    base = _total(sample_run)
    assert table["total_cents"][0] == base
    # the sample's own values (cap 2, 150.00) reproduce the base
    same = table.filter((pl.col(CAP) == "2") & (pl.col(SPIF) == "150.00"))
    assert same["total_cents"].to_list() == [base]
    assert same["winners"].to_list() == [0]
    assert same["losers"].to_list() == [0]
    tighter = table.filter((pl.col(CAP) == "1") & (pl.col(SPIF) == "150.00")).row(0, named=True)
    assert tighter["delta_cents"] < 0
    assert tighter["winners"] == 0
    richer = table.filter((pl.col(CAP) == "2") & (pl.col(SPIF) == "175.00")).row(0, named=True)
    meetings = sample_run.calc.measures.filter(pl.col("measure") == "meetings")["num"].sum()
    assert richer["delta_cents"] == 2500 * int(meetings) // 100
    svg = sweep_chart(result)
    assert svg.startswith("<svg")
    assert "Cost curve" in svg


def test_a_rule_set_swept_at_its_own_value_changes_nothing(bench: Workbench) -> None:
    table = sweep(bench, RULES, [(RATE, ["8%", "0.08"])]).table
    assert table["delta_cents"].to_list() == [0, 0, 0]
    assert table["winners"].to_list() == [0, 0, 0]


@pytest.mark.parametrize(
    ("path", "value", "reason", "hint"),
    [
        ("rate_tables.ae-comission.tiers[1].rate", "9%", "RULE_BAD_VALUE", "'ae-commission'"),
        ("plans.AE.components.comission.cap", "1", "RULE_BAD_VALUE", "'commission'"),
        (CAP.replace("target", "targt"), "1", "RULE_BAD_VALUE", "'multiple_of_target'"),
        ("rate_tables.ae-commission.tiers[7].rate", "9%", "RULE_BAD_VALUE", "[2]"),
        ("rate_tables.ae-commission.kind.x", "9%", "RULE_BAD_VALUE", "stop the path"),
        (RATE, "abc", "RULE_BAD_VALUE", None),
        ("quota_scale", "-5%", "RULE_BAD_VALUE", "110%"),
        ("rate_tables..x[", "1", "USAGE", None),
    ],
)
def test_bad_parameters_are_typed_errors(
    path: str, value: str, reason: str, hint: str | None
) -> None:
    with pytest.raises(EngineError) as info:
        variants(RULES, [(path, [value])])
    finding = info.value.findings[0]
    assert finding.code == reason
    if reason == "RULE_BAD_VALUE" and hint is not None:
        assert finding.column == path
        assert hint in finding.remedy


def test_cli_sweep(tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["sweep", "--data", str(SAMPLE), "--rules", str(RULES), "--parameter", RATE]
    more = ["--values", "6%,10%", "--grid", "quota_scale=100%,110%", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, *more])
    assert result.exit_code == 0, result.output
    table = pl.read_csv(out / "sweep.csv")
    assert table.height == 5
    assert (out / "sweep.svg").read_text(encoding="utf-8").startswith("<svg")


@pytest.mark.parametrize(
    "extra",
    [
        ["--parameter", "rate_tables.nope.tiers[0].rate", "--values", "1%"],
        ["--parameter", RATE],
        ["--grid", "no-equals-sign"],
        [],
    ],
)
def test_cli_sweep_usage_errors(extra: list[str]) -> None:
    args = ["sweep", "--data", str(SAMPLE), "--rules", str(RULES), *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2


def test_scoped_recalculation_equals_everyone_on_a_synth_company(tmp_path: Path) -> None:
    from engine.synth import synthesize

    synthesize(tmp_path / "xs", "XS", seed=7, transactions=1500, participants=80)
    bench = Workbench.load(tmp_path / "xs")
    rules = Path(__file__).resolve().parents[2] / "rules" / "examples" / "synth-company.yaml"
    grid = [("rate_tables.ae-commission-curve.points[2].rate", ["2.4"])]
    fast = sweep(bench, rules, grid, vector=False).table
    full = sweep(bench, rules, grid, scoped=False, vector=False).table
    assert fast.equals(full)
    assert (fast.filter(pl.col("variant") > 0)["delta_cents"] != 0).any()
    vector = sweep(bench, rules, grid).table  # and the vector path agrees with both
    assert vector["path"].to_list()[-1] == "vector"
    assert vector.drop("path").equals(fast.drop("path"))


def test_a_threshold_moves_both_tier_edges(tmp_path: Path, bench: Workbench) -> None:
    edge = "rate_tables.ae-commission.tiers[0].to+rate_tables.ae-commission.tiers[1].from"
    result = sweep(bench, RULES, [(edge, ["0.8"])])
    (v,) = variants(RULES, [(edge, ["0.8"])])[1:]
    rules = tmp_path / "threshold.yaml"
    rules.write_text(dump_rules(v.data), encoding="utf-8")
    row = result.table.filter(pl.col("variant") == 1).row(0, named=True)
    assert row["total_cents"] == _total(run(SAMPLE, rules))
    assert row["delta_cents"] > 0  # the accelerated rate starts earlier
