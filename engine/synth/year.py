"""The plan year: days as integer offsets, the calendar table and the seasonality of deals.

Inside the generator a date is an ``int32`` count of days from January 1 of the plan year
(negative before it); :data:`OPEN` stands for "no date" (an open-ended ``valid_to``, no
termination). :func:`to_dates` turns offsets into a Polars ``Date`` column at the edge.

Example:
    >>> year = PlanYear(2026)
    >>> year.days, year.month_starts[:3].tolist()
    (365, [0, 31, 59])
    >>> to_dates(year, np.array([0, 364, OPEN])).to_list()
    [datetime.date(2026, 1, 1), datetime.date(2026, 12, 31), None]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import polars as pl

OPEN = np.int32(2**30)
"""The offset that means "no date" (open-ended)."""

_EPOCH = dt.date(1970, 1, 1)
_WEEKEND_WEIGHT = 0.15
_QUARTER_END_WEIGHT = 1.4
_QUARTER_END_RUSH = 1.5
_RUSH_DAYS = 10
_JANUARY_WEIGHT = 0.8


@dataclass(frozen=True)
class PlanYear:
    """A plan year of 12 monthly periods.

    Attributes:
        year: the calendar year.
        start: January 1.
        days: number of days (365 or 366).
        month_starts: offsets of the first day of each month, plus the day after the year (13).
    """

    year: int
    start: dt.date = field(init=False)
    days: int = field(init=False)
    month_starts: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        start = dt.date(self.year, 1, 1)
        firsts = [dt.date(self.year, m, 1) for m in range(1, 13)] + [dt.date(self.year + 1, 1, 1)]
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "days", (firsts[-1] - start).days)
        object.__setattr__(
            self, "month_starts", np.array([(d - start).days for d in firsts], dtype=np.int32)
        )

    def offset(self, day: dt.date) -> int:
        """The offset of ``day`` from January 1.

        Example:
            >>> PlanYear(2026).offset(dt.date(2025, 12, 31))
            -1
        """
        return (day - self.start).days

    def period_ids(self) -> list[str]:
        """Period identifiers ``YYYY-01`` ... ``YYYY-12``.

        Example:
            >>> PlanYear(2026).period_ids()[-1]
            '2026-12'
        """
        return [f"{self.year}-{m:02d}" for m in range(1, 13)]

    def month_of(self, offsets: np.ndarray) -> np.ndarray:
        """The month index (0-11) of in-year offsets (clipped to the year).

        Example:
            >>> PlanYear(2026).month_of(np.array([-5, 0, 31, 400])).tolist()
            [0, 0, 1, 11]
        """
        clipped = np.clip(offsets, 0, self.days - 1)
        month = np.searchsorted(self.month_starts, clipped, side="right") - 1
        return np.asarray(month, dtype=np.int8)

    def day_weights(self) -> np.ndarray:
        """Relative chance of a deal on each day: quiet weekends, quarter-end rushes.

        Example:
            >>> w = PlanYear(2026).day_weights()
            >>> bool(w[89] > w[15]), bool(w[3] < w[5])  # Mar 31 vs Jan 16; Sun Jan 4 vs Tue Jan 6
            (True, True)
        """
        days = np.arange(self.days)
        weekday = (self.start.weekday() + days) % 7
        weights = np.where(weekday >= 5, _WEEKEND_WEIGHT, 1.0)
        month = self.month_of(days)
        quarter_end = (month % 3) == 2
        weights = weights * np.where(quarter_end, _QUARTER_END_WEIGHT, 1.0)
        rush = quarter_end & (days >= self.month_starts[month + 1] - _RUSH_DAYS)
        weights = weights * np.where(rush, _QUARTER_END_RUSH, 1.0)
        return np.asarray(weights * np.where(month == 0, _JANUARY_WEIGHT, 1.0), dtype=np.float64)

    def month_weights(self) -> np.ndarray:
        """Each month's share of the year's deals, scaled to a mean of 1 (for quotas).

        Example:
            >>> round(float(PlanYear(2026).month_weights().mean()), 6)
            1.0
        """
        w = self.day_weights()
        sums = np.add.reduceat(w, self.month_starts[:-1])
        return np.asarray(sums / sums.mean(), dtype=np.float64)


def to_dates(year: PlanYear, offsets: np.ndarray, name: str = "") -> pl.Series:
    """Day offsets as a Polars ``Date`` series; :data:`OPEN` becomes null.

    Example:
        >>> to_dates(PlanYear(2026), np.array([-1]), "d").to_list()
        [datetime.date(2025, 12, 31)]
    """
    base = (year.start - _EPOCH).days
    values = pl.Series(name, offsets.astype(np.int64) + base, dtype=pl.Int64)
    values = values.set(pl.Series(offsets == OPEN), None)
    return values.cast(pl.Int32).cast(pl.Date)


def calendar_frame(year: PlanYear) -> pl.DataFrame:
    """The ``calendar`` table: 12 monthly periods with quarter and year.

    Example:
        >>> calendar_frame(PlanYear(2026)).row(2)
        ('2026-03', datetime.date(2026, 3, 1), datetime.date(2026, 3, 31), '2026-Q1', '2026')
    """
    starts = year.month_starts
    return pl.DataFrame(
        {
            "period": year.period_ids(),
            "start_date": to_dates(year, starts[:-1]),
            "end_date": to_dates(year, starts[1:] - 1),
            "quarter": [f"{year.year}-Q{(m // 3) + 1}" for m in range(12)],
            "year": [str(year.year)] * 12,
        }
    )
