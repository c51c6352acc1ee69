"""Exact integer arithmetic on Polars expressions: rounded division and scaling.

Every division in a money path goes through :func:`round_div_expr`, which rounds an exact
integer quotient with the rule set's rounding mode (the vectorised twin of
:func:`engine.money.round_div`). Products are formed in ``Int128`` so that ``cents x rate`` cannot
overflow; results are cast back to ``Int64`` with :func:`to_int64`, which raises ``OVERFLOW``
instead of wrapping.

Example:
    >>> df = pl.DataFrame({"n": [25, -25, 15, -15, 7]})
    >>> df.select(round_div_expr(pl.col("n"), 10, RoundingMode.HALF_UP).alias("up"),
    ...           round_div_expr(pl.col("n"), 10, RoundingMode.HALF_EVEN).alias("even")).rows()
    [(3, 2), (-3, -2), (2, 2), (-2, -2), (1, 1)]
"""

from __future__ import annotations

import polars as pl

from engine.errors import EngineError, Reason
from engine.money import RoundingMode

__all__ = ["I128", "round_div_expr", "to_int64"]

I128 = pl.Int128()
"""The wide integer type used for intermediate products."""


def round_div_expr(numerator: pl.Expr, denominator: pl.Expr | int, mode: RoundingMode) -> pl.Expr:
    """``numerator / denominator`` rounded to an integer with ``mode``; Int128 result.

    The denominator must be positive (a zero gives null). Half-up rounds ties away from zero;
    half-even rounds ties to the even neighbour.

    Example:
        >>> pl.select(round_div_expr(pl.lit(-5), 2, RoundingMode.HALF_EVEN)).item()
        -2
    """
    num = numerator.cast(I128)
    den = pl.lit(denominator, I128) if isinstance(denominator, int) else denominator.cast(I128)
    den = pl.when(den == 0).then(None).otherwise(den)
    q = num // den  # floor
    twice_r = (num - q * den) * 2
    if mode is RoundingMode.HALF_UP:
        up = (twice_r > den) | ((twice_r == den) & (num >= 0))
    else:
        up = (twice_r > den) | ((twice_r == den) & ((q % 2) == 1))
    return pl.when(up).then(q + 1).otherwise(q)


def to_int64(frame: pl.DataFrame, columns: list[str], what: str) -> pl.DataFrame:
    """Cast ``columns`` of ``frame`` to Int64, raising ``OVERFLOW`` when a value does not fit.

    Raises:
        EngineError: ``OVERFLOW`` naming ``what`` and the column.

    Example:
        >>> df = pl.DataFrame({"x": [1]}, schema={"x": pl.Int128})
        >>> to_int64(df, ["x"], "test").schema["x"]
        Int64
    """
    out = frame.with_columns(pl.col(c).cast(pl.Int64, strict=False) for c in columns)
    for c in columns:
        lost = out.filter(pl.col(c).is_null() & frame[c].is_not_null()).height
        if lost:
            raise EngineError.single(
                Reason.OVERFLOW,
                f"{what}: {lost} value(s) of {c} exceed the exact 64-bit range",
                column=c,
            )
    return out
