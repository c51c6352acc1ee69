"""Tier kernels: Numba loops over ``int64`` arrays, each behind one validating wrapper.

Every public function here takes packed tables (or one spec, packed on the fly) and 1-D
integer arrays, and returns earnings as ``int64`` at :data:`~engine.kernels.tables.EXACT_SCALE`
(``*_e8``: 10**-8 of the currency unit). The rules (inclusivity, negative bases, rounding, the
range) are in ``docs/kernels.md``; the exact reference each kernel is tested against is in
:mod:`engine.kernels.reference`.

Overflow is never silent. Each kernel checks every row against per-table limits computed when
the tables were packed (so that no product or sum it forms can pass 2**62) *before* it
multiplies; a row beyond them is left as ``DEFERRED`` and counted. The wrapper then rates those
rows with the exact reference (Python integers) and raises ``OVERFLOW`` for a result that does
not fit in ``int64``. The same deferral catches invalid rows (a table index out of range, a
quota <= 0), which the wrapper reports. The checks live in the kernel loop because a separate
vectorised pass over the inputs would cost about as much as the rating itself.

Example:
    >>> from engine.kernels.tables import TierTable
    >>> t = TierTable.steps([0, 10_000_000], [50_000, 80_000])  # 0-100k: 5%, 100k+: 8%
    >>> retroactive(t, [12_000_000]) // EXACT_PER_CENT  # 120k -> 9,600.00
    array([960000])
    >>> incremental(t, [12_000_000]) // EXACT_PER_CENT  # 120k -> 6,600.00
    array([660000])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from engine.errors import EngineError, Finding, Reason
from engine.kernels import reference
from engine.kernels.jit import kernel, pick
from engine.kernels.tables import (
    EXACT_PER_CENT,
    FAST_RESULT,
    MAX_BOUND,
    OPEN,
    Curve,
    Matrix,
    PackedCurves,
    PackedMatrices,
    PackedTables,
    TierTable,
    pack_curves,
    pack_matrices,
    pack_tables,
)
from engine.money import PPM, RoundingMode

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

IntArray = npt.NDArray[np.int64]

DEFERRED = -(2**63)
"""Marks a row the kernel left to the exact slow path (never a result: results are symmetric)."""
_RATIO_LIMIT = (FAST_RESULT - 1) // PPM
"""Largest |measure| whose ``measure x 10**6`` a kernel forms itself."""
_M31 = (1 << 31) - 1
_MULT_LIMIT = 1 << 21
"""Largest multiple of the last segment's width an extrapolated curve is computed over."""
MAX_FINDINGS = 20
"""Most rows named in one error; the message gives the total."""

# --------------------------------------------------------------------------- integer helpers


@kernel
def _round_floor(f, r, d, half_even):  # type: ignore[no-untyped-def]
    """Round ``f + r / d`` (``0 <= r < d <= 2**62``) to an integer."""
    twice = r + r
    if twice > d:
        return f + 1
    if twice == d:
        if half_even:
            return f + (f & 1)
        return f + 1 if f >= 0 else f
    return f


@kernel
def _bits(hi, lo, start, k):  # type: ignore[no-untyped-def]
    """Bits ``start .. start + k - 1`` of the number ``hi * 2**62 + lo`` (``hi, lo < 2**62``)."""
    mask = (1 << k) - 1
    if start >= 62:
        return (hi >> (start - 62)) & mask
    if start + k <= 62:
        return (lo >> start) & mask
    high = hi & ((1 << (start + k - 62)) - 1)  # the chunk's bits above bit 61
    return (high << (62 - start)) | (lo >> start)


@kernel
def _mul_divmod(a, b, c):  # type: ignore[no-untyped-def]
    """``(q, r)`` with ``a * b = q * c + r``, ``0 <= r < c``, exact beyond 64 bits.

    Needs ``0 <= a, b < 2**62``, ``0 < c <= 2**62`` and ``q < 2**63``. The product is formed
    as two 62-bit halves from base-2**31 digits, then divided ``k`` bits at a time, ``k`` the
    most that keeps the shifted remainder below 2**63.
    """
    if a == 0 or b == 0:
        return 0, 0
    if a <= (2**63 - 1) // b:
        p = a * b
        q = p // c
        return q, p - q * c
    a1 = a >> 31
    a0 = a & _M31
    b1 = b >> 31
    b0 = b & _M31
    p0 = a0 * b0
    mid = a1 * b0 + a0 * b1 + (p0 >> 31)
    top = a1 * b1 + (mid >> 31)
    hi = top  # the product is hi * 2**62 + lo
    lo = ((mid & _M31) << 31) | (p0 & _M31)
    k = 31
    while k > 1 and c > (1 << (63 - k)):
        k -= 1
    pos = 62  # one past the product's top bit: 62 + the bit length of hi
    for step in (32, 16, 8, 4, 2, 1):
        if hi >> (pos - 62 + step - 1):
            pos += step
    q = 0
    r = 0
    while pos > 0:
        take = k if pos >= k else pos
        pos -= take
        r = (r << take) | _bits(hi, lo, pos, take)
        d = r // c
        q = (q << take) | d
        r -= d * c
    return q, r


