"""Build large companies for the limits tests, and the independent arithmetic they check.

Files are written with Polars (fast) as the CSV text a user would give; the run reads them
through the real loader. Expected pay is computed here with Python integers and fractions,
never with the engine's code.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import polars as pl

RULES = """\
schema_version: 1
name: limits
settings: {rounding_mode: half_up, rounding_point: component}
crediting:
  rules:
    - {name: split, when: "split_sellers > 0", source: sellers, priority: 20}
    - {name: seller, when: "seller_id IS NOT NULL", source: seller}
  rollups:
    - {name: managers, credit_types: [direct], levels: all, credit_type: rollup}
measures:
  - {name: revenue, kind: sum, credit_types: [direct]}
  - {name: team, kind: sum, credit_types: [rollup]}
rate_tables:
  - name: commission
    kind: incremental
    tiers:
      - {from: 0, to: 1000000, rate: "5%"}
      - {from: 1000000, rate: "7.5%"}
  - name: override
    kind: retroactive
    tiers:
      - {from: 0, rate: "1%"}
plans:
  - id: AE
    components: [{name: commission, measure: revenue, rate_table: commission}]
  - id: MANAGER
    components: [{name: override, measure: team, rate_table: override}]
"""
"""Sellers earn 5% up to 1,000,000.00 and 7.5% above (incremental); managers 1% of the team."""

BREAK = 100_000_000
"""The commission table's tier bound (1,000,000.00) in cents."""


def commission_cents(revenue: int) -> int:
    """Incremental 5% / 7.5% on ``revenue`` cents, rounded half up to the cent."""
    exact = Fraction(5, 100) * min(revenue, BREAK) + Fraction(75, 1000) * max(revenue - BREAK, 0)
    return _half_up(exact)


def override_cents(team: int) -> int:
    """1% of the team's revenue, rounded half up to the cent."""
    return _half_up(Fraction(team, 100))


def _half_up(value: Fraction) -> int:
    sign = -1 if value < 0 else 1
    return sign * int(abs(value) + Fraction(1, 2))


def text_amounts(cents: np.ndarray) -> pl.Series:
    """Cents as the decimal text of a CSV (``-0.05``, ``12.30``)."""
    s = pl.Series("cents", cents, dtype=pl.Int64)
    sign = pl.when(s < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    units = (s.abs() // 100).cast(pl.Utf8)
    frac = (s.abs() % 100).cast(pl.Utf8).str.zfill(2)
    return pl.select(sign + units + pl.lit(".") + frac).to_series().alias("amount")


def write_company(
    directory: Path,
    sellers: list[str],
    seller_of: np.ndarray,
    cents: np.ndarray,
    *,
    manager: str | None = None,
    splits: list[tuple[str, str, str]] = (),  # type: ignore[assignment]
) -> Path:
    """Write a one-month company: ``seller_of[i]`` indexes ``sellers`` for transaction ``i``.

    Args:
        directory: created if absent.
        sellers: participant ids.
        seller_of: each transaction's seller (an index into ``sellers``); -1 for a split
            transaction whose sellers are in ``splits``.
        cents: each transaction's amount in cents.
        manager: a manager every seller reports to (and paid on the MANAGER plan).
        splits: ``(transaction_id, participant_id, share)`` rows of transaction_sellers.csv.
    """
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "calendar.csv").write_text(
        "period,start_date,end_date\n2026-01,2026-01-01,2026-01-31\n", encoding="utf-8"
    )
    people = pl.DataFrame({"participant_id": [*sellers, *([manager] if manager else [])]})
    people.with_columns(
        role=pl.lit("AE"), pay_currency=pl.lit("USD"), hire_date=pl.lit("2020-01-01")
    ).write_csv(directory / "participants.csv")
    is_manager = pl.col("participant_id") == manager if manager else pl.lit(value=False)
    plans = people.with_columns(
        plan_id=pl.when(is_manager).then(pl.lit("MANAGER")).otherwise(pl.lit("AE")),
        valid_from=pl.lit("2026-01-01"),
    )
    plans.write_csv(directory / "plan_assignments.csv")
    if manager:
        pl.DataFrame({"participant_id": sellers}).with_columns(
            manager_id=pl.lit(manager), valid_from=pl.lit("2020-01-01")
        ).write_csv(directory / "hierarchy.csv")
    row = np.arange(len(cents), dtype=np.int64)
    split = pl.Series("split", seller_of < 0)
    seller_ids = pl.Series("seller_id", sellers).gather(
        pl.Series(np.where(seller_of < 0, 0, seller_of))
    )
    tx = pl.DataFrame({"row": row}).select(
        ("T" + pl.col("row").cast(pl.Utf8).str.zfill(9)).alias("transaction_id"),
        (pl.lit("2026-01-") + (pl.col("row") % 28 + 1).cast(pl.Utf8).str.zfill(2)).alias(
            "credit_date"
        ),
    )
    tx = tx.with_columns(
        text_amounts(cents),
        currency=pl.lit("USD"),
        seller_id=pl.when(split).then(None).otherwise(seller_ids),
    )
    tx.write_csv(directory / "transactions.csv")
    if splits:
        pl.DataFrame(
            splits, schema=["transaction_id", "participant_id", "share"], orient="row"
        ).write_csv(directory / "transaction_sellers.csv")
    return directory


def rules_file(directory: Path) -> Path:
    """The limits rule set, written beside the data."""
    path = directory / "limits.yaml"
    path.write_text(RULES, encoding="utf-8")
    return path
