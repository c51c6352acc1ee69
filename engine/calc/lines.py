"""Credit lines: the credits a measure may count, with transaction columns and pay currency.

A *line* is one credit row that is not held, joined to its transaction's descriptive columns
(product, deal_type, customer, quantity, extra columns...) and converted to the participant's
pay currency. Every measure filters and sums lines; per-transaction rating and clawbacks read
them too.

Columns added to the credit columns (:data:`engine.crediting.frames.CREDIT_SCHEMA`):

* the transaction's columns except its ``amount_cents``, ``currency`` and ``credit_date`` (the
  credit's own are kept), and ``transaction_amount_cents``; a caller that knows which columns
  the calculation reads may leave out the text columns nothing reads (``keep`` of
  :func:`prepare_lines`), the condition vocabulary (:attr:`Lines.columns`) staying the same;
* ``pay_currency`` and ``pay_cents``: the credit amount converted per line (one rounding; a
  line already in its pay currency is not looked up);
* ``quantity_credit_e2``: the transaction quantity times the credit share (one rounding).

Conditions see credit and transaction columns by their contract names (:func:`condition_columns`):
``amount`` is the *credited* amount in the transaction currency.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import polars as pl

from engine.calc.exact import round_div_expr
from engine.calc.fx import convert
from engine.calc.quotas import FINDING_COLUMNS
from engine.contract import TABLES
from engine.errors import Reason
from engine.money import PPM, RoundingMode

__all__ = [
    "Lines",
    "RollupTotals",
    "build_lines",
    "condition_columns",
    "prepare_lines",
    "rate_findings",
]

_CREDIT_KINDS: dict[str, tuple[str, str]] = {
    "transaction_id": ("transaction_id", "id"),
    "participant_id": ("participant_id", "id"),
    "direct_participant_id": ("direct_participant_id", "id"),
    "credit_type": ("credit_type", "text"),
    "rule": ("rule", "text"),
    "amount_cents": ("amount", "money"),
    "share_ppm": ("share", "share"),
    "currency": ("currency", "currency"),
    "credit_date": ("credit_date", "date"),
    "period": ("period", "id"),
    "route_table": ("route_table", "text"),
    "transaction_amount_cents": ("transaction_amount", "money"),
    "pay_currency": ("pay_currency", "currency"),
}
"""Stored credit column -> (condition name, kind)."""

_INTERNAL = frozenset({"pay_cents", "convert_at", "quantity_credit_e2", "held"})


@dataclass(frozen=True)
class RollupTotals:
    """What measures read from roll-up lines that were not materialised as rows.

    Built by :func:`engine.calc.rollup_lines.result_lines` from aggregated level-0 credits; the
    numbers are those the roll-up lines would give, to the cent.

    Attributes:
        totals: measure name -> ``participant_id, period, num``: the measure's per-period value
            over the roll-up lines it counts (hundredths, as :func:`measure_lines` ``value``).
        population: ``participant_id, period, pay_currency``: every participant and period
            with at least one (counted, converted) roll-up line.
    """

    totals: Mapping[str, pl.DataFrame]
    population: pl.DataFrame


@dataclass(frozen=True)
class Lines:
    """Prepared credit lines and the findings made while preparing them.

    Attributes:
        frame: one row per counted credit (see the module docstring).
        findings: rows without an exchange rate (``NO_EXCHANGE_RATE``), excluded from measures.
        columns: condition column name -> contract kind, for ``compile_condition``.
        mode: the rounding mode used for line values (shares of quantities and attributes).
        rollups: roll-up lines left out of ``frame`` and given as totals instead (None: every
            line is in ``frame``).
    """

    frame: pl.DataFrame
    findings: pl.DataFrame
    columns: Mapping[str, str]
    mode: RoundingMode = RoundingMode.HALF_UP
    rollups: RollupTotals | None = None


def condition_columns(frame: pl.DataFrame) -> dict[str, str]:
    """Column kinds a measure condition may use on ``frame`` (credit + transaction columns).

    Example:
        >>> df = pl.DataFrame({"amount_cents": [1], "product": ["A"], "color": ["red"],
        ...                    "quantity_e2": [100]})
        >>> condition_columns(df)
        {'amount': 'money', 'product': 'text', 'color': 'text', 'quantity': 'decimal'}
    """
    tx = {c.stored_name: (c.name, c.kind) for c in TABLES["transactions"].columns}
    out: dict[str, str] = {}
    for col in frame.columns:
        if col in _INTERNAL:
            continue
        if col in _CREDIT_KINDS:
            name, kind = _CREDIT_KINDS[col]
        elif col in tx:
            name, kind = tx[col]
        elif frame.schema[col] == pl.Utf8:
            name, kind = col, "text"
        else:
            continue
        out[name] = kind
    return out


def build_lines(
    credits: pl.DataFrame,
    *,
    transactions: pl.DataFrame,
    pay: pl.DataFrame,
    calendar: pl.DataFrame,
    rates: pl.DataFrame,
    mode: RoundingMode,
) -> Lines:
    """Prepare the countable credit lines.

    Args:
        credits: the credits frame; ``held`` rows are left out.
        transactions: the transactions table (typed).
        pay: ``participant_id, period, pay_currency, convert_at`` (``credit_date`` or
            ``period_end``): who is paid in which currency, and which rate date applies.
        calendar: the calendar table (for period end dates).
        rates: the exchange_rates table.
        mode: rounding mode for conversion and quantity shares.

    Returns:
        The lines, with findings for credits that could not be converted.
    """
    lines, missing = prepare_lines(
        credits, transactions=transactions, pay=pay, calendar=calendar, rates=rates, mode=mode
    )
    return Lines(lines, rate_findings(missing), condition_columns(lines), mode)


def prepare_lines(
    credits: pl.DataFrame,
    *,
    transactions: pl.DataFrame,
    pay: pl.DataFrame,
    calendar: pl.DataFrame,
    rates: pl.DataFrame,
    mode: RoundingMode,
    keep: Collection[str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The line frame of :func:`build_lines`, and the credits it left out for want of a rate.

    Args:
        credits: the credits frame; ``held`` rows are left out.
        transactions: the transactions table (typed).
        pay: ``participant_id, period, pay_currency, convert_at``.
        calendar: the calendar table (for period end dates).
        rates: the exchange_rates table.
        mode: rounding mode for conversion and quantity shares.
        keep: the text transaction columns to carry (None: every one). Numeric and date
            transaction columns are always carried; a text column nothing reads is left out
            (see :func:`engine.calc.rollup_lines.line_columns`).

    Returns:
        ``(lines, missing)``: ``missing`` holds each unconvertible line (its credit columns,
        ``pay_currency`` and ``_rate_date`` among others), in the order of ``credits`` (the
        input of :func:`rate_findings`).
    """
    tx_drop = {"amount_cents", "currency", "credit_date", "source_line", "transaction_id"}
    carried = [
        c
        for c in transactions.columns
        if c not in tx_drop and (keep is None or c in keep or transactions.schema[c] != pl.Utf8)
    ]
    tx = transactions.select(
        "transaction_id", pl.col("amount_cents").alias("transaction_amount_cents"), *carried
    )
    ends = dict(zip(calendar["period"], calendar["end_date"], strict=True))
    period_end = pl.col("period").replace_strict(ends, default=None, return_dtype=pl.Date)
    held = credits["held"]
    counted = credits.filter(~pl.col("held")) if held.any() or held.null_count() else credits
    lines = (
        counted.join(tx, on="transaction_id", how="left", maintain_order="left")
        .join(pay, on=["participant_id", "period"], how="left", maintain_order="left")
        .with_columns(
            pl.col("pay_currency").fill_null(pl.col("currency")),
            pl.when(pl.col("convert_at") == "period_end")
            .then(period_end)
            .otherwise(pl.col("credit_date"))
            .alias("_rate_date"),
        )
    )
    lines, missing = convert(
        lines,
        amount="amount_cents",
        currency="currency",
        target="pay_currency",
        on="_rate_date",
        rates=rates,
        mode=mode,
        out="pay_cents",
    )
    if "quantity_e2" in lines.columns:
        qty = round_div_expr(pl.col("quantity_e2").cast(pl.Int128) * pl.col("share_ppm"), PPM, mode)
        lines = lines.with_columns(qty.cast(pl.Int64).alias("quantity_credit_e2"))
    if lines["pay_cents"].null_count():
        lines = lines.filter(pl.col("pay_cents").is_not_null())
    return lines.drop("_rate_date"), missing


def rate_findings(missing: pl.DataFrame) -> pl.DataFrame:
    """``NO_EXCHANGE_RATE`` findings, one per unconvertible line of :func:`prepare_lines`.

    Example:
        >>> from datetime import date
        >>> row = {"participant_id": "P1", "period": "2026-01", "currency": "EUR",
        ...        "pay_currency": "USD", "_rate_date": date(2026, 1, 5), "transaction_id": "T1"}
        >>> rate_findings(pl.DataFrame([row]))["message"].item()
        'no exchange rate EUR -> USD on 2026-01-05 for transaction T1; credit left out of measures'
    """
    return missing.select(
        "participant_id",
        "period",
        pl.lit(None, pl.Utf8).alias("subject"),
        pl.lit(Reason.NO_EXCHANGE_RATE.value).alias("reason"),
        pl.format(
            "no exchange rate {} -> {} on {} for transaction {}; credit left out of measures",
            "currency",
            "pay_currency",
            pl.col("_rate_date").cast(pl.Utf8),
            "transaction_id",
        ).alias("message"),
    ).cast(FINDING_COLUMNS)  # type: ignore[arg-type]