# ------------------------------------------------------------------------------ value tiers
#
# Kernels take ``rows`` (a tuple of the row arrays; an empty array stands for "not given"),
# ``tables`` (the ``arrays`` tuple of a packed set) and ``out`` (allocated by the wrapper with
# NumPy, which backs large arrays with huge pages), and return the number of deferred rows.
# Hot loops are written out in full: passing arrays to a helper function per row costs about
# three times the rating itself. The tier search counts the tiers reached without branches.


@kernel
def _retroactive_kernel(rows, tables, out):  # type: ignore[no-untyped-def]
    base, table = rows
    offsets, _, _, first_in, past, factor, fixed, _, _, _, limit, _ = tables
    single = table.shape[0] == 0
    n_tables = offsets.shape[0] - 1
    s, e, lim = offsets[0], offsets[1], limit[0]
    deferred = 0
    for i in range(base.shape[0]):
        if not single:
            t = table[i]
            if t < 0 or t >= n_tables:
                out[i] = DEFERRED
                deferred += 1
                continue
            s, e, lim = offsets[t], offsets[t + 1], limit[t]
        b = base[i]
        if b > lim or b < -lim:
            out[i] = DEFERRED
            deferred += 1
            continue
        a = -b if b < 0 else b
        k = s - 1
        for j in range(s, e):
            k += a >= first_in[j]
        v = 0
        if k >= s and a < past[k]:
            v = fixed[k] + a * factor[k]
        out[i] = -v if b < 0 else v
    return deferred


@kernel
def _incremental_kernel(rows, tables, out):  # type: ignore[no-untyped-def]
    base, table = rows
    offsets, lower, upper, first_in, _, factor, _, cum, _, _, limit, _ = tables
    single = table.shape[0] == 0
    n_tables = offsets.shape[0] - 1
    s, e, lim = offsets[0], offsets[1], limit[0]
    deferred = 0
    for i in range(base.shape[0]):
        if not single:
            t = table[i]
            if t < 0 or t >= n_tables:
                out[i] = DEFERRED
                deferred += 1
                continue
            s, e, lim = offsets[t], offsets[t + 1], limit[t]
        b = base[i]
        if b > lim or b < -lim:
            out[i] = DEFERRED
            deferred += 1
            continue
        a = -b if b < 0 else b
        k = s - 1
        for j in range(s, e):
            k += a >= first_in[j]
        v = 0
        if k >= s:  # tiers below k are full (cum), tier k holds the rest
            v = cum[k] + (min(a, upper[k]) - lower[k]) * factor[k]
        out[i] = -v if b < 0 else v
    return deferred


@kernel
def _marginal_kernel(rows, tables, out):  # type: ignore[no-untyped-def]
    amount, group_offsets, group_table, opening = rows
    offsets, lower, upper, first_in, _, factor, _, cum, _, _, limit, _ = tables
    n_tables = offsets.shape[0] - 1
    single = group_table.shape[0] == 0
    no_opening = opening.shape[0] == 0
    deferred = 0
    for g in range(group_offsets.shape[0] - 1):
        r0 = group_offsets[g]
        r1 = group_offsets[g + 1]
        t = 0 if single else group_table[g]
        run = 0 if no_opening else opening[g]
        ok = 0 <= t < n_tables and -limit[t] <= run <= limit[t]
        if ok:
            s, e, lim = offsets[t], offsets[t + 1], limit[t]
            prev = 0
            # row r0 - 1 stands for the opening balance; its earnings are not written
            for i in range(r0 - 1, r1):
                if i >= r0:
                    x = amount[i]
                    if x > lim or x < -lim:
                        ok = False
                        break
                    run += x  # both within 2**61: no overflow
                    if run > lim or run < -lim:
                        ok = False
                        break
                a = -run if run < 0 else run
                k = s - 1
                for j in range(s, e):
                    k += a >= first_in[j]
                cur = 0
                if k >= s:
                    cur = cum[k] + (min(a, upper[k]) - lower[k]) * factor[k]
                if run < 0:
                    cur = -cur
                if i >= r0:
                    out[i] = cur - prev
                prev = cur
        if not ok:
            for i in range(r0, r1):
                out[i] = DEFERRED
            deferred += r1 - r0
    return deferred


# ------------------------------------------------------------------------- attainment tiers


@kernel
def _attainment_retroactive_kernel(rows, tables, out):  # type: ignore[no-untyped-def]
    measure, quota, table = rows
    offsets, lower, upper, _, _, factor, fixed, _, lower_shift, upper_shift, limit, qlimit = tables
    n_tables = offsets.shape[0] - 1
    single = table.shape[0] == 0
    deferred = 0
    for i in range(measure.shape[0]):
        t = 0 if single else table[i]
        m = measure[i]
        q = quota[i]
        if not (0 <= t < n_tables and 0 < q <= qlimit[t] and -limit[t] <= m <= limit[t]):
            out[i] = DEFERRED
            deferred += 1
            continue
        a = -m if m < 0 else m
        x = a * PPM  # attainment x quota x 10**6, compared with bound x quota
        s = offsets[t]
        k = s - 1
        for j in range(s, offsets[t + 1]):
            k += x >= lower[j] * q + lower_shift[t]
        v = 0
        if k >= s and (upper[k] == OPEN or x < upper[k] * q + upper_shift[t]):
            v = fixed[k] + a * factor[k]
        out[i] = -v if m < 0 else v
    return deferred


