"""The kernels' integer helpers against Python's own integers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.kernels.tiers import _mul_divmod, _round_floor
from engine.money import RoundingMode, round_div

BELOW_2_62 = st.one_of(
    st.integers(0, 2**62 - 1),
    st.integers(0, 2**31),
    st.sampled_from([0, 1, 2**31 - 1, 2**31, 2**62 - 1]),
)


@settings(max_examples=500, derandomize=True, deadline=None)
@given(BELOW_2_62, BELOW_2_62, BELOW_2_62.filter(lambda c: c > 0))
def test_mul_divmod_is_exact_beyond_64_bits(a: int, b: int, c: int) -> None:
    q, r = divmod(a * b, c)
    if q >= 2**63:
        return  # outside the helper's contract (callers bound the quotient first)
    assert _mul_divmod(a, b, c) == (q, r)


@settings(max_examples=500, derandomize=True, deadline=None)
@given(
    st.integers(-(2**62), 2**62),
    st.integers(1, 2**62 - 1),
    st.integers(0, 2**62 - 1),
    st.sampled_from(list(RoundingMode)),
)
def test_round_floor_matches_round_div(f: int, d: int, r: int, mode: RoundingMode) -> None:
    r %= d
    half_even = mode is RoundingMode.HALF_EVEN
    assert _round_floor(f, r, d, half_even) == round_div(f * d + r, d, mode)


def test_round_floor_ties() -> None:
    # -2.5, -1.5, 1.5, 2.5 as f + 1/2
    for f, up, even in ((-3, -3, -2), (-2, -2, -2), (1, 2, 2), (2, 3, 2)):
        assert _round_floor(f, 1, 2, False) == up
        assert _round_floor(f, 1, 2, True) == even
