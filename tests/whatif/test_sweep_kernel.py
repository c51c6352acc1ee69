"""The fold kernel's rounded division equals the engine's (``round_div_expr``), ties included."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.calc.exact import round_div_expr
from engine.kernels.sweep import rdiv
from engine.money import RoundingMode


@settings(deadline=None)  # the first call loads the compiled kernel
@given(
    a=st.one_of(
        st.integers(-(2**62), 2**62),
        st.integers(-1000, 1000).map(lambda x: x * 5),  # many exact halves with b = 10
    ),
    b=st.one_of(st.integers(1, 2**40), st.sampled_from([2, 10, 100, 1_000_000])),
    half_even=st.booleans(),
)
def test_rdiv_equals_round_div_expr(a: int, b: int, half_even: bool) -> None:
    mode = RoundingMode.HALF_EVEN if half_even else RoundingMode.HALF_UP
    expected = pl.select(round_div_expr(pl.lit(a, pl.Int64), b, mode)).item()
    assert rdiv(a, b, half_even) == expected
