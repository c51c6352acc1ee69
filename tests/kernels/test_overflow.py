"""Overflow is never silent; invalid rows are typed errors, never garbage.

Rows beyond a kernel's own 64-bit limits are rated exactly by the reference (Python integers);
a result that does not fit in int64 raises ``OVERFLOW``. Amounts up to 10**12 currency units.
"""

from __future__ import annotations

import numpy as np
import pytest

from engine.errors import EngineError, Reason
from engine.kernels import (
    Above,
    Curve,
    Matrix,
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
    tiers,
)
from engine.money import PPM, RoundingMode

HALF_UP = RoundingMode.HALF_UP
TRILLION = 10**12 * 100
"""10**12 currency units, in cents."""
SPEC = TierTable.steps([0, 10_000_000], [50_000, 80_000])
TEN_PERCENT = TierTable.steps([0], [100_000])


def test_a_trillion_is_rated_exactly_beyond_the_fast_range() -> None:
    # 10**12 x 8% = 8 * 10**10: 8e18 units of 10**-8, inside int64 but past the kernel's limit
    bases = [TRILLION, -TRILLION, 12_000_000]
    assert retroactive(SPEC, bases).tolist() == [8 * 10**18, -8 * 10**18, 960_000_000_000]
    expected = (100_000 * 5 + (10**12 - 100_000) * 8) * 10**6  # 5% then 8%, at 10**-8
    assert incremental(SPEC, bases).tolist() == [expected, -expected, 660_000_000_000]


def test_results_beyond_int64_raise_overflow_naming_the_rows() -> None:
    bases = [100, TRILLION, 200, -TRILLION]  # 10**12 x 10% = 10**19 units: beyond 2**63
    with pytest.raises(EngineError) as caught:
        retroactive(TEN_PERCENT, bases)
    assert caught.value.reason is Reason.OVERFLOW
    assert [f.reason for f in caught.value.findings] == [Reason.OVERFLOW, Reason.OVERFLOW]
    assert "row 1" in caught.value.findings[0].message
    assert "row 3" in caught.value.findings[1].message


def test_many_overflowing_rows_are_summarised() -> None:
    with pytest.raises(EngineError) as caught:
        retroactive(TEN_PERCENT, [TRILLION] * 25)
    findings = caught.value.findings
    assert len(findings) == tiers.MAX_FINDINGS + 1
    assert "5 more rows" in findings[-1].message


def test_int64_extremes_do_not_wrap() -> None:
    extremes = np.array([2**63 - 1, -(2**63)], dtype=np.int64)
    for method in (retroactive, incremental):
        with pytest.raises(EngineError) as caught:
            method(SPEC, extremes)
        assert caught.value.reason is Reason.OVERFLOW
    zero_rate = TierTable.steps([0], [0])
    assert retroactive(zero_rate, extremes).tolist() == [0, 0]


def test_marginal_routes_a_whole_group_when_one_row_is_too_large() -> None:
    amounts = [12_000_000, TRILLION, -TRILLION, 1, 2]
    offsets = [0, 3, 5]
    got = marginal(SPEC, amounts, offsets).tolist()
    assert got[:3] == reference.marginal(SPEC, amounts[:3])
    assert got[3:] == reference.marginal(SPEC, amounts[3:])
    assert sum(got[:3]) == incremental(SPEC, [12_000_000]).tolist()[0]


def test_attainment_with_trillion_measures_and_quotas() -> None:
    table = TierTable.steps([0, PPM], [20_000, 50_000], attainment=True)
    measure, quota = [TRILLION, TRILLION - 1], [TRILLION, TRILLION]
    # at exactly 100%: 5% of 10**12; one cent less: 2% (cross-multiplication in exact ints)
    assert attainment_retroactive(table, measure, quota).tolist() == [
        5 * 10**18,
        2 * (10**14 - 1) * 10**4,
    ]
    got = attainment_incremental(table, measure, quota, mode=HALF_UP).tolist()
    assert got == [
        reference.attainment_incremental(table, m, q, HALF_UP)
        for m, q in zip(measure, quota, strict=True)
    ]


def test_payout_beyond_int64_raises() -> None:
    curve = Curve(((0, 0), (PPM, 2 * PPM)))
    with pytest.raises(EngineError) as caught:
        payout_curve(curve, [TRILLION], [TRILLION], [TRILLION], mode=HALF_UP)
    assert caught.value.reason is Reason.OVERFLOW


