"""Limits: large amounts, one participant with many transactions, many participants.

Every result is checked against independent integer arithmetic (``limits.py``); beyond the
exact range the engine must stop with a clear ``OVERFLOW``, never pay a wrapped value.

Sizes of the scale tests come from the environment so that CI runs them small and a person can
run them at full size (numbers recorded in ``docs/hardening.md``)::

    ICM_LIMITS_TRANSACTIONS=10000000 ICM_LIMITS_PARTICIPANTS=1000000 \\
        flock /tmp/heavy.lock python -m pytest -m slow tests/hardening/test_limits.py
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.errors import EngineError, Reason
from engine.pipeline import run

from .limits import commission_cents, override_cents, rules_file, write_company

pytestmark = pytest.mark.slow

TRANSACTIONS = int(os.environ.get("ICM_LIMITS_TRANSACTIONS", "1000000"))
PARTICIPANTS = int(os.environ.get("ICM_LIMITS_PARTICIPANTS", "100000"))
SPLIT_LIMIT = (2**63 - 1) // 1_000_000
"""The largest amount in cents a credit can carry: amount x share (ppm) must fit in 64 bits."""
runner = CliRunner()


def _paid(result: object, component: str) -> dict[str, int]:
    payouts: pl.DataFrame = result.calc.payouts  # type: ignore[attr-defined]
    rows = payouts.filter(pl.col("component") == component)
    return dict(rows.select("participant_id", "payable_cents").iter_rows())


def test_amounts_up_to_the_exact_limit_are_exact(tmp_path: Path) -> None:
    """Transactions up to 92 billion currency units, a split and a roll-up: every cent."""
    rng = random.Random(20260101)
    sellers = ["A", "B", "C"]
    amounts = [SPLIT_LIMIT, SPLIT_LIMIT - 1, 10**12, 10**12 - 1, 1, 50]
    amounts += [rng.randrange(-(10**12), SPLIT_LIMIT) for _ in range(40)]
    seller_of = [i % 3 for i in range(len(amounts))]
    seller_of[3] = -1  # split between A (1/3) and B (2/3)
    splits = [("T000000003", "A", "0.333333"), ("T000000003", "B", "0.666667")]
    cents = np.array(amounts, dtype=np.int64)
    data = write_company(
        tmp_path / "data", sellers, np.array(seller_of), cents, manager="M", splits=splits
    )
    result = run(data, rules_file(tmp_path))
    assert result.dataset.rejects.height == 0

    credits = result.credits.credits
    split = credits.filter(pl.col("transaction_id") == "T000000003")
    assert split["amount_cents"].sum() == amounts[3]
    a_part = amounts[3] * 333_333 // 1_000_000 + 1  # largest remainder: A's .666667 wins
    assert dict(split.select("participant_id", "amount_cents").iter_rows()) == {
        "A": a_part,
        "B": amounts[3] - a_part,
    }
    revenue = dict.fromkeys(sellers, 0)
    for amount, who in zip(amounts, seller_of, strict=True):
        if who >= 0:
            revenue[sellers[who]] += amount
    revenue["A"] += a_part
    revenue["B"] += amounts[3] - a_part
    assert _paid(result, "commission") == {s: commission_cents(r) for s, r in revenue.items()}
    assert _paid(result, "override") == {"M": override_cents(sum(amounts))}


@pytest.mark.parametrize("amount", ["1000000000000.00", "9999999999999999.99"])
def test_an_amount_beyond_the_exact_range_stops_with_overflow(tmp_path: Path, amount: str) -> None:
    """A trillion currency units cannot be credited exactly: a clear OVERFLOW, exit 2."""
    data = write_company(
        tmp_path / "data", ["A"], np.array([0, 0]), np.array([100, 200], dtype=np.int64)
    )
    tx = data / "transactions.csv"
    tx.write_text(tx.read_text(encoding="utf-8").replace(",2.00,", f",{amount},"))
    result = runner.invoke(app, ["run", str(data), "--rules", str(rules_file(tmp_path))])
    assert result.exit_code == 2, result.output
    assert "OVERFLOW" in result.stderr
    assert "Traceback" not in result.output


def test_a_measure_beyond_64_bits_is_never_wrapped(tmp_path: Path) -> None:
    """2,049,639 credits adding up to 2**64 + 100 cents must not be paid as 1.00."""
    big = 9_000_000_000_000
    n = 2**64 // big
    cents = np.full(n + 1, big, dtype=np.int64)
    cents[-1] = 2**64 + 100 - n * big
    assert 0 < cents[-1] <= SPLIT_LIMIT
    data = write_company(tmp_path / "data", ["A"], np.zeros(n + 1, dtype=np.int64), cents)
    assert Reason.OVERFLOW.value in _reasons(data, rules_file(tmp_path))


def _reasons(data: Path, rules: Path) -> set[str]:
    """The reason codes a run ends with: its error's, or its calculation findings'."""
    try:
        result = run(data, rules)
    except EngineError as exc:
        return {f.code for f in exc.findings}
    return set(result.calc.findings["reason"])


def test_one_participant_with_many_transactions(tmp_path: Path) -> None:
    """``ICM_LIMITS_TRANSACTIONS`` credits (default 1M; 10M by hand) for one seller."""
    rng = np.random.default_rng(7)
    cents = rng.integers(-50_000, 5_000_000, size=TRANSACTIONS, dtype=np.int64)
    data = write_company(tmp_path / "data", ["A"], np.zeros(TRANSACTIONS, dtype=np.int64), cents)
    result = run(data, rules_file(tmp_path))
    assert result.dataset.tables["transactions"].height == TRANSACTIONS
    total = int(cents.sum(dtype=np.int64))
    assert _paid(result, "commission") == {"A": commission_cents(total)}


def test_many_participants(tmp_path: Path) -> None:
    """``ICM_LIMITS_PARTICIPANTS`` sellers (default 100k; 1M by hand), two credits each."""
    rng = np.random.default_rng(11)
    sellers = [f"P{i:07d}" for i in range(PARTICIPANTS)]
    seller_of = np.repeat(np.arange(PARTICIPANTS, dtype=np.int64), 2)
    cents = rng.integers(1, 80_000_000, size=len(seller_of), dtype=np.int64)
    data = write_company(tmp_path / "data", sellers, seller_of, cents)
    result = run(data, rules_file(tmp_path))
    revenue = cents[0::2] + cents[1::2]
    expected = {s: commission_cents(int(r)) for s, r in zip(sellers, revenue.tolist(), strict=True)}
    assert _paid(result, "commission") == expected
