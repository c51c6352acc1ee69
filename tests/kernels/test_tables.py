"""Table specs are validated when built: one bad table per kind of mistake, each located."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.errors import EngineError, Reason
from engine.kernels import (
    Above,
    Boundary,
    Curve,
    Matrix,
    RateKind,
    Tier,
    TierTable,
    pack_curves,
    pack_matrices,
    pack_tables,
)
from engine.kernels.tables import MAX_BOUND, MAX_FIXED_CENTS, MAX_RATE_FACTOR

BAD_SPECS: dict[str, tuple[Callable[[], object], str]] = {
    "no tiers": (lambda: TierTable(()), "tiers"),
    "negative start": (lambda: TierTable((Tier(-1, None, 1),)), "tiers[0]"),
    "upper not above lower": (lambda: TierTable((Tier(5, 5, 1),)), "tiers[0]"),
    "open tier not last": (lambda: TierTable((Tier(0, None, 1), Tier(5, None, 1))), "tiers[0]"),
    "gap": (lambda: TierTable((Tier(0, 5, 1), Tier(6, None, 1))), "tiers[0]"),
    "overlap": (lambda: TierTable((Tier(0, 5, 1), Tier(4, None, 1))), "tiers[0]"),
    "both_inclusive shared bound": (
        lambda: TierTable((Tier(0, 5, 1), Tier(5, None, 1)), boundary=Boundary.BOTH_INCLUSIVE),
        "tiers[0]",
    ),
    "bound beyond range": (lambda: TierTable((Tier(0, MAX_BOUND + 1, 1),)), "tiers[0]"),
    "negative rate": (lambda: TierTable.steps([0, 5], [1, -1]), "tiers[1].rate"),
    "rate too large": (lambda: TierTable.steps([0], [MAX_RATE_FACTOR + 1]), "tiers[0].rate"),
    "per-unit rate too large": (
        lambda: TierTable.steps([0], [MAX_RATE_FACTOR], kind=RateKind.PER_UNIT),
        "tiers[0].rate",
    ),
    "fixed too large": (
        lambda: TierTable.steps([0], [MAX_FIXED_CENTS + 1], kind=RateKind.FIXED),
        "tiers[0].rate",
    ),
    "unknown kind": (lambda: TierTable.steps([0], [1], kind="bonus"), "kind"),  # type: ignore[arg-type]
    "unknown boundary": (lambda: TierTable.steps([0], [1], boundary="open"), "boundary"),  # type: ignore[arg-type]
    "bounds and rates differ": (lambda: TierTable.steps([0, 1], [1]), "tiers"),
    "curve without points": (lambda: Curve(()), "points"),
    "curve not ascending": (lambda: Curve(((5, 0), (5, 1))), "points[1].at"),
    "curve below zero": (lambda: Curve(((-1, 0),)), "points[0].at"),
    "curve negative rate": (lambda: Curve(((0, -1),)), "points[0].rate"),
    "extrapolating down": (
        lambda: Curve(((0, 5), (1, 4)), above=Above.EXTRAPOLATE),
        "above",
    ),
    "extrapolating one point": (lambda: Curve(((0, 5),), above=Above.EXTRAPOLATE), "above"),
    "matrix rows of rates": (lambda: Matrix(((0, None),), ((0, None),), ()), "rates"),
    "matrix columns of rates": (lambda: Matrix(((0, None),), ((0, None),), ((1, 2),)), "rates[0]"),
    "matrix bands": (lambda: Matrix(((0, 5), (6, None)), ((0, None),), ((1,), (1,))), "rows[0]"),
    "matrix rate": (lambda: Matrix(((0, None),), ((0, None),), ((-1,),)), "rates[0][0]"),
}


@pytest.mark.parametrize("mistake", sorted(BAD_SPECS))
def test_bad_specs_are_refused_with_their_location(mistake: str) -> None:
    build, where = BAD_SPECS[mistake]
    with pytest.raises(EngineError) as caught:
        build()
    (finding,) = caught.value.findings
    assert finding.reason is Reason.RULE_BAD_VALUE
    assert finding.column == where


def test_messages_name_the_table() -> None:
    with pytest.raises(EngineError, match="rate table 'ae'"):
        TierTable.steps([0, 5], [1, -1], name="ae")


def test_settings_written_as_text_are_read_as_settings() -> None:
    table = TierTable.steps([0], [1], kind="per_unit", boundary="upper_inclusive")  # type: ignore[arg-type]
    assert table.kind is RateKind.PER_UNIT
    assert table.boundary is Boundary.UPPER_INCLUSIVE
    assert Curve(((0, 0), (1, 1)), above="extrapolate").above is Above.EXTRAPOLATE  # type: ignore[arg-type]


def test_both_inclusive_may_leave_gaps() -> None:
    table = TierTable((Tier(0, 5, 1), Tier(7, None, 2)), boundary=Boundary.BOTH_INCLUSIVE)
    packed = pack_tables([table])
    assert packed.first_in.tolist() == [0, 7]
    assert packed.past.tolist()[0] == 6


def test_packing_is_csr() -> None:
    a = TierTable.steps([0, 100], [1, 2])
    b = TierTable.steps([0, 10, 20], [3, 4, 5], kind=RateKind.FIXED)
    packed = pack_tables([a, b])
    assert packed.offsets.tolist() == [0, 2, 5]
    assert packed.factor.tolist() == [1, 2, 0, 0, 0]
    assert packed.fixed.tolist() == [0, 0, 3_000_000, 4_000_000, 5_000_000]
    # incremental earnings at each tier's lower bound, its own fixed pay included
    assert packed.cum.tolist() == [0, 100, 3_000_000, 7_000_000, 12_000_000]
    assert all(arr.flags.c_contiguous for arr in packed.arrays)
    assert pack_curves([Curve(((0, 1),)), Curve(((0, 1), (5, 2)))]).offsets.tolist() == [0, 1, 3]
    m = Matrix(((0, 1), (1, None)), ((0, None),), ((1,), (2,)))
    assert pack_matrices([m, m]).cell_offsets.tolist() == [0, 2, 4]


def test_empty_packs_are_refused() -> None:
    for pack in (pack_tables, pack_curves, pack_matrices):
        with pytest.raises(ValueError, match="at least one"):
            pack([])
