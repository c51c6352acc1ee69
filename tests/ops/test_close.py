"""`icm close`: a closed period's payouts never change; differences are posted in open periods.

The expected cents are worked out by hand from `docs/sample-payouts.md`. Transaction T1001
(2026-01-06, territory T-WEST-1) is P011's only January deal; it rolls up to P010 and P001.
Corrected from 18,000.00 to 28,000.00 after January is closed:

* P011 (AE, quota 40,000): 18,000 is 45% of quota, paid 5% = 900.00; 28,000 is 70%, still 5%
  = 1,400.00: difference +500.00;
* P010 (manager, quota 120,000, 1% below quota): team revenue 50,800.50 -> 60,800.50, override
  508.005 -> 608.005, rounded half up 508.01 -> 608.01: +100.00;
* P001 (quota 240,000): 115,800.50 -> 125,800.50, 1,158.01 -> 1,258.01: +100.00.

Nothing else moves (no window measure, no cap reached, no return of T1001), so February, the
first open period, pays exactly those three differences on top of its own amounts.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from engine.calc.fold import ADJUSTMENT_SCHEMA, PAYOUT_SCHEMA
from engine.calc.payouts import CalcResult
from engine.cli import app
from engine.ops.prior_period import ClosedPeriod, post_closed
from engine.publish import write_parquet

from .conftest import RULES

runner = CliRunner()
KEY = ["participant_id", "period", "plan_id", "component"]
TOTAL = 3_472_662  # the sample company's quarter, in cents


def _run(data_dir: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    args = ["run", str(data_dir), "--rules", str(RULES), "--out", str(out), *extra]
    result = runner.invoke(app, args)
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, result.stdout, result.stderr


def _close(out: Path, period: str) -> None:
    result = runner.invoke(app, ["close", period, "--out", str(out)])
    assert result.exit_code == 0, result.output


def _payouts(out: Path, period: str | None = None) -> pl.DataFrame:
    frame = pl.read_parquet(out / "current" / "payouts.parquet")
    if period is not None:
        frame = frame.filter(pl.col("period") == period)
    return frame.sort(pl.all())


def _ppa(out: Path) -> list[tuple[object, ...]]:
    frame = pl.read_parquet(out / "current" / "prior_period_adjustments.parquet")
    return frame.drop("line", "currency").rows()


def _payable(out: Path, who: str, period: str, component: str) -> tuple[int, int]:
    row = _payouts(out).filter(participant_id=who, period=period, component=component)
    return row["adjustments_cents"].item(), row["payable_cents"].item()


def _set_t1001(data_dir: Path, amount: str) -> None:
    tx = data_dir / "transactions.csv"
    text = tx.read_text()
    old = next(line for line in text.splitlines() if line.startswith("T1001,"))
    new = ",".join([*old.split(",")[:2], amount, *old.split(",")[3:]])
    tx.write_text(text.replace(old, new))


def test_closed_period_is_frozen_and_differences_are_posted_in_the_open_period(
    tmp_path: Path, data_dir: Path
) -> None:
    out = tmp_path / "out"
    _run(data_dir, out)
    paid_jan, paid_feb = _payouts(out, "2026-01"), _payouts(out, "2026-02")
    _close(out, "2026-01")
    again = runner.invoke(app, ["close", "2026-01", "--out", str(out)])
    assert again.exit_code == 2
    assert "USAGE" in again.output

    # unchanged data: nothing to adjust, same payouts
    _, stdout, _ = _run(data_dir, out)
    assert "No prior-period adjustment" in stdout
    assert _ppa(out) == []
    assert (
        _payouts(out)
        .filter(pl.col("period") != "2026-03")
        .equals(pl.concat([paid_jan, paid_feb]).sort(pl.all()))
    )

    # a January deal corrected upwards after the close
    _set_t1001(data_dir, "28000.00")
    _, stdout, _ = _run(data_dir, out)
    assert _ppa(out) == [
        # participant, closed period, plan, component, paid, recalculated, difference, posted in
        ("P001", "2026-01", "MANAGER", "team-override", 115_801, 125_801, 10_000, "2026-02"),
        ("P010", "2026-01", "MANAGER", "team-override", 50_801, 60_801, 10_000, "2026-02"),
        ("P011", "2026-01", "AE", "commission", 90_000, 140_000, 50_000, "2026-02"),
    ]
    assert _payouts(out, "2026-01").equals(paid_jan)  # the closed period did not change
    assert _payable(out, "P011", "2026-02", "commission") == (50_000, 328_000 + 50_000)
    assert _payable(out, "P010", "2026-02", "team-override") == (10_000, 49_250 + 10_000)
    assert _payable(out, "P001", "2026-02", "team-override") == (10_000, 129_250 + 10_000)
    assert _payouts(out)["payable_cents"].sum() == TOTAL + 70_000
    assert "Total payable: 35426.62 USD" in stdout

    # each posted cent is explained by a row naming the closed period and the component
    adjustments = pl.read_parquet(out / "current" / "adjustments.parquet")
    posted = adjustments.filter(type="closed_period").drop("type").rows()
    assert posted == [
        ("P001", "2026-02", "MANAGER", "team-override", 10_000, "2026-01"),
        ("P010", "2026-02", "MANAGER", "team-override", 10_000, "2026-01"),
        ("P011", "2026-02", "AE", "commission", 50_000, "2026-01"),
    ]
    by_line = adjustments.group_by(KEY).agg(pl.col("amount_cents").sum())
    joined = _payouts(out).join(by_line, on=KEY, how="left").fill_null(0)
    assert (joined["amount_cents"] == joined["adjustments_cents"]).all()

    manifest = json.loads((out / "current" / "manifest.json").read_text())
    assert set(manifest["closed_periods"]) == {"2026-01"}
    assert manifest["rows"]["prior_period_adjustments"] == 3


def test_closing_the_period_that_paid_an_adjustment_never_pays_it_twice(
    tmp_path: Path, data_dir: Path
) -> None:
    out = tmp_path / "out"
    _run(data_dir, out)
    _close(out, "2026-01")
    _set_t1001(data_dir, "28000.00")
    _run(data_dir, out)
    _close(out, "2026-02")  # February paid January's +700.00
    paid = _payouts(out).filter(pl.col("period") != "2026-03")

    _run(data_dir, out)  # same data: everything is settled
    assert _ppa(out) == []
    assert _payouts(out).filter(pl.col("period") != "2026-03").equals(paid)
    assert _payable(out, "P011", "2026-03", "commission") == (0, 416_000)

    # the correction is reverted: January was settled at 900.00 + 500.00 = 1,400.00 (frozen in
    # January, and paid in February), so 500.00 comes back in March, the first open period;
    # February itself is settled at 3,780.00 - 500.00 (paid for January) = its 3,280.00
    _set_t1001(data_dir, "18000.00")
    _run(data_dir, out)
    assert _ppa(out) == [
        ("P001", "2026-01", "MANAGER", "team-override", 125_801, 115_801, -10_000, "2026-03"),
        ("P010", "2026-01", "MANAGER", "team-override", 60_801, 50_801, -10_000, "2026-03"),
        ("P011", "2026-01", "AE", "commission", 140_000, 90_000, -50_000, "2026-03"),
    ]
    assert _payouts(out).filter(pl.col("period") != "2026-03").equals(paid)
    assert _payable(out, "P011", "2026-03", "commission") == (-50_000, 416_000 - 50_000)
    assert _payable(out, "P010", "2026-03", "team-override") == (-10_000, 69_500 - 10_000)
    assert _payable(out, "P001", "2026-03", "team-override") == (-10_000, 139_401 - 10_000)
    assert _payouts(out)["payable_cents"].sum() == TOTAL  # over the quarter, every cent is due
    adjustments = pl.read_parquet(out / "current" / "adjustments.parquet")
    p011 = adjustments.filter(participant_id="P011", type="closed_period")
    assert p011.select("period", "amount_cents", "closed_period").rows() == [
        ("2026-02", 50_000, "2026-01"),  # frozen with February
        ("2026-03", -50_000, "2026-01"),
    ]


def test_an_adjustment_with_no_open_period_after_it_is_reported_not_posted(
    tmp_path: Path, data_dir: Path
) -> None:
    out = tmp_path / "out"
    _run(data_dir, out)
    _close(out, "2026-01")
    paid = _payouts(out, "2026-01")
    _set_t1001(data_dir, "28000.00")
    _, _, stderr = _run(data_dir, out, "--period", "2026-01")
    assert [r[-2:] for r in _ppa(out)] == [(10_000, None), (10_000, None), (50_000, None)]
    assert _payouts(out).equals(paid)
    assert "3 prior-period adjustment(s) of 2026-01 not posted" in stderr


def test_a_missing_open_line_is_added_for_the_adjustment(tmp_path: Path) -> None:
    """P2 was paid 100.00 in January for a deal now credited to P1; P2 has no February line."""
    line = {"plan_id": "AE", "component": "c", "line": "component", "currency": "USD"}
    zero = {c: 0 for c in PAYOUT_SCHEMA if c.endswith("_cents")}

    def pay(who: str, period: str, cents: int) -> dict[str, object]:
        return {**zero, **line, "participant_id": who, "period": period,
                "earned_cents": cents, "payable_cents": cents}  # fmt: skip

    frozen = pl.DataFrame([pay("P2", "2026-01", 10_000)], schema=PAYOUT_SCHEMA)
    write_parquet(frozen, tmp_path / "jan.parquet")
    sha = hashlib.sha256((tmp_path / "jan.parquet").read_bytes()).hexdigest()
    rows = [pay("P1", "2026-01", 10_000), pay("P1", "2026-02", 2_500)]
    empty = pl.DataFrame()
    calc = CalcResult(
        empty, empty, empty, pl.DataFrame(rows, schema=PAYOUT_SCHEMA),
        pl.DataFrame(schema=ADJUSTMENT_SCHEMA), empty, empty,
    )  # fmt: skip
    jan = ClosedPeriod("2026-01", "fp", tmp_path / "jan.parquet", sha, 1)
    posted, ppa = post_closed(calc, [jan], ["2026-01", "2026-02"], ["2026-01", "2026-02"])
    assert ppa.select("participant_id", "difference_cents", "posted_in").rows() == [
        ("P1", 10_000, "2026-02"),
        ("P2", -10_000, "2026-02"),
    ]
    assert posted.payouts.select(
        "participant_id", "period", "earned_cents", "adjustments_cents", "payable_cents"
    ).rows() == [
        ("P1", "2026-02", 2_500, 10_000, 12_500),
        ("P2", "2026-01", 10_000, 0, 10_000),  # frozen
        ("P2", "2026-02", 0, -10_000, -10_000),  # added: P2 owes January's 100.00 back
    ]
    assert posted.adjustments.rows() == [
        ("P1", "2026-02", "AE", "c", "closed_period", 10_000, "2026-01"),
        ("P2", "2026-02", "AE", "c", "closed_period", -10_000, "2026-01"),
    ]


def test_a_changed_frozen_file_fails_the_closed_periods_step(
    tmp_path: Path, data_dir: Path
) -> None:
    out = tmp_path / "out"
    _run(data_dir, out)
    _close(out, "2026-01")
    before = (out / "current").resolve()
    frozen = out / "closed" / "2026-01.parquet"
    zeroed = pl.read_parquet(frozen).with_columns(pl.lit(0, dtype=pl.Int64).alias("payable_cents"))
    zeroed.write_parquet(frozen)
    args = ["run", str(data_dir), "--rules", str(RULES), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "step closed_periods failed" in result.stderr
    assert "FILE_UNREADABLE" in result.stderr
    assert (out / "current").resolve() == before  # nothing published


def test_close_needs_published_results(tmp_path: Path) -> None:
    result = runner.invoke(app, ["close", "2026-01", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "FILE_MISSING" in result.output
