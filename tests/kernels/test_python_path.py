"""The kernels run as plain Python (small calls before Numba is loaded) equal the references.

:mod:`engine.kernels.jit` runs a kernel's own function body as Python over a few rows, so
that a small run never starts Numba. That path must give exactly what the compiled kernel and
the exact reference give: every comparison's random cases (tier bounds, rounding ties,
negatives, rows beyond the 64-bit limits) are checked against the reference, and a seeded
larger case against the compiled kernel. Fresh processes show that small calls do not import
Numba, and that a large call, or small ones past the budget, do.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from engine.errors import EngineError, Reason
from engine.kernels import tiers
from engine.kernels.jit import PYTHON_BUDGET, PYTHON_ROWS, _registered, forced

from .comparisons import COMPARISONS, Case

INT64 = range(-(2**63) + 1, 2**63)
REPO = Path(__file__).resolve().parents[2]

PROPERTY = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextmanager
def pure_python() -> Iterator[None]:
    """Kernels and their helpers all as plain Python, as in a process without Numba.

    The kernels' module holds compiled helpers once anything compiled it (``conftest.py``
    does); a Python kernel would call them. Here they are the plain functions again.
    """
    with pytest.MonkeyPatch.context() as mp, forced("python"):
        for fn in _registered[tiers.__name__]:
            mp.setattr(tiers, fn.__name__, fn)
        yield


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_python_path_equals_reference(name: str) -> None:
    comparison = COMPARISONS[name]

    @PROPERTY
    @given(comparison.cases)
    def check(case: Case) -> None:
        expected = comparison.reference(case)
        with pure_python():
            if all(v in INT64 for v in expected):
                assert comparison.fast(case).tolist() == expected
            else:
                with pytest.raises(EngineError) as caught:
                    comparison.fast(case)
                assert caught.value.reason is Reason.OVERFLOW

    check()


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_python_path_equals_compiled_on_a_seeded_case(name: str) -> None:
    comparison = COMPARISONS[name]
    case = comparison.bench_case(3000, 7)
    with forced("numba"):
        compiled = comparison.fast(case)
    with pure_python():
        interpreted = comparison.fast(case)
    assert interpreted.dtype == np.int64
    assert interpreted.tolist() == compiled.tolist()
    assert len(set(compiled.tolist())) > 10  # a case that rates, not a column of zeros


SCRIPT = """
import json, sys
import numpy as np
from engine.kernels import TierTable, retroactive
t = TierTable.steps([0, 10_000_000], [50_000, 80_000])
loaded = []
for rows in {calls}:
    last = int(retroactive(t, np.arange(rows, dtype=np.int64) * 1000)[-1])
    loaded.append("numba" in sys.modules)
print(json.dumps({{"loaded": loaded, "last": last}}))
"""


def _fresh(calls: list[int], cache: Path) -> dict[str, Any]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(calls=calls)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seen: dict[str, Any] = json.loads(done.stdout)
    return seen


def test_small_calls_run_as_python_until_a_large_one(tmp_path: Path) -> None:
    seen = _fresh([PYTHON_ROWS, 10, PYTHON_ROWS + 1, 10], tmp_path)
    assert seen["loaded"] == [False, False, True, True]
    assert seen["last"] == 9 * 1000 * 5 * 10**4  # 90.00 at 5%, in 10**-8 units


def test_python_rows_are_budgeted_per_process(tmp_path: Path) -> None:
    calls = PYTHON_BUDGET // PYTHON_ROWS
    seen = _fresh([PYTHON_ROWS] * (calls + 1), tmp_path)
    assert seen["loaded"] == [False] * calls + [True]
    assert seen["last"] == (PYTHON_ROWS - 1) * 1000 * 5 * 10**4  # 40,950.00 at 5%


def test_pure_python_swaps_the_compiled_helpers_out() -> None:
    assert hasattr(tiers._mul_divmod, "py_func")  # compiled (conftest.py)
    with pure_python():
        assert not hasattr(tiers._mul_divmod, "py_func")
        assert not hasattr(tiers._retroactive_kernel, "py_func")
    assert hasattr(tiers._mul_divmod, "py_func")
