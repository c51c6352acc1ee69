"""Kernels compiled by Numba when they pay for it, and run as plain Python on a few rows.

A kernel module decorates its loops with :func:`kernel` instead of ``numba.njit``: the module
then imports without Numba, and each call site asks :func:`pick` for the callable to use. A
call over more than :data:`PYTHON_ROWS` rows, or any call once Numba is loaded, gets the
compiled dispatcher (``njit(cache=True)``; the first one compiles, or loads from the on-disk
cache, every kernel of the module); so does any call once the process has run
:data:`PYTHON_BUDGET` rows as Python. A small call made before that runs the very same function
body as Python over the same ``int64`` arrays: the arithmetic is NumPy's ``int64`` scalar
arithmetic, which is Numba's, wrap-around included (the kernels defer rows beyond their limits
to the exact path), so the results are identical (``tests/kernels/test_python_path.py``).
A small run (the sample company) thus never pays for importing Numba and starting its
compiler (about 0.4 s), while a large one is compiled as before.

Tests force one path or the other with :func:`forced` (``tests/kernels`` run every comparison
with the reference on both).

Example:
    >>> import numpy as np
    >>> @kernel
    ... def _double(values, out):
    ...     for i in range(values.shape[0]):
    ...         out[i] = 2 * values[i]
    >>> out = np.zeros(3, dtype=np.int64)
    >>> with forced("python"):
    ...     pick(_double, 3)(np.arange(3), out)
    >>> out.tolist()
    [0, 2, 4]
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np

PYTHON_ROWS = 4096
"""Calls over at most this many rows run as Python while Numba is not loaded."""
PYTHON_BUDGET = 65_536
"""Rows a process runs as Python in all; past them, kernels are compiled (a run making many
small calls pays Numba's start-up once rather than the interpreter's cost on every call)."""

Mode = Literal["auto", "python", "numba"]

_mode: Mode = "auto"
_python_rows = 0
"""Rows run as Python so far (in ``auto`` mode)."""
_registered: dict[str, list[Callable[..., Any]]] = {}
"""Module name -> its kernels in definition order (helpers before their callers)."""
_compiled: dict[Callable[..., Any], Callable[..., Any]] = {}
"""Python function -> its Numba dispatcher."""


def kernel(fn: Callable[..., Any]) -> Any:
    """Register ``fn`` as a kernel of its module; it stays a plain function until compiled.

    Typed ``Any`` like ``numba.njit``: kernels are untyped loops over arrays.
    """
    _registered.setdefault(fn.__module__, []).append(fn)
    return fn


def _compile(module_name: str) -> None:
    """Wrap every kernel of ``module_name`` with ``njit(cache=True)``, helpers first.

    The dispatchers replace the plain functions in the module's namespace, so that compiled
    kernels call compiled helpers (Numba resolves a kernel's globals when it types it).
    """
    from numba import njit  # noqa: PLC0415 - imported only when a kernel is compiled

    module = sys.modules[module_name]
    for fn in _registered[module_name]:
        dispatcher = njit(cache=True)(fn)
        _compiled[fn] = dispatcher
        setattr(module, fn.__name__, dispatcher)


def pick(fn: Callable[..., Any], rows: int) -> Callable[..., Any]:
    """The callable that runs kernel ``fn`` (or its dispatcher) over ``rows`` rows.

    Args:
        fn: a function registered with :func:`kernel`, or the dispatcher that replaced it.
        rows: how many rows the call processes (decides whether compiling pays).

    Returns:
        The plain Python function, or the compiled Numba dispatcher.
    """
    global _python_rows  # noqa: PLW0603 - a process-wide count
    py: Callable[..., Any] = getattr(fn, "py_func", fn)
    if _mode == "python":
        return functools.partial(_as_python, py)
    if (
        _mode == "auto"
        and rows <= PYTHON_ROWS
        and _python_rows + rows <= PYTHON_BUDGET
        and "numba" not in sys.modules
    ):
        _python_rows += rows
        return functools.partial(_as_python, py)
    if py not in _compiled:
        _compile(py.__module__)
    return _compiled[py]


def _as_python(fn: Callable[..., Any], *args: Any) -> Any:
    """Run ``fn`` as Python, with ``int64`` products wrapping silently as compiled code does.

    A kernel may form an intermediate that wraps around and is wrapped back (the remainder
    ``v - (v // d) * d`` near -2**63); NumPy computes the same bits but would warn.
    """
    with np.errstate(over="ignore"):
        return fn(*args)


@contextmanager
def forced(mode: Mode) -> Iterator[None]:
    """Within the block, run every kernel as Python (``"python"``) or compiled (``"numba"``)."""
    global _mode  # noqa: PLW0603 - a process-wide switch, for tests and benchmarks
    before, _mode = _mode, mode
    try:
        yield
    finally:
        _mode = before
