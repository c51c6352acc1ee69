"""Rate tables as the kernels see them: validated integer specs and their packed arrays.

A spec (:class:`TierTable`, :class:`Curve`, :class:`Matrix`) is a small frozen dataclass of
integers at the kernel scales (``docs/kernels.md``):

* values (amounts, counts, tier bounds on them) at scale 2: cents, or a count times 100;
* attainment bounds and curve points in parts per million of attainment (1.0 = ``1_000_000``);
* rates per :class:`RateKind`: ``percent`` in ppm of the base, ``per_unit`` in cents per unit,
  ``fixed`` in cents.

Packing (:func:`pack_tables`, :func:`pack_curves`, :func:`pack_matrices`) turns a sequence of
specs into contiguous ``int64`` arrays in CSR form (an ``offsets`` array per level), so that one
kernel call rates the rows of every table at once; each row carries its table's index.

Validation happens when a spec is built and raises :class:`~engine.errors.EngineError` with
``RULE_BAD_VALUE``; the rule loader checks the same things earlier, with file and line.

Example:
    >>> t = TierTable.steps([0, 10_000_000], [50_000, 80_000])  # 0-100k: 5%, 100k+: 8%
    >>> t.tiers[1]
    Tier(lower=10000000, upper=None, rate=80000)
    >>> p = pack_tables([t])
    >>> p.offsets.tolist(), p.factor.tolist()
    ([0, 2], [50000, 80000])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from engine.errors import EngineError, Reason
from engine.money import CENTS, MONEY_SCALE, PPM

__all__ = [
    "EXACT",
    "EXACT_PER_CENT",
    "EXACT_SCALE",
    "MAX_BOUND",
    "MAX_FIXED_CENTS",
    "MAX_RATE_FACTOR",
    "Above",
    "Below",
    "Boundary",
    "Curve",
    "Matrix",
    "PackedCurves",
    "PackedMatrices",
    "PackedTables",
    "RateKind",
    "Tier",
    "TierTable",
    "pack_curves",
    "pack_matrices",
    "pack_tables",
]

IntArray = npt.NDArray[np.int64]

EXACT_SCALE = 8
"""Decimal places of kernel earnings: one currency unit is ``10**8`` (columns ``*_e8``)."""
EXACT: int = 10**EXACT_SCALE
"""Exact units per currency unit."""
EXACT_PER_CENT: int = 10 ** (EXACT_SCALE - MONEY_SCALE)
"""Exact units per cent: ``cents x ppm`` is already at :data:`EXACT_SCALE`."""
PER_UNIT_FACTOR: int = EXACT_PER_CENT // CENTS
"""``base_e2 x cents_per_unit x PER_UNIT_FACTOR`` is at :data:`EXACT_SCALE`."""

INT64_MAX = 2**63 - 1
OPEN = INT64_MAX
"""Sentinel for an open upper bound inside packed arrays (never visible in specs)."""
MAX_BOUND = 2**61
"""Largest magnitude of a bound or curve point; keeps every shifted bound and width in range."""
MAX_RATE_FACTOR = 2**40
"""Largest rate once scaled to exact units per base unit (ppm for percent, x10**4 per unit)."""
MAX_FIXED_CENTS = 2**40
"""Largest fixed amount of one tier or cell, in cents (about 11 billion currency units)."""
FAST_RESULT = 2**62
"""Kernels compute a row only when its result is provably below this; others are deferred."""


class RateKind(StrEnum):
    """What a tier's (or cell's) ``rate`` is."""

    PERCENT = "percent"
    """Parts per million of the base: 5% is ``50_000``."""
    PER_UNIT = "per_unit"
    """Cents per unit of the base (the base being a count times 100)."""
    FIXED = "fixed"
    """Cents paid when the base is in the tier (retroactive) or has reached it (incremental)."""


class Boundary(StrEnum):
    """Which ends of a tier belong to it (the plan schema's names)."""

    LOWER_INCLUSIVE = "lower_inclusive"
    """``[lower, upper)``: a value on a boundary belongs to the higher tier."""
    UPPER_INCLUSIVE = "upper_inclusive"
    """``(lower, upper]``: a value on a boundary belongs to the lower tier."""
    BOTH_INCLUSIVE = "both_inclusive"
    """``[lower, upper]``: tiers may leave gaps; a value in no tier pays nothing."""


class Below(StrEnum):
    """A curve below its first point."""

    ZERO = "zero"
    FLAT = "flat"


class Above(StrEnum):
    """A curve above its last point."""

    FLAT = "flat"
    EXTRAPOLATE = "extrapolate"


def _setting(spec: object, attribute: str, kind: type[StrEnum], name: str) -> None:
    """Coerce a setting given as text (as the plan schema writes it) to its enum."""
    value = getattr(spec, attribute)
    try:
        object.__setattr__(spec, attribute, kind(value))
    except ValueError:
        allowed = ", ".join(k.value for k in kind)
        raise _bad(name, attribute, f"{value!r} is not one of {allowed}") from None


def _bad(name: str, where: str, message: str) -> EngineError:
    label = f"rate table {name!r}" if name else "rate table"
    return EngineError.single(Reason.RULE_BAD_VALUE, f"{label}: {message}", column=where)


def _check_bands(
    bounds: Sequence[tuple[int, int | None]], boundary: Boundary, name: str, where: str
) -> None:
    """Bands ascending, in range, contiguous (or with gaps for both_inclusive), open only last."""
    if not bounds:
        raise _bad(name, where, "needs at least one tier")
    for i, (lower, upper) in enumerate(bounds):
        at = f"{where}[{i}]"
        for value in (lower, upper):
            if value is not None and not -MAX_BOUND <= value <= MAX_BOUND:
                raise _bad(name, at, f"bound {value} is beyond the supported range ±2**61")
        if upper is None:
            if i != len(bounds) - 1:
                raise _bad(name, at, "only the last tier may be open-ended")
            continue
        if upper <= lower:
            raise _bad(name, at, f"upper bound {upper} must be above lower bound {lower}")
        if i + 1 < len(bounds):
            nxt = bounds[i + 1][0]
            if boundary is Boundary.BOTH_INCLUSIVE and nxt <= upper:
                raise _bad(name, at, f"both_inclusive tiers may not share a bound ({upper})")
            if boundary is not Boundary.BOTH_INCLUSIVE and nxt != upper:
                raise _bad(name, at, f"tiers must be contiguous: {upper} then {nxt}")


def _check_rate(kind: RateKind, rate: int, name: str, where: str) -> None:
    if rate < 0:
        raise _bad(name, where, f"rate {rate} is negative")
    limit = MAX_FIXED_CENTS if kind is RateKind.FIXED else _max_rate(kind)
    if rate > limit:
        raise _bad(name, where, f"rate {rate} is beyond the supported maximum {limit}")


def _max_rate(kind: RateKind) -> int:
    return MAX_RATE_FACTOR // PER_UNIT_FACTOR if kind is RateKind.PER_UNIT else MAX_RATE_FACTOR


def _factor(kind: RateKind, rate: int) -> int:
    """Exact units per base unit (0 for fixed)."""
    if kind is RateKind.PERCENT:
        return rate
    if kind is RateKind.PER_UNIT:
        return rate * PER_UNIT_FACTOR
    return 0


def _fixed_e8(kind: RateKind, rate: int) -> int:
    return rate * EXACT_PER_CENT if kind is RateKind.FIXED else 0


@dataclass(frozen=True)
class Tier:
    """One tier of a :class:`TierTable`.

    Attributes:
        lower: the lower bound (scale 2, or ppm of attainment).
        upper: the upper bound, ``None`` for an open-ended last tier.
        rate: the rate, read per the table's :class:`RateKind`.
    """

    lower: int
    upper: int | None
    rate: int


@dataclass(frozen=True)
class TierTable:
    """A tiered rate table, validated on construction.

    Bounds start at 0 or above: a negative base is rated as the mirror image of its absolute
    value (``docs/kernels.md``), so tiers never need to cover negative values.

    Attributes:
        tiers: the tiers in ascending order.
        kind: how rates are read.
        boundary: which ends of a tier belong to it.
        attainment: bounds are attainment in ppm (the base is measure / quota) instead of
            values at scale 2.
        name: used in messages.

    Raises:
        EngineError: ``RULE_BAD_VALUE`` naming the tier at fault.

    Example:
        >>> TierTable((Tier(0, 100, 5),), boundary=Boundary.UPPER_INCLUSIVE).boundary
        <Boundary.UPPER_INCLUSIVE: 'upper_inclusive'>
        >>> TierTable((Tier(-5, None, 1),))
        Traceback (most recent call last):
        ...
        engine.errors.EngineError: <input> [tiers[0]] RULE_BAD_VALUE: ...
    """

    tiers: tuple[Tier, ...]
    kind: RateKind = RateKind.PERCENT
    boundary: Boundary = Boundary.LOWER_INCLUSIVE
    attainment: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        _setting(self, "kind", RateKind, self.name)
        _setting(self, "boundary", Boundary, self.name)
        _check_bands([(t.lower, t.upper) for t in self.tiers], self.boundary, self.name, "tiers")
        if self.tiers[0].lower < 0:
            raise _bad(self.name, "tiers[0]", "bounds start at 0 or above (negatives mirror)")
        for i, tier in enumerate(self.tiers):
            _check_rate(self.kind, tier.rate, self.name, f"tiers[{i}].rate")

    @classmethod
    def steps(
        cls,
        lowers: Sequence[int],
        rates: Sequence[int],
        *,
        top: int | None = None,
        kind: RateKind = RateKind.PERCENT,
        boundary: Boundary = Boundary.LOWER_INCLUSIVE,
        attainment: bool = False,
        name: str = "",
    ) -> TierTable:
        """Contiguous tiers from their lower bounds (the last one open unless ``top``).

        Example:
            >>> TierTable.steps([0, 100], [1, 2], top=500).tiers[-1]
            Tier(lower=100, upper=500, rate=2)
        """
        if len(lowers) != len(rates):
            raise _bad(name, "tiers", f"{len(lowers)} bounds but {len(rates)} rates")
        uppers: list[int | None] = [*lowers[1:], top]
        tiers = tuple(Tier(lo, up, r) for lo, up, r in zip(lowers, uppers, rates, strict=True))
        return cls(tiers, kind, boundary, attainment, name)


@dataclass(frozen=True)
class Curve:
    """Points joined by straight lines: the rate (ppm) at a value or an attainment.

    Used by :func:`~engine.kernels.tiers.interpolated` (the rate at the base, times the base) and
    :func:`~engine.kernels.tiers.payout_curve` (the factor at attainment, times the target).
    A tier whose rate moves linearly from ``r0`` at ``lower`` to ``r1`` at ``upper`` is the
    segment between the points ``(lower, r0)`` and ``(upper, r1)``.

    Attributes:
        points: ``(at, rate)`` pairs, ``at`` strictly ascending and >= 0 (scale 2, or ppm of
            attainment), ``rate`` >= 0 in ppm.
        attainment: ``at`` is attainment in ppm (the base is measure / quota).
        below: below the first point: ``zero``, or ``flat`` (the first point's rate).
        above: above the last point: ``flat`` (a cap), or ``extrapolate`` the last segment
            (which may not slope down).
        name: used in messages.

    Example:
        >>> Curve(((0, 0), (1_000_000, 1_000_000), (1_500_000, 2_000_000))).above
        <Above.FLAT: 'flat'>
    """

    points: tuple[tuple[int, int], ...]
    attainment: bool = True
    below: Below = Below.ZERO
    above: Above = Above.FLAT
    name: str = ""

    def __post_init__(self) -> None:
        _setting(self, "below", Below, self.name)
        _setting(self, "above", Above, self.name)
        if not self.points:
            raise _bad(self.name, "points", "needs at least one point")
        for i, (at, rate) in enumerate(self.points):
            if not 0 <= at <= MAX_BOUND:
                raise _bad(self.name, f"points[{i}].at", f"{at} is outside 0..2**61")
            _check_rate(RateKind.PERCENT, rate, self.name, f"points[{i}].rate")
            if i and at <= self.points[i - 1][0]:
                raise _bad(self.name, f"points[{i}].at", "points must have ascending `at`")
        if self.above is Above.EXTRAPOLATE and (
            len(self.points) < 2 or self.points[-1][1] < self.points[-2][1]
        ):
            raise _bad(self.name, "above", "extrapolate needs a last segment that does not fall")


@dataclass(frozen=True)
class Matrix:
    """A two-dimensional table: a row band by the first base, a column band by the second.

    Attributes:
        rows: ``(lower, upper)`` bands of the first base (``upper`` None = open-ended).
        columns: bands of the second base.
        rates: one tuple per row band, one rate per column band.
        kind: how rates are read; percent and per_unit multiply the applied amount.
        boundary: which ends of a band belong to it (both axes).
        row_attainment: row bounds are attainment in ppm (the row base is measure / quota).
        column_attainment: the same for columns.
        name: used in messages.

    Example:
        >>> m = Matrix(((0, 1_000_000), (1_000_000, None)), ((0, None),),
        ...            ((20_000,), (40_000,)), row_attainment=True)
        >>> m.rates[1][0]
        40000
    """

    rows: tuple[tuple[int, int | None], ...]
    columns: tuple[tuple[int, int | None], ...]
    rates: tuple[tuple[int, ...], ...]
    kind: RateKind = RateKind.PERCENT
    boundary: Boundary = Boundary.LOWER_INCLUSIVE
    row_attainment: bool = False
    column_attainment: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        _setting(self, "kind", RateKind, self.name)
        _setting(self, "boundary", Boundary, self.name)
        _check_bands(self.rows, self.boundary, self.name, "rows")
        _check_bands(self.columns, self.boundary, self.name, "columns")
        if len(self.rates) != len(self.rows):
            raise _bad(self.name, "rates", f"{len(self.rates)} rows of rates, {len(self.rows)}")
        for i, row in enumerate(self.rates):
            if len(row) != len(self.columns):
                raise _bad(self.name, f"rates[{i}]", f"{len(row)} rates, {len(self.columns)}")
            for j, rate in enumerate(row):
                _check_rate(self.kind, rate, self.name, f"rates[{i}][{j}]")


def _arr(values: Sequence[int]) -> IntArray:
    return np.ascontiguousarray(np.array(values, dtype=np.int64).reshape(-1))


def _shifts(boundary: Boundary) -> tuple[int, int]:
    """(added to a lower bound to get the first value in, added to an upper to get the first out).

    On integers, ``(lo, hi]`` is ``[lo + 1, hi + 1)`` and ``[lo, hi]`` is ``[lo, hi + 1)``.
    """
    return (
        1 if boundary is Boundary.UPPER_INCLUSIVE else 0,
        0 if boundary is Boundary.LOWER_INCLUSIVE else 1,
    )


def _limit(result_bound: int, max_factor: int, fixed_total: int) -> int:
    """Largest |value| with ``fixed_total + |value| * max_factor < result_bound``."""
    room = result_bound - 1 - fixed_total
    return room // max_factor if max_factor else MAX_BOUND


@dataclass(frozen=True, eq=False)
class PackedTables:
    """Tier tables as CSR arrays; tiers of table ``t`` are ``offsets[t]:offsets[t + 1]``.

    Per tier: ``lower``/``upper`` (the bounds; ``upper`` is ``INT64_MAX`` when open),
    ``first_in``/``past`` (the first value in the tier and the first above it, on the integer
    scale of value tables), ``factor`` (exact units per base unit), ``fixed`` (exact units) and
    ``cum`` (incremental earnings of a value table at the tier's lower bound, counting the
    tier's own fixed pay; capped at 2**62, beyond any base within ``limit``).
    Per table: ``lower_shift``/``upper_shift`` (the same shifts for attainment tables, applied
    to ``bound x quota``), ``limit`` (the largest |base| a kernel computes itself) and
    ``quota_limit`` (the largest quota, attainment tables). Build with :func:`pack_tables`.
    """

    specs: tuple[TierTable, ...]
    offsets: IntArray
    lower: IntArray
    upper: IntArray
    first_in: IntArray
    past: IntArray
    factor: IntArray
    fixed: IntArray
    cum: IntArray
    lower_shift: IntArray
    upper_shift: IntArray
    limit: IntArray
    quota_limit: IntArray
    attainment: bool = False

    @property
    def arrays(self) -> tuple[IntArray, ...]:
        """The arrays in the order the kernels unpack them."""
        return (
            self.offsets,
            self.lower,
            self.upper,
            self.first_in,
            self.past,
            self.factor,
            self.fixed,
            self.cum,
            self.lower_shift,
            self.upper_shift,
            self.limit,
            self.quota_limit,
        )


def pack_tables(tables: Sequence[TierTable]) -> PackedTables:
    """Pack tier tables (all on values, or all on attainment) for the kernels.

    Raises:
        ValueError: no tables, or value and attainment tables mixed.

    Example:
        >>> t = TierTable.steps([0, 100], [10, 20], boundary=Boundary.UPPER_INCLUSIVE)
        >>> p = pack_tables([t])
        >>> p.first_in.tolist(), p.past.tolist()[0], p.limit.tolist() == [(2**62 - 1) // 20]
        ([1, 101], 101, True)
    """
    if not tables:
        raise ValueError("pack_tables needs at least one table")
    kinds = {t.attainment for t in tables}
    if len(kinds) > 1:
        raise ValueError("value tables and attainment tables are packed separately")
    offsets, lower, upper, first_in, past, factor, fixed, cum = [0], [], [], [], [], [], [], []
    lshift, ushift, limit, quota_limit = [], [], [], []
    for table in tables:
        lo_s, up_s = _shifts(table.boundary)
        lshift.append(lo_s)
        ushift.append(up_s)
        factors = [_factor(table.kind, t.rate) for t in table.tiers]
        fixeds = [_fixed_e8(table.kind, t.rate) for t in table.tiers]
        earned = 0
        for tier, f, x in zip(table.tiers, factors, fixeds, strict=True):
            earned += x
            cum.append(min(earned, FAST_RESULT))
            if tier.upper is not None:
                earned += (tier.upper - tier.lower) * f
            lower.append(tier.lower)
            upper.append(OPEN if tier.upper is None else tier.upper)
            first_in.append(tier.lower + lo_s)
            past.append(OPEN if tier.upper is None else tier.upper + up_s)
            factor.append(f)
            fixed.append(x)
        offsets.append(len(lower))
        base_limit = min(MAX_BOUND, _limit(FAST_RESULT, max(factors), sum(fixeds)))
        finite = [b for t in table.tiers for b in (t.lower, t.upper) if b is not None]
        if table.attainment:
            # measure x 10**6 must stay below 2**62 too
            base_limit = min(base_limit, (FAST_RESULT - 1) // PPM)
            quota_limit.append((FAST_RESULT - 2) // max(*finite, 1))
        else:
            quota_limit.append(0)
        limit.append(base_limit)
    return PackedTables(
        tuple(tables),
        _arr(offsets),
        _arr(lower),
        _arr(upper),
        _arr(first_in),
        _arr(past),
        _arr(factor),
        _arr(fixed),
        _arr(cum),
        _arr(lshift),
        _arr(ushift),
        _arr(limit),
        _arr(quota_limit),
        attainment=tables[0].attainment,
    )


@dataclass(frozen=True, eq=False)
class PackedCurves:
    """Curves as CSR arrays; points of curve ``c`` are ``offsets[c]:offsets[c + 1]``.

    Per curve: ``below_flat`` and ``above_extrapolate`` (0/1), ``limit`` (the largest |applied
    amount| a kernel computes itself) and ``quota_limit``. Build with :func:`pack_curves`.
    """

    specs: tuple[Curve, ...]
    offsets: IntArray
    at: IntArray
    rate: IntArray
    below_flat: IntArray
    above_extrapolate: IntArray
    limit: IntArray
    quota_limit: IntArray
    attainment: bool = True

    @property
    def arrays(self) -> tuple[IntArray, ...]:
        """The arrays in the order the kernels unpack them."""
        return (
            self.offsets,
            self.at,
            self.rate,
            self.below_flat,
            self.above_extrapolate,
            self.limit,
            self.quota_limit,
        )


def pack_curves(curves: Sequence[Curve]) -> PackedCurves:
    """Pack curves (all on values, or all on attainment) for the kernels.

    Raises:
        ValueError: no curves, or value and attainment curves mixed.

    Example:
        >>> p = pack_curves([Curve(((0, 0), (1_000_000, 1_000_000)))])
        >>> p.offsets.tolist(), p.at.tolist(), p.attainment
        ([0, 2], [0, 1000000], True)
    """
    if not curves:
        raise ValueError("pack_curves needs at least one curve")
    if len({c.attainment for c in curves}) > 1:
        raise ValueError("value curves and attainment curves are packed separately")
    offsets = [0]
    at: list[int] = []
    rate: list[int] = []
    below: list[int] = []
    above: list[int] = []
    limit: list[int] = []
    quota_limit: list[int] = []
    for curve in curves:
        at.extend(a for a, _ in curve.points)
        rate.extend(r for _, r in curve.points)
        offsets.append(len(at))
        below.append(int(curve.below is Below.FLAT))
        above.append(int(curve.above is Above.EXTRAPOLATE))
        limit.append(min(MAX_BOUND, _limit(FAST_RESULT, max(r for _, r in curve.points), 0)))
        top = max(a for a, _ in curve.points)
        quota_limit.append((FAST_RESULT - 1) // max(top, 1) if curve.attainment else 0)
    return PackedCurves(
        tuple(curves),
        _arr(offsets),
        _arr(at),
        _arr(rate),
        _arr(below),
        _arr(above),
        _arr(limit),
        _arr(quota_limit),
        attainment=curves[0].attainment,
    )


@dataclass(frozen=True, eq=False)
class PackedMatrices:
    """Matrices as CSR arrays.

    Row bands of matrix ``m`` are ``row_offsets[m]:row_offsets[m + 1]`` of ``row_lower`` /
    ``row_upper``, the same for columns; cells are ``cell_offsets[m]`` onwards, row-major, in
    ``factor``/``fixed``. Per matrix: the boundary shifts, whether each axis is attainment
    (``row_ratio``, ``column_ratio``), ``limit`` (largest |applied| computed by the kernel),
    and the largest value and quota per axis the kernel compares itself. Build with
    :func:`pack_matrices`.
    """

    specs: tuple[Matrix, ...]
    row_offsets: IntArray
    row_lower: IntArray
    row_upper: IntArray
    column_offsets: IntArray
    column_lower: IntArray
    column_upper: IntArray
    cell_offsets: IntArray
    factor: IntArray
    fixed: IntArray
    lower_shift: IntArray
    upper_shift: IntArray
    row_ratio: IntArray
    column_ratio: IntArray
    limit: IntArray
    row_quota_limit: IntArray
    column_quota_limit: IntArray

    @property
    def arrays(self) -> tuple[IntArray, ...]:
        """The arrays in the order the kernels unpack them."""
        return (
            self.row_offsets,
            self.row_lower,
            self.row_upper,
            self.column_offsets,
            self.column_lower,
            self.column_upper,
            self.cell_offsets,
            self.factor,
            self.fixed,
            self.lower_shift,
            self.upper_shift,
            self.row_ratio,
            self.column_ratio,
            self.limit,
            self.row_quota_limit,
            self.column_quota_limit,
        )


def pack_matrices(matrices: Sequence[Matrix]) -> PackedMatrices:
    """Pack matrices for the matrix kernel.

    Raises:
        ValueError: no matrices.

    Example:
        >>> m = Matrix(((0, 100), (100, None)), ((0, None),), ((1,), (2,)))
        >>> pack_matrices([m]).cell_offsets.tolist()
        [0, 2]
    """
    if not matrices:
        raise ValueError("pack_matrices needs at least one matrix")
    r_off, c_off, cells = [0], [0], [0]
    r_lo: list[int] = []
    r_up: list[int] = []
    c_lo: list[int] = []
    c_up: list[int] = []
    factor: list[int] = []
    fixed: list[int] = []
    lshift: list[int] = []
    ushift: list[int] = []
    r_ratio: list[int] = []
    c_ratio: list[int] = []
    limit: list[int] = []
    r_qlimit: list[int] = []
    c_qlimit: list[int] = []
    for m in matrices:
        for bands, lo, up, off in ((m.rows, r_lo, r_up, r_off), (m.columns, c_lo, c_up, c_off)):
            lo.extend(b[0] for b in bands)
            up.extend(OPEN if b[1] is None else b[1] for b in bands)
            off.append(len(lo))
        rates = [r for row in m.rates for r in row]
        factor.extend(_factor(m.kind, r) for r in rates)
        fixed.extend(_fixed_e8(m.kind, r) for r in rates)
        cells.append(len(factor))
        lo_s, up_s = _shifts(m.boundary)
        lshift.append(lo_s)
        ushift.append(up_s)
        r_ratio.append(int(m.row_attainment))
        c_ratio.append(int(m.column_attainment))
        max_fixed = max(_fixed_e8(m.kind, r) for r in rates)
        limit.append(
            min(MAX_BOUND, _limit(FAST_RESULT, max(_factor(m.kind, r) for r in rates), max_fixed))
        )
        for bands, out in ((m.rows, r_qlimit), (m.columns, c_qlimit)):
            top = max(abs(b) for band in bands for b in band if b is not None)
            out.append((FAST_RESULT - 2) // max(top, 1))
    return PackedMatrices(
        tuple(matrices),
        _arr(r_off),
        _arr(r_lo),
        _arr(r_up),
        _arr(c_off),
        _arr(c_lo),
        _arr(c_up),
        _arr(cells),
        _arr(factor),
        _arr(fixed),
        _arr(lshift),
        _arr(ushift),
        _arr(r_ratio),
        _arr(c_ratio),
        _arr(limit),
        _arr(r_qlimit),
        _arr(c_qlimit),
    )
