"""Exact integer arithmetic on money columns: currency units and rounded ppm products.

Amounts are ``Int64`` hundredths. A currency with no minor unit (JPY: 0 digits) is allocated
and rounded in multiples of 100 internal units, so no credit ever holds a fraction of a yen.

Example:
    >>> df = pl.DataFrame({"a": [1001, -1001, 300, -300], "c": ["USD", "USD", "JPY", "JPY"]})
    >>> df.select(apply_ppm(pl.col("a"), 500_000, unit_expr(pl.col("c")),
    ...                     RoundingMode.HALF_UP)).to_series().to_list()
    [501, -501, 200, -200]
"""

from __future__ import annotations

import polars as pl

from engine.errors import EngineError, Reason
from engine.money import CURRENCY_DIGITS, MONEY_SCALE, PPM, RoundingMode

MAX_UNITS = (2**63 - 1) // PPM
"""Largest amount (in currency units of the minor unit) whose product with a ppm fits Int64."""

_COARSE: dict[str, int] = {
    code: 10 ** (MONEY_SCALE - digits)
    for code, digits in CURRENCY_DIGITS.items()
    if digits < MONEY_SCALE
}


def unit_expr(currency: pl.Expr) -> pl.Expr:
    """The currency's minor unit in internal hundredths: 1 for USD, 100 for JPY.

    Example:
        >>> pl.select(unit_expr(pl.lit("JPY"))).item(), pl.select(unit_expr(pl.lit("EUR"))).item()
        (100, 1)
    """
    return currency.replace_strict(_COARSE, default=1, return_dtype=pl.Int64)


def round_div_expr(numerator: pl.Expr, denominator: int, mode: RoundingMode) -> pl.Expr:
    """``numerator / denominator`` rounded to an integer with ``mode`` (ties away or to even).

    Example:
        >>> s = pl.Series([15, 25, -15, -25, 14])
        >>> pl.select(round_div_expr(pl.lit(s), 10, RoundingMode.HALF_EVEN)).to_series().to_list()
        [2, 2, -2, -2, 1]
        >>> pl.select(round_div_expr(pl.lit(s), 10, RoundingMode.HALF_UP)).to_series().to_list()
        [2, 3, -2, -3, 1]
    """
    magnitude = numerator.abs()
    q = magnitude // denominator
    twice = (magnitude % denominator) * 2
    if mode is RoundingMode.HALF_UP:
        up = twice >= denominator
    else:
        up = (twice > denominator) | ((twice == denominator) & (q % 2 == 1))
    rounded = q + up.cast(pl.Int64)
    return pl.when(numerator < 0).then(-rounded).otherwise(rounded)


def apply_ppm(amount: pl.Expr, ppm: int | pl.Expr, unit: pl.Expr, mode: RoundingMode) -> pl.Expr:
    """``amount x ppm / 1e6`` rounded to the currency's minor unit (``unit`` hundredths).

    A ppm of exactly 1,000,000 returns the amount unchanged.
    """
    ppm_expr = pl.lit(ppm, dtype=pl.Int64) if isinstance(ppm, int) else ppm
    units = amount // unit
    return round_div_expr(units * ppm_expr, PPM, mode) * unit


def check_range(frame: pl.DataFrame, amount: str = "amount_cents") -> None:
    """Raise ``OVERFLOW`` when an amount is too large for exact ppm products.

    Example:
        >>> check_range(pl.DataFrame({"amount_cents": [10**12]}))
        >>> check_range(pl.DataFrame({"amount_cents": [10**17]}))
        Traceback (most recent call last):
        engine.errors.EngineError: <input> [amount_cents] OVERFLOW: ...
    """
    if frame.height == 0:
        return
    biggest = frame.select(pl.col(amount).abs().max()).item()
    if biggest is not None and biggest > MAX_UNITS:
        raise EngineError.single(
            Reason.OVERFLOW,
            f"an amount of {biggest} hundredths is too large to split exactly "
            f"(at most {MAX_UNITS})",
            column=amount,
        )
