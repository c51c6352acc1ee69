"""calculate() against a slow, obviously-correct pure-Python rating of the same small plans."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from .builders import calc, earned, tx


def in_tier(value: Fraction, lower: Fraction, upper: Fraction | None, boundary: str) -> bool:
    above = value > lower if boundary == "upper_inclusive" else value >= lower
    if upper is None:
        return above
    below = value < upper if boundary == "lower_inclusive" else value <= upper
    return above and below


def retro(value: Fraction, tiers, boundary: str) -> Fraction:
    sign = -1 if value < 0 else 1
    for lower, upper, rate in tiers:
        if in_tier(abs(value), lower, upper, boundary):
            return sign * abs(value) * rate
    return Fraction(0)


def incremental(value: Fraction, tiers) -> Fraction:
    sign = -1 if value < 0 else 1
    v = abs(value)
    total = Fraction(0)
    for lower, upper, rate in tiers:
        top = v if upper is None else min(v, upper)
        if top > lower:
            total += (top - lower) * rate
    return sign * total


def cents(value: Fraction, mode: str) -> int:
    rounding = ROUND_HALF_UP if mode == "half_up" else ROUND_HALF_EVEN
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return int((exact * 100).quantize(Decimal(1), rounding=rounding))


@st.composite
def cases(draw):
    n_tiers = draw(st.integers(min_value=1, max_value=3))
    cuts = sorted(
        draw(
            st.sets(
                st.integers(min_value=1, max_value=50_000),
                min_size=n_tiers - 1,
                max_size=n_tiers - 1,
            )
        )
    )
    bounds = [0, *cuts]
    rates = [draw(st.integers(min_value=0, max_value=150_000)) for _ in bounds]  # ppm
    tiers = [
        (
            Fraction(b),
            Fraction(bounds[i + 1]) if i + 1 < len(bounds) else None,
            Fraction(r, 1_000_000),
        )
        for i, (b, r) in enumerate(zip(bounds, rates, strict=True))
    ]
    amounts = draw(
        st.lists(st.integers(min_value=-2_000_000, max_value=3_000_000), min_size=1, max_size=5)
    )
    kind = draw(st.sampled_from(["retroactive", "incremental", "per_transaction"]))
    boundary = draw(st.sampled_from(["lower_inclusive", "upper_inclusive"]))
    mode = draw(st.sampled_from(["half_up", "half_even"]))
    return tiers, amounts, kind, boundary, mode


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_rating_matches_reference(case):
    tiers, amounts, kind, boundary, mode = case
    written = [
        {
            "from": str(lo),
            **({"to": str(up)} if up is not None else {}),
            "rate": str(Decimal(r.numerator) / Decimal(r.denominator)),
        }
        for lo, up, r in tiers
    ]
    rules = {
        "settings": {"rounding_mode": mode},
        "measures": [{"name": "rev", "kind": "sum"}],
        "rate_tables": [{"name": "t", "kind": kind, "boundary": boundary, "tiers": written}],
        "plans": [{"id": "P", "components": [{"name": "c", "measure": "rev", "rate_table": "t"}]}],
    }
    txs = [
        tx(f"T{i}", "2026-01-05", f"{'-' if a < 0 else ''}{abs(a) // 100}.{abs(a) % 100:02d}", "A")
        for i, a in enumerate(amounts)
    ]
    values = [Fraction(a, 100) for a in amounts]
    if kind == "retroactive":
        exact = retro(sum(values, Fraction(0)), tiers, boundary)
    elif kind == "incremental":
        exact = incremental(sum(values, Fraction(0)), tiers)
    else:
        exact = sum((retro(v, tiers, boundary) for v in values), Fraction(0))
    assert earned(calc(rules, transactions=txs)) == cents(exact, mode)
