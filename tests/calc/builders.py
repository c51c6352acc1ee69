"""Small hand-built inputs for the calculation tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl

from engine.crediting.frames import CREDIT_SCHEMA
from engine.loading import Dataset, dataset_from_rows


def months(year: int = 2026, n: int = 12) -> list[dict[str, str]]:
    """Monthly calendar rows for ``n`` months of ``year``."""
    rows = []
    for m in range(1, n + 1):
        start = dt.date(year, m, 1)
        end = (dt.date(year + (m == 12), m % 12 + 1, 1)) - dt.timedelta(days=1)
        rows.append(
            {
                "period": f"{year}-{m:02d}",
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
            }
        )
    return rows


def person(
    pid: str, *, hire: str = "2020-01-01", term: str = "", currency: str = "USD"
) -> dict[str, str]:
    return {
        "participant_id": pid,
        "role": "AE",
        "pay_currency": currency,
        "hire_date": hire,
        "termination_date": term,
    }


def tx(
    tid: str,
    date: str,
    amount: str,
    seller: str,
    *,
    product: str = "A",
    currency: str = "USD",
    deal_type: str = "new",
    quantity: str = "1",
    original: str = "",
    **extra: str,
) -> dict[str, str]:
    return {
        **extra,
        "transaction_id": tid,
        "credit_date": date,
        "amount": amount,
        "currency": currency,
        "product": product,
        "seller_id": seller,
        "deal_type": deal_type,
        "quantity": quantity,
        "original_transaction_id": original,
    }


def build(
    *,
    participants: Sequence[dict[str, str]],
    transactions: Sequence[dict[str, str]] = (),
    quotas: Sequence[dict[str, str]] = (),
    plans: Sequence[dict[str, str]] = (),
    rates: Sequence[dict[str, str]] = (),
    calendar: Sequence[dict[str, str]] | None = None,
) -> Dataset:
    """A validated dataset; fails the test if any row is rejected."""
    ds = dataset_from_rows(
        {
            "calendar": list(calendar if calendar is not None else months()),
            "participants": list(participants),
            "transactions": list(transactions),
            "quotas": list(quotas),
            "plan_assignments": list(plans),
            "exchange_rates": list(rates),
        }
    )
    assert ds.rejects.height == 0, ds.rejects.to_dicts()
    return ds


def direct_credits(ds: Dataset, held: Iterable[str] = ()) -> pl.DataFrame:
    """Credit each transaction 100% to its seller, in the calendar period of its credit date."""
    held_ids = set(held)
    txs = ds.tables["transactions"]
    cal = ds.tables["calendar"]
    rows: list[dict[str, Any]] = []
    for t in txs.iter_rows(named=True):
        period = cal.filter(
            (pl.col("start_date") <= t["credit_date"]) & (pl.col("end_date") >= t["credit_date"])
        )["period"].item()
        rows.append(
            {
                "transaction_id": t["transaction_id"],
                "participant_id": t["seller_id"],
                "credit_type": "direct",
                "rule": "seller",
                "level": 0,
                "direct_participant_id": t["seller_id"],
                "share_ppm": 1_000_000,
                "amount_cents": t["amount_cents"],
                "currency": t["currency"],
                "credit_date": t["credit_date"],
                "period": period,
                "held": t["transaction_id"] in held_ids,
                "route_table": "transactions",
                "route_line": t["source_line"],
            }
        )
    return pl.DataFrame(rows, schema=CREDIT_SCHEMA)


def measures_for(
    ds: Dataset,
    credits: pl.DataFrame,
    measures: Sequence[dict[str, Any]],
    periods: Sequence[str],
    *,
    mode: str = "half_up",
    convert_at: str = "credit_date",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Run lines + measures; population = every participant in every period asked for."""
    from engine.calc.lines import build_lines
    from engine.calc.measures import compute_measures
    from engine.money import RoundingMode
    from engine.rules.plan_schema import MEASURE_ADAPTER

    rm = RoundingMode(mode)
    people = ds.tables["participants"]
    pay = (
        people.select("participant_id", "pay_currency")
        .join(pl.DataFrame({"period": list(periods)}), how="cross")
        .with_columns(pl.lit(convert_at).alias("convert_at"))
    )
    lines = build_lines(
        credits,
        transactions=ds.tables["transactions"],
        pay=pay,
        calendar=ds.tables["calendar"],
        rates=ds.tables["exchange_rates"],
        mode=rm,
    )
    result = compute_measures(
        lines,
        [MEASURE_ADAPTER.validate_python(m) for m in measures],
        calendar=ds.tables["calendar"],
        quotas=ds.tables["quotas"],
        participants=people,
        population=pay,
        periods=periods,
        mode=rm,
    )
    return result.frame, pl.concat([lines.findings, result.findings])


def value(
    frame: pl.DataFrame, pid: str, period: str, measure: str
) -> tuple[int | None, int | None]:
    row = frame.filter(
        (pl.col("participant_id") == pid)
        & (pl.col("period") == period)
        & (pl.col("measure") == measure)
    )
    assert row.height == 1, row
    return row["num"].item(), row["den"].item()


def assign(
    pid: str, plan: str, start: str = "2026-01-01", end: str = "", target: str = ""
) -> dict[str, str]:
    return {
        "participant_id": pid,
        "plan_id": plan,
        "valid_from": start,
        "valid_to": end,
        "target_incentive": target,
    }


def calc(
    rules: dict[str, Any],
    *,
    participants: Sequence[dict[str, str]] = (),
    transactions: Sequence[dict[str, str]] = (),
    quotas: Sequence[dict[str, str]] = (),
    plans: Sequence[dict[str, str]] = (),
    rates: Sequence[dict[str, str]] = (),
    periods: Sequence[str] | None = ("2026-01",),
    held: Iterable[str] = (),
    state: pl.DataFrame | None = None,
):
    """Build a dataset, credit each transaction to its seller, and calculate."""
    from engine.calc.payouts import Rules, calculate

    ds = build(
        participants=participants or [person("A")],
        transactions=transactions,
        quotas=quotas,
        plans=plans or [assign("A", "P")],
        rates=rates,
    )
    return calculate(
        ds, direct_credits(ds, held), Rules.model_validate(rules), periods, state=state
    )


def one_plan(
    component: dict[str, Any], table: dict[str, Any], *measures: dict[str, Any], **plan: Any
) -> dict[str, Any]:
    """Rules with one plan ``P`` of one component ``c``, table ``t`` and the given measures."""
    comp = {"name": "c", "rate_table": "t", **component}
    return {
        "measures": list(measures) or [{"name": "rev", "kind": "sum"}],
        "rate_tables": [{"name": "t", **table}],
        "plans": [{"id": "P", "components": [comp], **plan}],
    }


def earned(result, component: str = "c", period: str = "2026-01", pid: str = "A") -> int:
    rows = result.incentives.filter(
        (pl.col("participant_id") == pid)
        & (pl.col("period") == period)
        & (pl.col("component") == component)
    )
    assert rows.height == 1, rows
    return rows["rated_cents"].item()


def payable(result, period: str = "2026-01", pid: str = "A") -> int:
    rows = result.payouts.filter((pl.col("participant_id") == pid) & (pl.col("period") == period))
    return rows["payable_cents"].sum()
