"""Draws: an advance when earnings fall short, recoverable or not.

For one period, with ``total`` the participant's earnings after every other mechanic and ``draw``
the draw amount in force (0 outside the draw term):

* The draw tops pay up: ``draw_paid = max(0, draw - max(total, 0))``. A negative total
  (clawbacks) is not covered by the draw: a credit note never raises pay.
* Recoverable draws add ``draw_paid`` to the balance owed.
* When nothing is drawn and recovery is allowed this period (``recovery_starts`` reached),
  ``recovered = min(balance, limit, total - keep)``, where ``keep`` is the draw amount when
  recovery is only from earnings above the draw (``above_draw``) and the draw is in force,
  else 0.
* After the draw term, a balance is forgiven (``forgive``) or still recovered (``carry``).

``payable = total + draw_paid - recovered``.

Example (the domain's: draw 1,000, earned 500, then 1,800):
    >>> df = pl.DataFrame({"total": [50_000], "draw": [100_000], "balance_in": [0],
    ...                    "limit": [None], "may_recover": [True], "above_draw": [False]},
    ...                   schema_overrides={"limit": pl.Int64})
    >>> df.select(**draw_exprs(recoverable=True)).row(0, named=True)
    {'draw_paid': 50000, 'recovered': 0, 'balance_out': 50000}
    >>> df2 = df.with_columns(total=pl.lit(180_000), balance_in=pl.lit(50_000))
    >>> df2.select(**draw_exprs(recoverable=True)).row(0, named=True)
    {'draw_paid': 0, 'recovered': 50000, 'balance_out': 0}
"""

from __future__ import annotations

import polars as pl

__all__ = ["draw_exprs"]


def draw_exprs(*, recoverable: bool | pl.Expr) -> dict[str, pl.Expr]:
    """Expressions ``draw_paid``, ``recovered`` and ``balance_out`` for one period.

    Reads columns ``total`` (earnings after other mechanics), ``draw`` (draw amount in force, 0
    when none), ``balance_in`` (owed before this period), ``limit`` (most recovered per period;
    null = no limit), ``may_recover`` (Boolean: recovery allowed this period) and
    ``above_draw`` (Boolean: recover only from earnings above the draw amount).

    Args:
        recoverable: whether the shortfall is owed back (a Boolean expression per row allowed).

    Example:
        >>> df = pl.DataFrame({"total": [120_000], "draw": [100_000], "balance_in": [50_000],
        ...     "limit": [30_000], "may_recover": [True], "above_draw": [True]})
        >>> df.select(**draw_exprs(recoverable=True)).row(0)
        (0, 20000, 30000)
    """
    rec = recoverable if isinstance(recoverable, pl.Expr) else pl.lit(recoverable)
    positive = pl.max_horizontal(pl.col("total"), pl.lit(0))
    draw_paid = pl.max_horizontal(pl.col("draw") - positive, pl.lit(0))
    keep = pl.when(pl.col("above_draw")).then(pl.col("draw")).otherwise(0)
    available = pl.max_horizontal(pl.col("total") - keep, pl.lit(0))
    cap = (
        pl.when(pl.col("limit").is_null())
        .then(available)
        .otherwise(pl.min_horizontal(available, pl.max_horizontal(pl.col("limit"), pl.lit(0))))
    )
    recovered = (
        pl.when(rec & (draw_paid == 0) & pl.col("may_recover"))
        .then(pl.min_horizontal(pl.max_horizontal(pl.col("balance_in"), pl.lit(0)), cap))
        .otherwise(0)
    )
    balance_out = (
        pl.when(rec)
        .then(pl.col("balance_in") + draw_paid - recovered)
        .otherwise(pl.col("balance_in"))
    )
    return {"draw_paid": draw_paid, "recovered": recovered, "balance_out": balance_out}
