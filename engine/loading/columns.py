"""Cell-level validation: turn a text table into typed columns plus one finding per bad cell.

Each column kind of :mod:`engine.contract` has one parser here. A parser returns the typed
expression and an expression giving, per row, the reason code of a bad cell (null when the cell
is fine). Everything is vectorised: no Python loop per row.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from engine.contract import Column, Table
from engine.errors import Reason
from engine.loading.read import LINE
from engine.money import CURRENCY_DIGITS, FX_SCALE, MONEY_SCALE, PPM, parse_decimal_expr

FINDING_SCHEMA: dict[str, pl.DataType] = {
    "file": pl.Utf8(),
    "line": pl.Int64(),
    "column": pl.Utf8(),
    "reason": pl.Utf8(),
    "message": pl.Utf8(),
    "value": pl.Utf8(),
    "hint": pl.Utf8(),
}
"""Schema of the rejects table (one row per finding)."""

_SCALES = {"money": MONEY_SCALE, "share": 6, "fx": FX_SCALE, "decimal": 2}
_ASCII_NUMBER = r"^[+\-]?[0-9.]+$"
r"""ASCII digits only: a regex ``\d`` also matches other scripts' digits (``１８０``), which the
exact decimal cast cannot read; such a cell would otherwise pass as a blank value."""


@dataclass(frozen=True)
class Parsed:
    """A column's typed value and its per-row problem (reason code and message; null if fine)."""

    value: pl.Expr
    reason: pl.Expr
    message: pl.Expr


def _problem(*cases: tuple[pl.Expr, Reason, pl.Expr | str]) -> tuple[pl.Expr, pl.Expr]:
    """Combine (condition, reason, message) cases; the first true case wins."""
    reason: pl.Expr = pl.lit(None, dtype=pl.Utf8)
    message: pl.Expr = pl.lit(None, dtype=pl.Utf8)
    for cond, code, text in reversed(cases):
        msg = pl.lit(text) if isinstance(text, str) else text
        reason = pl.when(cond).then(pl.lit(code.value)).otherwise(reason)
        message = pl.when(cond).then(msg).otherwise(message)
    return reason, message


def parse_column(column: Column, date_format: str) -> Parsed:
    """Typed value and problem expressions for one contract column of ``table``."""
    raw = pl.col(column.name)
    quoted = pl.lit("'") + raw + pl.lit("'")
    missing = raw.is_null()
    required_missing = (missing, Reason.REQUIRED_VALUE_MISSING, f"{column.name} is blank")
    not_null = pl.lit(value=False) if column.nullable else missing

    if column.kind in ("id", "text"):
        reason, message = _problem((not_null, *required_missing[1:]))
        return Parsed(raw, reason, message)

    if column.kind == "currency":
        known = raw.is_in(list(CURRENCY_DIGITS))
        reason, message = _problem(
            (not_null, *required_missing[1:]),
            (~missing & ~known, Reason.UNKNOWN_CURRENCY, pl.lit("unknown currency ") + quoted),
        )
        return Parsed(raw, reason, message)

    if column.kind == "enum":
        ok = raw.is_in(list(column.values))
        reason, message = _problem(
            (not_null, *required_missing[1:]),
            (
                ~missing & ~ok,
                Reason.BAD_VALUE,
                pl.lit(f"not one of {', '.join(column.values)}: ") + quoted,
            ),
        )
        return Parsed(raw, reason, message)

    if column.kind == "date":
        value = raw.str.to_date(date_format, strict=False)
        reason, message = _problem(
            (not_null, *required_missing[1:]),
            (
                ~missing & value.is_null(),
                Reason.BAD_DATE,
                pl.lit(f"not a date in the format {date_format}: ") + quoted,
            ),
        )
        return Parsed(value, reason, message)

    scale = _SCALES[column.kind]
    parsed = parse_decimal_expr(raw, scale)
    if column.kind == "money" and column.currency_from is not None:
        allowed = (
            pl.col(column.currency_from)
            .replace_strict(CURRENCY_DIGITS, default=MONEY_SCALE, return_dtype=pl.Int64)
            .fill_null(MONEY_SCALE)
        )
    else:
        allowed = pl.lit(scale if column.kind != "money" else MONEY_SCALE, dtype=pl.Int64)
    present = ~missing
    cases: list[tuple[pl.Expr, Reason, pl.Expr | str]] = [
        (not_null, Reason.REQUIRED_VALUE_MISSING, f"{column.name} is blank"),
        (
            present & ~(parsed.well_formed & raw.str.contains(_ASCII_NUMBER)),
            Reason.BAD_NUMBER,
            pl.lit("not a number: ") + quoted,
        ),
        (present & parsed.too_large, Reason.OUT_OF_RANGE, pl.lit("too large: ") + quoted),
        (
            present & (parsed.decimals > allowed),
            Reason.TOO_MANY_DECIMALS,
            quoted
            + pl.lit(" has ")
            + parsed.decimals.cast(pl.Utf8)
            + pl.lit(" decimals; at most ")
            + allowed.cast(pl.Utf8)
            + pl.lit(" allowed")
            + (
                pl.lit(" in ") + pl.col(column.currency_from).fill_null("")
                if column.currency_from
                else pl.lit("")
            ),
        ),
    ]
    if column.kind == "share":
        cases.append(
            (
                present & ((parsed.value < 0) | (parsed.value > PPM)),
                Reason.OUT_OF_RANGE,
                pl.lit("a share must be between 0 and 1: ") + quoted,
            )
        )
    if column.kind == "fx":
        cases.append(
            (
                present & (parsed.value <= 0),
                Reason.OUT_OF_RANGE,
                pl.lit("an exchange rate must be positive: ") + quoted,
            )
        )
    reason, message = _problem(*cases)
    return Parsed(parsed.value, reason, message)


