"""Quotas per participant, period and measure: given per period, or annual and spread.

* ``basis: period``: the ``quotas`` row of the participant, period and measure.
* ``basis: annual``: the participant's single ``quotas`` row for the measure in any period of
  a plan year is the annual quota. It is spread over the year's periods by the seasonality
  ``weights`` (equal when absent) with largest-remainder allocation, so the period quotas add
  up to the annual quota exactly (ties: the earlier period gets the extra hundredth).

With ``prorate`` (the default) each period's quota is then scaled by
``active_days / days`` (days employed in the period), one rounding per period. A participant
who starts or leaves mid-year thus carries the quota of the days employed only.

Quotas of a window (quarter-to-date, year-to-date) are the sums of the period quotas of the
window, computed in :mod:`engine.calc.measures`.

Example:
    >>> from datetime import date
    >>> cal = pl.DataFrame({"period": ["M1", "M2", "M3"],
    ...     "start_date": [date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)],
    ...     "end_date": [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)],
    ...     "quarter": ["Q1"] * 3, "year": ["2026"] * 3})
    >>> people = pl.DataFrame({"participant_id": ["A"], "hire_date": [date(2020, 1, 1)],
    ...     "termination_date": [None]}, schema_overrides={"termination_date": pl.Date})
    >>> q = pl.DataFrame({"participant_id": ["A"], "period": ["M2"], "measure": ["rev"],
    ...     "quota_e2": [100]})
    >>> spec = QuotaSpec(basis="annual", weights=("1", "1", "1"))
    >>> period_quotas(q, calendar=cal, participants=people, measure="rev", spec=spec,
    ...               mode=RoundingMode.HALF_UP)[0]["quota_e2"].to_list()
    [34, 33, 33]
"""

from __future__ import annotations

from decimal import Decimal

import polars as pl

from engine.calc.proration import employment_days, prorate_expr
from engine.calc.windows import calendar_frame
from engine.errors import Reason
from engine.money import RoundingMode
from engine.rules.plan_schema import QuotaSpec

__all__ = ["FINDING_COLUMNS", "allocate_by_weights", "period_quotas"]

FINDING_COLUMNS: dict[str, pl.DataType] = {
    "participant_id": pl.Utf8(),
    "period": pl.Utf8(),
    "subject": pl.Utf8(),
    "reason": pl.Utf8(),
    "message": pl.Utf8(),
}
"""Schema of calculation findings: who, when, what (measure/component), reason, message."""


def _integer_weights(weights: tuple[Decimal, ...]) -> list[int]:
    places = max(max(-int(w.as_tuple().exponent), 0) for w in weights)
    return [int(w.scaleb(places)) for w in weights]


