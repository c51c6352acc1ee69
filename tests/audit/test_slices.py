"""Tier slices: what each tier paid, exact at 10**-8."""

from __future__ import annotations

from decimal import Decimal

from engine.audit.lineage import Lineage
from engine.audit.slices import slices_for
from engine.money import RoundingMode

MANAGER = [(Decimal(0), Decimal(1), Decimal("0.01")), (Decimal(1), None, Decimal("0.015"))]
HALF_UP = RoundingMode.HALF_UP


def test_incremental_on_attainment_above_quota() -> None:
    # team revenue 150,000.00 on a quota of 120,000.00: 120,000 x 1% + 30,000 x 1.5% = 1,650.00
    got = slices_for(
        "incremental", "attainment", MANAGER, 15_000_000, tier_num=15_000_000,
        tier_den=12_000_000, mode=HALF_UP,
    )  # fmt: skip
    assert got == [(1, 12_000_000, 1_200 * 10**8), (2, 3_000_000, 45_000_000_000)]


def test_negative_amount_is_the_mirror_image() -> None:
    got = slices_for(
        "incremental", "attainment", MANAGER, -15_000_000, tier_num=-15_000_000,
        tier_den=12_000_000, mode=HALF_UP,
    )  # fmt: skip
    assert [e for _, _, e in got] == [-1_200 * 10**8, -45_000_000_000]


def test_retroactive_pays_the_reached_tier_on_everything() -> None:
    ae = [
        (Decimal(0), Decimal(1), Decimal("0.05")),
        (Decimal(1), Decimal("1.5"), Decimal("0.08")),
        (Decimal("1.5"), None, Decimal("0.1")),
    ]
    # exactly 100% of quota is in the 8% tier (lower bound inclusive)
    got = slices_for("retroactive", "attainment", ae, 4_000_000, tier_num=4_000_000,
                     tier_den=4_000_000, mode=HALF_UP)  # fmt: skip
    assert got == [(2, 4_000_000, 320_000_000_000)]


def test_every_sample_slice_adds_up_to_its_earnings(sample_lineage: Lineage) -> None:
    slices = sample_lineage["tier_slices"]
    assert slices.height == 28  # every retroactive / incremental incentive (not the SPIFs)
    assert slices["matches"].all()
