"""Anomaly flags: a step whose duration or volume is an outlier against that step's history.

Robust statistics, so that one earlier outlier does not hide the next one:

* history: the same step in the last ``WINDOW`` (20) successful runs before this one; no flag
  until there are ``MIN_HISTORY`` (5) of them;
* centre: the median; spread: the median absolute deviation (MAD) scaled by 1.4826 (so that it
  estimates the standard deviation of normal data);
* the spread has a floor, so that a history of near-identical values does not flag noise:
  ``max(absolute floor, relative floor x |median|)``; seconds: 0.1 s and 10 % of the median;
  rows: 1 row and 2 % of the median;
* flagged when ``|x - median| > K x spread`` with ``K = 5``.

So a step that always takes 1.0 s is flagged above 1.5 s (or below 0.5 s); a step that always
reads 10,000 rows is flagged outside 9,000..11,000 rows.

Example:
    >>> history = [1.0, 1.1, 0.9, 1.0, 1.05, 0.95]
    >>> outlier("seconds", 9.0, history).direction
    'high'
    >>> outlier("seconds", 1.2, history) is None
    True
    >>> outlier("rows_out", 10, [1000] * 5).direction
    'low'
    >>> outlier("rows_out", 10, [1000] * 4) is None  # too little history
    True
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

WINDOW = 20
MIN_HISTORY = 5
K = 5.0
MAD_SCALE = 1.4826
METRICS = ("seconds", "rows_in", "rows_out")
FLOORS: dict[str, tuple[float, float]] = {  # metric -> (absolute floor, relative floor)
    "seconds": (0.1, 0.10),
    "rows_in": (1.0, 0.02),
    "rows_out": (1.0, 0.02),
}


@dataclass(frozen=True)
class Flag:
    """One outlying measurement of a step."""

    step: str
    metric: str
    value: float
    median: float
    mad: float
    threshold: float
    history: int
    direction: str  # high | low

    def message(self) -> str:
        """A one-line warning for people.

        Example:
            >>> Flag("load", "seconds", 9.0, 1.0, 0.05, 0.5, 6, "high").message()
            'load: seconds 9 is far above its usual 1 (median of 6 runs; tolerance ±0.5)'
        """
        where = "above" if self.direction == "high" else "below"
        return (
            f"{self.step}: {self.metric} {self.value:g} is far {where} its usual "
            f"{self.median:g} (median of {self.history} runs; tolerance ±{self.threshold:g})"
        )


def outlier(metric: str, value: float, history: Sequence[float], step: str = "") -> Flag | None:
    """Whether ``value`` is an outlier against ``history`` (see the module docstring).

    Args:
        metric: ``seconds``, ``rows_in`` or ``rows_out`` (chooses the floor).
        value: this run's measurement.
        history: earlier successful runs' measurements, most recent first.
        step: the step's name, carried into the flag.

    Returns:
        A flag, or None when the value is usual or the history too short.
    """
    recent = list(history[:WINDOW])
    if len(recent) < MIN_HISTORY:
        return None
    median = statistics.median(recent)
    mad = statistics.median(abs(x - median) for x in recent)
    absolute, relative = FLOORS[metric]
    spread = max(MAD_SCALE * mad, absolute, relative * abs(median))
    threshold = K * spread
    if abs(value - median) <= threshold:
        return None
    direction = "high" if value > median else "low"
    return Flag(step, metric, float(value), median, mad, threshold, len(recent), direction)
