"""Largest-remainder allocation: exact sums, bounded error, deterministic ties, symmetry."""

from __future__ import annotations

import itertools

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.crediting.reference import allocate_ints
from engine.crediting.split import allocate

PPM = 1_000_000


@st.composite
def splits(draw: st.DrawFn) -> tuple[int, list[int], str]:
    n = draw(st.integers(1, 6))
    cuts = sorted(
        draw(st.lists(st.integers(1, PPM - 1), min_size=n - 1, max_size=n - 1, unique=True))
    )
    bounds = [0, *cuts, PPM]
    shares = [b - a for a, b in itertools.pairwise(bounds)]
    currency = draw(st.sampled_from(["USD", "JPY"]))
    amount = draw(st.integers(-(10**12), 10**12))
    if currency == "JPY":
        amount -= amount % 100
    return amount, shares, currency


def _frame(amount: int, shares: list[int], currency: str) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "g": ["T"] * len(shares),
            "participant_id": [f"P{i}" for i in reversed(range(len(shares)))],
            "amount_cents": [amount] * len(shares),
            "currency": [currency] * len(shares),
            "share_ppm": shares,
        }
    )


@settings(max_examples=100, deadline=None)
@given(case=splits())
def test_parts_sum_exactly_and_stay_within_one_unit(case: tuple[int, list[int], str]) -> None:
    amount, shares, currency = case
    unit = 100 if currency == "JPY" else 1
    out = allocate(_frame(amount, shares, currency), ["g"]).sort("participant_id", descending=True)
    parts = out["amount_cents"].to_list()
    assert sum(parts) == amount
    for part, share in zip(parts, out["share_ppm"].to_list(), strict=True):
        assert part % unit == 0
        assert abs(part * PPM - amount * share) < unit * PPM
    ids = out["participant_id"].to_list()
    assert parts == allocate_ints(amount, out["share_ppm"].to_list(), ids, unit)


@settings(max_examples=100, deadline=None)
@given(case=splits())
def test_a_return_splits_as_the_mirror_of_the_sale(case: tuple[int, list[int], str]) -> None:
    amount, shares, currency = case
    sale = allocate(_frame(abs(amount), shares, currency), ["g"]).sort("participant_id")
    back = allocate(_frame(-abs(amount), shares, currency), ["g"]).sort("participant_id")
    assert back["amount_cents"].to_list() == [-a for a in sale["amount_cents"].to_list()]


def test_equal_remainders_go_to_the_smaller_participant_id() -> None:
    df = _frame(1, [500_000, 500_000], "USD")  # P1, P0 in that order
    out = dict(allocate(df, ["g"]).select("participant_id", "amount_cents").rows())
    assert out == {"P0": 1, "P1": 0}


def test_groups_are_allocated_independently() -> None:
    a = _frame(101, [500_000, 500_000], "USD")
    b = _frame(3, [PPM], "USD").with_columns(pl.lit("U").alias("g"))
    out = allocate(pl.concat([a, b]), ["g"]).group_by("g").agg(pl.col("amount_cents").sum())
    assert dict(out.rows()) == {"T": 101, "U": 3}
