"""The calculation from aggregated roll-ups equals the one from materialised roll-up rows.

``calculate(dataset, credit(..., rollups="aggregate"), ...)`` computes managers' measures from
aggregated level-0 credits (:mod:`engine.calc.rollup_lines`); every result frame must be
identical, to the byte, to ``calculate(dataset, credit(...).credits, ...)`` over the
materialised roll-up rows: on the sample company, and on generated companies with roll-up
measures filtered by transaction attributes, paid in other currencies (per-line conversion at
the credit date or the period end), with overrides, holds, two roll-up rules, missing exchange
rates and the fallbacks that materialise roll-up lines.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from engine.calc.lines import Lines
from engine.calc.measures import MeasureResult, compute_measures
from engine.calc.payouts import CalcResult, calculate
from engine.crediting import credit
from engine.crediting.frames import ROLLUP_TOTAL_KEYS
from engine.loading import Dataset, load_dataset
from engine.pipeline import run
from engine.rules import RuleSet, load_ruleset
from engine.synth import synthesize

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
SAMPLE_RULES = ROOT / "rules" / "sample.yaml"
SYNTH_RULES = Path(__file__).parent / "data" / "synth_rules.yaml"


def _both(dataset: Dataset, rules: RuleSet) -> tuple[CalcResult, CalcResult]:
    """The calculation over materialised roll-up rows, and over the aggregate-mode result."""
    materialised = credit(dataset, rules)
    aggregated = credit(dataset, rules, rollups="aggregate")
    assert aggregated.credits.filter(pl.col("level") > 0).height == 0
    return (
        calculate(dataset, materialised.credits, rules),
        calculate(dataset, aggregated, rules),
    )


def _assert_identical(expected: CalcResult, got: CalcResult) -> None:
    want, have = expected.frames(), got.frames()
    assert list(want) == list(have)
    for name, frame in want.items():
        try:
            assert_frame_equal(have[name], frame, check_exact=True)
        except AssertionError as exc:
            raise AssertionError(f"frame {name!r} differs: {exc}") from None


def _lines(dataset: Dataset, rules: RuleSet, monkeypatch: pytest.MonkeyPatch) -> Lines:
    """The lines ``calculate`` builds from the aggregate-mode result (to see which path ran)."""
    seen: list[Lines] = []
    original = compute_measures

    def spy(lines: Lines, *args: Any, **kwargs: Any) -> MeasureResult:
        seen.append(lines)
        return original(lines, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr("engine.calc.payouts.compute_measures", spy)
        calculate(dataset, credit(dataset, rules, rollups="aggregate"), rules)
    return seen[0]


# ------------------------------------------------------------------------------ sample company


@pytest.fixture(scope="module")
def sample() -> tuple[Dataset, RuleSet]:
    return load_dataset(SAMPLE), load_ruleset(SAMPLE_RULES)


def test_sample_company_is_identical_in_both_modes(sample: tuple[Dataset, RuleSet]) -> None:
    dataset, rules = sample
    materialised, aggregated = _both(dataset, rules)
    _assert_identical(materialised, aggregated)
    assert materialised.measures.filter(pl.col("measure") == "team_revenue")["num"].sum() > 0


def test_sample_company_managers_are_not_materialised(
    sample: tuple[Dataset, RuleSet], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = _lines(*sample, monkeypatch)
    assert lines.rollups is not None
    assert lines.frame.filter(pl.col("level") > 0).height == 0
    assert lines.rollups.totals["team_revenue"].height > 0


def test_the_pipeline_publishes_level0_credits_and_rollup_totals() -> None:
    result = run(SAMPLE, SAMPLE_RULES)
    frames = result.frames()
    assert not result.credits.rollups_materialised
    assert frames["credits"].filter(pl.col("level") > 0).height == 0
    rollups = result.credits.all_credits().filter(pl.col("level") > 0)
    expected = (
        rollups.group_by(ROLLUP_TOTAL_KEYS)
        .agg(pl.col("amount_cents").sum(), pl.len().cast(pl.Int64).alias("credit_count"))
        .sort(ROLLUP_TOTAL_KEYS)
    )
    assert_frame_equal(frames["rollup_totals"], expected, check_exact=True)
    assert result.manifest()["rows"]["rollup_totals"] == expected.height  # type: ignore[index]
    # lineage on demand: one manager's roll-up rows are those of the materialised run
    manager = rollups["participant_id"][0]
    assert result.credits.rollup_credits(manager).equals(
        rollups.filter(pl.col("participant_id") == manager)
    )


# ---------------------------------------------------------------------- generated companies


_COMPANIES = tempfile.TemporaryDirectory(prefix="icm-aggregate-rollups-")
"""Where the generated companies are written (removed when the test process ends)."""


@cache
def _company(seed: int) -> Dataset:
    """A small generated company (40 people, 2,000 deals in four currencies), loaded.

    Its monthly exchange rates are cut in two halves, the second 1.7% higher, so that the
    rate of the credit date and the rate of the period end differ.
    """
    out = Path(_COMPANIES.name) / str(seed)
    synthesize(out, "XS", seed=seed, transactions=2000, participants=40)
    dataset = load_dataset(out)
    rates = dataset.tables["exchange_rates"]
    mid = pl.col("valid_from") + pl.duration(days=14)
    halves = pl.concat(
        [
            rates.with_columns((mid - pl.duration(days=1)).alias("valid_to")),
            rates.with_columns(
                mid.alias("valid_from"), (pl.col("rate_e10") * 1017 // 1000).alias("rate_e10")
            ),
        ]
    )
    return replace(dataset, tables={**dataset.tables, "exchange_rates": halves})


FILTERS = (
    "product <> 'MEETING'",
    "amount > 100000 OR deal_type = 'return'",
    "credit_date >= DATE '2026-03-01' AND product IN ('PLATFORM', 'ADDON', 'SERVICES')",
    "share < 1 OR transaction_amount > 500000",
    "pay_currency = 'USD' OR currency = 'EUR'",
    "rule = 'managers' AND route_table = 'hierarchy' AND direct_participant_id <> 'P0000007'",
)

LINE_LEVEL = ("none", "per_transaction", "rounding_line", "distinct_count")


def _rules(
    *,
    filter_: str,
    convert_at: str,
    pay_in: str | None,
    overrides: bool,
    hold: bool,
    overlay_rollup: bool,
    line_level: str,
    rounding: str,
) -> str:
    pay = f", pay_in: {pay_in}" if pay_in else ""
    over = ', overrides: ["0.6", "0.35", "0.125"]' if overrides else ", levels: all"
    holds = (
        "  holds:\n    - {name: pilot, when: \"product = 'ADDON'\", credit_types: [rollup]}\n"
        if hold
        else ""
    )
    second = (
        "    - {name: overlay-managers, credit_types: [overlay], credit_type: overlay_rollup,\n"
        '       overrides: ["0.5", "0.333333"], rounding_mode: half_even}\n'
        if overlay_rollup
        else ""
    )
    team_types = "[rollup, overlay_rollup]" if overlay_rollup else "[rollup]"
    team_kind = "per-deal" if line_level == "per_transaction" else "override"
    distinct = "transaction" if line_level == "distinct_count" else "credit"
    point = "line" if line_level == "rounding_line" else "component"
    return f"""
