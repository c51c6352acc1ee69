"""Hand-worked examples: the domain spec's 9,600 and 6,600, boundaries, negatives, ties.

Amounts are written in currency units through ``parse_decimal`` so that each case reads like
the plan document; results are compared after rounding to cents, and exactly at 10**-8.
"""

from __future__ import annotations

import pytest

from engine.kernels import (
    EXACT,
    EXACT_PER_CENT,
    Above,
    Below,
    Boundary,
    Curve,
    Matrix,
    RateKind,
    Tier,
    TierTable,
    attainment_incremental,
    attainment_retroactive,
    incremental,
    interpolated,
    marginal,
    matrix_lookup,
    pack_tables,
    payout_curve,
    reference,
    retroactive,
    round_to_cents,
)
from engine.money import PPM, RoundingMode, format_cents, parse_decimal

HALF_UP, HALF_EVEN = RoundingMode.HALF_UP, RoundingMode.HALF_EVEN


def c(text: str) -> int:
    """Currency text to cents (or a count to hundredths)."""
    return parse_decimal(text, 2)


def pct(text: str) -> int:
    """A percentage to ppm: ``pct("5")`` is 5%."""
    return parse_decimal(text, 4)


def money(values_e8: object) -> list[str]:
    """Exact earnings as currency text (they must be whole cents)."""
    cents = []
    for v in list(values_e8):  # type: ignore[call-overload]
        assert v % EXACT_PER_CENT == 0, v
        cents.append(format_cents(int(v) // EXACT_PER_CENT))
    return cents


SPEC = TierTable.steps([0, c("100000")], [pct("5"), pct("8")])
"""The domain spec's table: 0-100k: 5%, 100k+: 8%."""


def test_spec_retroactive_pays_9600() -> None:
    assert money(retroactive(SPEC, [c("120000")])) == ["9600.00"]


def test_spec_incremental_pays_6600() -> None:
    assert money(incremental(SPEC, [c("120000")])) == ["6600.00"]


def test_exact_scale_is_cents_times_ppm() -> None:
    assert EXACT == 10**8
    assert EXACT_PER_CENT * 100 == EXACT
    # one cent at 1 ppm is exactly one exact unit
    assert retroactive(TierTable.steps([0], [1]), [1]).tolist() == [1]


@pytest.mark.parametrize(
    ("boundary", "retro", "incr"),
    [
        (Boundary.LOWER_INCLUSIVE, "8000.00", "5000.00"),  # 100k is in the 8% tier
        (Boundary.UPPER_INCLUSIVE, "5000.00", "5000.00"),  # 100k is in the 5% tier
    ],
)
def test_base_on_a_boundary(boundary: Boundary, retro: str, incr: str) -> None:
    table = TierTable.steps([0, c("100000")], [pct("5"), pct("8")], boundary=boundary)
    assert money(retroactive(table, [c("100000")])) == [retro]
    # slices do not depend on inclusivity: the boundary point has no width
    assert money(incremental(table, [c("100000")])) == [incr]


def test_both_inclusive_pays_nothing_in_a_gap() -> None:
    tiers = (Tier(0, c("100000"), pct("5")), Tier(c("150000"), None, pct("8")))
    table = TierTable(tiers, boundary=Boundary.BOTH_INCLUSIVE)
    bases = [c("100000"), c("120000"), c("150000"), c("200000")]
    assert money(retroactive(table, bases)) == ["5000.00", "0.00", "12000.00", "16000.00"]
    # the gap earns nothing; the 8% tier starts at 150k
    assert money(incremental(table, bases)) == ["5000.00", "5000.00", "5000.00", "9000.00"]


def test_upper_inclusive_first_tier_excludes_zero() -> None:
    # (0, 1.00]: 5.00, (1.00, ...): 5.00 more
    fixed = TierTable.steps(
        [0, 100], [500, 500], kind=RateKind.FIXED, boundary=Boundary.UPPER_INCLUSIVE
    )
    assert money(retroactive(fixed, [0, 1, 100, 101])) == ["0.00", "5.00", "5.00", "5.00"]
    assert money(incremental(fixed, [0, 1, 100, 101])) == ["0.00", "5.00", "5.00", "10.00"]


def test_closed_top_pays_nothing_above_it() -> None:
    table = TierTable.steps([0, c("100")], [pct("10"), pct("20")], top=c("200"))
    assert money(retroactive(table, [c("150"), c("200"), c("500")])) == ["30.00", "0.00", "0.00"]
    # incremental: the slices inside the tiers are still earned
    assert money(incremental(table, [c("500")])) == ["30.00"]


def test_fixed_amounts_retroactive_and_per_tier_reached() -> None:
    table = TierTable.steps(
        [0, c("50000"), c("100000")], [0, c("500"), c("1000")], kind=RateKind.FIXED
    )
    bases = [c("49999.99"), c("50000"), c("120000")]
    assert money(retroactive(table, bases)) == ["0.00", "500.00", "1000.00"]
    assert money(incremental(table, bases)) == ["0.00", "500.00", "1500.00"]


def test_per_unit_rates() -> None:
    # 0-10 units: 5.00 per unit, 10+: 8.00 per unit; 12 units (a count times 100)
    table = TierTable.steps([0, c("10")], [c("5"), c("8")], kind=RateKind.PER_UNIT)
    assert money(retroactive(table, [c("12")])) == ["96.00"]
    assert money(incremental(table, [c("12")])) == ["66.00"]
    # a fraction of a unit pays a fraction: 0.5 unit at 5.00 = 2.50
    assert money(retroactive(table, [c("0.5")])) == ["2.50"]


def test_sub_cent_results_stay_exact() -> None:
    # 0.01 at 5% is 0.0005: kept exactly at 10**-8, rounded only when asked
    e8 = retroactive(SPEC, [1, 3])
    assert e8.tolist() == [50_000, 150_000]
    assert round_to_cents(e8, HALF_UP).tolist() == [0, 0]


def test_negative_base_mirrors() -> None:
    assert money(retroactive(SPEC, [c("-120000")])) == ["-9600.00"]
    assert money(incremental(SPEC, [c("-120000")])) == ["-6600.00"]
    # a small negative total is rated in the first tier
    assert money(retroactive(SPEC, [c("-1000")])) == ["-50.00"]


def test_per_transaction_rates_each_row_from_the_first_tier() -> None:
    deals = [c("60000"), c("60000"), c("120000"), c("-120000")]
    assert money(retroactive(SPEC, deals)) == ["3000.00", "3000.00", "9600.00", "-9600.00"]
    assert money(incremental(SPEC, deals)) == ["3000.00", "3000.00", "6600.00", "-6600.00"]


def test_one_call_rates_several_tables() -> None:
    flat = TierTable.steps([0], [pct("10")])
    packed = pack_tables([SPEC, flat])
    e8 = retroactive(packed, [c("120000"), c("120000"), c("10")], [0, 1, 1])
    assert money(e8) == ["9600.00", "12000.00", "1.00"]


def test_marginal_slices_of_the_running_total() -> None:
    deals = [c("60000"), c("60000"), c("-30000")]
    # 60k at 5%; 40k at 5% + 20k at 8%; back from 120k to 90k: -(20k at 8% + 10k at 5%)
    assert money(marginal(SPEC, deals, [0, 3])) == ["3000.00", "3600.00", "-2100.00"]


def test_marginal_return_below_zero() -> None:
    deals = [c("10000"), c("-15000"), c("10000")]
    # 0 -> 10k: 500; 10k -> -5k: -(500 + 250); -5k -> 5k: 250 + 250; total 250 = 5% of 5k
    assert money(marginal(SPEC, deals, [0, 3])) == ["500.00", "-750.00", "500.00"]


def test_marginal_groups_and_opening_balance() -> None:
    deals = [c("20000"), c("50000"), c("70000")]
    e8 = marginal(SPEC, deals, [0, 1, 3], opening=[c("90000"), 0])
    # group 0 starts at 90k: 10k at 5% + 10k at 8%; group 1 starts at 0
    assert money(e8) == ["1300.00", "2500.00", "4100.00"]


@pytest.mark.parametrize(
    ("measure", "expected_e8"),
    [
        ("99999.99", 199_999_980_000),  # 99.99999% of quota: 2% (1,999.9998)
        ("100000", 500_000_000_000),  # exactly 100%: 5%
        ("150000", 750_000_000_000),
        ("-100000", -500_000_000_000),
    ],
)
def test_attainment_retroactive(measure: str, expected_e8: int) -> None:
    table = TierTable.steps([0, PPM], [pct("2"), pct("5")], attainment=True)
    assert attainment_retroactive(table, [c(measure)], [c("100000")]).tolist() == [expected_e8]


def test_attainment_exactly_on_a_band_edge_with_an_awkward_quota() -> None:
    # quota 3.00, measure 2.10: attainment is exactly 70%, a float would not say so reliably
    table = TierTable.steps([0, 700_000], [pct("1"), pct("10")], attainment=True)
    assert attainment_retroactive(table, [c("2.10"), c("2.09")], [c("3"), c("3")]).tolist() == [
        21_000_000,
        2_090_000,
    ]
    upper = TierTable.steps(
        [0, 700_000], [pct("1"), pct("10")], attainment=True, boundary=Boundary.UPPER_INCLUSIVE
    )
    assert attainment_retroactive(upper, [c("2.10")], [c("3")]).tolist() == [2_100_000]


def test_attainment_incremental() -> None:
    table = TierTable.steps([0, PPM], [pct("2"), pct("5")], attainment=True)
    e8 = attainment_incremental(table, [c("150000")], [c("100000")], mode=HALF_UP)
    assert money(e8) == ["4500.00"]  # 100k at 2% + 50k at 5%


@pytest.mark.parametrize(("mode", "expected"), [(HALF_UP, [1, -1]), (HALF_EVEN, [0, 0])])
def test_attainment_incremental_rounds_band_ties(mode: RoundingMode, expected: list[int]) -> None:
    # a band ending at 1 ppm of a 0.01 quota holds 10**-8 of the measure; at 50% it earns
    # half a unit of 10**-8: a tie
    table = TierTable((Tier(0, 1, 500_000), Tier(1, None, 0)), attainment=True)
    got = attainment_incremental(table, [1, -1], [1, 1], mode=mode)
    assert got.tolist() == expected


def test_attainment_band_edges_are_exact_not_rounded() -> None:
    # quota 0.03, a 100% band up to 33.3334% attainment: its edge is 0.03 x 0.333334 =
    # 0.01000002, exact at 10**-8 (not rounded to a cent)
    table = TierTable.steps([0, 333_334], [PPM, 0], attainment=True)
    assert attainment_incremental(table, [3], [3], mode=HALF_UP).tolist() == [1_000_002]


def test_interpolated_rate_inside_a_tier() -> None:
    # the rate runs from 2% at 0 to 4% at 100k, then holds
    curve = Curve(((0, pct("2")), (c("100000"), pct("4"))), attainment=False)
    bases = [c("50000"), c("100000"), c("200000"), c("-50000")]
    assert money(interpolated(curve, bases, mode=HALF_UP)) == [
        "1500.00",
        "4000.00",
        "8000.00",
        "-1500.00",
    ]


@pytest.mark.parametrize(("mode", "expected"), [(HALF_UP, [1, -1, 2]), (HALF_EVEN, [0, 0, 2])])
def test_interpolated_ties(mode: RoundingMode, expected: list[int]) -> None:
    # the rate runs from 0 ppm at 0.00 to 1 ppm at 0.02: at 0.01 it is 0.5 ppm, and
    # 0.01 x 0.5 ppm is half a unit of 10**-8; at 0.02, 0.02 x 1 ppm is 2 units
    curve = Curve(((0, 0), (2, 1)), attainment=False)
    got = interpolated(curve, [1, -1, 2], mode=mode)
    assert got.tolist() == expected


def test_payout_curve_points_flat_beyond_and_below() -> None:
    curve = Curve(((500_000, 0), (PPM, PPM), (1_500_000, 2_000_000)))
    measure = [c("40000"), c("75000"), c("100000"), c("120000"), c("300000"), c("-10")]
    quota = [c("100000")] * len(measure)
    target = [c("10000")] * len(measure)
    got = payout_curve(curve, measure, quota, target, mode=HALF_UP)
    assert money(got) == ["0.00", "5000.00", "10000.00", "14000.00", "20000.00", "0.00"]


def test_payout_curve_flat_below_and_extrapolated_above() -> None:
    curve = Curve(((500_000, 200_000), (PPM, PPM)), below=Below.FLAT, above=Above.EXTRAPOLATE)
    measure = [0, c("25"), c("200")]
    got = payout_curve(curve, measure, [c("100")] * 3, [c("1000")] * 3, mode=HALF_UP)
    # below 50%: held at 20%; 200% extends the line (1.6 per unit of attainment): 260%
    assert money(got) == ["200.00", "200.00", "2600.00"]


@pytest.mark.parametrize(("mode", "expected"), [(HALF_UP, [1, 333_333]), (HALF_EVEN, [0, 333_333])])
def test_payout_curve_rounds_once_to_exact_units(mode: RoundingMode, expected: list[int]) -> None:
    # factor = attainment: 0.5 ppm of a 0.01 target is half a unit (a tie); 1/3 of 0.01 is
    # 333_333.33... units
    curve = Curve(((0, 0), (PPM, PPM)))
    got = payout_curve(curve, [1, 1], [2 * PPM, 3], [1, 1], mode=mode)
    assert got.tolist() == expected


def test_matrix_lookup() -> None:
    m = Matrix(
        rows=((0, PPM), (PPM, None)),  # attainment below / from 100%
        columns=((0, c("30")), (c("30"), None)),  # margin below / from 30.00
        rates=((pct("2"), pct("3")), (pct("4"), pct("6"))),
        row_attainment=True,
    )
    got = matrix_lookup(
        m,
        [c("110000"), c("90000"), c("100000"), c("-1")],
        [c("35"), c("35"), c("29.99"), c("35")],
        [c("110000"), c("90000"), c("100000"), c("1000")],
        row_quota=[c("100000")] * 4,
    )
    # 110% & 35: 6%; 90% & 35: 3%; 100% & 29.99: 4%; negative attainment: in no band
    assert money(got) == ["6600.00", "2700.00", "4000.00", "0.00"]


def test_matrix_fixed_cells() -> None:
    m = Matrix(((0, 100), (100, None)), ((0, None),), ((c("50"),), (c("80"),)), RateKind.FIXED)
    assert money(matrix_lookup(m, [99, 100, -1], [0, 0, 0])) == ["50.00", "80.00", "0.00"]


@pytest.mark.parametrize(
    ("e8", "half_up", "half_even"),
    [
        (123_500_000, 124, 124),  # 1.235
        (124_500_000, 125, 124),  # 1.245
        (-123_500_000, -124, -124),  # -1.235
        (-124_500_000, -125, -124),  # -1.245
        (500_000, 1, 0),  # 0.005
        (-500_000, -1, 0),  # -0.005
        (499_999, 0, 0),
        (-499_999, 0, 0),
        (500_001, 1, 1),
        (2**63 - 1, 9_223_372_036_855, 9_223_372_036_855),
        (-(2**63), -9_223_372_036_855, -9_223_372_036_855),
    ],
)
def test_round_to_cents_ties(e8: int, half_up: int, half_even: int) -> None:
    assert round_to_cents([e8], HALF_UP).tolist() == [half_up]
    assert round_to_cents([e8], HALF_EVEN).tolist() == [half_even]
    assert reference.round_to_cents(e8, HALF_UP) == half_up
    assert reference.round_to_cents(e8, HALF_EVEN) == half_even


def test_falling_segments() -> None:
    # a decelerating payout: 200% at 0 down to 0% at 100% attainment; at 25%: 150%
    curve = Curve(((0, 2 * PPM), (PPM, 0)))
    assert payout_curve(curve, [1, 3], [4, 4], [1, 1], mode=HALF_UP).tolist() == [
        1_500_000,  # 0.01 x 150%
        500_000,  # 0.01 x 50%
    ]
    # a rate falling from 10% at 0 to 5% at 100.00: at 50.00 it is 7.5%
    value_curve = Curve(((0, pct("10")), (c("100"), pct("5"))), attainment=False)
    assert money(interpolated(value_curve, [c("50")], mode=HALF_UP)) == ["3.75"]
