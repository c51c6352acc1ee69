"""A run's results at the reconciliation grains, shaped as :func:`read_vendor` shapes a vendor's.

* ``payment``: payable cents per participant and period (every payout line, plan lines too);
* ``incentive``: earned cents per participant, period and component (plan lines excluded);
* ``measure``: the money measures (sum measures, in cents) per participant, period and measure;
* ``credit``: level-0 credit cents (direct, split, overlay) per participant, period and
  transaction; roll-up credits are not compared (vendors export them separately, if at all).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from engine.reconcile.vendor import grain_columns

if TYPE_CHECKING:
    from engine.pipeline import RunResult


def our_grains(
    payouts: pl.DataFrame, measures: pl.DataFrame, credits: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    """Our amounts at every grain, from the payouts, measures and (level-0) credits frames.

    Example:
        >>> pay = pl.DataFrame({"participant_id": ["P1", "P1"], "period": ["2026-01"] * 2,
        ...     "component": ["c", "(plan)"], "line": ["component", "plan"],
        ...     "earned_cents": [500, 0], "payable_cents": [500, 100]})
        >>> mea = pl.DataFrame({"participant_id": ["P1"], "period": ["2026-01"],
        ...     "measure": ["rev"], "unit": ["money"], "num": [9000], "den": [1]})
        >>> cre = pl.DataFrame({"participant_id": ["P1"], "period": ["2026-01"],
        ...     "transaction_id": ["T1"], "level": [0], "amount_cents": [9000]})
        >>> g = our_grains(pay, mea, cre)
        >>> g["payment"].rows(), g["incentive"].rows()  # in no particular order
        ([('P1', '2026-01', 600)], [('P1', '2026-01', 'c', 500)])
    """

    def summed(frame: pl.DataFrame, grain: str, amount: pl.Expr) -> pl.DataFrame:
        keys = grain_columns(grain)
        return frame.group_by(keys).agg(
            amount.fill_null(0).sum().cast(pl.Int64).alias("amount_cents")
        )

    money = measures.filter((pl.col("unit") == "money") & (pl.col("den") == 1))
    return {
        "payment": summed(payouts, "payment", pl.col("payable_cents")),
        "incentive": summed(
            payouts.filter(pl.col("line") != "plan"), "incentive", pl.col("earned_cents")
        ),
        "measure": summed(money, "measure", pl.col("num")),
        "credit": summed(credits.filter(pl.col("level") == 0), "credit", pl.col("amount_cents")),
    }


def run_grains(result: RunResult) -> dict[str, pl.DataFrame]:
    """Our amounts at every grain, from a run (see :func:`our_grains`)."""
    calc = result.calc
    return our_grains(calc.payouts, calc.measures, result.credits.credits)