@kernel
def _attainment_incremental_kernel(rows, tables, half_even, out):  # type: ignore[no-untyped-def]
    measure, quota, table = rows
    offsets, lower, upper, _, _, factor, fixed, _, lower_shift, _, limit, qlimit = tables
    n_tables = offsets.shape[0] - 1
    single = table.shape[0] == 0
    deferred = 0
    for i in range(measure.shape[0]):
        t = 0 if single else table[i]
        m = measure[i]
        q = quota[i]
        if not (0 <= t < n_tables and 0 < q <= qlimit[t] and -limit[t] <= m <= limit[t]):
            out[i] = DEFERRED
            deferred += 1
            continue
        x = (-m if m < 0 else m) * PPM  # the measure at 10**-8 of a base unit
        v = 0
        for k in range(offsets[t], offsets[t + 1]):
            edge = lower[k] * q  # the band's lower edge, at 10**-8 too
            if x < edge + lower_shift[t]:
                break
            top = x
            if upper[k] != OPEN and x > upper[k] * q:
                top = upper[k] * q
            part = top - edge
            whole = part // PPM
            prod = (part - whole * PPM) * factor[k]
            f = whole * factor[k] + prod // PPM
            v += fixed[k] + _round_floor(f, prod % PPM, PPM, half_even)
        out[i] = -v if m < 0 else v
    return deferred


# ------------------------------------------------------------------------------------ curves


@kernel
def _segment(amount, line, half_even):  # type: ignore[no-untyped-def]
    """``amount x (start + slope x along / w)`` rounded; ``line`` is ``(start, slope, along, w)``.

    All >= 0; the result must stay below 2**62.
    """
    start, slope, along, w = line
    q1, rem1 = _mul_divmod(amount, along, w)
    q2, rem2 = _mul_divmod(slope, rem1, w)
    return _round_floor(amount * start + slope * q1 + q2, rem2, w, half_even)


@kernel
def _curve_kernel(rows, tables, half_even, out):  # type: ignore[no-untyped-def]
    """``applied x rate(x_num [/ x_den])``; without ``applied`` it is ``x_num``, mirrored."""
    x_num, x_den, applied, curve = rows
    offsets, at, rate, below_flat, above_extrapolate, limit, quota_limit = tables
    n_curves = offsets.shape[0] - 1
    single = curve.shape[0] == 0
    ratio = x_den.shape[0] != 0
    mirror = applied.shape[0] == 0
    x_limit = _RATIO_LIMIT if ratio else MAX_BOUND
    deferred = 0
    for i in range(x_num.shape[0]):
        c = 0 if single else curve[i]
        xn = x_num[i]
        amount = xn if mirror else applied[i]
        d = x_den[i] if ratio else 1
        if not (
            0 <= c < n_curves
            and d > 0
            and (not ratio or d <= quota_limit[c])
            and -x_limit <= xn <= x_limit
            and -limit[c] <= amount <= limit[c]
        ):
            out[i] = DEFERRED
            deferred += 1
            continue
        negative = amount < 0
        if negative:
            amount = -amount
            if mirror:
                xn = -xn
        x = xn * PPM if ratio else xn
        s = offsets[c]
        e = offsets[c + 1]
        k = s - 1
        for j in range(s, e):
            k += x >= at[j] * d
        v = 0
        if k < s:
            if below_flat[c]:
                v = amount * rate[s]
        elif k == e - 1 and (above_extrapolate[c] == 0 or e - s < 2):
            v = amount * rate[k]
        else:
            if k == e - 1:
                k -= 1  # extrapolate the last segment
            e0 = at[k] * d
            w = at[k + 1] * d - e0
            pos = x - e0
            r0 = rate[k]
            r1 = rate[k + 1]
            if pos > w:  # beyond the last point: bound the result before forming it
                mult = pos // w + 1
                if mult > _MULT_LIMIT or (
                    r1 > 0 and amount > (FAST_RESULT - 1) // (r0 + (r1 - r0) * mult)
                ):
                    out[i] = DEFERRED
                    deferred += 1
                    continue
            if r1 >= r0:
                v = _segment(amount, (r0, r1 - r0, pos, w), half_even)
            else:
                v = _segment(amount, (r1, r0 - r1, w - pos, w), half_even)
        out[i] = -v if negative else v
    return deferred


# ------------------------------------------------------------------------------------ matrix


