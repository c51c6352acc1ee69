"""Exact money: the internal representation, parsing and rounding.

Internal representation (see ``docs/money.md``):

* Money is an ``Int64`` count of **hundredths of the currency unit** (``*_cents`` columns),
  whatever the currency. A currency whose minor unit is coarser (JPY: 0 digits) uses multiples of
  100; one whose minor unit is finer than a hundredth is not supported and is rejected on load.
* Shares and percentages are ``Int64`` parts per million (``*_ppm``): 60% is ``600_000``.
* Rates in rule sets are exact decimals, turned into integers at a declared scale by the rule
  loader; exchange rates are integers at scale 10**10 (``*_e10``).
* Text is parsed straight to integers, never through a float.

Rounding modes are ``half_up`` (half away from zero, the usual commercial rounding) and
``half_even`` (banker's rounding).

Example:
    >>> parse_decimal("1234.5", 2)
    123450
    >>> format_cents(-123450)
    '-1234.50'
    >>> round_div(5, 2, RoundingMode.HALF_UP), round_div(5, 2, RoundingMode.HALF_EVEN)
    (3, 2)
    >>> round_div(-5, 2, RoundingMode.HALF_UP)
    -3
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import NamedTuple

import polars as pl

MONEY_SCALE = 2
"""Decimal places of the internal money unit: one internal unit is 1/100 of a currency unit."""
CENTS = 10**MONEY_SCALE
PPM = 1_000_000
"""Scale of shares and percentages: parts per million."""
FX_SCALE = 10
"""Decimal places kept for exchange rates."""

CURRENCY_DIGITS: dict[str, int] = {
    "USD": 2, "EUR": 2, "GBP": 2, "CAD": 2, "AUD": 2, "NZD": 2, "CHF": 2, "SEK": 2, "NOK": 2,
    "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "INR": 2, "CNY": 2, "HKD": 2, "SGD": 2, "MXN": 2,
    "BRL": 2, "ZAR": 2, "ILS": 2, "AED": 2, "SAR": 2, "TRY": 2, "THB": 2, "MYR": 2, "PHP": 2,
    "TWD": 2, "JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0, "VND": 0,
}  # fmt: skip
"""Known currencies and the decimals each allows (ISO 4217 minor units, at most 2 here)."""

_DECIMAL_RE = r"^([+-]?)(\d*)(?:\.(\d*))?$"
_DECIMAL_PY = re.compile(_DECIMAL_RE)
_WELL_FORMED = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$"


class RoundingMode(StrEnum):
    """How a value exactly half-way between two units is rounded."""

    HALF_UP = "half_up"
    HALF_EVEN = "half_even"


def round_div(numerator: int, denominator: int, mode: RoundingMode) -> int:
    """Divide two integers and round the quotient to an integer, exactly.

    Args:
        numerator: any integer.
        denominator: a non-zero integer.
        mode: the tie-breaking rule.

    Returns:
        The rounded quotient.

    Example:
        >>> round_div(15, 10, RoundingMode.HALF_EVEN), round_div(25, 10, RoundingMode.HALF_EVEN)
        (2, 2)
        >>> round_div(-25, 10, RoundingMode.HALF_UP)
        -3
    """
    if denominator == 0:
        raise ZeroDivisionError("round_div by zero")
    if denominator < 0:
        numerator, denominator = -numerator, -denominator
    sign = -1 if numerator < 0 else 1
    q, r = divmod(abs(numerator), denominator)
    twice = 2 * r
    if twice > denominator or (
        twice == denominator and (mode is RoundingMode.HALF_UP or q % 2 == 1)
    ):
        q += 1
    return sign * q


def round_decimal(value: Decimal, places: int, mode: RoundingMode) -> Decimal:
    """Round a :class:`~decimal.Decimal` to ``places`` decimals with ``mode``.

    Example:
        >>> round_decimal(Decimal("-2.345"), 2, RoundingMode.HALF_UP)
        Decimal('-2.35')
    """
    rounding = ROUND_HALF_UP if mode is RoundingMode.HALF_UP else ROUND_HALF_EVEN
    return value.quantize(Decimal(1).scaleb(-places), rounding=rounding)


def parse_decimal(text: str, scale: int) -> int:
    """Parse a decimal string exactly into an integer count of ``10**-scale`` units.

    Raises:
        ValueError: the text is not a plain decimal, or has more significant decimals than
            ``scale``.

    Example:
        >>> parse_decimal("0.6", 6)
        600000
        >>> parse_decimal("-.5", 2)
        -50
    """
    m = _DECIMAL_PY.match(text.strip())
    if m is None or (m.group(2) == "" and not m.group(3)):
        raise ValueError(f"not a decimal: {text!r}")
    sign, whole, frac = m.group(1), m.group(2) or "0", (m.group(3) or "").rstrip("0")
    if len(frac) > scale:
        raise ValueError(f"{text!r} has more than {scale} decimals")
    value: int = int(whole) * 10**scale + int((frac + "0" * scale)[:scale] or "0")
    return -value if sign == "-" else value


def format_cents(cents: int) -> str:
    """Format an internal money value as a plain decimal string with two places.

    Example:
        >>> format_cents(5), format_cents(-5), format_cents(100)
        ('0.05', '-0.05', '1.00')
    """
    sign = "-" if cents < 0 else ""
    whole, frac = divmod(abs(cents), CENTS)
    return f"{sign}{whole}.{frac:0{MONEY_SCALE}d}"


def format_scaled(value: int, scale: int) -> str:
    """Format an integer at ``10**-scale`` as a minimal decimal string.

    Example:
        >>> format_scaled(600000, 6), format_scaled(-1500, 3), format_scaled(7, 0)
        ('0.6', '-1.5', '7')
    """
    if scale == 0:
        return str(value)
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**scale)
    frac_text = f"{frac:0{scale}d}".rstrip("0")
    return f"{sign}{whole}.{frac_text}" if frac_text else f"{sign}{whole}"


def to_decimal(value: int, scale: int) -> Decimal:
    """An integer at ``10**-scale`` as an exact :class:`~decimal.Decimal`.

    Example:
        >>> to_decimal(123450, 2)
        Decimal('1234.50')
    """
    return Decimal(value).scaleb(-scale)


class ParsedDecimal(NamedTuple):
    """Expressions produced by :func:`parse_decimal_expr`."""

    value: pl.Expr
    well_formed: pl.Expr
    decimals: pl.Expr
    too_large: pl.Expr


def parse_decimal_expr(text: pl.Expr, scale: int) -> ParsedDecimal:
    """Vectorised, exact parse of decimal strings into ``Int64`` at ``10**-scale``.

    The text is checked by one regular expression, its decimals are counted with string
    lengths, and the value goes through Polars' exact 128-bit ``Decimal`` (never a float).

    Args:
        text: a string expression (already stripped; nulls stay null).
        scale: the target scale.

    Returns:
        The parsed value (null where malformed, too precise or too large), whether the text is
        a well-formed decimal, the number of significant decimals written (trailing zeros
        ignored), and whether it has more integer digits than fit at this scale.

    Example:
        >>> df = pl.DataFrame({"s": ["1.5", "-0.25", "x", "2.000", "1.234", "+.5", "7."]})
        >>> v, ok, d, big = parse_decimal_expr(pl.col("s"), 2)
        >>> df.select(v.alias("v"), ok.alias("ok"), d.alias("d")).rows()
        [(150, True, 1), (-25, True, 2), (None, False, None), (200, True, 0), (None, True, 3),
         (50, True, 1), (700, True, 0)]
    """
    well_formed = text.str.contains(_WELL_FORMED).fill_null(False)
    dot = text.str.find(".", literal=True)
    significant = text.str.strip_chars_end("0").str.len_chars().cast(pl.Int64)
    decimals = pl.when(well_formed).then(
        pl.when(dot.is_null())
        .then(pl.lit(0, dtype=pl.Int64))
        .otherwise((significant - dot.cast(pl.Int64) - 1).clip(lower_bound=0))
    )
    unsigned = text.str.strip_chars_start("+-").str.strip_chars_start("0")
    whole_digits = pl.coalesce(unsigned.str.find(".", literal=True), unsigned.str.len_chars()).cast(
        pl.Int64
    )
    too_large = well_formed & (whole_digits > 18 - scale)
    ok = well_formed & ~too_large & (decimals <= scale)
    exact = text.cast(pl.Decimal(38, scale), strict=False) * (10**scale)
    value = pl.when(ok).then(exact.cast(pl.Int64, strict=False)).otherwise(None).cast(pl.Int64)
    return ParsedDecimal(value, well_formed, decimals, too_large.fill_null(False))
