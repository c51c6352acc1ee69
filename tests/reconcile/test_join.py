"""The hashed join stays exact when keys share a hash."""

from __future__ import annotations

import polars as pl
import pytest

from engine.reconcile import compare as cmp
from engine.reconcile.compare import Tolerance, compare


def _frames() -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    keys = {"participant_id": ["A", "A", "B"], "period": ["p1", "p2", "p1"],
            "transaction_id": ["T1", "T2", "T3"]}  # fmt: skip
    ours = pl.DataFrame({**keys, "amount_cents": [100, 200, 300]})
    theirs = pl.DataFrame({**keys, "amount_cents": [100, 250, 300]}).with_columns(
        pl.col("participant_id").replace({"B": "C"})
    )
    return {"credit": ours}, {"credit": theirs}


def _expected(c: cmp.Comparison) -> list[tuple[str, int, str]]:
    return c.breaks.select("key", "difference_cents", "class").rows()


@pytest.mark.parametrize(
    "fake_hash",
    [
        lambda keys: pl.lit(7, dtype=pl.UInt64),  # every key collides on one side
        lambda keys: pl.col("transaction_id").hash(),  # B/p1/T3 and C/p1/T3 across sides
    ],
)
def test_collisions_fall_back_to_exact_join(monkeypatch: pytest.MonkeyPatch, fake_hash) -> None:  # type: ignore[no-untyped-def]
    ours, theirs = _frames()
    honest = _expected(compare(ours, theirs, Tolerance()))
    assert honest == [
        ("A / p2 / T2", -50, "over_tolerance"),
        ("B / p1 / T3", 300, "only_ours"),
        ("C / p1 / T3", -300, "only_theirs"),
    ]
    monkeypatch.setattr(cmp, "_hash", fake_hash)
    assert _expected(compare(ours, theirs, Tolerance())) == honest
