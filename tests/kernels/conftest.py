"""Kernel tests exercise the compiled kernels unless a test asks for the Python path.

The public wrappers run a small call as plain Python while Numba is not loaded
(:mod:`engine.kernels.jit`); the cases here are small, so without this fixture they would test
that path only. ``test_python_path.py`` checks the Python path against the same references.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.kernels import tiers
from engine.kernels.jit import forced, pick

# Compile before the test modules import anything: test_arith.py imports the integer helpers
# by name and must get the compiled ones (their 64-bit arithmetic is what it tests).
with forced("numba"):
    pick(tiers._round_floor, 0)


@pytest.fixture(autouse=True)
def _compiled_kernels() -> Iterator[None]:
    with forced("numba"):
        yield
