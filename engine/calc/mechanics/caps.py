"""Caps and floors on earnings, with the excess lost or carried forward.

A cap limits the amount recognised in a period to ``room``: the cap amount for a per-period cap,
or the year-to-date cap minus what was already recognised this year for a ``year_to_date`` cap.
Earnings carried forward from earlier periods (``carry_in``) are added before capping, so they
are paid as soon as a period has room. Negative totals (clawbacks larger than earnings) are never
capped. A floor tops a period's amount up to a minimum.

Example:
    >>> df = pl.DataFrame({"earned": [1200, 500, -50], "carry_in": [0, 400, 0],
    ...                    "room": [1000, 1000, 1000]})
    >>> out = df.with_columns(**cap_exprs("earned", "carry_in", "room", carry_forward=True))
    >>> out.select("capped", "cap_adjustment", "carry_out").rows()
    [(1000, -200, 200), (900, 400, 0), (-50, 0, 0)]
"""

from __future__ import annotations

import polars as pl

__all__ = ["cap_exprs", "floor_exprs"]


def cap_exprs(
    earned: str, carry_in: str, room: str, *, carry_forward: bool | pl.Expr
) -> dict[str, pl.Expr]:
    """Expressions ``capped``, ``cap_adjustment`` (capped - earned) and ``carry_out``.

    Args:
        earned: column of the period's earnings before the cap.
        carry_in: column of excess carried from earlier periods (0 when none).
        room: column of the most that may be recognised now; null = no cap.
        carry_forward: keep the excess for later periods (True) or lose it (False); a Boolean
            expression chooses per row.

    Example:
        >>> df = pl.DataFrame({"e": [300], "c": [0], "r": [None]}, schema_overrides={"r": pl.Int64})
        >>> df.select(**cap_exprs("e", "c", "r", carry_forward=False)).row(0)
        (300, 0, 0)
    """
    total = pl.col(earned) + pl.col(carry_in)
    limit = pl.max_horizontal(pl.col(room), pl.lit(0))
    capped = pl.when(pl.col(room).is_null() | (total <= limit)).then(total).otherwise(limit)
    excess = total - capped
    keep = carry_forward if isinstance(carry_forward, pl.Expr) else pl.lit(carry_forward)
    return {
        "capped": capped,
        "cap_adjustment": capped - pl.col(earned),
        "carry_out": pl.when(keep).then(excess).otherwise(0),
    }


def floor_exprs(amount: str, minimum: str) -> dict[str, pl.Expr]:
    """Expressions ``floored`` and ``floor_adjustment`` (the top-up, >= 0).

    Args:
        amount: column of the amount so far.
        minimum: column of the floor; null = no floor.

    Example:
        >>> df = pl.DataFrame({"a": [80, 120], "m": [100, 100]})
        >>> df.select(**floor_exprs("a", "m")).rows()
        [(100, 20), (120, 0)]
    """
    top_up = (
        pl.when(pl.col(minimum).is_null())
        .then(0)
        .otherwise(pl.max_horizontal(pl.col(minimum) - pl.col(amount), pl.lit(0)))
    )
    return {"floored": pl.col(amount) + top_up, "floor_adjustment": top_up}
