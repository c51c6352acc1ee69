"""Currency conversion with effective-dated exchange rates, exact and rounded once per line.

A row's amount (hundredths of its currency) is converted to the target currency with the rate
``from -> to`` effective on the row's date (``valid_from <= date <= valid_to``, open-ended
``valid_to``). When only the reverse rate ``to -> from`` is given, the amount is divided by it.
The exact product is rounded once, with the rule set's rounding mode, to the target currency's
minor unit (a hundredth, or a whole unit for JPY, KRW...). This is a documented rounding point:
conversion happens per credit line, before measures are summed (``docs/plans.md``).

Example:
    >>> from datetime import date
    >>> rates = pl.DataFrame({"from_currency": ["EUR"], "to_currency": ["USD"],
    ...     "rate_e10": [10_850_000_000], "valid_from": [date(2026, 1, 1)], "valid_to": [None]},
    ...     schema_overrides={"valid_to": pl.Date})
    >>> rows = pl.DataFrame({"amount_cents": [10_001, 500, -10_001], "currency": ["EUR"] * 3,
    ...     "pay_currency": ["USD", "EUR", "USD"], "on": [date(2026, 2, 1)] * 3})
    >>> out, missing = convert(rows, amount="amount_cents", currency="currency",
    ...     target="pay_currency", on="on", rates=rates, mode=RoundingMode.HALF_UP, out="usd")
    >>> out["usd"].to_list(), missing.height
    ([10851, 500, -10851], 0)
"""

from __future__ import annotations

import polars as pl

from engine.calc.exact import round_div_expr
from engine.money import CURRENCY_DIGITS, FX_SCALE, MONEY_SCALE, RoundingMode

__all__ = ["convert", "minor_unit_expr"]

_FAR = pl.date(9999, 12, 31)


def _rated(
    rows: pl.DataFrame,
    found: pl.DataFrame,
    *,
    amount: str,
    currency: str,
    target: str,
    on: str,
    mode: RoundingMode,
) -> pl.Series:
    """Converted Int64 amounts of ``rows``, null without a rate.

    ``rows`` holds the ``amount, currency, target, on`` columns of rows not in their target
    currency; ``found`` holds ``_from, _to, _on`` and the ``_direct`` / ``_inverse`` rates
    (null when not given). The amount is rounded once to the target's minor unit.
    """
    joined = rows.join(
        found,
        left_on=[currency, target, on],
        right_on=["_from", "_to", "_on"],
        how="left",
        maintain_order="left",
    )
    unit = minor_unit_expr(pl.col(target))
    scale = 10**FX_SCALE
    amt = pl.col(amount).cast(pl.Int128)
    direct = round_div_expr(amt * pl.col("_direct"), unit * scale, mode) * unit
    inverse = round_div_expr(amt * scale, pl.col("_inverse") * unit, mode) * unit
    value = (
        pl.when(pl.col("_direct").is_not_null())
        .then(direct)
        .when(pl.col("_inverse").is_not_null())
        .then(inverse)
        .otherwise(None)
    )
    return joined.select(value.cast(pl.Int64, strict=False))[amount]


def minor_unit_expr(currency: pl.Expr) -> pl.Expr:
    """The currency's smallest amount in internal hundredths: 1 (USD), 100 (JPY).

    Example:
        >>> pl.select(minor_unit_expr(pl.lit("JPY"))).item()
        100
    """
    units = {c: 10 ** (MONEY_SCALE - d) for c, d in CURRENCY_DIGITS.items()}
    return currency.replace_strict(units, default=1, return_dtype=pl.Int64)


def convert(
    frame: pl.DataFrame,
    *,
    amount: str,
    currency: str,
    target: str,
    on: str,
    rates: pl.DataFrame,
    mode: RoundingMode,
    out: str,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Convert ``amount`` from ``currency`` to ``target`` as of the date column ``on``.

    Args:
        frame: rows to convert.
        amount: Int64 column of hundredths in ``currency``.
        currency: column with the row's currency.
        target: column with the currency to convert to.
        on: Date column: the day whose rate applies.
        rates: the ``exchange_rates`` table (from_currency, to_currency, rate_e10, valid_from,
            valid_to).
        mode: rounding mode.
        out: name of the converted Int64 column added to ``frame``.

    Returns:
        ``frame`` with ``out`` (null where no rate was found) and the rows without a rate.

    Example:
        >>> from datetime import date
        >>> rates = pl.DataFrame({"from_currency": ["USD"], "to_currency": ["JPY"],
        ...     "rate_e10": [1_500_000_000_000], "valid_from": [date(2026, 1, 1)],
        ...     "valid_to": [date(2026, 1, 31)]})
        >>> rows = pl.DataFrame({"a": [333, 100], "c": ["USD", "JPY"], "t": ["JPY", "USD"],
        ...     "d": [date(2026, 1, 5), date(2026, 1, 5)]})
        >>> convert(rows, amount="a", currency="c", target="t", on="d", rates=rates,
        ...         mode=RoundingMode.HALF_EVEN, out="x")[0]["x"].to_list()
        [50000, 1]
    """
    keys = pl.DataFrame(
        frame.select(
            pl.col(currency).alias("_from"), pl.col(target).alias("_to"), pl.col(on).alias("_on")
        )
        .filter(pl.col("_from") != pl.col("_to"))
        .unique()
    )
    r = rates.select(
        "from_currency",
        "to_currency",
        "rate_e10",
        "valid_from",
        pl.col("valid_to").fill_null(_FAR),
    )

    def lookup(src: str, dst: str, name: str) -> pl.DataFrame:
        return (
            keys.join(r, left_on=[src, dst], right_on=["from_currency", "to_currency"])
            .filter((pl.col("valid_from") <= pl.col("_on")) & (pl.col("_on") <= pl.col("valid_to")))
            .group_by("_from", "_to", "_on")
            .agg(pl.col("rate_e10").first().alias(name))
        )

    found = keys.join(lookup("_from", "_to", "_direct"), on=["_from", "_to", "_on"], how="left")
    found = found.join(lookup("_to", "_from", "_inverse"), on=["_from", "_to", "_on"], how="left")
    # rows already in the target currency keep their amount; only the others are looked up
    same = (pl.col(currency) == pl.col(target)).fill_null(value=False)
    values = frame.select(pl.when(same).then(pl.col(amount)).cast(pl.Int64).alias(out))[out]
    todo = frame.select((~same).arg_true().alias("_i"))["_i"]
    if todo.len():
        rows = frame.select(pl.col(amount, currency, target, on).gather(todo))
        values = values.scatter(
            todo,
            _rated(rows, found, amount=amount, currency=currency, target=target, on=on, mode=mode),
        )
    result = frame.with_columns(values)
    missing = result.filter(pl.col(out).is_null() & pl.col(amount).is_not_null())
    return result, missing