schema_version: 1
name: aggregate-rollups-property
settings: {{rounding_mode: {rounding}, rounding_point: {point}, boundary: lower_inclusive}}
crediting:
  rules:
    - {{name: split-deal, when: "split_sellers > 0", source: sellers, priority: 20}}
    - {{name: named-seller, when: "seller_id IS NOT NULL", source: seller, priority: 10}}
    - {{name: by-territory, when: "territory_id IS NOT NULL", source: territory}}
  overlays:
    - {{name: partner, when: "product = 'PARTNER-LED'", source: participant,
       participant: P0000009, credit_type: overlay}}
{holds}  rollups:
    - {{name: managers, credit_types: [direct, overlay], credit_type: rollup{over},
       when: "product <> 'RENEWAL' OR amount < 2000000"}}
{second}measures:
  - {{name: revenue, kind: sum, credit_types: [direct], when: "product <> 'MEETING'",
     include_returns: false}}
  - {{name: revenue_att, kind: attainment, measure: revenue, no_quota: zero}}
  - name: team_revenue
    kind: sum
    credit_types: {team_types}
    when: "{filter_}"
  - {{name: team_att, kind: attainment, measure: team_revenue, quota: {{measure: revenue}},
     no_quota: zero}}
  - {{name: team_deals, kind: count, credit_types: [rollup], when: "amount > 0",
     distinct: {distinct}}}
  - {{name: team_seats, kind: sum, of: quantity, credit_types: [rollup]}}
  - {{name: everything, kind: sum, include_returns: false}}