def allocate_by_weights(
    totals: pl.DataFrame, slots: pl.DataFrame, keys: list[str], value: str, weight: str
) -> pl.DataFrame:
    """Spread each row of ``totals[value]`` over its ``slots`` (joined on ``keys``) by ``weight``.

    Each row of ``totals`` is spread on its own (its identity is every column but ``value``).

    Largest remainder: each slot gets ``floor(total * w / W)``; the units left over go to the
    slots with the largest remainders, earlier ``slot_order`` first on ties.

    Example:
        >>> t = pl.DataFrame({"k": ["a"], "v": [10]})
        >>> s = pl.DataFrame({"k": ["a"] * 3, "slot_order": [0, 1, 2], "w": [1, 1, 1]})
        >>> allocate_by_weights(t, s, ["k"], "v", "w")["v"].to_list()
        [4, 3, 3]
    """
    group = [c for c in totals.columns if c != value]
    joined = slots.join(totals, on=keys, how="inner").with_columns(
        pl.col(weight).sum().over(group).alias("_wsum")
    )
    exact = pl.col(value).cast(pl.Int128) * pl.col(weight)
    joined = joined.with_columns(
        (exact // pl.col("_wsum")).alias("_floor"), (exact % pl.col("_wsum")).alias("_rem")
    )
    joined = joined.with_columns(
        (pl.col(value) - pl.col("_floor").sum().over(group)).alias("_left"),
        pl.struct(-pl.col("_rem").cast(pl.Int64), "slot_order")
        .rank("ordinal")
        .over(group)
        .alias("_rank"),
    )
    return joined.with_columns(
        (pl.col("_floor") + (pl.col("_rank") <= pl.col("_left")).cast(pl.Int128))
        .cast(pl.Int64)
        .alias(value)
    ).drop("_wsum", "_floor", "_rem", "_left", "_rank")


def period_quotas(
    quotas: pl.DataFrame,
    *,
    calendar: pl.DataFrame,
    participants: pl.DataFrame,
    measure: str,
    spec: QuotaSpec,
    mode: RoundingMode,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The quota of ``measure`` per participant and calendar period.

    Args:
        quotas: the ``quotas`` table (participant_id, period, measure, quota_e2).
        calendar: the calendar table.
        participants: the participants table (for proration).
        measure: the attained measure's name (the quota key unless ``spec.measure`` is set).
        spec: where the quota comes from.
        mode: rounding mode of the proration.

    Returns:
        ``(participant_id, period, quota_e2)`` rows, and findings (an annual quota given twice
        in one year; seasonality weights that do not match the number of periods).

    Example:
        >>> from datetime import date
        >>> cal = pl.DataFrame({"period": ["M1"], "start_date": [date(2026, 1, 1)],
        ...     "end_date": [date(2026, 1, 31)], "quarter": ["Q1"], "year": ["2026"]})
        >>> people = pl.DataFrame({"participant_id": ["A"], "hire_date": [date(2026, 1, 17)],
        ...     "termination_date": [None]}, schema_overrides={"termination_date": pl.Date})
        >>> q = pl.DataFrame({"participant_id": ["A"], "period": ["M1"], "measure": ["rev"],
        ...     "quota_e2": [3_100_000]})
        >>> period_quotas(q, calendar=cal, participants=people, measure="rev",
        ...               spec=QuotaSpec(), mode=RoundingMode.HALF_UP)[0].rows()
        [('A', 'M1', 1500000)]
    """
    key = spec.measure or measure
    cal = calendar_frame(calendar)
    rows = quotas.filter(pl.col("measure") == key).select("participant_id", "period", "quota_e2")
    findings: list[dict[str, str | None]] = []
    if spec.basis == "annual":
        rows, findings = _spread_annual(rows, cal, key, spec)
    if spec.prorate:
        days = employment_days(participants, calendar).select(
            "participant_id", "period", "active_days", "days"
        )
        rows = (
            rows.join(days, on=["participant_id", "period"], how="left")
            .with_columns(
                pl.when(pl.col("days").is_null())
                .then(pl.col("quota_e2"))
                .otherwise(
                    prorate_expr(pl.col("quota_e2"), pl.col("active_days"), pl.col("days"), mode)
                )
                .cast(pl.Int64)
                .alias("quota_e2")
            )
            .select("participant_id", "period", "quota_e2")
        )
    out = rows.sort("participant_id", "period")
    return out, pl.DataFrame(findings, schema=FINDING_COLUMNS)


def _spread_annual(
    rows: pl.DataFrame, cal: pl.DataFrame, key: str, spec: QuotaSpec
) -> tuple[pl.DataFrame, list[dict[str, str | None]]]:
    findings: list[dict[str, str | None]] = []
    yearly = rows.join(cal.select("period", "year"), on="period", how="inner")
    dup = yearly.group_by("participant_id", "year").agg(pl.len().alias("n")).filter(pl.col("n") > 1)
    for pid, year, n in dup.sort("participant_id", "year").iter_rows():
        findings.append(
            {
                "participant_id": pid,
                "period": None,
                "subject": key,
                "reason": Reason.DUPLICATE_KEY.value,
                "message": f"annual quota of {key!r} given {n} times in year {year}; "
                "the first period's row is used",
            }
        )
    totals = (
        yearly.join(cal.select("period", "seq"), on="period")
        .sort("participant_id", "year", "seq")
        .group_by("participant_id", "year", maintain_order=True)
        .agg(pl.col("quota_e2").first())
    )
    slots = cal.select("year", "period", pl.col("seq").alias("slot_order"))
    slots = slots.with_columns(pl.int_range(pl.len()).over("year").alias("_i"))
    if spec.weights is None:
        slots = slots.with_columns(pl.lit(1, pl.Int64).alias("_w"))
    else:
        weights = _integer_weights(spec.weights)
        counts = slots.group_by("year").agg(pl.len().alias("n")).sort("year")
        for year, n in counts.iter_rows():
            if n != len(weights):
                findings.append(
                    {
                        "participant_id": None,
                        "period": None,
                        "subject": key,
                        "reason": Reason.RULE_BAD_VALUE.value,
                        "message": f"year {year} has {n} periods but {len(weights)} "
                        f"seasonality weights are given for {key!r}; equal weights used",
                    }
                )
        bad_years = {y for y, n in counts.iter_rows() if n != len(weights)}
        w = pl.Series("_wl", weights, dtype=pl.Int64)
        slots = slots.with_columns(
            pl.when(pl.col("year").is_in(list(bad_years)))
            .then(pl.lit(1, pl.Int64))
            .otherwise(pl.lit(w).gather(pl.col("_i").clip(0, len(weights) - 1)))
            .alias("_w")
        )
    spread = allocate_by_weights(totals, slots, ["year"], "quota_e2", "_w")
    return spread.select("participant_id", "period", "quota_e2"), findings
