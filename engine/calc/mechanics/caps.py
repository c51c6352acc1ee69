"""Caps and floors on earnings, with the excess lost or carried forward.

A cap limits the amount recognised in a period to ``room``: the cap amount for a per-period cap,
or the year-to-date cap minus what was already recognised this year for a ``year_to_date`` cap.
Earnings carried forward from earlier periods (``carry_in``) are added before capping, so they
are paid as soon as a period has room. Negative totals (clawbacks larger than earnings) are never
capped. A floor tops a period's amount up to a minimum.

Both work on int64 arrays of cents, one element per participant (the fold's rows).

Example:
    >>> out = cap(np.array([1200, 500, -50]), np.array([0, 400, 0]),
    ...           np.array([1000, 1000, 1000]), carry_forward=True)
    >>> out.capped.tolist(), (out.capped - [1200, 500, -50]).tolist(), out.carry_out.tolist()
    ([1000, 900, -50], [-200, 400, 0], [200, 0, 0])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["Capped", "Floored", "cap", "floor"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class Capped(NamedTuple):
    """``capped`` (recognised now) and ``carry_out`` (excess kept for later periods)."""

    capped: IntArray
    carry_out: IntArray


class Floored(NamedTuple):
    """``floored`` (the amount after the floor) and ``top_up`` (what the floor added, >= 0)."""

    floored: IntArray
    top_up: IntArray


def cap(
    earned: IntArray,
    carry_in: IntArray,
    room: IntArray | None,
    room_valid: BoolArray | None = None,
    *,
    carry_forward: bool,
) -> Capped:
    """Cap ``earned + carry_in`` at ``room``.

    Args:
        earned: the period's earnings before the cap.
        carry_in: excess carried from earlier periods (0 when none).
        room: the most that may be recognised now (a negative room counts as 0); None = no cap.
        room_valid: where ``room`` applies (elsewhere no cap); None = everywhere.
        carry_forward: keep the excess for later periods (True) or lose it (False).

    Example:
        >>> cap(np.array([300]), np.array([0]), None, carry_forward=False)
        Capped(capped=array([300]), carry_out=array([0]))
    """
    total = earned + carry_in
    if room is None:
        return Capped(total, np.zeros_like(total))
    limit = np.maximum(room, 0)
    uncapped = total <= limit
    if room_valid is not None:
        uncapped |= ~room_valid
    capped = np.where(uncapped, total, limit)
    carry_out = total - capped if carry_forward else np.zeros_like(total)
    return Capped(capped, carry_out)


def floor(amount: IntArray, minimum: IntArray | None, valid: BoolArray | None = None) -> Floored:
    """Top ``amount`` up to ``minimum``.

    Args:
        amount: the amount so far.
        minimum: the floor; None = no floor.
        valid: where ``minimum`` applies (elsewhere no floor); None = everywhere.

    Example:
        >>> floor(np.array([80, 120]), np.array([100, 100])).floored.tolist()
        [100, 120]
    """
    if minimum is None:
        return Floored(amount, np.zeros_like(amount))
    top_up = np.maximum(minimum - amount, 0)
    if valid is not None:
        top_up = np.where(valid, top_up, 0)
    return Floored(amount + top_up, top_up)
