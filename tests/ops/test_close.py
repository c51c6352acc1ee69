"""`icm close`: a closed period's payouts never change; differences become adjustments."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import polars as pl
from typer.testing import CliRunner

from engine.cli import app

from .conftest import RULES

runner = CliRunner()


def _run(data_dir: Path, out: Path, *extra: str) -> list[dict[str, Any]]:
    args = ["run-logged", str(data_dir), "--rules", str(RULES), "--out", str(out)]
    result = runner.invoke(app, [*args, "--log-format", "json", *extra])
    assert result.exit_code in (0, 1), result.output
    return [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]


def _payouts(out: Path, period: str) -> pl.DataFrame:
    frame = pl.read_parquet(out / "current" / "payouts.parquet")
    return frame.filter(pl.col("period") == period).sort(pl.all())


def test_closed_period_is_frozen_and_changes_become_adjustments(
    tmp_path: Path, data_dir: Path
) -> None:
    out = tmp_path / "out"
    _run(data_dir, out)
    paid = _payouts(out, "2026-01")
    closed = runner.invoke(app, ["close", "2026-01", "--out", str(out)])
    assert closed.exit_code == 0, closed.output
    again = runner.invoke(app, ["close", "2026-01", "--out", str(out)])
    assert again.exit_code == 2
    assert "USAGE" in again.output

    # unchanged data: no adjustment, same payouts
    events = _run(data_dir, out)
    assert not [e for e in events if e["event"] == "prior_period_adjustment"]
    assert _payouts(out, "2026-01").equals(paid)

    # a January deal corrected upwards after the close
    tx = data_dir / "transactions.csv"
    tx.write_text(tx.read_text().replace("T1001,2026-01-06,18000.00", "T1001,2026-01-06,28000.00"))
    events = _run(data_dir, out)
    ppa = [e for e in events if e["event"] == "prior_period_adjustment"]
    assert ppa
    assert {e["closed_period"] for e in ppa} == {"2026-01"}
    assert {e["posted_in"] for e in ppa} == {"2026-02"}
    for e in ppa:
        assert e["difference_cents"] == e["recalculated_cents"] - e["paid_cents"]
    assert _payouts(out, "2026-01").equals(paid)  # the closed period did not change
    published = pl.read_parquet(out / "current" / "prior_period_adjustments.parquet")
    assert published.height == len(ppa)
    manifest = json.loads((out / "current" / "manifest.json").read_text())
    assert set(manifest["closed_periods"]) == {"2026-01"}


def test_a_changed_frozen_file_fails_the_publish_step(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "out"
    _run(data_dir, out)
    assert runner.invoke(app, ["close", "2026-01", "--out", str(out)]).exit_code == 0
    frozen = out / "closed" / "2026-01.parquet"
    zeroed = pl.read_parquet(frozen).with_columns(pl.lit(0, dtype=pl.Int64).alias("payable_cents"))
    zeroed.write_parquet(frozen)
    args = ["run-logged", str(data_dir), "--rules", str(RULES), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "step publish failed" in result.output
    assert "FILE_UNREADABLE" in result.output


def test_close_needs_published_results(tmp_path: Path) -> None:
    result = runner.invoke(app, ["close", "2026-01", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "FILE_MISSING" in result.output