@kernel
def _matrix_kernel(rows, tables, out):  # type: ignore[no-untyped-def]
    row_value, row_quota, column_value, column_quota, applied, matrix = rows
    (
        row_offsets, row_lower, row_upper, column_offsets, column_lower, column_upper,
        cell_offsets, factor, fixed, lower_shift, upper_shift, row_ratio, column_ratio, limit,
        row_quota_limit, column_quota_limit,
    ) = tables  # fmt: skip
    n_matrices = row_offsets.shape[0] - 1
    single = matrix.shape[0] == 0
    has_rq = row_quota.shape[0] != 0
    has_cq = column_quota.shape[0] != 0
    has_applied = applied.shape[0] != 0
    deferred = 0
    for i in range(row_value.shape[0]):
        m = 0 if single else matrix[i]
        amount = applied[i] if has_applied else 0
        if not (0 <= m < n_matrices and -limit[m] <= amount <= limit[m]):
            out[i] = DEFERRED
            deferred += 1
            continue
        # each axis: compare value x scale with bound x divisor (scale 10**6 and divisor the
        # quota for an attainment axis, 1 and 1 otherwise)
        rx = row_value[i]
        rd = 1
        if row_ratio[m]:
            rd = row_quota[i] if has_rq else 0
            if not (0 < rd <= row_quota_limit[m] and -_RATIO_LIMIT <= rx <= _RATIO_LIMIT):
                out[i] = DEFERRED
                deferred += 1
                continue
            rx *= PPM
        cx = column_value[i]
        cd = 1
        if column_ratio[m]:
            cd = column_quota[i] if has_cq else 0
            if not (0 < cd <= column_quota_limit[m] and -_RATIO_LIMIT <= cx <= _RATIO_LIMIT):
                out[i] = DEFERRED
                deferred += 1
                continue
            cx *= PPM
        ls = lower_shift[m]
        us = upper_shift[m]
        rs, re = row_offsets[m], row_offsets[m + 1]
        r = rs - 1
        for j in range(rs, re):
            r += rx >= row_lower[j] * rd + ls
        in_row = r >= rs and (row_upper[r] == OPEN or rx < row_upper[r] * rd + us)
        cs, ce = column_offsets[m], column_offsets[m + 1]
        c = cs - 1
        for j in range(cs, ce):
            c += cx >= column_lower[j] * cd + ls
        in_column = c >= cs and (column_upper[c] == OPEN or cx < column_upper[c] * cd + us)
        v = 0
        if in_row and in_column:
            cell = cell_offsets[m] + (r - rs) * (ce - cs) + (c - cs)
            v = fixed[cell] + factor[cell] * amount
        out[i] = v
    return deferred


# ---------------------------------------------------------------------------------- rounding


@kernel
def _round_to_cents_kernel(values, half_even, out):  # type: ignore[no-untyped-def]
    for i in range(values.shape[0]):
        v = values[i]
        f = v // EXACT_PER_CENT
        out[i] = _round_floor(f, v - f * EXACT_PER_CENT, EXACT_PER_CENT, half_even)


# ---------------------------------------------------------------------------------- wrappers

_NONE = np.zeros(0, dtype=np.int64)


