"""Kernel tests exercise the compiled kernels unless a test asks for the Python path.

The public wrappers run a small call as plain Python while Numba is not loaded
(:mod:`engine.kernels.jit`); the cases here are small, so without this fixture they would test
that path only. ``test_python_path.py`` checks the Python path against the same references.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.kernels.jit import forced


@pytest.fixture(autouse=True)
def _compiled_kernels() -> Iterator[None]:
    with forced("numba"):
        yield
