"""Each kernel next to its exact reference, with the cases both are run on (numbagg style).

:data:`COMPARISONS` maps a kernel's name to a :class:`Comparison`: how to run the fast kernel
on a case, how to run the reference on the same case, a Hypothesis strategy of small cases
(tables and values that hit tier bounds, exact attainment edges, rounding ties, negatives and
rows beyond the kernels' 64-bit limits), and a seeded generator of large cases for the
benchmarks (``benchmarks/bench_kernels.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from hypothesis import strategies as st

from engine.kernels import (
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
    pack_curves,
    pack_matrices,
    pack_tables,
    payout_curve,
    reference,
    retroactive,
    round_to_cents,
)
from engine.money import RoundingMode

I64 = np.int64


def _a(values: Sequence[int]) -> np.ndarray[Any, np.dtype[np.int64]]:
    return np.array(values, dtype=I64)


@dataclass(frozen=True)
class Case:
    """Inputs of one kernel call: specs, row arrays by name, the rounding mode."""

    specs: tuple[Any, ...]
    rows: dict[str, Any]
    mode: RoundingMode = RoundingMode.HALF_UP
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self, name: str, i: int) -> int | None:
        """Row ``i`` of array ``name`` as a Python int (None when the array is not given)."""
        arr = self.rows.get(name)
        return None if arr is None else int(arr[i])

    def at(self, name: str, i: int) -> int:
        """Row ``i`` of array ``name``, which must be given."""
        return int(self.rows[name][i])

    def spec(self, index_name: str, i: int) -> Any:
        """The spec used by row ``i``."""
        index = self.row(index_name, i)
        return self.specs[0 if index is None else index]

    def __len__(self) -> int:
        return len(next(iter(self.rows.values())))


@dataclass(frozen=True)
class Comparison:
    """A kernel, its reference, small cases for equality tests, large cases for benchmarks."""

    fast: Callable[[Case], Any]
    reference: Callable[[Case], list[int]]
    cases: st.SearchStrategy[Case]
    bench_case: Callable[[int, int], Case]


# ------------------------------------------------------------------------------ strategies

MODES = st.sampled_from(list(RoundingMode))
BOUNDARIES = st.sampled_from(list(Boundary))
KINDS = st.sampled_from(list(RateKind))


def _rate(kind: RateKind) -> st.SearchStrategy[int]:
    if kind is RateKind.PERCENT:
        return st.one_of(st.integers(0, 200_000), st.sampled_from([0, 1, 500_000, 1_000_000]))
    if kind is RateKind.PER_UNIT:
        return st.integers(0, 50_000)
    return st.integers(0, 1_000_000)


@st.composite
def _bands(draw: st.DrawFn, boundary: Boundary, start: int, step: int) -> list[tuple[int, Any]]:
    """Ascending bands from ``start``: contiguous, or with gaps for both_inclusive."""
    n = draw(st.integers(1, 5))
    gaps = boundary is Boundary.BOTH_INCLUSIVE
    points = [start]
    for _ in range(2 * n if gaps else n):
        points.append(points[-1] + draw(st.integers(1, step)))
    if gaps:
        bands: list[tuple[int, Any]] = [(points[2 * i], points[2 * i + 1]) for i in range(n)]
    else:
        bands = [(points[i], points[i + 1]) for i in range(n)]
    if draw(st.booleans()):
        bands[-1] = (bands[-1][0], None)
    return bands


@st.composite
def tier_tables(draw: st.DrawFn, attainment: bool = False) -> TierTable:
    """A random valid tier table; small steps so that values land on bounds often."""
    boundary = draw(BOUNDARIES)
    kind = draw(KINDS)
    step = draw(st.sampled_from([3, 100, 250_000] if attainment else [3, 100, 10_000_000]))
    start = draw(st.sampled_from([0, 0, 1, step]))
    bands = draw(_bands(boundary, start, step))
    tiers = tuple(Tier(lo, up, draw(_rate(kind))) for lo, up in bands)
    return TierTable(tiers, kind, boundary, attainment)


def _edges(tables: Sequence[TierTable]) -> list[int]:
    return sorted({b for t in tables for tier in t.tiers for b in (tier.lower, tier.upper) if b})


SIGN = st.sampled_from([1, 1, 1, -1])
NEXT_TO = st.integers(-1, 1)
HUGE = 10**17
"""Beyond every kernel's own limits: such rows go through the exact slow path."""


