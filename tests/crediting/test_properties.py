"""Properties of crediting on generated data (hypothesis, ~100 examples each)."""

from __future__ import annotations

import random

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.crediting import credit
from engine.crediting.frames import ROLLUP_TOTAL_KEYS
from engine.money import PPM, RoundingMode, round_div

from .builders import RULE_SETS, Tables, generated, rule_set

pytestmark = pytest.mark.slow  # ~100 generated datasets per property (CI runs them)

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(ds=generated(), name=st.sampled_from(sorted(RULE_SETS)))
def test_direct_credits_sum_exactly_to_amount_times_shares(ds: Tables, name: str) -> None:
    result = credit(ds, rule_set(name))
    level0 = result.credits.filter(pl.col("level") == 0)
    tx = ds.tables["transactions"].select("transaction_id", "amount_cents", "currency")
    per_rule = (
        level0.group_by("transaction_id", "rule")
        .agg(pl.col("amount_cents").sum().alias("sum"), pl.col("share_ppm").sum().alias("ppm"))
        .join(tx, on="transaction_id")
    )
    for row in per_rule.iter_rows(named=True):
        # shares of one split sum to exactly 100%, so the parts sum to the amount exactly
        assert row["ppm"] == PPM
        assert row["sum"] == row["amount_cents"] * row["ppm"] // PPM
    # and each part is within one minor unit of its exact share
    parts = level0.join(tx.rename({"amount_cents": "whole"}), on=["transaction_id", "currency"])
    for row in parts.iter_rows(named=True):
        unit = 100 if row["currency"] == "JPY" else 1
        exact = row["whole"] * row["share_ppm"]
        assert abs(row["amount_cents"] * PPM - exact) < unit * PPM
        assert row["amount_cents"] % unit == 0


@SETTINGS
@given(ds=generated(), name=st.sampled_from(sorted(RULE_SETS)))
def test_rollups_conserve_amounts(ds: Tables, name: str) -> None:
    section = rule_set(name)
    credits = credit(ds, section).credits
    for rule in section.rollups:
        mode = rule.rounding_mode or RoundingMode.HALF_UP
        rows = credits.filter(pl.col("rule") == rule.name)
        rolled = (
            credits.filter((pl.col("level") == 0) & pl.col("credit_type").is_in(rule.credit_types))
            .group_by("transaction_id", "participant_id")
            .agg(pl.col("amount_cents").sort().alias("direct"))
        )
        groups = (
            rows.group_by("transaction_id", "direct_participant_id", "level", "currency")
            .agg(pl.col("amount_cents").sort().alias("got"), pl.col("share_ppm").unique())
            .join(
                rolled.rename({"participant_id": "direct_participant_id"}),
                on=["transaction_id", "direct_participant_id"],
                how="left",
            )
        )
        for g in groups.iter_rows(named=True):
            # every roll-up row comes from a rolled direct credit, at its level's override,
            # rounded per line; one row per rolled credit per level
            unit = 100 if g["currency"] == "JPY" else 1
            ppm = rule.level_ppm(g["level"])
            assert g["share_ppm"] == [ppm]
            want = sorted(round_div(a // unit * ppm, PPM, mode) * unit for a in g["direct"])
            assert g["got"] == want
            if rule.overrides is None:  # 100% at every level: the level conserves the amount
                assert sum(g["got"]) == sum(g["direct"])
        # levels are contiguous from 1 for each direct participant, and capped
        chains = rows.group_by("transaction_id", "direct_participant_id").agg(
            pl.col("level").unique().sort()
        )
        for levels in chains["level"].to_list():
            assert levels == list(range(1, len(levels) + 1))
            if rule.max_levels is not None:
                assert len(levels) <= rule.max_levels


@SETTINGS
@given(ds=generated(), name=st.sampled_from(sorted(RULE_SETS)))
def test_aggregated_rollups_agree_with_materialised(ds: Tables, name: str) -> None:
    materialised = credit(ds, rule_set(name))
    aggregated = credit(ds, rule_set(name), rollups="aggregate")
    rollups = materialised.credits.filter(pl.col("level") > 0)
    for by in (list(ROLLUP_TOTAL_KEYS), ["participant_id", "level", "direct_participant_id"]):
        expected = (
            rollups.group_by(by)
            .agg(pl.col("amount_cents").sum(), pl.len().cast(pl.Int64).alias("credit_count"))
            .sort(by)
        )
        got = aggregated.rollup_totals(by)
        assert got.rows() == expected.rows()
    assert aggregated.credits.equals(materialised.credits.filter(pl.col("level") == 0))
    assert aggregated.all_credits().equals(materialised.credits)
    assert aggregated.counts == materialised.counts
    for manager in rollups["participant_id"].unique().sort().to_list()[:3]:
        assert aggregated.rollup_credits(manager).equals(
            rollups.filter(pl.col("participant_id") == manager)
        )


def _shuffled(ds: Tables, seed: int) -> Tables:
    rng = random.Random(seed)
    out = {}
    for name, frame in ds.tables.items():
        order = list(range(frame.height))
        rng.shuffle(order)
        out[name] = frame[order] if order else frame
    return Tables(out)


@SETTINGS
@given(ds=generated(), name=st.sampled_from(sorted(RULE_SETS)), seed=st.integers(0, 2**32))
def test_shuffling_input_rows_changes_no_output_byte(ds: Tables, name: str, seed: int) -> None:
    a = credit(ds, rule_set(name))
    b = credit(_shuffled(ds, seed), rule_set(name))
    for frame_a, frame_b in (
        (a.credits, b.credits),
        (a.unrouted, b.unrouted),
        (a.excluded, b.excluded),
        (a.overlay_misses, b.overlay_misses),
        (a.rollup_totals(), b.rollup_totals()),
    ):
        assert frame_a.write_csv() == frame_b.write_csv()
    assert a.counts == b.counts
