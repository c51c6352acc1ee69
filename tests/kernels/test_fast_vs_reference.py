"""Every kernel equals its exact reference, row for row, on random tables and values.

The cases (``comparisons.py``) put values on tier bounds and attainment edges, next to them,
at rounding ties, below zero and beyond the kernels' own 64-bit limits (those rows go through
the exact slow path; a result beyond int64 must raise ``OVERFLOW``). A second check makes sure
the kernels rate most rows themselves, so that the equality is not won by the slow path alone.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from engine.errors import EngineError, Reason
from engine.kernels import tiers

from .comparisons import COMPARISONS, Case

INT64 = range(-(2**63) + 1, 2**63)
"""Results the kernels can return (-2**63 is the deferred marker)."""

PROPERTY = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_fast_equals_reference(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    comparison = COMPARISONS[name]
    counts = {"rows": 0, "slow": 0}
    fill_exact = tiers._fill_exact

    def counting(out: Any, rows: Any, exact: Any, what: str) -> None:
        counts["slow"] += len(rows)
        fill_exact(out, rows, exact, what)

    monkeypatch.setattr(tiers, "_fill_exact", counting)

    @PROPERTY
    @given(comparison.cases)
    def check(case: Case) -> None:
        expected = comparison.reference(case)
        counts["rows"] += len(expected)
        if all(v in INT64 for v in expected):
            got = comparison.fast(case)
            assert isinstance(got, np.ndarray)
            assert got.dtype == np.int64
            assert got.tolist() == expected
        else:
            with pytest.raises(EngineError) as caught:
                comparison.fast(case)
            assert caught.value.reason is Reason.OVERFLOW

    check()
    assert counts["rows"] > 1000
    assert counts["slow"] < counts["rows"] / 2, counts