def _values(edges: Sequence[int], big: int) -> st.SearchStrategy[int]:
    """Values on and next to bounds, their negatives, small and huge values (built once)."""
    near = st.builds(lambda e, d, s: s * (e + d), st.sampled_from(list(edges) or [0]), NEXT_TO,
                     SIGN)  # fmt: skip
    return st.one_of(
        near,
        near,
        st.integers(-1000, 1000),
        st.integers(-(10**12), 10**12),
        st.integers(-big, big),
        st.sampled_from([0, big, -big]),
    )


QUOTAS = st.one_of(
    # multiples of 10**4 and 10**6 make bound x quota / 10**6 exact: measures land on edges
    st.builds(lambda k, m: k * m, st.integers(1, 50_000), st.sampled_from([1, 7, 10**4, 10**6])),
    st.integers(1, 10**13),
)


def _measures(bounds: Sequence[int], big: int) -> st.SearchStrategy[tuple[int, int]]:
    """``(measure, quota)`` pairs, the measure often on (or next to) ``bound x quota``."""
    edge = st.builds(
        lambda q, b, d, s: (s * ((b * q) // 1_000_000 + d), q),
        QUOTAS, st.sampled_from(list(bounds) or [0]), NEXT_TO, SIGN,
    )  # fmt: skip
    anywhere = st.tuples(_values([], big), QUOTAS)
    return st.one_of(edge, edge, anywhere)


def _columns(pairs: Sequence[tuple[int, int]]) -> tuple[Any, Any]:
    return _a([m for m, _ in pairs]), _a([q for _, q in pairs])


def _index(n_specs: int, n: int) -> st.SearchStrategy[Any]:
    return st.lists(st.integers(0, n_specs - 1), min_size=n, max_size=n).map(_a)


@st.composite
def value_cases(draw: st.DrawFn) -> Case:
    """Rows rated against one or several value tables (retroactive, incremental)."""
    tables = tuple(draw(st.lists(tier_tables(), min_size=1, max_size=3)))
    n = draw(st.integers(0, 30))
    base = draw(st.lists(_values(_edges(tables), HUGE), min_size=n, max_size=n))
    rows: dict[str, Any] = {"base": _a(base)}
    if len(tables) > 1 or draw(st.booleans()):
        rows["table_index"] = draw(_index(len(tables), n))
    return Case(tables, rows)


@st.composite
def marginal_cases(draw: st.DrawFn) -> Case:
    """Groups of transactions (sales and returns) against one or several tables."""
    tables = tuple(draw(st.lists(tier_tables(), min_size=1, max_size=3)))
    values = _values(_edges(tables), 10**14)
    sizes = draw(st.lists(st.integers(0, 8), min_size=0, max_size=5))
    amounts = draw(st.lists(values, min_size=sum(sizes), max_size=sum(sizes)))
    offsets = np.concatenate([[0], np.cumsum(sizes, dtype=I64)]).astype(I64)
    rows: dict[str, Any] = {"amount": _a(amounts), "group_offsets": offsets}
    extra: dict[str, Any] = {}
    if len(tables) > 1 or draw(st.booleans()):
        extra["group_table"] = draw(_index(len(tables), len(sizes)))
    if draw(st.booleans()):
        extra["opening"] = _a(draw(st.lists(values, min_size=len(sizes), max_size=len(sizes))))
    return Case(tables, rows, extra=extra)


@st.composite
def attainment_cases(draw: st.DrawFn) -> Case:
    """Measures and quotas rated against attainment tables, often exactly on band edges."""
    tables = tuple(draw(st.lists(tier_tables(attainment=True), min_size=1, max_size=3)))
    n = draw(st.integers(0, 20))
    measure, quota = _columns(draw(st.lists(_measures(_edges(tables), 10**13), min_size=n,
                                            max_size=n)))  # fmt: skip
    rows: dict[str, Any] = {"measure": measure, "quota": quota}
    if len(tables) > 1 or draw(st.booleans()):
        rows["table_index"] = draw(_index(len(tables), n))
    return Case(tables, rows, draw(MODES))


@st.composite
def curves(draw: st.DrawFn, attainment: bool) -> Curve:
    """A random valid curve (rates may fall, except on an extrapolated last segment)."""
    n = draw(st.integers(1, 5))
    step = draw(st.sampled_from([3, 250_000] if attainment else [3, 10_000_000]))
    at = [draw(st.sampled_from([0, 1, step]))]
    for _ in range(n - 1):
        at.append(at[-1] + draw(st.integers(1, step)))
    rate = [draw(st.integers(0, 2_000_000)) for _ in range(n)]
    above = draw(st.sampled_from(list(Above)))
    if above is Above.EXTRAPOLATE:
        if n < 2:
            above = Above.FLAT
        else:
            rate[-1] = max(rate[-1], rate[-2])
    below = draw(st.sampled_from(list(Below)))
    return Curve(tuple(zip(at, rate, strict=True)), attainment, below, above)


def _points(specs: Sequence[Curve]) -> list[int]:
    return sorted({a for c in specs for a, _ in c.points})


@st.composite
def interpolated_cases(draw: st.DrawFn) -> Case:
    """Bases read on value curves, or measures read at their attainment."""
    attainment = draw(st.booleans())
    specs = tuple(draw(st.lists(curves(attainment), min_size=1, max_size=3)))
    n = draw(st.integers(0, 20))
    rows: dict[str, Any] = {}
    if attainment:
        pairs = draw(st.lists(_measures(_points(specs), HUGE), min_size=n, max_size=n))
        rows["base"], rows["quota"] = _columns(pairs)
    else:
        rows["base"] = _a(draw(st.lists(_values(_points(specs), HUGE), min_size=n, max_size=n)))
    if len(specs) > 1:
        rows["curve_index"] = draw(_index(len(specs), n))
    return Case(specs, rows, draw(MODES))


@st.composite
def payout_cases(draw: st.DrawFn) -> Case:
    """Targets times a payout factor read at attainment."""
    specs = tuple(draw(st.lists(curves(True), min_size=1, max_size=3)))
    n = draw(st.integers(0, 20))
    measure, quota = _columns(draw(st.lists(_measures(_points(specs), 10**13), min_size=n,
                                            max_size=n)))  # fmt: skip
    target = _a(draw(st.lists(_values([], HUGE), min_size=n, max_size=n)))
    rows: dict[str, Any] = {"measure": measure, "quota": quota, "target": target}
    if len(specs) > 1:
        rows["curve_index"] = draw(_index(len(specs), n))
    return Case(specs, rows, draw(MODES))


@st.composite
def matrices(draw: st.DrawFn) -> Matrix:
    """A random valid matrix; axes on values (from a negative start) or on attainment."""
    boundary = draw(BOUNDARIES)
    kind = draw(KINDS)
    row_att, col_att = draw(st.booleans()), draw(st.booleans())
    rows = draw(_bands(boundary, draw(st.sampled_from([-5, 0, 1])), 250_000 if row_att else 50))
    cols = draw(_bands(boundary, draw(st.sampled_from([-5, 0, 1])), 250_000 if col_att else 50))
    rates = tuple(tuple(draw(_rate(kind)) for _ in cols) for _ in rows)
    return Matrix(tuple(rows), tuple(cols), rates, kind, boundary, row_att, col_att)


@st.composite
def matrix_cases(draw: st.DrawFn) -> Case:
    """Pairs of values (or measures over quotas) looked up in matrices, applied to amounts."""
    specs = tuple(draw(st.lists(matrices(), min_size=1, max_size=3)))
    n = draw(st.integers(0, 20))
    rows: dict[str, Any] = {}
    for axis, bands in (("row", [m.rows for m in specs]), ("column", [m.columns for m in specs])):
        bounds = sorted({b for axis_bands in bands for band in axis_bands for b in band if b})
        # near bound x quota / 10**6 (attainment axes) or near the bound itself (value axes)
        near = st.one_of(_measures(bounds, 10**13), st.tuples(_values(bounds, 10**13), QUOTAS))
        pairs = draw(st.lists(near, min_size=n, max_size=n))
        rows[f"{axis}_value"], rows[f"{axis}_quota"] = _columns(pairs)
    rows["applied"] = _a(draw(st.lists(_values([], HUGE), min_size=n, max_size=n)))
    if len(specs) > 1:
        rows["matrix_index"] = draw(_index(len(specs), n))
    return Case(specs, rows)


ROUNDING_VALUES = st.one_of(
    st.builds(lambda c, s: s * (c * 1_000_000 + 500_000), st.integers(0, 10**12), SIGN),
    st.integers(-(2**63), 2**63 - 1),
    st.integers(-3_000_000, 3_000_000),
    st.sampled_from([-(2**63), 2**63 - 1, 500_000, -500_000, 1_500_000, -1_500_000]),
)
"""Exact earnings: ties (x.xx5 and -x.xx5), anything, small values, the int64 extremes."""


@st.composite
def rounding_cases(draw: st.DrawFn) -> Case:
    """Exact earnings to round to cents."""
    return Case((), {"values": _a(draw(st.lists(ROUNDING_VALUES, max_size=30)))}, draw(MODES))


# --------------------------------------------------------------------------- fast, reference


def _fast_values(method: Callable[..., Any]) -> Callable[[Case], Any]:
    def run(case: Case) -> Any:
        return method(pack_tables(case.specs), case.rows["base"], case.rows.get("table_index"))

    return run


def _ref_values(method: Callable[[TierTable, int], int]) -> Callable[[Case], list[int]]:
    def run(case: Case) -> list[int]:
        return [
            method(case.spec("table_index", i), int(b)) for i, b in enumerate(case.rows["base"])
        ]

    return run


def _fast_marginal(case: Case) -> Any:
    return marginal(
        pack_tables(case.specs),
        case.rows["amount"],
        case.rows["group_offsets"],
        case.extra.get("group_table"),
        case.extra.get("opening"),
    )


def _ref_marginal(case: Case) -> list[int]:
    out: list[int] = []
    offsets = case.rows["group_offsets"].tolist()
    index, opening = case.extra.get("group_table"), case.extra.get("opening")
    for g in range(len(offsets) - 1):
        table = case.specs[0 if index is None else int(index[g])]
        amounts = case.rows["amount"][offsets[g] : offsets[g + 1]].tolist()
        out.extend(reference.marginal(table, amounts, 0 if opening is None else int(opening[g])))
    return out


def _fast_attainment(incremental_method: bool) -> Callable[[Case], Any]:
    def run(case: Case) -> Any:
        packed = pack_tables(case.specs)
        m, q, t = case.rows["measure"], case.rows["quota"], case.rows.get("table_index")
        if incremental_method:
            return attainment_incremental(packed, m, q, t, mode=case.mode)
        return attainment_retroactive(packed, m, q, t)

    return run


def _ref_attainment(incremental_method: bool) -> Callable[[Case], list[int]]:
    def run(case: Case) -> list[int]:
        out = []
        for i in range(len(case)):
            table = case.spec("table_index", i)
            m, q = case.at("measure", i), case.at("quota", i)
            if incremental_method:
                out.append(reference.attainment_incremental(table, m, q, case.mode))
            else:
                out.append(reference.attainment_retroactive(table, m, q))
        return out

    return run


def _fast_interpolated(case: Case) -> Any:
    packed = pack_curves(case.specs)
    return interpolated(
        packed, case.rows["base"], case.rows.get("quota"), case.rows.get("curve_index"),
        mode=case.mode,
    )  # fmt: skip


def _ref_interpolated(case: Case) -> list[int]:
    return [
        reference.interpolated(case.spec("curve_index", i), int(b), case.row("quota", i), case.mode)
        for i, b in enumerate(case.rows["base"])
    ]


def _fast_payout(case: Case) -> Any:
    r = case.rows
    return payout_curve(
        pack_curves(case.specs), r["measure"], r["quota"], r["target"], r.get("curve_index"),
        mode=case.mode,
    )  # fmt: skip


def _ref_payout(case: Case) -> list[int]:
    out = []
    for i in range(len(case)):
        m, q, t = case.at("measure", i), case.at("quota", i), case.at("target", i)
        out.append(reference.payout_curve(case.spec("curve_index", i), m, q, t, case.mode))
    return out


def _fast_matrix(case: Case) -> Any:
    r = case.rows
    return matrix_lookup(
        pack_matrices(case.specs), r["row_value"], r["column_value"], r["applied"],
        r.get("matrix_index"), row_quota=r["row_quota"], column_quota=r["column_quota"],
    )  # fmt: skip


def _ref_matrix(case: Case) -> list[int]:
    out = []
    for i in range(len(case)):
        out.append(
            reference.matrix_lookup(
                case.spec("matrix_index", i),
                case.at("row_value", i),
                case.at("column_value", i),
                case.at("applied", i),
                row_quota=case.row("row_quota", i),
                column_quota=case.row("column_quota", i),
            )
        )
    return out


def _fast_rounding(case: Case) -> Any:
    return round_to_cents(case.rows["values"], case.mode)


def _ref_rounding(case: Case) -> list[int]:
    return [reference.round_to_cents(int(v), case.mode) for v in case.rows["values"]]


# ---------------------------------------------------------------------------- bench cases

BENCH_TABLE = TierTable.steps(
    [0, 5_000_000, 10_000_000, 20_000_000, 40_000_000], [30_000, 50_000, 80_000, 100_000, 120_000]
)
"""Five tiers on revenue: 0-50k 3%, 50k-100k 5%, 100k-200k 8%, 200k-400k 10%, 400k+ 12%."""
BENCH_ATTAINMENT = TierTable.steps(
    [0, 500_000, 1_000_000, 1_500_000, 2_000_000], [0, 20_000, 50_000, 80_000, 100_000],
    attainment=True,
)  # fmt: skip
BENCH_CURVE = Curve(((500_000, 0), (1_000_000, 1_000_000), (1_500_000, 2_500_000)))
BENCH_MATRIX = Matrix(
    ((0, 800_000), (800_000, 1_000_000), (1_000_000, None)),
    ((0, 2_000), (2_000, 4_000), (4_000, None)),
    ((10_000, 15_000, 20_000), (30_000, 40_000, 50_000), (60_000, 70_000, 80_000)),
    row_attainment=True,
)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _bench_values(n: int, seed: int) -> Case:
    base = _rng(seed).integers(-1_000_000, 60_000_000, n, dtype=I64)
    return Case((BENCH_TABLE,), {"base": base})


def _bench_marginal(n: int, seed: int) -> Case:
    rng = _rng(seed)
    amount = rng.integers(-200_000, 2_000_000, n, dtype=I64)
    offsets = np.arange(0, n + 100, 100, dtype=I64)
    offsets[-1] = n
    return Case((BENCH_TABLE,), {"amount": amount, "group_offsets": offsets[offsets <= n]})


def _bench_attainment(n: int, seed: int) -> Case:
    rng = _rng(seed)
    quota = rng.integers(1_000_000, 50_000_000, n, dtype=I64)
    measure = quota * rng.integers(0, 250, n, dtype=I64) // 100
    return Case((BENCH_ATTAINMENT,), {"measure": measure, "quota": quota})


def _bench_interpolated(n: int, seed: int) -> Case:
    case = _bench_attainment(n, seed)
    return Case((BENCH_CURVE,), {"base": case.rows["measure"], "quota": case.rows["quota"]})


def _bench_payout(n: int, seed: int) -> Case:
    case = _bench_attainment(n, seed)
    target = _rng(seed + 1).integers(500_000, 5_000_000, n, dtype=I64)
    return Case((BENCH_CURVE,), {**case.rows, "target": target})


def _bench_matrix(n: int, seed: int) -> Case:
    rng = _rng(seed)
    quota = rng.integers(1_000_000, 50_000_000, n, dtype=I64)
    rows = {
        "row_value": quota * rng.integers(0, 150, n, dtype=I64) // 100,
        "row_quota": quota,
        "column_value": rng.integers(0, 6_000, n, dtype=I64),
        "column_quota": None,
        "applied": rng.integers(0, 10_000_000, n, dtype=I64),
    }
    return Case((BENCH_MATRIX,), rows)


def _bench_rounding(n: int, seed: int) -> Case:
    return Case((), {"values": _rng(seed).integers(-(10**15), 10**15, n, dtype=I64)})


COMPARISONS: dict[str, Comparison] = {
    "retroactive": Comparison(
        _fast_values(retroactive), _ref_values(reference.retroactive), value_cases(),
        _bench_values,
    ),
    "incremental": Comparison(
        _fast_values(incremental), _ref_values(reference.incremental), value_cases(),
        _bench_values,
    ),
    "marginal": Comparison(_fast_marginal, _ref_marginal, marginal_cases(), _bench_marginal),
    "attainment_retroactive": Comparison(
        _fast_attainment(False), _ref_attainment(False), attainment_cases(), _bench_attainment
    ),
    "attainment_incremental": Comparison(
        _fast_attainment(True), _ref_attainment(True), attainment_cases(), _bench_attainment
    ),
    "interpolated": Comparison(
        _fast_interpolated, _ref_interpolated, interpolated_cases(), _bench_interpolated
    ),
    "payout_curve": Comparison(_fast_payout, _ref_payout, payout_cases(), _bench_payout),
    "matrix_lookup": Comparison(_fast_matrix, _ref_matrix, matrix_cases(), _bench_matrix),
    "round_to_cents": Comparison(
        _fast_rounding, _ref_rounding, rounding_cases(), _bench_rounding
    ),
}  # fmt: skip
"""Kernel name -> its fast call, its reference, and its cases (tests and benchmarks)."""
