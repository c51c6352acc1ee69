"""The what-if pay fold: every variant's pay mechanics in one Numba pass over shared rows.

:func:`fold_variants` runs the period-by-period pay fold of :mod:`engine.calc.fold` for many
variants at once, over integer arrays built by :mod:`engine.whatif.vector`. Rows are plan
segments (one participant on one plan in one period), sorted by participant, period and plan
(the fold's order); each segment points at its component rows, and each component row at its
rated cents in every variant (variants that rate a component the same way share one column).
The supported mechanics, with exactly the fold's arithmetic and rounding:

* component caps (per period or year to date; excess lost or carried forward) and floors;
* SPIFs (their rated cents, the same in every variant);
* plan caps (in order), plan floors, the guarantee;
* the draw (recoverable or not, a recovery limit, recovery only above the draw, a start
  period, a balance forgiven or carried at the end of the term).

Not here (the caller falls back to the full calculation): true-ups, clawbacks.

Money is ``int64`` cents throughout. The only products are an amount times plan days and a
target incentive times a multiple's numerator; each is checked against 2**62 before it is
formed, and a row that would pass it sets ``overflow`` (the caller then falls back to the exact
path). Every division is rounded once with the rule set's mode, as
:func:`engine.calc.exact.round_div_expr` does (floor division, then the remainder decides).

Example:
    >>> import numpy as np
    >>> rdiv(25, 10, False), rdiv(-25, 10, False), rdiv(25, 10, True), rdiv(-15, 10, True)
    (3, -3, 2, -2)
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = [
    "CAP_FIELDS",
    "DRAW_FIELDS",
    "FLOOR_FIELDS",
    "MAX_PLAN_MECHANICS",
    "fold_variants",
    "rdiv",
]

IntArray = npt.NDArray[np.int64]

MAX_PLAN_MECHANICS = 4
"""Most plan caps (and, separately, plan floors) a plan may have on the vector path."""

_LIMIT = 1 << 62
"""Largest magnitude of a product formed here."""

CAP_FIELDS = ("kind", "amount", "num", "den", "year_to_date", "carry_forward")
"""A cap's integer fields: kind 0 = none, 1 = an amount (cents), 2 = a multiple of target
(``num / den``); window (1 = year to date); excess (1 = carried forward)."""

FLOOR_FIELDS = ("kind", "amount", "num", "den")
"""A floor's (or the guarantee's) integer fields, kinds as for :data:`CAP_FIELDS`."""

DRAW_FIELDS = (
    "kind",
    "amount",
    "num",
    "den",
    "recoverable",
    "has_limit",
    "limit",
    "above_draw",
    "forgive",
    "start_seq",
)
"""A draw's integer fields (kind 0 = no draw); ``start_seq``: recovery from this calendar
index on (0 = from the start)."""


@njit(cache=True, nogil=True)
def rdiv(a, b, half_even):  # type: ignore[no-untyped-def]
    """``a / b`` (``b > 0``) rounded half up (ties away from zero) or half even."""
    q = a // b
    twice = (a - q * b) * 2
    if twice > b:
        return q + 1
    if twice == b:
        if half_even:
            return q + (q & 1)
        return q + 1 if a >= 0 else q
    return q


@njit(cache=True, nogil=True)
def _product_ok(a, b):  # type: ignore[no-untyped-def]
    """Whether ``a * b`` stays within 2**62 in magnitude."""
    x = -a if a < 0 else a
    y = -b if b < 0 else b
    return y == 0 or x <= _LIMIT // y


@njit(cache=True, nogil=True)
def _amount(kind, amount, num, den, target, plan_days, days, prorate, half_even, bad):  # type: ignore[no-untyped-def]  # noqa: PLR0917
    """A mechanic's amount for a period (the fold's ``_amount``); ``bad[0]`` counts overflow."""
    if kind == 1:
        if not prorate:
            return amount
        if not _product_ok(amount, plan_days) or days <= 0:
            bad[0] += 1
            return 0
        return rdiv(amount * plan_days, days, half_even)
    if not _product_ok(target, num):
        bad[0] += 1
        return 0
    return rdiv(target * num, den, half_even)


@njit(cache=True, nogil=True)
def _ytd_amount(kind, amount, num, den, target_ytd, half_even, bad):  # type: ignore[no-untyped-def]  # noqa: PLR0917
    """A year-to-date cap's amount (the fold's ``_ytd_amount``: never prorated)."""
    if kind == 1:
        return amount
    if not _product_ok(target_ytd, num):
        bad[0] += 1
        return 0
    return rdiv(target_ytd * num, den, half_even)


@njit(cache=True, nogil=True)
def fold_variants(  # type: ignore[no-untyped-def]  # noqa: PLR0917
    p_lo,
    p_hi,
    part_start,
    seg,
    comp_start,
    comp_of,
    comp_local,
    rated,
    block_off,
    block_rows,
    column,
    comp_mech,
    plan_caps,
    plan_floors,
    guarantee,
    draw,
    plan_flags,
    half_even,
    out,
    bad,
):
    """Fold participants ``p_lo .. p_hi - 1`` in every variant; add payables to ``out``.

    The variant is the innermost loop: a segment's inputs are read once for all variants, and
    every per-variant array is contiguous along the variants.

    Args:
        p_lo: first participant (index into ``part_start``).
        p_hi: one past the last participant.
        part_start: ``n_participants + 1`` offsets into the segment rows.
        seg: ``(n_segments, 11)``: plan index, seq, year index, target, target_ytd,
            plan_days, days, guarantee in term (0/1), draw in term (0/1), SPIF cents, group.
        comp_start: ``n_segments + 1`` offsets into the component rows.
        comp_of: each component row's component (global index).
        comp_local: each component row's row in its component's block.
        rated: every block's rated cents, column after column.
        block_off: each component's first value in ``rated``.
        block_rows: each component's row count (a column's length).
        column: ``(n_components, n_variants)``: the column of each component in each variant.
        comp_mech: ``(n_components, 10, n_variants)``: cap (:data:`CAP_FIELDS`) then floor
            (:data:`FLOOR_FIELDS`).
        plan_caps: ``(n_plans, MAX_PLAN_MECHANICS, 6, n_variants)`` (kind 0: absent).
        plan_floors: ``(n_plans, MAX_PLAN_MECHANICS, 4, n_variants)``.
        guarantee: ``(n_plans, 4, n_variants)``.
        draw: ``(n_plans, 10, n_variants)`` (:data:`DRAW_FIELDS`).
        plan_flags: ``(n_plans, 6)``: caps prorated, draw prorated, then over all variants:
            most plan caps, most plan floors, any guarantee, any draw (loops skip the rest).
        half_even: the rounding mode is half even (else half up).
        out: ``(n_groups, n_variants)`` accumulators.
        bad: one counter: products that would pass 2**62 (results then unusable).
    """
    n_comp = block_off.shape[0]
    n_plans = plan_flags.shape[0]
    k_max = plan_caps.shape[1]
    n_v = column.shape[1]
    carry = np.zeros((n_comp, n_v), dtype=np.int64)
    cytd = np.zeros((n_comp, n_v), dtype=np.int64)
    cyear = np.full(n_comp, -1, dtype=np.int64)
    cown = np.full(n_comp, -1, dtype=np.int64)
    pcarry = np.zeros((n_plans * k_max, n_v), dtype=np.int64)
    pytd = np.zeros((n_plans * k_max, n_v), dtype=np.int64)
    pyear = np.full(n_plans * k_max, -1, dtype=np.int64)
    pown = np.full(n_plans * k_max, -1, dtype=np.int64)
    balance = np.zeros(n_v, dtype=np.int64)
    total = np.zeros(n_v, dtype=np.int64)
    for p in range(p_lo, p_hi):
        balance[:] = 0
        for r in range(part_start[p], part_start[p + 1]):
            pl_ = seg[r, 0]
            seq = seg[r, 1]
            yr = seg[r, 2]
            target = seg[r, 3]
            target_ytd = seg[r, 4]
            plan_days = seg[r, 5]
            days = seg[r, 6]
            prorate_caps = plan_flags[pl_, 0] != 0
            prorate_draw = plan_flags[pl_, 1] != 0
            total[:] = seg[r, 9]
            for k in range(comp_start[r], comp_start[r + 1]):
                g = comp_of[k]
                if cown[g] != p:  # first touch of this slot for the participant
                    cown[g] = p
                    cyear[g] = -1
                    carry[g, :] = 0
                same_year = cyear[g] == yr
                at = block_off[g] + comp_local[k]
                rows = block_rows[g]
                for v in range(n_v):
                    gross = rated[at + column[g, v] * rows] + carry[g, v]
                    ytd_in = cytd[g, v] if same_year else 0
                    kind = comp_mech[g, 0, v]
                    carry_out = 0
                    capped = gross
                    if kind != 0:
                        if comp_mech[g, 4, v] == 0:
                            room = _amount(
                                kind,
                                comp_mech[g, 1, v],
                                comp_mech[g, 2, v],
                                comp_mech[g, 3, v],
                                target,
                                plan_days,
                                days,
                                prorate_caps,
                                half_even,
                                bad,
                            )
                        else:
                            room = (
                                _ytd_amount(
                                    kind,
                                    comp_mech[g, 1, v],
                                    comp_mech[g, 2, v],
                                    comp_mech[g, 3, v],
                                    target_ytd,
                                    half_even,
                                    bad,
                                )
                                - ytd_in
                            )
                        limit = room if room > 0 else 0
                        if gross > limit:
                            capped = limit
                        if comp_mech[g, 5, v] != 0:
                            carry_out = gross - capped
                    payable = capped
                    fkind = comp_mech[g, 6, v]
                    if fkind != 0:
                        minimum = _amount(
                            fkind,
                            comp_mech[g, 7, v],
                            comp_mech[g, 8, v],
                            comp_mech[g, 9, v],
                            target,
                            plan_days,
                            days,
                            prorate_caps,
                            half_even,
                            bad,
                        )
                        if minimum > capped:
                            payable = minimum
                    carry[g, v] = carry_out
                    cytd[g, v] = ytd_in + capped
                    total[v] += payable
                cyear[g] = yr
            for k in range(plan_flags[pl_, 2]):
                slot = pl_ * k_max + k
                if pown[slot] != p:
                    pown[slot] = p
                    pyear[slot] = -1
                    pcarry[slot, :] = 0
                same_year = pyear[slot] == yr
                touched = False
                for v in range(n_v):
                    kind = plan_caps[pl_, k, 0, v]
                    if kind == 0:
                        continue
                    touched = True
                    ytd_in = pytd[slot, v] if same_year else 0
                    if plan_caps[pl_, k, 4, v] == 0:
                        room = _amount(
                            kind,
                            plan_caps[pl_, k, 1, v],
                            plan_caps[pl_, k, 2, v],
                            plan_caps[pl_, k, 3, v],
                            target,
                            plan_days,
                            days,
                            prorate_caps,
                            half_even,
                            bad,
                        )
                    else:
                        room = (
                            _ytd_amount(
                                kind,
                                plan_caps[pl_, k, 1, v],
                                plan_caps[pl_, k, 2, v],
                                plan_caps[pl_, k, 3, v],
                                target_ytd,
                                half_even,
                                bad,
                            )
                            - ytd_in
                        )
                    gross = total[v] + pcarry[slot, v]
                    limit = room if room > 0 else 0
                    capped = gross if gross <= limit else limit
                    pcarry[slot, v] = gross - capped if plan_caps[pl_, k, 5, v] != 0 else 0
                    pytd[slot, v] = ytd_in + capped
                    total[v] = capped
                if touched:
                    pyear[slot] = yr
            for k in range(plan_flags[pl_, 3]):
                for v in range(n_v):
                    kind = plan_floors[pl_, k, 0, v]
                    if kind == 0:
                        continue
                    minimum = _amount(
                        kind,
                        plan_floors[pl_, k, 1, v],
                        plan_floors[pl_, k, 2, v],
                        plan_floors[pl_, k, 3, v],
                        target,
                        plan_days,
                        days,
                        prorate_caps,
                        half_even,
                        bad,
                    )
                    total[v] = max(total[v], minimum)
            if seg[r, 7] != 0 and plan_flags[pl_, 4] != 0:
                for v in range(n_v):
                    kind = guarantee[pl_, 0, v]
                    if kind == 0:
                        continue
                    minimum = _amount(
                        kind,
                        guarantee[pl_, 1, v],
                        guarantee[pl_, 2, v],
                        guarantee[pl_, 3, v],
                        target,
                        plan_days,
                        days,
                        prorate_draw,
                        half_even,
                        bad,
                    )
                    total[v] = max(total[v], minimum)
            in_term = seg[r, 8] != 0
            group = seg[r, 10]
            if plan_flags[pl_, 5] == 0:  # no variant draws on this plan
                for v in range(n_v):
                    out[group, v] += total[v]
                continue
            for v in range(n_v):
                draw_paid = 0
                recovered = 0
                kind = draw[pl_, 0, v]
                if kind != 0:
                    owed = 0
                    if in_term:
                        owed = _amount(
                            kind,
                            draw[pl_, 1, v],
                            draw[pl_, 2, v],
                            draw[pl_, 3, v],
                            target,
                            plan_days,
                            days,
                            prorate_draw,
                            half_even,
                            bad,
                        )
                    elif draw[pl_, 8, v] != 0:
                        balance[v] = 0  # forgiven at the end of the term
                    t = total[v]
                    positive = t if t > 0 else 0
                    draw_paid = owed - positive if owed > positive else 0
                    keep = owed if (draw[pl_, 7, v] != 0 and in_term) else 0
                    available = t - keep if t > keep else 0
                    if draw[pl_, 5, v] != 0:
                        lim = draw[pl_, 6, v] if draw[pl_, 6, v] > 0 else 0
                        available = available if available < lim else lim
                    if draw[pl_, 4, v] != 0:
                        if draw_paid == 0 and seq >= draw[pl_, 9, v]:
                            owed_back = balance[v] if balance[v] > 0 else 0
                            recovered = owed_back if owed_back < available else available
                        balance[v] = balance[v] + draw_paid - recovered
                out[group, v] += total[v] + draw_paid - recovered
