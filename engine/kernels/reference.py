"""Slow, exact, obviously-correct references for the tier kernels, one scalar row at a time.

Everything here is written in the plan's own terms: amounts become exact
:class:`~fractions.Fraction` values of the currency unit, rates become fractions (5% is 1/20),
tier membership is tested on those fractions with the boundary rule spelled out, and only the
final amount is turned into 10**-8 units (exactly, or rounded with the plan's mode where the
kernel's documentation says a rounding happens). It shares no code with the Numba kernels; the
tests hold the kernels to these functions on random tables and values, boundaries and ties
included. The kernel wrappers also use them for rows beyond the kernels' 64-bit range.

Example:
    >>> from engine.kernels.tables import TierTable
    >>> t = TierTable.steps([0, 10_000_000], [50_000, 80_000])
    >>> retroactive(t, 12_000_000), incremental(t, 12_000_000)
    (960000000000, 660000000000)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction
from itertools import pairwise

from engine.kernels.tables import Above, Below, Boundary, Curve, Matrix, RateKind, TierTable
from engine.money import RoundingMode

__all__ = [
    "attainment_incremental",
    "attainment_retroactive",
    "incremental",
    "interpolated",
    "marginal",
    "matrix_lookup",
    "payout_curve",
    "retroactive",
    "round_to_cents",
]

ONE_E8 = 10**8
HALF = Fraction(1, 2)


def _value(scaled: int) -> Fraction:
    """A value at scale 2 (cents, or a count times 100) in currency units or units."""
    return Fraction(scaled, 100)


def _bound(bound: int | None, attainment: bool) -> Fraction | None:
    if bound is None:
        return None
    return Fraction(bound, 1_000_000) if attainment else Fraction(bound, 100)


def _contains(lower: Fraction, upper: Fraction | None, x: Fraction, boundary: Boundary) -> bool:
    """Whether ``x`` lies in the band ``lower .. upper`` under ``boundary``."""
    if boundary is Boundary.LOWER_INCLUSIVE:
        return lower <= x and (upper is None or x < upper)
    if boundary is Boundary.UPPER_INCLUSIVE:
        return lower < x and (upper is None or x <= upper)
    return lower <= x and (upper is None or x <= upper)


def _reached(lower: Fraction, x: Fraction, boundary: Boundary) -> bool:
    """Whether ``x`` is in a tier starting at ``lower`` or beyond it."""
    return x > lower or (x == lower and boundary is not Boundary.UPPER_INCLUSIVE)


def _pays(kind: RateKind, rate: int, amount: Fraction) -> Fraction:
    """What a tier (or cell) with ``rate`` pays on ``amount`` of base, in currency units."""
    if kind is RateKind.PERCENT:
        return amount * Fraction(rate, 1_000_000)
    if kind is RateKind.PER_UNIT:
        return amount * Fraction(rate, 100)
    return Fraction(rate, 100)


def _exact_e8(amount: Fraction) -> int:
    """``amount`` in 10**-8 units; it must be exact there (no rounding is allowed)."""
    scaled = amount * ONE_E8
    if scaled.denominator != 1:
        raise ArithmeticError(f"{amount} is not exact at 10**-8")
    return scaled.numerator


def _rounded_e8(amount: Fraction, mode: RoundingMode) -> int:
    """``amount`` rounded to 10**-8 units: half to even, or half away from zero."""
    scaled = amount * ONE_E8
    if mode is RoundingMode.HALF_EVEN:
        return round(scaled)  # Fraction rounds half to even
    magnitude = math.floor(abs(scaled) + HALF)
    return magnitude if scaled >= 0 else -magnitude


def retroactive(table: TierTable, base: int) -> int:
    """The whole base at the rate of the tier containing it; 0 when in none.

    Example:
        >>> t = TierTable.steps([0, 100], [10, 20])
        >>> retroactive(t, 100), retroactive(t, -100)
        (2000, -2000)
    """
    if base < 0:
        return -retroactive(table, -base)
    x = _value(base)
    for tier in table.tiers:
        lower = _bound(tier.lower, table.attainment)
        assert lower is not None
        if _contains(lower, _bound(tier.upper, table.attainment), x, table.boundary):
            return _exact_e8(_pays(table.kind, tier.rate, x))
    return 0


def incremental(table: TierTable, base: int) -> int:
    """Each part of the base inside a tier at that tier's rate; fixed pay per tier reached.

    Example:
        >>> t = TierTable.steps([0, 100], [10, 20])
        >>> incremental(t, 150)
        2000
    """
    if base < 0:
        return -incremental(table, -base)
    x = _value(base)
    total = Fraction(0)
    for tier in table.tiers:
        lower = _bound(tier.lower, table.attainment)
        upper = _bound(tier.upper, table.attainment)
        assert lower is not None
        if table.kind is RateKind.FIXED:
            if _reached(lower, x, table.boundary):
                total += _pays(table.kind, tier.rate, x)
        else:
            inside = max(Fraction(0), (x if upper is None else min(x, upper)) - lower)
            total += _pays(table.kind, tier.rate, inside)
    return _exact_e8(total)


def marginal(table: TierTable, amounts: Sequence[int], opening: int = 0) -> list[int]:
    """Each amount pays the incremental earnings of the running total after it, less before.

    Example:
        >>> t = TierTable.steps([0, 100], [10, 20])
        >>> marginal(t, [60, 60, -30])
        [600, 800, -500]
    """
    paid = []
    running = opening
    for amount in amounts:
        paid.append(incremental(table, running + amount) - incremental(table, running))
        running += amount
    return paid


def _attainment(measure: int, quota: int) -> Fraction:
    if quota <= 0:
        raise ValueError(f"quota must be above zero, got {quota}")
    return Fraction(measure, quota)


def attainment_retroactive(table: TierTable, measure: int, quota: int) -> int:
    """The whole measure at the rate of the tier its attainment is in.

    Example:
        >>> t = TierTable.steps([0, 1_000_000], [10, 20], attainment=True)
        >>> attainment_retroactive(t, 100, 100), attainment_retroactive(t, 99, 100)
        (2000, 990)
    """
    if measure < 0:
        return -attainment_retroactive(table, -measure, quota)
    att = _attainment(measure, quota)
    for tier in table.tiers:
        lower = _bound(tier.lower, True)
        assert lower is not None
        if _contains(lower, _bound(tier.upper, True), att, table.boundary):
            return _exact_e8(_pays(table.kind, tier.rate, _value(measure)))
    return 0


def attainment_incremental(table: TierTable, measure: int, quota: int, mode: RoundingMode) -> int:
    """The part of the measure inside each attainment band at its rate, each band rounded.

    Example:
        >>> t = TierTable.steps([0, 1_000_000], [10, 20], attainment=True)
        >>> attainment_incremental(t, 150, 100, RoundingMode.HALF_UP)
        2000
    """
    if measure < 0:
        return -attainment_incremental(table, -measure, quota, mode)
    att = _attainment(measure, quota)
    m, q = _value(measure), _value(quota)
    total = 0
    for tier in table.tiers:
        lower = _bound(tier.lower, True)
        upper = _bound(tier.upper, True)
        assert lower is not None
        if table.kind is RateKind.FIXED:
            if _reached(lower, att, table.boundary):
                total += _exact_e8(_pays(table.kind, tier.rate, m))
            continue
        top = m if upper is None else min(m, upper * q)
        inside = max(Fraction(0), top - lower * q)
        total += _rounded_e8(_pays(table.kind, tier.rate, inside), mode)
    return total


def _curve_rate(curve: Curve, x: Fraction) -> Fraction:
    """The curve's rate (a fraction) at ``x``."""
    scale = 1_000_000 if curve.attainment else 100
    points = [(Fraction(at, scale), Fraction(rate, 1_000_000)) for at, rate in curve.points]
    if x < points[0][0]:
        return points[0][1] if curve.below is Below.FLAT else Fraction(0)
    if x >= points[-1][0]:
        if curve.above is Above.FLAT or len(points) == 1:
            return points[-1][1]
        segments = [(points[-2], points[-1])]
    else:
        segments = [(p0, p1) for p0, p1 in pairwise(points) if p0[0] <= x < p1[0]]
    (x0, r0), (x1, r1) = segments[0]
    return r0 + (r1 - r0) * (x - x0) / (x1 - x0)


