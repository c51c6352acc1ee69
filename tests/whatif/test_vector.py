"""The sweep's vector path: every point equals a standalone calculation of its variant.

Each variant is calculated alone with :func:`engine.calc.payouts.calculate` (its own rule set,
and for ``quota_scale`` its own scaled quotas table) and compared, per participant, period and
plan, with what the vector path gives (folded participants) or keeps from the base (everyone
else). Data: the synth company at XS (``rules/examples/synth-company.yaml``, each example
plan over the same data, and a derived rule set with every mechanic the fold supports) and the
sample company.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from engine.synth import synthesize
from engine.whatif import vector
from engine.whatif.shared import Workbench
from engine.whatif.sweep import Variant, scaled_quotas, sweep, variants
from engine.whatif.vector import Shared, VectorResult, VectorVariant, evaluate, prepare
from tests.whatif.conftest import RULES as SAMPLE_RULES
from tests.whatif.conftest import SAMPLE

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "rules" / "examples"
COMPANY = EXAMPLES / "synth-company.yaml"
KEY = ["participant_id", "period", "plan_id", "currency"]


@pytest.fixture(scope="module")
def synth_bench(tmp_path_factory: pytest.TempPathFactory) -> Workbench:
    data = tmp_path_factory.mktemp("synth") / "xs"
    synthesize(data, "XS", seed=7)
    return Workbench.load(data)


@pytest.fixture(scope="module")
def sample_bench() -> Workbench:
    return Workbench.load(SAMPLE)


def _mechanics_rules(tmp_path: Path) -> Path:
    """synth-company with a YTD carry-forward cap, floors, a second plan cap, a guarantee
    and a draw recovered above the draw from March."""
    text = COMPANY.read_text(encoding="utf-8")
    edits = [
        (
            "cap: {multiple_of_target: 3, window: period, excess: lost}",
            "cap: {multiple_of_target: 3, window: year_to_date, excess: carry_forward}",
        ),
        (
            "        rate_table: quota-kicker\n",
            '        rate_table: quota-kicker\n        floor: {amount: "40.00"}\n',
        ),
        (
            "      - {multiple_of_target: 2, window: period, excess: lost}\n",
            "      - {multiple_of_target: 2, window: period, excess: lost}\n"
            '      - {amount: "9000.00", window: year_to_date, excess: carry_forward}\n'
            '    floors:\n      - {amount: "150.00"}\n',
        ),
        (
            "      recover_from: any_earnings\n",
            "      recover_from: above_draw\n      recovery_starts: 2026-03\n",
        ),
        (
            "    draw:\n      multiple_of_target: 0.5",
            '    guarantee: {amount: "300.00", first_periods: 3}\n'
            "    draw:\n      multiple_of_target: 0.5",
        ),
    ]
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / "mechanics.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _as_vector(points: list[Variant]) -> list[VectorVariant]:
    return [VectorVariant(v.number, v.ruleset, v.data, v.quota_scale_ppm) for v in points]


def _vector(bench: Workbench, points: list[Variant]) -> tuple[Shared, VectorResult]:
    vs = _as_vector(points)
    shared = prepare(bench.dataset, vs[0], bench.calculate(points[0].ruleset))
    return shared, evaluate(shared, vs, grain="segment")


def _per_segment(payouts: pl.DataFrame) -> pl.DataFrame:
    return payouts.group_by(KEY).agg(pl.col("payable_cents").sum().cast(pl.Int64))


def _assert_point(bench: Workbench, shared: Shared, result: VectorResult, v: Variant) -> None:
    """The vector point (folded groups + base elsewhere) equals the variant calculated alone."""
    alone = bench.calculate(v.ruleset, scaled_quotas(bench.dataset, v.quota_scale_ppm, v.ruleset))
    expected = _per_segment(alone.payouts)
    folded = result.groups.with_columns(
        pl.Series("payable_cents", result.values[v.number], dtype=pl.Int64)
    )
    kept = _per_segment(shared.calc.payouts).join(folded, on="participant_id", how="anti")
    got = pl.concat([folded.select(expected.columns), kept.select(expected.columns)])
    joined = expected.join(got, on=KEY, how="full", coalesce=True, suffix="_vector")
    wrong = joined.filter(
        pl.col("payable_cents").fill_null(0) != pl.col("payable_cents_vector").fill_null(0)
    )
    assert wrong.is_empty(), f"{v.label}: {wrong.head(5)}"
    assert got.height == expected.height, v.label


def _check_grid(bench: Workbench, rules: Path, grid: list[tuple[str, list[str]]]) -> VectorResult:
    points = variants(rules, grid)
    shared, result = _vector(bench, points)
    assert not result.reasons, result.reasons
    assert set(result.values) == {v.number for v in points}
    for v in points:
        _assert_point(bench, shared, result, v)
    return result


CURVE = "rate_tables.ae-commission-curve.points[2].rate"
AE_CAP = "plans.AE.components.commission.cap.multiple_of_target"
DRAW = "plans.RENEWAL.draw.multiple_of_target"


@pytest.mark.parametrize(
    "grid",
    [
        [(CURVE, ["1.5", "2.5"]), (AE_CAP, ["2", "4"]), (DRAW, ["0.3", "0.7"])],
        [
            ("plans.MANAGER.caps[0].multiple_of_target", ["1", "1.5"]),
            ("rate_tables.manager-override.points[3].rate", ["1.5", "2.5"]),
        ],
        [
            ("plans.RENEWAL.draw.recovery_limit", ["0.00", "5000.00"]),
            ("plans.RENEWAL.draw.at_term_end", ["forgive", "carry"]),
            ("plans.RENEWAL.draw.recoverable", ["true", "false"]),
        ],
        [("rate_tables.quota-kicker.tiers[1].rate", ["750.00"]), ("quota_scale", ["100%"])],
    ],
    ids=["curve-cap-draw", "manager-cap-curve", "draw-terms", "kicker"],
)
def test_synth_company_points_equal_standalone(
    synth_bench: Workbench, grid: list[tuple[str, list[str]]]
) -> None:
    _check_grid(synth_bench, COMPANY, grid)


@pytest.mark.parametrize(
    "grid",
    [
        [
            (AE_CAP, ["2", "5"]),
            ("plans.AE.components.commission.cap.excess", ["lost", "carry_forward"]),
        ],
        [("plans.AE.components.quota-kicker.floor.amount", ["0.00", "90.00"]), (CURVE, ["3"])],
        [
            ("plans.MANAGER.floors[0].amount", ["0.00", "400.00"]),
            ("plans.MANAGER.caps[1].amount", ["100.00", "20000.00"]),
        ],
        [
            ("plans.RENEWAL.guarantee.amount", ["0.00", "900.00"]),
            (DRAW, ["0.2", "1"]),
            ("plans.RENEWAL.draw.recover_from", ["above_draw", "any_earnings"]),
        ],
    ],
    ids=["ytd-cap", "component-floor", "plan-floor-and-caps", "guarantee-draw"],
)
def test_every_fold_mechanic_equals_standalone(
    synth_bench: Workbench, tmp_path: Path, grid: list[tuple[str, list[str]]]
) -> None:
    _check_grid(synth_bench, _mechanics_rules(tmp_path), grid)


@pytest.mark.parametrize(
    ("example", "grid"),
    [
        ("ae-quota", [("quota_scale", ["85%", "120%"]), (AE_CAP, ["2"])]),
        (
            "manager-override",
            [("quota_scale", ["90%", "115%"]), ("plans.MANAGER.caps[0].multiple_of_target", ["3"])],
        ),
        ("renewal-draw", [("quota_scale", ["80%"]), (DRAW, ["0.25", "1"])]),
        ("sdr-meetings", [("quota_scale", ["75%", "125%"])]),
    ],
)
def test_example_plans_with_quota_scale_equal_standalone(
    synth_bench: Workbench, example: str, grid: list[tuple[str, list[str]]]
) -> None:
    _check_grid(synth_bench, EXAMPLES / example / "rules.yaml", grid)


def test_sample_company_incremental_override(sample_bench: Workbench) -> None:
    grid = [("rate_tables.manager-override.tiers[1].rate", ["1%", "2.5%"])]
    result = _check_grid(sample_bench, SAMPLE_RULES, grid)
    assert not result.groups.is_empty()


def test_unsupported_variants_fall_back_and_still_match(
    sample_bench: Workbench, synth_bench: Workbench
) -> None:
    # the sample AE plan claws back; synth PARTNER too, and quota_scale reaches it
    table = sweep(
        sample_bench, SAMPLE_RULES, [("rate_tables.ae-commission.tiers[1].rate", ["9%"])]
    ).table
    row = table.filter(pl.col("variant") == 1).row(0, named=True)
    assert row["path"] == "full"
    assert "claws back" in row["fallback_reason"]
    points = variants(COMPANY, [("quota_scale", ["90%"]), (CURVE, ["2.5"])])
    _, result = _vector(synth_bench, points)
    assert "claws back" in result.reasons[1]
    assert 1 not in result.values
    # the full path gives the same figures as a standalone calculation
    scaled = variants(COMPANY, [("quota_scale", ["90%"])])[1]
    swept = sweep(synth_bench, COMPANY, [("quota_scale", ["90%"])]).table
    alone = synth_bench.calculate(
        scaled.ruleset, scaled_quotas(synth_bench.dataset, 900_000, scaled.ruleset)
    )
    full = swept.filter(pl.col("variant") == 1)
    assert full["path"].unique().to_list() == ["full"]
    assert int(full["total_cents"].sum()) == int(alone.payouts["payable_cents"].sum())


def test_sweep_table_on_the_vector_path_equals_standalone_totals(synth_bench: Workbench) -> None:
    grid = [(CURVE, ["1.5", "3"]), (DRAW, ["0.2"])]
    table = sweep(synth_bench, COMPANY, grid).table
    points = variants(COMPANY, grid)
    base = synth_bench.calculate(points[0].ruleset).payouts
    base_per = base.group_by("participant_id", "currency").agg(pl.col("payable_cents").sum())
    for v in points[1:]:
        rows = table.filter(pl.col("variant") == v.number)
        assert rows["path"].unique().to_list() == ["vector"]
        alone = synth_bench.calculate(v.ruleset).payouts
        per = alone.group_by("participant_id", "currency").agg(pl.col("payable_cents").sum())
        for r in rows.iter_rows(named=True):
            mine = per.filter(pl.col("currency") == r["currency"])
            theirs = base_per.filter(pl.col("currency") == r["currency"])
            assert r["total_cents"] == int(mine["payable_cents"].sum())
            d = mine.join(theirs, on=["participant_id", "currency"], how="full", coalesce=True)
            change = d["payable_cents"].fill_null(0) - d["payable_cents_right"].fill_null(0)
            assert r["winners"] == int((change > 0).sum())
            assert r["losers"] == int((change < 0).sum())


def test_a_fold_that_misses_the_base_is_not_used(
    synth_bench: Workbench, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = vector.fold_variants

    def off_by_a_cent(*args: object) -> None:
        real(*args)
        out = args[-2]
        assert isinstance(out, np.ndarray)
        out[:, :] += 1

    monkeypatch.setattr(vector, "fold_variants", off_by_a_cent)
    points = variants(COMPANY, [(CURVE, ["2.5"])])
    _, result = _vector(synth_bench, points)
    assert result.values == {}
    assert "guard" in result.reasons[1]


def test_an_amount_beyond_the_exact_range_falls_back(synth_bench: Workbench) -> None:
    points = variants(COMPANY, [(AE_CAP, ["100000000000000000"])])
    _, result = _vector(synth_bench, points)
    assert "64-bit" in result.reasons[1]