def test_extrapolated_curves_far_beyond_their_last_point() -> None:
    curve = Curve(((0, 0), (PPM, PPM)), above=Above.EXTRAPOLATE)  # the factor is attainment
    measure, quota = [10**9, 5 * 10**6], [1, 10**6]  # attainment 10**9 (deferred) and 5
    got = payout_curve(curve, measure, quota, [100, 100], mode=HALF_UP).tolist()
    assert got == [10**9 * PPM * 100, 5 * PPM * 100]


def test_interpolated_and_matrix_route_large_rows() -> None:
    curve = Curve(((0, 50_000), (10**10, 80_000)), attainment=False)
    got = interpolated(curve, [TRILLION, 10**8], mode=HALF_UP).tolist()
    assert got == [reference.interpolated(curve, b, None, HALF_UP) for b in (TRILLION, 10**8)]
    m = Matrix(((0, None),), ((0, None),), ((80_000,),))
    assert matrix_lookup(m, [0], [0], [TRILLION]).tolist() == [8 * 10**18]


def test_quota_zero_or_negative_is_no_quota() -> None:
    table = TierTable.steps([0], [10_000], attainment=True)
    with pytest.raises(EngineError) as caught:
        attainment_retroactive(table, [100, 100, 100], [100, 0, -5])
    assert [f.reason for f in caught.value.findings] == [Reason.NO_QUOTA, Reason.NO_QUOTA]
    assert [f.value for f in caught.value.findings] == ["0", "-5"]
    curve = Curve(((0, 0), (PPM, PPM)))
    with pytest.raises(EngineError) as caught:
        payout_curve(curve, [1], [0], [1], mode=HALF_UP)
    assert caught.value.reason is Reason.NO_QUOTA
    m = Matrix(((0, None),), ((0, None),), ((1,),), row_attainment=True)
    with pytest.raises(EngineError) as caught:
        matrix_lookup(m, [1], [1], [1], row_quota=[0])
    assert caught.value.reason is Reason.NO_QUOTA


def test_a_quota_is_not_needed_by_a_value_axis() -> None:
    m = Matrix(((0, None),), ((0, None),), ((1,),), column_attainment=True)
    assert matrix_lookup(m, [1], [1], [1], row_quota=[0], column_quota=[1]).tolist() == [1]


def test_bad_table_index_is_refused() -> None:
    packed = pack_tables([SPEC, TEN_PERCENT])
    with pytest.raises(ValueError, match=r"not in 0\.\.1"):
        retroactive(packed, [1, 2], [0, 2])
    with pytest.raises(ValueError, match=r"not in 0\.\.1"):
        incremental(packed, [1, 2], [-1, 0])
    with pytest.raises(ValueError, match=r"not in 0\.\.1"):
        marginal(packed, [1, 2], [0, 1, 2], [1, 5])


def test_floats_are_refused_and_shapes_checked() -> None:
    with pytest.raises(TypeError, match="never a float"):
        retroactive(SPEC, np.array([1.5]))
    with pytest.raises(ValueError, match="one-dimensional"):
        retroactive(SPEC, np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(ValueError, match="rows"):
        retroactive(pack_tables([SPEC]), [1, 2], [0])
    with pytest.raises(ValueError, match="group_offsets"):
        marginal(SPEC, [1, 2], [0, 1])
    with pytest.raises(ValueError, match="decrease"):
        marginal(SPEC, [1, 2], [0, 2, 1, 2])
    with pytest.raises(EngineError) as caught:
        retroactive(SPEC, np.array([2**64 - 1], dtype=np.uint64))
    assert caught.value.reason is Reason.OVERFLOW


def test_narrow_integer_inputs_are_widened() -> None:
    assert retroactive(SPEC, np.array([100], dtype=np.int32)).tolist() == [5_000_000]
    assert round_to_cents(np.array([500_000], dtype=np.uint32), HALF_UP).tolist() == [1]


def test_value_and_attainment_tables_are_not_mixed() -> None:
    att = TierTable.steps([0], [1], attainment=True)
    with pytest.raises(ValueError, match="attainment"):
        retroactive(att, [1])
    with pytest.raises(ValueError, match="value"):
        attainment_retroactive(SPEC, [1], [1])
    with pytest.raises(ValueError, match="packed separately"):
        pack_tables([SPEC, att])
    with pytest.raises(ValueError, match="quota"):
        interpolated(Curve(((0, 0),)), [1], mode=HALF_UP)
    with pytest.raises(ValueError, match="quota"):
        matrix_lookup(Matrix(((0, None),), ((0, None),), ((1,),), row_attainment=True), [1], [1])


def test_empty_inputs() -> None:
    assert retroactive(SPEC, []).tolist() == []
    assert marginal(SPEC, [], [0]).tolist() == []
    assert marginal(SPEC, [], [0, 0, 0]).tolist() == []
