"""Exchange rates: every ordered pair of the currencies used, one rate per month.

Each currency's USD value follows a small random walk from month to month (about 1.5% a
month). A rate is held as an integer at 10**10 (10 decimals, the contract's ``fx`` scale);
cross rates are computed exactly from the two USD values and rounded half-even to 10 decimals,
so ``rate(A->B)`` and ``rate(B->A)`` are each correctly rounded but not exact inverses, like
published rates. Rows are effective-dated by month: ``valid_from`` the first day,
``valid_to`` the last day of the month.

Example:
    >>> from engine.synth.config import stream
    >>> from engine.synth.year import PlanYear
    >>> fx = exchange_rates_frame(PlanYear(2026), stream(1, 5))
    >>> fx.height, fx.columns
    (144, ['from_currency', 'to_currency', 'rate', 'valid_from', 'valid_to'])
"""

from __future__ import annotations

import numpy as np
import polars as pl

from engine.money import FX_SCALE, RoundingMode, round_div
from engine.synth.config import CURRENCIES, USD_PER_UNIT
from engine.synth.year import PlanYear, to_dates

_MONTHLY_SIGMA = 0.015


def exchange_rates_frame(year: PlanYear, rng: np.random.Generator) -> pl.DataFrame:
    """The ``exchange_rates`` table (12 months x every ordered pair of :data:`CURRENCIES`)."""
    scale = 10**FX_SCALE
    walk = np.cumsum(rng.normal(0.0, _MONTHLY_SIGMA, (12, len(CURRENCIES))), axis=0)
    walk[:, 0] = 0.0  # USD is the numeraire
    usd_value = np.rint(np.asarray(USD_PER_UNIT) * np.exp(walk) * scale).astype(np.int64)
    rows: list[tuple[str, str, int, int, int]] = []
    for month in range(12):
        for a, from_ccy in enumerate(CURRENCIES):
            for b, to_ccy in enumerate(CURRENCIES):
                if a == b:
                    continue
                rate = round_div(
                    int(usd_value[month, a]) * scale,
                    int(usd_value[month, b]),
                    RoundingMode.HALF_EVEN,
                )
                first = int(year.month_starts[month])
                rows.append((from_ccy, to_ccy, rate, first, int(year.month_starts[month + 1]) - 1))
    return pl.DataFrame(
        {
            "from_currency": [r[0] for r in rows],
            "to_currency": [r[1] for r in rows],
            "rate": pl.Series([r[2] for r in rows], dtype=pl.Int64),
            "valid_from": to_dates(year, np.array([r[3] for r in rows], dtype=np.int32)),
            "valid_to": to_dates(year, np.array([r[4] for r in rows], dtype=np.int32)),
        }
    ).sort("from_currency", "to_currency", "valid_from")
