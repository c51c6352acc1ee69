"""Properties the plan semantics promise, checked on random tables and values.

* marginal: a group's rows add up to incremental on the group's total (from its opening);
  for sales only, each row is literally the slice it adds, paid across the tiers it spans;
* a credit note (a negative row, or a lower total) never increases pay;
* a negative base earns the mirror image of its absolute value, so a sale and its return
  rated per transaction net to zero;
* rounding ties built on purpose land where the mode says.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import pairwise

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError, Reason
from engine.kernels import (
    Curve,
    RateKind,
    Tier,
    TierTable,
    attainment_incremental,
    attainment_retroactive,
    incremental,
    interpolated,
    marginal,
    pack_tables,
    retroactive,
    round_to_cents,
)
from engine.kernels.tables import EXACT_PER_CENT
from engine.money import RoundingMode, round_div

from .comparisons import MODES, Case, attainment_cases, marginal_cases, tier_tables

PROPERTY = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
MODERATE = st.integers(-(10**12), 10**12)
"""Values whose earnings fit comfortably in 64 bits (10 billion currency units)."""


@PROPERTY
@given(marginal_cases())
def test_marginal_group_sums_to_incremental_of_the_total(case: Case) -> None:
    amount, offsets = case.rows["amount"], case.rows["group_offsets"]
    assume(np.abs(amount).max(initial=0) <= 10**13)
    index, opening = case.extra.get("group_table"), case.extra.get("opening")
    assume(opening is None or np.abs(opening).max(initial=0) <= 10**13)
    try:
        paid = marginal(pack_tables(case.specs), amount, offsets, index, opening)
        totals = []
        for g in range(len(offsets) - 1):
            table = case.specs[0 if index is None else int(index[g])]
            start = 0 if opening is None else int(opening[g])
            total = int(amount[offsets[g] : offsets[g + 1]].sum())
            totals.append(incremental(table, [start, start + total]).tolist())
    except EngineError as exc:  # beyond the exact range: a typed error, not a wrong number
        assume(exc.reason is not Reason.OVERFLOW)
        raise
    for g, (before, after) in enumerate(totals):
        assert int(paid[offsets[g] : offsets[g + 1]].sum()) == after - before


def _literal_slice(table: TierTable, before: int, after: int) -> int:
    """Earnings of the slice ``before..after`` (0 <= before <= after), tier by tier, in e8."""
    total = 0
    for tier in table.tiers:
        top = after if tier.upper is None else min(after, tier.upper)
        inside = max(0, top - max(before, tier.lower))
        factor = tier.rate if table.kind is RateKind.PERCENT else tier.rate * 10_000
        total += inside * factor
    return total


@PROPERTY
@given(
    tier_tables().filter(lambda t: t.kind is not RateKind.FIXED),
    st.lists(st.integers(0, 10**10), max_size=12),
)
def test_marginal_sales_pay_the_slices_they_span(table: TierTable, sales: list[int]) -> None:
    paid = marginal(table, sales, [0, len(sales)]).tolist()
    running = 0
    for amount, got in zip(sales, paid, strict=True):
        assert got == _literal_slice(table, running, running + amount)
        running += amount


def _monotone(table: TierTable) -> bool:
    """No gap, open top, rates not falling: the retroactive tables that cannot reward a cut."""
    tiers = table.tiers
    contiguous = all(a.upper == b.lower for a, b in pairwise(tiers))
    rising = all(a.rate <= b.rate for a, b in pairwise(tiers))
    return contiguous and rising and tiers[-1].upper is None and tiers[0].lower == 0


@PROPERTY
@given(tier_tables(), MODERATE, st.integers(1, 10**11))
def test_a_credit_note_never_increases_pay(table: TierTable, base: int, credit: int) -> None:
    try:
        incremental(table, [base - credit])
        retroactive(table, [base - credit])
        marginal(table, [base, -credit], [0, 2])
    except EngineError as exc:  # beyond the exact range: a typed error, not a wrong number
        assume(exc.reason is not Reason.OVERFLOW)
        raise
    before, after = incremental(table, [base, base - credit]).tolist()
    assert after <= before
    if _monotone(table):
        before, after = retroactive(table, [base, base - credit]).tolist()
        assert after <= before
    # marginal: the return row itself earns nothing positive
    assert marginal(table, [base, -credit], [0, 2]).tolist()[1] <= 0


@PROPERTY
@given(tier_tables(), st.lists(MODERATE.filter(bool), max_size=10))
def test_a_return_reverses_its_sale_per_transaction(table: TierTable, sales: list[int]) -> None:
    rows = [*sales, *(-s for s in sales)]
    for method in (retroactive, incremental):
        paid = method(table, rows).tolist()
        assert paid[len(sales) :] == [-p for p in paid[: len(sales)]]
        assert sum(paid) == 0


@PROPERTY
@given(attainment_cases())
def test_attainment_mirrors_negative_measures(case: Case) -> None:
    measure, quota = np.abs(case.rows["measure"]), case.rows["quota"]
    keep = (measure > 0) & (measure <= 10**9) & (quota <= 10**12)  # 0 is rated as itself
    measure, quota = measure[keep], quota[keep]
    for table in case.specs:
        pos = attainment_incremental(table, measure, quota, mode=case.mode)
        neg = attainment_incremental(table, -measure, quota, mode=case.mode)
        assert neg.tolist() == (-pos).tolist()
        pos = attainment_retroactive(table, measure, quota)
        assert attainment_retroactive(table, -measure, quota).tolist() == (-pos).tolist()


def _rounded(value: Fraction, mode: RoundingMode) -> int:
    """What the mode says a tie rounds to (used only on exact halves)."""
    assert value.denominator == 2
    if mode is RoundingMode.HALF_EVEN:
        low = value.numerator // 2
        return low if low % 2 == 0 else low + 1
    return (value.numerator + (1 if value > 0 else -1)) // 2


@PROPERTY
@given(
    st.integers(0, 10**6),  # the segment's start
    st.integers(1, 10**6),  # half its width
    st.integers(0, 10**6),  # the rate at its start (ppm)
    st.integers(0, 10**5),  # half its rise, minus one half: the rise is odd
    st.booleans(),
    MODES,
)
def test_interpolated_ties(
    start: int, half: int, r0: int, rise: int, negative: bool, mode: RoundingMode
) -> None:
    base = start + half  # the middle of the segment
    assume(base % 2 == 1)
    dr = 2 * rise + 1
    curve = Curve(((start, r0), (start + 2 * half, r0 + dr)), attainment=False)
    exact = base * r0 + Fraction(base * dr, 2)  # base x the rate at the middle, a half
    sign = -1 if negative else 1
    got = interpolated(curve, [sign * base], mode=mode).tolist()
    assert got == [_rounded(sign * exact, mode)]


@PROPERTY
@given(
    st.integers(0, 10**6).map(lambda k: 2 * k + 1),  # an odd bound (ppm)
    st.integers(0, 10**6).map(lambda k: 2 * k + 1),  # an odd quota (cents)
    st.integers(1, 10**6),
    st.booleans(),
    MODES,
)
def test_attainment_incremental_band_ties(
    bound: int, quota: int, beyond: int, negative: bool, mode: RoundingMode
) -> None:
    # a 50% band ending at bound x quota (odd, at 10**-8) earns half an odd number of units
    table = TierTable((Tier(0, bound, 500_000), Tier(bound, None, 0)), attainment=True)
    measure = bound * quota // 1_000_000 + beyond  # beyond the band's edge
    sign = -1 if negative else 1
    got = attainment_incremental(table, [sign * measure], [quota], mode=mode).tolist()
    assert got == [_rounded(sign * Fraction(bound * quota, 2), mode)]


@PROPERTY
@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=50), MODES)
def test_round_to_cents_agrees_with_round_div(values: list[int], mode: RoundingMode) -> None:
    expected = [round_div(v, EXACT_PER_CENT, mode) for v in values]
    assert round_to_cents(values, mode).tolist() == expected
