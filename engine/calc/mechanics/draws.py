"""Draws: an advance when earnings fall short, recoverable or not.

For one period, with ``total`` the participant's earnings after every other mechanic and ``draw``
the draw amount in force (0 outside the draw term):

* The draw tops pay up: ``draw_paid = max(0, draw - max(total, 0))``. A negative total
  (clawbacks) is not covered by the draw: a credit note never raises pay.
* Recoverable draws add ``draw_paid`` to the balance owed.
* When nothing is drawn and recovery is allowed this period (``recovery_starts`` reached),
  ``recovered = min(balance, limit, total - keep)``, where ``keep`` is the draw amount when
  recovery is only from earnings above the draw (``above_draw``) and the draw is in force,
  else 0.
* After the draw term, a balance is forgiven (``forgive``) or still recovered (``carry``).

``payable = total + draw_paid - recovered``. The function works on int64 arrays of cents, one
element per participant.

Example (the domain's: draw 1,000, earned 500, then 1,800):
    >>> def one(total, balance):
    ...     out = draw(np.array([total]), np.array([100_000]), np.array([balance]), limit=None,
    ...                may_recover=np.array([True]), above_draw=np.array([False]),
    ...                recoverable=True)
    ...     return [int(x[0]) for x in out]
    >>> one(50_000, 0)
    [50000, 0, 50000]
    >>> one(180_000, 50_000)
    [0, 50000, 0]
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["Drawn", "draw"]

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


class Drawn(NamedTuple):
    """``draw_paid``, ``recovered`` and ``balance_out`` for one period."""

    draw_paid: IntArray
    recovered: IntArray
    balance_out: IntArray


def draw(
    total: IntArray,
    amount: IntArray,
    balance_in: IntArray,
    *,
    limit: int | None,
    may_recover: BoolArray,
    above_draw: BoolArray,
    recoverable: bool,
) -> Drawn:
    """The draw paid, the balance recovered and the balance owed after one period.

    Args:
        total: earnings after the other mechanics.
        amount: the draw amount in force (0 when none).
        balance_in: owed before this period.
        limit: most recovered per period (a negative limit counts as 0); None = no limit.
        may_recover: recovery allowed this period.
        above_draw: recover only from earnings above the draw amount.
        recoverable: whether the shortfall is owed back.

    Example:
        >>> out = draw(np.array([120_000]), np.array([100_000]), np.array([50_000]),
        ...            limit=30_000, may_recover=np.array([True]), above_draw=np.array([True]),
        ...            recoverable=True)
        >>> [int(x[0]) for x in out]
        [0, 20000, 30000]
    """
    draw_paid = np.maximum(amount - np.maximum(total, 0), 0)
    if not recoverable:
        return Drawn(draw_paid, np.zeros_like(total), balance_in)
    keep = np.where(above_draw, amount, 0)
    available = np.maximum(total - keep, 0)
    if limit is not None:
        available = np.minimum(available, max(limit, 0))
    recovered = np.where(
        (draw_paid == 0) & may_recover, np.minimum(np.maximum(balance_in, 0), available), 0
    )
    return Drawn(draw_paid, recovered, balance_in + draw_paid - recovered)
