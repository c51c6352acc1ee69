"""Properties: a run reconciled with itself has no break, whatever grains the vendor exports."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.reconcile.compare import Tolerance, compare
from engine.reconcile.mapping import GRAIN_KEYS, VendorMapping, load_vendor_mapping
from engine.reconcile.vendor import read_vendor

from .conftest import MAPPINGS, write_vendor

GRAINS = sorted(GRAIN_KEYS)


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    grains=st.sets(st.sampled_from(GRAINS), min_size=1),
    mapping=st.sampled_from(sorted(MAPPINGS)),
    split=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_self_reconcile_any_grains(
    grains: set[str],
    mapping: str,
    split: bool,
    seed: int,
    sample_grains: dict[str, pl.DataFrame],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    theirs = {g: sample_grains[g].sample(fraction=1.0, shuffle=True, seed=seed) for g in grains}
    if split:  # a vendor may export several rows per key: amounts add up
        theirs = {
            g: pl.concat([
                f.with_columns(pl.col("amount_cents") // 2),
                f.with_columns(pl.col("amount_cents") - pl.col("amount_cents") // 2),
            ])
            for g, f in theirs.items()
        }  # fmt: skip
    full = load_vendor_mapping(MAPPINGS[mapping])
    partial = VendorMapping({g: full.grains[g] for g in grains}, full.vendor)
    out = tmp_path_factory.mktemp("self")
    shaped = write_vendor(
        {g: theirs.get(g, sample_grains[g]) for g in GRAINS}, MAPPINGS[mapping], out
    )
    read = read_vendor(shaped, partial)
    c = compare(sample_grains, read, Tolerance())
    assert set(c.grains) == grains
    assert c.breaks.height == 0
    assert not c.failed


@settings(max_examples=20, deadline=None)
@given(
    amounts=st.lists(st.integers(-(10**12), 10**12), min_size=1, max_size=30),
    pick=st.integers(0, 29),
    delta=st.integers(-(10**6), 10**6).filter(lambda d: d != 0),
    tolerance=st.integers(0, 100),
)
def test_one_difference_one_break(
    amounts: list[int], pick: int, delta: int, tolerance: int
) -> None:
    ours = pl.DataFrame({
        "participant_id": [f"P{i}" for i in range(len(amounts))],
        "period": ["2026-01"] * len(amounts),
        "amount_cents": amounts,
    })  # fmt: skip
    i = pick % len(amounts)
    theirs = ours.with_columns(
        pl.when(pl.int_range(pl.len()) == i)
        .then(pl.col("amount_cents") + delta)
        .otherwise(pl.col("amount_cents"))
    )
    assert compare({"payment": ours}, {"payment": ours}, Tolerance()).breaks.height == 0
    c = compare({"payment": ours}, {"payment": theirs}, Tolerance(tolerance, 1))
    (row,) = c.breaks.iter_rows(named=True)
    assert row["difference_cents"] == -delta
    assert row["class"] == ("within_tolerance" if abs(delta) <= tolerance else "over_tolerance")
    assert row["cause"] == ("rounding" if abs(delta) <= 1 else "rate")
    assert c.failed == (abs(delta) > tolerance)