rate_tables:
  - name: commission
    kind: retroactive
    base: attainment
    tiers: [{{from: 0, to: 1, rate: "5%"}}, {{from: 1, rate: "8%"}}]
  - name: override
    kind: incremental
    base: attainment
    tiers: [{{from: 0, to: 1, rate: "1%"}}, {{from: 1, rate: "1.5%"}}]
  - name: per-deal
    kind: per_transaction
    tiers: [{{from: 0, to: 10000, rate: "0.5%"}}, {{from: 10000, rate: "0.75%"}}]
plans:
  - id: AE
    components: [{{name: commission, measure: revenue, tier_measure: revenue_att,
                  rate_table: commission}}]
    clawback: {{window_days: 90}}
  - id: SDR
    components: [{{name: all, measure: everything, rate_table: commission,
                  tier_measure: revenue_att}}]
  - id: RENEWAL
    components: [{{name: commission, measure: revenue, tier_measure: revenue_att,
                  rate_table: commission}}]
  - id: PARTNER
    components: [{{name: commission, measure: everything, tier_measure: revenue_att,
                  rate_table: commission}}]
  - id: MANAGER
    components:
      - {{name: team, measure: team_revenue, tier_measure: team_att, rate_table: {team_kind}}}
    spifs:
      - {{name: per-deal, measure: team_deals, amount: "2.50", per: unit}}
      - {{name: seats, measure: team_seats, amount: "100", per: period, at_least: 5}}
    currency: {{convert_at: {convert_at}{pay}}}