def validate_cells(
    frame: pl.DataFrame, table: Table, file: str, date_format: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Type every contract column of ``frame`` and collect one finding per bad cell.

    Args:
        frame: the text table, with every contract column present (absent optional columns
            already added as nulls or defaults).
        table: the contract table.
        file: the file name for findings.
        date_format: the date format of this file.

    Returns:
        ``(typed, findings)``: the typed frame (all rows; bad cells null) and the findings.
    """
    parsed = {c.name: parse_column(c, date_format) for c in table.columns}
    extra = [c for c in frame.columns if c != LINE and c not in parsed and table.extra_columns]
    checked = frame.with_columns(
        *[p.value.alias(f"v:{name}") for name, p in parsed.items()],
        *[p.reason.alias(f"r:{name}") for name, p in parsed.items()],
    )
    reasons = [f"r:{name}" for name in parsed]
    typed = checked.select(
        pl.col(LINE),
        *[pl.col(f"v:{c.name}").alias(c.stored_name) for c in table.columns],
        *[pl.col(c) for c in extra],
    )
    # messages are built only for the rows that have a problem (string work is costly)
    bad = checked.filter(pl.any_horizontal(pl.col(r).is_not_null() for r in reasons))
    if bad.height == 0:  # a clean table (the usual case): no finding to build, column by column
        return typed, empty_findings()
    findings = [
        bad.filter(pl.col(f"r:{name}").is_not_null()).select(
            pl.lit(file).alias("file"),
            pl.col(LINE).alias("line"),
            pl.lit(name).alias("column"),
            pl.col(f"r:{name}").alias("reason"),
            p.message.alias("message"),
            pl.col(name).cast(pl.Utf8).alias("value"),
            pl.lit(None, dtype=pl.Utf8).alias("hint"),
        )
        for name, p in parsed.items()
    ]
    return typed, pl.concat(findings, how="vertical") if findings else empty_findings()


_NO_FINDINGS = pl.DataFrame(schema=FINDING_SCHEMA)


def empty_findings() -> pl.DataFrame:
    """An empty rejects table.

    A new frame each call, copied from a template: far cheaper than building one from the
    schema, and loading asks for one per check and table.
    """
    return _NO_FINDINGS.clear()