def _ints(name: str, values: npt.ArrayLike) -> IntArray:
    """A 1-D contiguous ``int64`` view or copy; floats are refused, never rounded."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers, not {arr.dtype} (money is never a float)")
    if arr.dtype == np.uint64 and int(arr.max()) > 2**63 - 1:
        raise EngineError.single(Reason.OVERFLOW, f"{name} holds values beyond 2**63 - 1")
    return np.ascontiguousarray(arr, dtype=np.int64)


def _optional(name: str, values: npt.ArrayLike | None, n: int) -> IntArray:
    if values is None:
        return _NONE
    arr = _ints(name, values)
    if arr.shape[0] != n:
        raise ValueError(f"{name} has {arr.shape[0]} rows, expected {n}")
    return arr


def _same_length(n: int, **arrays: IntArray) -> None:
    for name, arr in arrays.items():
        if arr.shape[0] != n:
            raise ValueError(f"{name} has {arr.shape[0]} rows, expected {n}")


def _check_index(name: str, index: IntArray, rows: IntArray, n: int) -> None:
    """Raise for rows (among ``rows``) whose table index is outside ``0..n-1``."""
    if index.shape[0] == 0:
        return
    picked = index[rows]
    bad = rows[(picked < 0) | (picked >= n)]
    if bad.size:
        raise ValueError(f"{name}[{int(bad[0])}] = {int(index[bad[0]])} is not in 0..{n - 1}")


def _check_quota(name: str, quota: IntArray, rows: IntArray) -> None:
    """Raise ``NO_QUOTA`` for rows (among ``rows``) whose quota is not positive."""
    bad = rows[quota[rows] <= 0]
    if bad.size:
        findings = [
            Finding(
                Reason.NO_QUOTA,
                f"row {int(r)}: attainment needs a quota above zero; {name} is {int(quota[r])}",
                column=name,
                value=str(int(quota[r])),
            )
            for r in bad[:MAX_FINDINGS]
        ]
        raise EngineError(_summarised(findings, int(bad.size)))


def _summarised(findings: list[Finding], total: int) -> list[Finding]:
    if total > len(findings):
        first = findings[0]
        findings.append(
            Finding(first.reason, f"... {total - len(findings)} more rows", column=first.column)
        )
    return findings


def _fill_exact(out: IntArray, rows: IntArray, exact: Callable[[int], int], what: str) -> None:
    """Write ``exact(row)`` into ``out`` for each row; ``OVERFLOW`` for results beyond int64."""
    findings: list[Finding] = []
    total = 0
    for r in rows.tolist():
        value = exact(r)
        if -(2**63) < value < 2**63:
            out[r] = value
            continue
        total += 1
        if len(findings) < MAX_FINDINGS:
            findings.append(
                Finding(
                    Reason.OVERFLOW,
                    f"row {r}: {what} of {value} (10**-8 units) is beyond the 64-bit range "
                    "(about ±92 billion currency units)",
                    value=str(value),
                )
            )
    if findings:
        raise EngineError(_summarised(findings, total))


def _deferred_rows(out: IntArray, count: int) -> IntArray:
    return np.flatnonzero(out == DEFERRED) if count else _NONE


def _half_even(mode: RoundingMode) -> bool:
    return RoundingMode(mode) is RoundingMode.HALF_EVEN


def _tables(tables: PackedTables | TierTable, attainment: bool) -> PackedTables:
    packed = pack_tables([tables]) if isinstance(tables, TierTable) else tables
    if packed.attainment != attainment:
        want = "attainment" if attainment else "value"
        raise ValueError(
            f"this kernel needs {want} tables: value tables (bounds at scale 2) and attainment "
            "tables (bounds in ppm of attainment) are not interchangeable"
        )
    return packed


def _rate_values(
    tables: PackedTables | TierTable,
    base: npt.ArrayLike,
    table_index: npt.ArrayLike | None,
    incremental_method: bool,
) -> IntArray:
    p = _tables(tables, attainment=False)
    values = _ints("base", base)
    index = _optional("table_index", table_index, values.shape[0])
    exact = reference.incremental if incremental_method else reference.retroactive
    loop = _incremental_kernel if incremental_method else _retroactive_kernel
    out = np.empty(values.shape[0], dtype=np.int64)
    count = pick(loop, values.shape[0])((values, index), p.arrays, out)
    rows = _deferred_rows(out, int(count))
    if rows.size:
        _check_index("table_index", index, rows, len(p.specs))

        def one(r: int) -> int:
            return exact(p.specs[int(index[r]) if index.size else 0], int(values[r]))

        _fill_exact(out, rows, one, "earnings")
    return out


def retroactive(
    tables: PackedTables | TierTable,
    base: npt.ArrayLike,
    table_index: npt.ArrayLike | None = None,
) -> IntArray:
    """Rate each base whole at the rate of the tier it falls in (per row or per transaction).

    Args:
        tables: value tables from :func:`~engine.kernels.tables.pack_tables`, or one table.
        base: the bases at scale 2 (cents, or a count times 100); one row per participant and
            period, or one row per transaction for per-transaction rating.
        table_index: each row's table in ``tables``; ``None`` = table 0 for every row.

    Returns:
        Earnings at 10**-8 of the currency unit. A base in no tier earns 0; a negative base
        earns minus what its absolute value earns.

    Raises:
        EngineError: ``OVERFLOW`` for a result beyond the 64-bit range.
        ValueError: arrays of different lengths, or a table index out of range.

    Example:
        >>> from engine.kernels.tables import TierTable
        >>> t = TierTable.steps([0, 10_000_000], [50_000, 80_000])
        >>> retroactive(t, [12_000_000, 10_000_000, 9_999_999, -12_000_000]).tolist()
        [960000000000, 800000000000, 499999950000, -960000000000]
    """
    return _rate_values(tables, base, table_index, incremental_method=False)


def incremental(
    tables: PackedTables | TierTable,
    base: npt.ArrayLike,
    table_index: npt.ArrayLike | None = None,
) -> IntArray:
    """Rate each slice of each base at its own tier's rate (graduated).

    Fixed-kind tiers pay their amount once the base reaches the tier (is in it or beyond it).
    Inclusivity decides only which tiers a base on a boundary reaches; slices are the same.

    Args:
        tables: value tables from :func:`~engine.kernels.tables.pack_tables`, or one table.
        base: the bases at scale 2; one row per participant and period, or per transaction.
        table_index: each row's table in ``tables``; ``None`` = table 0 for every row.

    Returns:
        Earnings at 10**-8 of the currency unit; a negative base earns minus what its absolute
        value earns.

    Raises:
        EngineError: ``OVERFLOW`` for a result beyond the 64-bit range.
        ValueError: arrays of different lengths, or a table index out of range.

    Example:
        >>> from engine.kernels.tables import TierTable
        >>> t = TierTable.steps([0, 10_000_000], [50_000, 80_000])
        >>> incremental(t, [12_000_000, 5_000_000, -12_000_000]).tolist()
        [660000000000, 250000000000, -660000000000]
    """
    return _rate_values(tables, base, table_index, incremental_method=True)


def marginal(
    tables: PackedTables | TierTable,
    amount: npt.ArrayLike,
    group_offsets: npt.ArrayLike,
    group_table: npt.ArrayLike | None = None,
    opening: npt.ArrayLike | None = None,
) -> IntArray:
    """Per-transaction marginal: each row pays the slice of its group's running total it adds.

    Rows are grouped (by participant and period, say) and sorted by the caller; group ``g`` is
    rows ``group_offsets[g]:group_offsets[g + 1]``. A row moving the running total from
    ``before`` to ``after`` earns ``F(after) - F(before)``, where ``F`` is
    :func:`incremental`; a return (a negative row) moves the total back and earns the
    negative of the slice it removes. A group's rows sum to ``F(opening + total) - F(opening)``.

    Args:
        tables: value tables, or one table.
        amount: the transaction amounts at scale 2, grouped and in the rule's order.
        group_offsets: ``n_groups + 1`` non-decreasing row offsets, from 0 to the row count.
        group_table: each group's table; ``None`` = table 0.
        opening: each group's running total before its first row (e.g. earlier periods of a
            year-to-date plan); ``None`` = 0.

    Returns:
        Earnings per row at 10**-8 of the currency unit.

    Raises:
        EngineError: ``OVERFLOW`` for a result beyond the 64-bit range.
        ValueError: malformed offsets, lengths, or a table index out of range.

    Example:
        >>> from engine.kernels.tables import TierTable
        >>> t = TierTable.steps([0, 10_000_000], [50_000, 80_000])
        >>> e8 = marginal(t, [6_000_000, 6_000_000, -3_000_000], [0, 3])
        >>> (e8 // EXACT_PER_CENT).tolist()  # 3,000; 40k at 5% + 20k at 8%; 120k back to 90k
        [300000, 360000, -210000]
    """
    p = _tables(tables, attainment=False)
    values = _ints("amount", amount)
    offsets = _ints("group_offsets", group_offsets)
    if offsets.shape[0] == 0 or offsets[0] != 0 or offsets[-1] != values.shape[0]:
        raise ValueError("group_offsets must run from 0 to the number of rows")
    if np.any(offsets[1:] < offsets[:-1]):
        raise ValueError("group_offsets must not decrease")
    n_groups = offsets.shape[0] - 1
    index = _optional("group_table", group_table, n_groups)
    start = _optional("opening", opening, n_groups)
    out = np.empty(values.shape[0], dtype=np.int64)
    count = pick(_marginal_kernel, values.shape[0])((values, offsets, index, start), p.arrays, out)
    rows = _deferred_rows(out, int(count))
    if rows.size:
        groups = np.unique(np.searchsorted(offsets, rows, side="right") - 1)
        _check_index("group_table", index, groups, len(p.specs))
        exact: dict[int, int] = {}
        for g in groups.tolist():
            r0, r1 = int(offsets[g]), int(offsets[g + 1])
            table = p.specs[int(index[g]) if index.size else 0]
            group_open = int(start[g]) if start.size else 0
            paid = reference.marginal(table, values[r0:r1].tolist(), group_open)
            exact.update(zip(range(r0, r1), paid, strict=True))
        _fill_exact(out, rows, exact.__getitem__, "earnings")
    return out


def _rate_attainment(
    tables: PackedTables | TierTable,
    measure: npt.ArrayLike,
    quota: npt.ArrayLike,
    table_index: npt.ArrayLike | None,
    *,
    incremental_method: bool,
    mode: RoundingMode,
) -> IntArray:
    p = _tables(tables, attainment=True)
    values = _ints("measure", measure)
    quotas = _ints("quota", quota)
    _same_length(values.shape[0], quota=quotas)
    index = _optional("table_index", table_index, values.shape[0])
    out = np.empty(values.shape[0], dtype=np.int64)
    if incremental_method:
        count = pick(_attainment_incremental_kernel, values.shape[0])(
            (values, quotas, index), p.arrays, _half_even(mode), out
        )
    else:
        count = pick(_attainment_retroactive_kernel, values.shape[0])(
            (values, quotas, index), p.arrays, out
        )
    rows = _deferred_rows(out, int(count))
    if rows.size:
        _check_index("table_index", index, rows, len(p.specs))
        _check_quota("quota", quotas, rows)

        def one(r: int) -> int:
            table = p.specs[int(index[r]) if index.size else 0]
            m, q = int(values[r]), int(quotas[r])
            if incremental_method:
                return reference.attainment_incremental(table, m, q, mode)
            return reference.attainment_retroactive(table, m, q)

        _fill_exact(out, rows, one, "earnings")
    return out


def attainment_retroactive(
    tables: PackedTables | TierTable,
    measure: npt.ArrayLike,
    quota: npt.ArrayLike,
    table_index: npt.ArrayLike | None = None,
) -> IntArray:
    """Rate the whole measure at the rate of the tier its attainment (measure / quota) is in.

    Attainment is compared exactly, by cross-multiplication (``measure x 10**6`` against
    ``bound x quota``), never as a float. No rounding is needed.

    Args:
        tables: attainment tables (bounds in ppm of attainment), or one table.
        measure: the measure at scale 2 (cents, or a count times 100).
        quota: the quota at the same scale, above zero.
        table_index: each row's table; ``None`` = table 0.

    Returns:
        Earnings at 10**-8 of the currency unit; a negative measure earns minus what its
        absolute value earns.

    Raises:
        EngineError: ``NO_QUOTA`` for a quota <= 0; ``OVERFLOW`` for a result beyond 64 bits.
        ValueError: arrays of different lengths, or a table index out of range.

    Example:
        >>> from engine.kernels.tables import TierTable
        >>> t = TierTable.steps([0, 1_000_000], [20_000, 50_000], attainment=True)
        >>> e8 = attainment_retroactive(t, [9_999_999, 10_000_000], [10_000_000, 10_000_000])
        >>> (e8 // EXACT_PER_CENT).tolist()  # just below 100%: 2%; at 100%: 5%
        [199999, 500000]
    """
    return _rate_attainment(
        tables, measure, quota, table_index, incremental_method=False, mode=RoundingMode.HALF_UP
    )


def attainment_incremental(
    tables: PackedTables | TierTable,
    measure: npt.ArrayLike,
    quota: npt.ArrayLike,
    table_index: npt.ArrayLike | None = None,
    *,
    mode: RoundingMode,
) -> IntArray:
    """Rate the part of the measure inside each attainment band at that band's rate.

    Band edges are ``bound x quota`` (exact at 10**-8); each band's earnings are rounded to
    10**-8 with ``mode`` and then summed, so the per-band amounts add up to the total.

    Args:
        tables: attainment tables (bounds in ppm of attainment), or one table.
        measure: the measure at scale 2.
        quota: the quota at the same scale, above zero.
        table_index: each row's table; ``None`` = table 0.
        mode: the plan's rounding mode.

    Returns:
        Earnings at 10**-8 of the currency unit; a negative measure earns minus what its
        absolute value earns.

    Raises:
        EngineError: ``NO_QUOTA`` for a quota <= 0; ``OVERFLOW`` for a result beyond 64 bits.
        ValueError: arrays of different lengths, or a table index out of range.

    Example:
        >>> from engine.kernels.tables import TierTable
        >>> t = TierTable.steps([0, 1_000_000], [20_000, 50_000], attainment=True)
        >>> e8 = attainment_incremental(t, [15_000_000], [10_000_000],
        ...                             mode=RoundingMode.HALF_UP)
        >>> (e8 // EXACT_PER_CENT).tolist()  # 100k at 2% + 50k at 5%
        [450000]
    """
    return _rate_attainment(tables, measure, quota, table_index, incremental_method=True, mode=mode)


def _rate_curve(
    curves: PackedCurves | Curve,
    x_num: IntArray,
    x_den: IntArray | None,
    applied: IntArray | None,
    *,
    curve_index: npt.ArrayLike | None,
    mode: RoundingMode,
) -> IntArray:
    """``applied x rate(x)``; ``applied=None`` pays on ``x_num`` itself, mirrored when < 0."""
    p = pack_curves([curves]) if isinstance(curves, Curve) else curves
    ratio = x_den is not None
    if p.attainment != ratio:
        raise ValueError(
            "attainment curves need a quota; value curves take none"
            f" (curve attainment={p.attainment}, quota given={ratio})"
        )
    n = x_num.shape[0]
    index = _optional("curve_index", curve_index, n)
    rows_in = (
        x_num,
        _NONE if x_den is None else x_den,
        _NONE if applied is None else applied,
        index,
    )
    out = np.empty(n, dtype=np.int64)
    count = pick(_curve_kernel, n)(rows_in, p.arrays, _half_even(mode), out)
    rows = _deferred_rows(out, int(count))
    if rows.size:
        _check_index("curve_index", index, rows, len(p.specs))
        if x_den is not None:
            _check_quota("quota", x_den, rows)

        def one(r: int) -> int:
            spec = p.specs[int(index[r]) if index.size else 0]
            q = None if x_den is None else int(x_den[r])
            if applied is None:
                return reference.interpolated(spec, int(x_num[r]), q, mode)
            assert q is not None
            return reference.payout_curve(spec, int(x_num[r]), q, int(applied[r]), mode)

        _fill_exact(out, rows, one, "earnings")
    return out


def interpolated(
    curves: PackedCurves | Curve,
    base: npt.ArrayLike,
    quota: npt.ArrayLike | None = None,
    curve_index: npt.ArrayLike | None = None,
    *,
    mode: RoundingMode,
) -> IntArray:
    """Pay the base times the rate read off a curve at the base (or at its attainment).

    Between two points the rate moves linearly, so a tier whose rate runs from ``r0`` to
    ``r1`` is one segment. ``base x rate`` is exact as a fraction and rounded once per row to
    10**-8 with ``mode``.

    Args:
        curves: curves from :func:`~engine.kernels.tables.pack_curves`, or one curve.
        base: the bases at scale 2 (paid on, and read on the curve).
        quota: for attainment curves, each row's quota (> 0); the curve is read at
            ``base / quota``. ``None`` for value curves (read at the base).
        curve_index: each row's curve; ``None`` = curve 0.
        mode: the plan's rounding mode.

    Returns:
        Earnings at 10**-8 of the currency unit; a negative base earns minus what its absolute
        value earns.

    Raises:
        EngineError: ``NO_QUOTA`` for a quota <= 0; ``OVERFLOW`` for a result beyond 64 bits.
        ValueError: a quota missing or given wrongly, lengths, or an index out of range.

    Example:
        >>> from engine.kernels.tables import Curve
        >>> c = Curve(((0, 20_000), (10_000_000, 40_000)), attainment=False)  # 2% -> 4% to 100k
        >>> (interpolated(c, [5_000_000], mode=RoundingMode.HALF_UP) // EXACT_PER_CENT).tolist()
        [150000]
    """
    values = _ints("base", base)
    quotas = None if quota is None else _optional("quota", quota, values.shape[0])
    return _rate_curve(curves, values, quotas, None, curve_index=curve_index, mode=mode)


def payout_curve(
    curves: PackedCurves | Curve,
    measure: npt.ArrayLike,
    quota: npt.ArrayLike,
    target: npt.ArrayLike,
    curve_index: npt.ArrayLike | None = None,
    *,
    mode: RoundingMode,
) -> IntArray:
    """Pay the target incentive times the payout factor read off a curve at attainment.

    Args:
        curves: attainment curves (points in ppm of attainment, factors in ppm), or one curve.
        measure: the measure at scale 2.
        quota: the quota at the same scale, above zero.
        target: the target incentive in cents.
        curve_index: each row's curve; ``None`` = curve 0.
        mode: the plan's rounding mode.

    Returns:
        Earnings at 10**-8 of the currency unit, rounded once per row with ``mode``. A negative
        attainment is below the first point (no mirroring: this is not a rating of the base).

    Raises:
        EngineError: ``NO_QUOTA`` for a quota <= 0; ``OVERFLOW`` for a result beyond 64 bits.
        ValueError: arrays of different lengths, or a curve index out of range.

    Example:
        >>> from engine.kernels.tables import Curve
        >>> c = Curve(((500_000, 0), (1_000_000, 1_000_000), (1_500_000, 2_000_000)))
        >>> e8 = payout_curve(c, [12_000_000, 20_000_000], [10_000_000, 10_000_000],
        ...                   [1_000_000, 1_000_000], mode=RoundingMode.HALF_UP)
        >>> (e8 // EXACT_PER_CENT).tolist()  # 120% -> 140% of 10,000; 200% -> capped at 200%
        [1400000, 2000000]
    """
    values = _ints("measure", measure)
    quotas = _ints("quota", quota)
    targets = _ints("target", target)
    _same_length(values.shape[0], quota=quotas, target=targets)
    return _rate_curve(curves, values, quotas, targets, curve_index=curve_index, mode=mode)


def matrix_lookup(
    matrices: PackedMatrices | Matrix,
    row_value: npt.ArrayLike,
    column_value: npt.ArrayLike,
    applied: npt.ArrayLike | None = None,
    matrix_index: npt.ArrayLike | None = None,
    *,
    row_quota: npt.ArrayLike | None = None,
    column_quota: npt.ArrayLike | None = None,
) -> IntArray:
    """Look the rate up by two bases and apply it: ``applied x rate``, or the cell's fixed pay.

    Each axis compares a value at scale 2 with its bands, or, for an attainment axis, the
    exact ratio ``value / quota`` with bands in ppm. A value in no band earns 0.

    Args:
        matrices: matrices from :func:`~engine.kernels.tables.pack_matrices`, or one matrix.
        row_value: the first base at scale 2 (the measure, for an attainment axis).
        column_value: the second base at scale 2.
        applied: what percent and per_unit rates multiply (scale 2); ``None`` = 0, for fixed
            matrices.
        matrix_index: each row's matrix; ``None`` = matrix 0.
        row_quota: the quota of an attainment row axis (> 0); ignored by value axes.
        column_quota: the quota of an attainment column axis.

    Returns:
        Earnings at 10**-8 of the currency unit (exact: no rounding is needed).

    Raises:
        EngineError: ``NO_QUOTA`` for a quota <= 0; ``OVERFLOW`` for a result beyond 64 bits.
        ValueError: a quota missing for an attainment axis, lengths, or an index out of range.

    Example:
        >>> from engine.kernels.tables import Matrix
        >>> m = Matrix(rows=((0, 1_000_000), (1_000_000, None)),     # attainment <100%, >=100%
        ...            columns=((0, 3_000), (3_000, None)),          # margin <30.00, >=30.00
        ...            rates=((20_000, 30_000), (40_000, 60_000)), row_attainment=True)
        >>> e8 = matrix_lookup(m, [11_000_000], [3_500], [11_000_000], row_quota=[10_000_000])
        >>> (e8 // EXACT_PER_CENT).tolist()  # 110% and 35.00: 6% of 110,000
        [660000]
    """
    p = pack_matrices([matrices]) if isinstance(matrices, Matrix) else matrices
    rows_v = _ints("row_value", row_value)
    n = rows_v.shape[0]
    cols_v = _ints("column_value", column_value)
    _same_length(n, column_value=cols_v)
    amounts = _optional("applied", applied, n)
    index = _optional("matrix_index", matrix_index, n)
    rq = _optional("row_quota", row_quota, n)
    cq = _optional("column_quota", column_quota, n)
    if (rq.size == 0 and n and p.row_ratio.any()) or (cq.size == 0 and n and p.column_ratio.any()):
        raise ValueError("an attainment axis needs its quota (row_quota / column_quota)")
    out = np.empty(n, dtype=np.int64)
    count = pick(_matrix_kernel, n)((rows_v, rq, cols_v, cq, amounts, index), p.arrays, out)
    rows = _deferred_rows(out, int(count))
    if rows.size:
        _check_index("matrix_index", index, rows, len(p.specs))
        which = index[rows] if index.size else np.zeros(rows.size, dtype=np.int64)
        if rq.size:
            _check_quota("row_quota", rq, rows[p.row_ratio[which] == 1])
        if cq.size:
            _check_quota("column_quota", cq, rows[p.column_ratio[which] == 1])

        def one(r: int) -> int:
            spec = p.specs[int(index[r]) if index.size else 0]
            return reference.matrix_lookup(
                spec,
                int(rows_v[r]),
                int(cols_v[r]),
                int(amounts[r]) if amounts.size else 0,
                row_quota=int(rq[r]) if rq.size else None,
                column_quota=int(cq[r]) if cq.size else None,
            )

        _fill_exact(out, rows, one, "earnings")
    return out


def round_to_cents(values_e8: npt.ArrayLike, mode: RoundingMode) -> IntArray:
    """Round exact earnings (10**-8) to cents with ``mode``.

    Args:
        values_e8: earnings at 10**-8 of the currency unit.
        mode: ``half_up`` (ties away from zero) or ``half_even`` (ties to the even cent).

    Returns:
        Cents.

    Example:
        >>> x = [123_500_000, -123_500_000, 124_500_000, 123_499_999]  # 1.235 -1.235 1.245 ...
        >>> round_to_cents(x, RoundingMode.HALF_UP).tolist()
        [124, -124, 125, 123]
        >>> round_to_cents(x, RoundingMode.HALF_EVEN).tolist()
        [124, -124, 124, 123]
    """
    values = _ints("values_e8", values_e8)
    out = np.empty(values.shape[0], dtype=np.int64)
    pick(_round_to_cents_kernel, values.shape[0])(values, _half_even(mode), out)
    return out