"""


def _without_some_rates(dataset: Dataset) -> Dataset:
    """The dataset without the EUR <-> USD rates of March (so some lines cannot convert)."""
    rates = dataset.tables["exchange_rates"]
    pair = pl.col("from_currency").is_in(["EUR", "USD"]) & pl.col("to_currency").is_in(
        ["EUR", "USD"]
    )
    march = pl.col("valid_from").is_between(date(2026, 3, 1), date(2026, 3, 31))
    return replace(
        dataset, tables={**dataset.tables, "exchange_rates": rates.filter(~(pair & march))}
    )


OPTIONS = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2),
        "filter_": st.sampled_from(FILTERS),
        "convert_at": st.sampled_from(["credit_date", "period_end"]),
        "pay_in": st.sampled_from([None, None, "EUR", "JPY"]),
        "overrides": st.booleans(),
        "hold": st.booleans(),
        "overlay_rollup": st.booleans(),
        # mostly aggregated; the fallbacks also have their own tests below
        "line_level": st.sampled_from(("none", "none", "none", *LINE_LEVEL[1:])),
        "rounding": st.sampled_from(["half_up", "half_even"]),
        "missing_rates": st.booleans(),
    }
)

HARDEST = {
    "seed": 2,
    "filter_": FILTERS[2],
    "convert_at": "period_end",
    "pay_in": "JPY",
    "overrides": True,
    "hold": True,
    "overlay_rollup": True,
    "line_level": "none",
    "rounding": "half_even",
    "missing_rates": True,
}


# 2 explicit + 8 generated examples, about 2 s each; no shrinking: a failure is reported as
# found, in seconds (shrinking takes minutes here)
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@example(options=HARDEST)
@example(options={**HARDEST, "convert_at": "credit_date", "pay_in": None, "filter_": FILTERS[4]})
@given(options=OPTIONS)
def test_generated_companies_are_identical_in_both_modes(
    tmp_path_factory: pytest.TempPathFactory, options: dict[str, Any]
) -> None:
    options = dict(options)
    seed, missing_rates = options.pop("seed"), options.pop("missing_rates")
    path = tmp_path_factory.mktemp("rules") / "rules.yaml"
    path.write_text(_rules(**options))
    rules = load_ruleset(path)
    dataset = _company(seed)
    if missing_rates:
        dataset = _without_some_rates(dataset)
    materialised, aggregated = _both(dataset, rules)
    _assert_identical(materialised, aggregated)


def _company_rules(tmp_path: Path, **changes: object) -> tuple[Dataset, RuleSet]:
    options: dict[str, object] = {
        "filter_": FILTERS[0],
        "convert_at": "credit_date",
        "pay_in": None,
        "overrides": False,
        "hold": False,
        "overlay_rollup": False,
        "line_level": "none",
        "rounding": "half_up",
    }
    options.update(changes)
    path = tmp_path / "rules.yaml"
    path.write_text(_rules(**options))  # type: ignore[arg-type]
    return _company(0), load_ruleset(path)


def test_a_generated_company_pays_managers_in_several_currencies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dataset, rules = _company_rules(tmp_path)
    materialised, aggregated = _both(dataset, rules)
    _assert_identical(materialised, aggregated)
    team = aggregated.measures.filter((pl.col("measure") == "team_revenue") & (pl.col("num") != 0))
    assert team["currency"].n_unique() > 1
    lines = _lines(dataset, rules, monkeypatch)
    assert lines.rollups is not None
    assert lines.frame.filter(pl.col("level") > 0).height == 0


@pytest.mark.parametrize(
    ("line_level", "materialised"),
    [("per_transaction", "managers"), ("rounding_line", "managers"), ("distinct_count", "all")],
)
def test_line_level_needs_materialise_roll_up_lines(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line_level: str, materialised: str
) -> None:
    dataset, rules = _company_rules(tmp_path, line_level=line_level)
    lines = _lines(dataset, rules, monkeypatch)
    rolled = lines.frame.filter(pl.col("level") > 0)
    assert rolled.height > 0
    if materialised == "all":
        assert lines.rollups is None
    else:
        assert lines.rollups is not None
        on_plan = dataset.tables["plan_assignments"].filter(pl.col("plan_id") == "MANAGER")
        assert set(rolled["participant_id"]) <= set(on_plan["participant_id"])
    expected, got = _both(dataset, rules)
    _assert_identical(expected, got)
    assert got.incentive_lines.height > 0 or line_level == "distinct_count"


def test_missing_rates_give_the_same_findings_in_the_same_order(tmp_path: Path) -> None:
    dataset, rules = _company_rules(tmp_path, pay_in="EUR")
    dataset = _without_some_rates(dataset)
    expected, got = _both(dataset, rules)
    _assert_identical(expected, got)
    missing = got.findings.filter(pl.col("reason") == "NO_EXCHANGE_RATE")
    managers = dataset.tables["plan_assignments"].filter(pl.col("plan_id") == "MANAGER")
    assert missing.join(managers, on="participant_id", how="semi").height > 0


def test_synth_rule_set_is_identical_in_both_modes() -> None:
    dataset = _company(1)
    rules = load_ruleset(SYNTH_RULES)
    expected, got = _both(dataset, rules)
    _assert_identical(expected, got)
    assert got.payouts.filter(pl.col("plan_id") == "MANAGER")["payable_cents"].sum() > 0
