"""Scales, counts and options: what synthesize accepts and how it refuses the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import EngineError, Reason
from engine.synth import SCALES, synthesize
from engine.synth.config import resolve_scale


def test_scales_of_the_performance_guide() -> None:
    assert (SCALES["S"].transactions, SCALES["S"].participants) == (1_000_000, 10_000)
    assert (SCALES["M"].transactions, SCALES["M"].participants) == (10_000_000, 100_000)
    assert (SCALES["L"].transactions, SCALES["L"].participants) == (100_000_000, 1_000_000)


def test_overrides_make_a_custom_scale() -> None:
    assert resolve_scale("m", transactions=10).name == "custom"
    assert resolve_scale("S", participants=10_000).name == "S"


@pytest.mark.parametrize(
    ("kwargs"),
    [
        {"scale": "XL"},
        {"fmt": "xlsx"},
        {"seed": -1},
        {"participants": 19},
        {"transactions": 0},
    ],
)
def test_bad_options_are_usage_errors(tmp_path: Path, kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"scale": "XS", "transactions": 100, "participants": 30}
    args.update(kwargs)
    with pytest.raises(EngineError) as err:
        synthesize(tmp_path, **args)  # type: ignore[arg-type]
    assert [f.reason for f in err.value.findings] == [Reason.USAGE]
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(("participants", "transactions"), [(20, 1), (21, 7), (25, 3000)])
def test_tiny_companies_still_work(tmp_path: Path, participants: int, transactions: int) -> None:
    s = synthesize(tmp_path, "XS", fmt="csv", transactions=transactions, participants=participants)
    assert s.rows["transactions"] == transactions
    assert s.rows["participants"] == participants


def test_a_rerun_replaces_files_of_the_other_format(tmp_path: Path) -> None:
    synthesize(tmp_path, "XS", fmt="csv", transactions=50, participants=30)
    s = synthesize(tmp_path, "XS", fmt="parquet", transactions=50, participants=30)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(s.files)
    assert "transactions 50" in str(s)