def interpolated(curve: Curve, base: int, quota: int | None, mode: RoundingMode) -> int:
    """The base times the curve's rate at the base (or at base / quota), rounded once.

    Example:
        >>> c = Curve(((0, 0), (100, 1_000_000)), attainment=False)  # 0% at 0 to 100% at 1.00
        >>> interpolated(c, 50, None, RoundingMode.HALF_UP)  # 0.50 x 50%
        25000000
    """
    if base < 0:
        return -interpolated(curve, -base, quota, mode)
    if curve.attainment and quota is None:
        raise ValueError("an attainment curve needs a quota")
    x = _attainment(base, quota) if curve.attainment and quota is not None else _value(base)
    return _rounded_e8(_value(base) * _curve_rate(curve, x), mode)


def payout_curve(curve: Curve, measure: int, quota: int, target: int, mode: RoundingMode) -> int:
    """The target incentive times the curve's factor at attainment, rounded once.

    Example:
        >>> c = Curve(((0, 0), (1_000_000, 1_000_000)))
        >>> payout_curve(c, 50, 100, 1000, RoundingMode.HALF_UP)  # 10.00 x 50%
        500000000
    """
    return _rounded_e8(_value(target) * _curve_rate(curve, _attainment(measure, quota)), mode)


def _band(
    bands: Sequence[tuple[int, int | None]],
    boundary: Boundary,
    value: int,
    quota: int | None,
    attainment: bool,
) -> int | None:
    x = _attainment(value, quota if quota is not None else 0) if attainment else _value(value)
    for i, (lower, upper) in enumerate(bands):
        low = _bound(lower, attainment)
        assert low is not None
        if _contains(low, _bound(upper, attainment), x, boundary):
            return i
    return None


def matrix_lookup(
    matrix: Matrix,
    row_value: int,
    column_value: int,
    applied: int,
    *,
    row_quota: int | None = None,
    column_quota: int | None = None,
) -> int:
    """The cell's rate applied to ``applied`` (or its fixed pay); 0 outside every band.

    Example:
        >>> m = Matrix(((0, 100), (100, None)), ((0, None),), ((10_000,), (20_000,)))
        >>> matrix_lookup(m, 150, 5, 10_000)  # 2% of 100.00
        200000000
    """
    r = _band(matrix.rows, matrix.boundary, row_value, row_quota, matrix.row_attainment)
    c = _band(matrix.columns, matrix.boundary, column_value, column_quota, matrix.column_attainment)
    if r is None or c is None:
        return 0
    return _exact_e8(_pays(matrix.kind, matrix.rates[r][c], _value(applied)))


def round_to_cents(value_e8: int, mode: RoundingMode) -> int:
    """Exact earnings rounded to cents with :mod:`decimal`'s own rounding.

    Example:
        >>> round_to_cents(-123_500_000, RoundingMode.HALF_UP)
        -124
    """
    rounding = ROUND_HALF_EVEN if mode is RoundingMode.HALF_EVEN else ROUND_HALF_UP
    with localcontext() as ctx:
        ctx.prec = 60
        cents = Decimal(value_e8).scaleb(-6).quantize(Decimal(1), rounding=rounding)
    return int(cents)
