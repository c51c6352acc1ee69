"""Causes when the vendor exports fewer grains: the lineage goes as deep as the export."""

from __future__ import annotations

import polars as pl

from engine.reconcile.compare import Tolerance, compare

from .injected import EXPECTED, inject


def _causes(ours: dict[str, pl.DataFrame], theirs: dict[str, pl.DataFrame]) -> dict[str, str]:
    return dict(compare(ours, theirs, Tolerance()).breaks.select("key", "cause").iter_rows())


def test_payments_only(sample_grains: dict[str, pl.DataFrame]) -> None:
    theirs = {"payment": inject(sample_grains)["payment"]}
    found = _causes(sample_grains, theirs)
    expected = {k: v for (g, k), v in EXPECTED.items() if g == "payment"}
    assert found.keys() == expected.keys()
    # without credits and measures, only a missing participant is data and a cent rounding;
    # crediting, timing and a missing transaction look like rates
    assert {k for k, v in found.items() if v == "data"} == {f"P030 / 2026-0{m}" for m in (1, 2, 3)}
    assert found["P014 / 2026-01"] == "rounding"
    assert {v for k, v in found.items() if not k.startswith(("P030", "P014 / 2026-01"))} == {"rate"}


def test_measures_without_credits_point_at_crediting(
    sample_grains: dict[str, pl.DataFrame],
) -> None:
    injected = inject(sample_grains)
    theirs = {g: injected[g] for g in ("payment", "incentive", "measure")}
    found = _causes(sample_grains, theirs)
    assert found["P011 / 2026-01 / revenue"] == "crediting"
    assert found["P011 / 2026-01 / commission"] == "crediting"
    assert found["P011 / 2026-01"] == "crediting"
    assert found["P022 / 2026-02"] == "rate"


def test_payment_differs_components_agree_is_rate(sample_grains: dict[str, pl.DataFrame]) -> None:
    theirs = {k: v.clone() for k, v in sample_grains.items()}
    hit = (pl.col("participant_id") == "P021") & (pl.col("period") == "2026-02")
    theirs["payment"] = theirs["payment"].with_columns(
        pl.when(hit).then(pl.col("amount_cents") + 20000).otherwise(pl.col("amount_cents"))
    )
    b = compare(sample_grains, theirs, Tolerance()).breaks
    assert b.select("key", "cause").rows() == [("P021 / 2026-02", "rate")]
    assert "adjustments" in b["detail"][0]
