"""Figures of one calculated variant, and the differences between two.

Money stays exact (Int64 cents). Ratios shown to people (cost of sales, attainment) are
display figures derived from exact integers, never fed back into money.

Example:
    >>> import polars as pl
    >>> base = pl.DataFrame({"participant_id": ["A", "B"], "currency": ["USD", "USD"],
    ...                      "payable_cents": [100, 200]})
    >>> cand = pl.DataFrame({"participant_id": ["A", "B"], "currency": ["USD", "USD"],
    ...                      "payable_cents": [150, 200]})
    >>> deltas(base, cand)["delta_cents"].to_list()
    [50, 0]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from engine.calc.payouts import CalcResult
    from engine.crediting import CreditResult
    from engine.loading import Dataset

__all__ = [
    "QUANTILES",
    "attainment",
    "by_group",
    "cost_of_sales",
    "deltas",
    "per_participant",
    "per_payouts",
    "quantiles",
    "totals",
    "winners_losers",
]

QUANTILES = (0.0, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)
"""The quantiles reported for payout and attainment distributions."""

_KEY = ["participant_id", "currency"]


def per_participant(calc: CalcResult, dataset: Dataset) -> pl.DataFrame:
    """Payable per participant and pay currency over all periods, with role and region.

    Example:
        >>> from pathlib import Path
        >>> from engine.pipeline import run
        >>> r = run(Path("fixtures/sample"), Path("rules/sample.yaml"))
        >>> per_participant(r.calc, r.dataset).columns
        ['participant_id', 'currency', 'payable_cents', 'role', 'region']
    """
    return per_payouts(calc.payouts, dataset)


def per_payouts(payouts: pl.DataFrame, dataset: Dataset) -> pl.DataFrame:
    """:func:`per_participant` of a payouts frame.

    Example:
        >>> from pathlib import Path
        >>> from engine.pipeline import run
        >>> r = run(Path("fixtures/sample"), Path("rules/sample.yaml"))
        >>> per_payouts(r.calc.payouts, r.dataset).equals(per_participant(r.calc, r.dataset))
        True
    """
    people = dataset.tables["participants"]
    region = pl.col("region") if "region" in people.columns else pl.lit(None, pl.Utf8)
    people = people.select("participant_id", "role", region.alias("region"))
    return (
        payouts.group_by(_KEY)
        .agg(pl.col("payable_cents").sum().cast(pl.Int64))
        .join(people, on="participant_id", how="left")
        .with_columns(pl.col("role").fill_null("(none)"), pl.col("region").fill_null("(none)"))
        .sort(_KEY)
    )


def totals(per: pl.DataFrame) -> pl.DataFrame:
    """Total payable by currency.

    Example:
        >>> totals(pl.DataFrame({"currency": ["USD", "EUR", "USD"],
        ...                      "payable_cents": [1, 2, 3]})).rows()
        [('EUR', 2), ('USD', 4)]
    """
    return per.group_by("currency").agg(pl.col("payable_cents").sum()).sort("currency")


def credited_revenue(credits: CreditResult) -> pl.DataFrame:
    """Direct (level-0, ``direct`` type) credited amount by currency: the cost-of-sales base.

    Example:
        >>> from pathlib import Path
        >>> from engine.pipeline import run
        >>> r = run(Path("fixtures/sample"), Path("rules/sample.yaml"))
        >>> credited_revenue(r.credits).columns
        ['currency', 'revenue_cents']
    """
    frame = credits.credits
    return (
        frame.filter((pl.col("credit_type") == "direct") & (pl.col("level") == 0))
        .group_by("currency")
        .agg(pl.col("amount_cents").sum().cast(pl.Int64).alias("revenue_cents"))
        .sort("currency")
    )


def cost_of_sales(total: pl.DataFrame, revenue: pl.DataFrame) -> pl.DataFrame:
    """Payable / credited revenue per currency, in parts per million (null without revenue).

    Example:
        >>> cost_of_sales(pl.DataFrame({"currency": ["USD"], "payable_cents": [5]}),
        ...               pl.DataFrame({"currency": ["USD"], "revenue_cents": [100]})).rows()
        [('USD', 5, 100, 50000)]
    """
    joined = total.join(revenue, on="currency", how="left")
    rev = pl.col("revenue_cents")
    ppm = pl.when(rev > 0).then((pl.col("payable_cents") * 1_000_000 + rev // 2) // rev)
    return joined.with_columns(ppm.cast(pl.Int64).alias("cost_of_sales_ppm")).sort("currency")


def deltas(base: pl.DataFrame, cand: pl.DataFrame) -> pl.DataFrame:
    """Per participant and currency: baseline, candidate and delta (a missing side is 0).

    Extra columns (role, region) are taken from whichever side has them.
    """
    extra = [c for c in ("role", "region") if c in base.columns and c in cand.columns]
    joined = base.join(cand, on=_KEY, how="full", coalesce=True, suffix="_cand")
    cols = [
        *_KEY,
        *[pl.coalesce(c, f"{c}_cand").alias(c) for c in extra],
        pl.col("payable_cents").fill_null(0).alias("baseline_cents"),
        pl.col("payable_cents_cand").fill_null(0).alias("candidate_cents"),
    ]
    out = joined.select(cols).with_columns(
        (pl.col("candidate_cents") - pl.col("baseline_cents")).alias("delta_cents")
    )
    return out.sort(_KEY)


def winners_losers(delta: pl.DataFrame) -> tuple[int, int, int]:
    """Counts of (winners, losers, unchanged) in a :func:`deltas` frame.

    Example:
        >>> winners_losers(pl.DataFrame({"delta_cents": [5, -1, 0, 2]}))
        (2, 1, 1)
    """
    d = delta["delta_cents"]
    return int((d > 0).sum()), int((d < 0).sum()), int((d == 0).sum())


def by_group(delta: pl.DataFrame, column: str) -> pl.DataFrame:
    """Baseline, candidate, delta, winners and losers by ``column`` (role, region) and currency.

    Example:
        >>> by_group(pl.DataFrame({"role": ["AE", "AE"], "currency": ["USD", "USD"],
        ...     "baseline_cents": [1, 2], "candidate_cents": [2, 2], "delta_cents": [1, 0]}),
        ...     "role").rows()
        [('AE', 'USD', 3, 4, 1, 2, 1, 0)]
    """
    return (
        delta.group_by(column, "currency")
        .agg(
            pl.len().cast(pl.Int64).alias("participants"),
            pl.col("baseline_cents").sum(),
            pl.col("candidate_cents").sum(),
            pl.col("delta_cents").sum(),
            (pl.col("delta_cents") > 0).sum().cast(pl.Int64).alias("winners"),
            (pl.col("delta_cents") < 0).sum().cast(pl.Int64).alias("losers"),
        )
        .select(
            column,
            "currency",
            "baseline_cents",
            "candidate_cents",
            "delta_cents",
            "participants",
            "winners",
            "losers",
        )
        .sort(column, "currency")
    )


def attainment(calc: CalcResult) -> pl.DataFrame:
    """Attainment per participant and period (ppm), from each attainment measure.

    Example:
        >>> from pathlib import Path
        >>> from engine.pipeline import run
        >>> r = run(Path("fixtures/sample"), Path("rules/sample.yaml"))
        >>> attainment(r.calc).columns
        ['participant_id', 'period', 'measure', 'attainment_ppm']
    """
    m = calc.measures.filter(
        (pl.col("kind") == "attainment") & pl.col("num").is_not_null() & (pl.col("den") > 0)
    )
    den = pl.col("den").cast(pl.Int128)
    ppm = (pl.col("num").cast(pl.Int128) * 1_000_000 + den // 2) // den
    return m.select(
        "participant_id", "period", "measure", ppm.cast(pl.Int64).alias("attainment_ppm")
    ).sort("participant_id", "period", "measure")


def quantiles(values: pl.Series, label: str) -> pl.DataFrame:
    """The :data:`QUANTILES` of ``values`` (nearest rank, so each is an observed value).

    Example:
        >>> quantiles(pl.Series([1, 2, 3, 4]), "x")["value"].to_list()
        [1, 1, 1, 2, 3, 4, 4]
    """
    clean = values.drop_nulls().sort()
    out = []
    for q in QUANTILES:
        value = None
        if clean.len():
            value = int(clean[min(clean.len() - 1, max(0, int(q * clean.len() + 0.5) - 1))])
        out.append({"series": label, "quantile": q, "value": value})
    return pl.DataFrame(
        out, schema={"series": pl.Utf8, "quantile": pl.Float64, "value": pl.Int64}, orient="row"
    )
