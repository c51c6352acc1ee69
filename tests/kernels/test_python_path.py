"""The kernels run as plain Python (small calls before Numba is loaded) equal the references.

:mod:`engine.kernels.jit` runs a kernel's own function body as Python over a few rows, so
that a small run never starts Numba. That path must give exactly what the compiled kernel and
the exact reference give: every comparison's random cases (tier bounds, rounding ties,
negatives, rows beyond the 64-bit limits) are checked against the reference, and a seeded
larger case against the compiled kernel. A fresh process shows that a small call does not
import Numba and that a large one compiles (or loads from the cache).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from engine.errors import EngineError, Reason
from engine.kernels.jit import PYTHON_ROWS, forced

from .comparisons import COMPARISONS, Case

INT64 = range(-(2**63) + 1, 2**63)
REPO = Path(__file__).resolve().parents[2]

PROPERTY = settings(
    max_examples=60,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("name", sorted(COMPARISONS))
def test_python_path_equals_reference(name: str) -> None:
    comparison = COMPARISONS[name]

    @PROPERTY
    @given(comparison.cases)
    def check(case: Case) -> None:
        expected = comparison.reference(case)
        with forced("python"):
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
    with forced("python"):
        interpreted = comparison.fast(case)
    assert interpreted.dtype == np.int64
    assert interpreted.tolist() == compiled.tolist()
    assert len(set(compiled.tolist())) > 10  # a case that rates, not a column of zeros


SCRIPT = """
import json, sys
import numpy as np
from engine.kernels import TierTable, retroactive
t = TierTable.steps([0, 10_000_000], [50_000, 80_000])
small = retroactive(t, np.arange({small}, dtype=np.int64) * 1000).tolist()
loaded_after_small = "numba" in sys.modules
large = retroactive(t, np.arange({large}, dtype=np.int64) * 1000)
print(json.dumps({{"small": small[-1], "numba_after_small": loaded_after_small,
                  "numba_after_large": "numba" in sys.modules, "large": int(large[-1])}}))
"""


def test_small_calls_do_not_load_numba(tmp_path: Path) -> None:
    script = SCRIPT.format(small=PYTHON_ROWS, large=PYTHON_ROWS + 1)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(done.stdout)
    assert seen["numba_after_small"] is False
    assert seen["numba_after_large"] is True
    # 40,950.00 and 40,960.00 at 5%, in 10**-8 units: cents x 5 x 10**4
    assert seen["small"] == (PYTHON_ROWS - 1) * 1000 * 5 * 10**4
    assert seen["large"] == PYTHON_ROWS * 1000 * 5 * 10**4
