"""Differential test: the fast stage against the plain-Python reference on generated data."""

from __future__ import annotations

from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.crediting import CREDIT_SCHEMA, credit
from engine.crediting.frames import CREDIT_SORT
from engine.crediting.reference import condition_matches, reference_credit
from engine.money import RoundingMode

from .builders import RULE_SETS, Tables, generated, rule_set

pytestmark = pytest.mark.slow  # ~100 generated datasets per property (CI runs them)

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _sorted(rows: list[dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: tuple(str(r[k]) for k in keys))


def _check(ds: Tables, name: str, periods: list[str] | None) -> None:
    section = rule_set(name)
    result = credit(ds, section, periods)
    matches = condition_matches(
        ds.tables["transactions"],
        section,
        ds.tables["transaction_sellers"],
        calendar=ds.tables["calendar"],
    )
    ref = reference_credit(ds.tables, section, matches, periods, RoundingMode.HALF_UP)
    expected = pl.DataFrame(ref.credits, schema=CREDIT_SCHEMA, orient="row").sort(CREDIT_SORT)
    assert result.credits.to_dicts() == expected.to_dicts()
    got_unrouted = result.unrouted.select("transaction_id", "reason", "source_line").to_dicts()
    assert got_unrouted == _sorted(ref.unrouted, ("transaction_id", "source_line"))
    assert result.excluded.to_dicts() == _sorted(ref.excluded, ("transaction_id",))
    assert result.overlay_misses.select("transaction_id", "rule").to_dicts() == _sorted(
        ref.overlay_misses, ("transaction_id", "rule")
    )
    assert result.counts.balanced
    assert result.counts.transactions == ds.tables["transactions"].height


@SETTINGS
@given(ds=generated(), name=st.sampled_from(sorted(RULE_SETS)))
def test_stage_matches_reference(ds: Tables, name: str) -> None:
    _check(ds, name, None)


@SETTINGS
@given(ds=generated(), periods=st.sets(st.sampled_from(["2026-01", "2026-02", "2026-03"])))
def test_stage_matches_reference_on_some_periods(ds: Tables, periods: set[str]) -> None:
    _check(ds, "full", sorted(periods))


@pytest.mark.parametrize("name", sorted(RULE_SETS))
def test_rule_sets_validate(name: str) -> None:
    assert rule_set(name).rules
