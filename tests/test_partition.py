"""Period-partitioned runs give the outputs of the whole run (engine.partition)."""

from __future__ import annotations

import datetime as dt
import filecmp
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from ruamel.yaml import YAML

from engine.errors import EngineError, Reason
from engine.partition import run_partitioned, write_partitioned
from engine.pipeline import run, write
from engine.synth import synthesize

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "rules" / "examples"
COMPANY = EXAMPLES / "synth-company.yaml"
RULES = [COMPANY, *sorted(EXAMPLES.glob("*/rules.yaml"))]


def assert_same(data: Path, rules: Path) -> None:
    """Every output frame of the partitioned run equals the whole run's (``frame.equals``)."""
    whole = run(data, rules).outputs()
    parted = run_partitioned(data, rules)
    got = parted.outputs()
    assert sorted(got) == sorted(whole)
    for name, frame in whole.items():
        assert got[name].equals(frame), name
    counts = parted.accounting
    assert (counts["rows_read"] == counts["rows_accepted"] + counts["rows_rejected"]).all()


@pytest.fixture(scope="module")
def xs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small synthetic company, Parquet (the split path)."""
    data = tmp_path_factory.mktemp("xs")
    synthesize(data, "XS", seed=7, transactions=1_500, participants=60)
    return data


def test_sample_company() -> None:
    assert_same(ROOT / "fixtures" / "sample", ROOT / "rules" / "sample.yaml")


@pytest.mark.parametrize("rules", RULES, ids=lambda p: p.parent.name if p != COMPANY else p.stem)
def test_every_example_rule_set_on_synth(xs: Path, rules: Path) -> None:
    assert_same(xs, rules)


def _variant(tmp_path: Path, change: Any) -> Path:
    """The synth-company rule set with ``change(document)`` applied."""
    document = YAML(typ="safe").load(COMPANY.read_text())
    change(document)
    path = tmp_path / "rules.yaml"
    YAML(typ="safe").dump(document, path)
    return path


def _plan(document: dict[str, Any], plan_id: str) -> dict[str, Any]:
    plan: dict[str, Any] = next(p for p in document["plans"] if p["id"] == plan_id)
    return plan


def _measure(document: dict[str, Any], name: str) -> dict[str, Any]:
    measure: dict[str, Any] = next(m for m in document["measures"] if m["name"] == name)
    return measure


def _windows_and_true_up(document: dict[str, Any]) -> None:
    # quarter- and year-to-date windows, a plan true-up, a year-to-date cap with carry
    _measure(document, "bookings")["window"] = "quarter_to_date"
    _measure(document, "team_revenue")["window"] = "year_to_date"
    _plan(document, "AE")["true_up"] = {"mode": "year_to_date"}
    _plan(document, "MANAGER")["caps"] = [
        {"multiple_of_target": 2, "window": "year_to_date", "excess": "carry_forward"}
    ]


def _ae_clawback(document: dict[str, Any]) -> None:
    # AEs get credits, and their returns reverse commission: re-rated periods are narrowed
    _plan(document, "AE")["clawback"] = {"window_days": 120, "percent": 1}
    _measure(document, "bookings")["include_returns"] = False


def _manager_clawback(document: dict[str, Any]) -> None:
    # managers receive roll-ups: re-rated periods are read whole
    _plan(document, "MANAGER")["clawback"] = {"window_days": 60, "percent": 1}
    _measure(document, "team_revenue")["include_returns"] = False


@pytest.mark.parametrize(
    ("change", "narrowed"),
    [(_windows_and_true_up, True), (_ae_clawback, True), (_manager_clawback, False)],
    ids=["windows-true-up-cap-carry", "ae-clawback", "manager-clawback"],
)
def test_rule_shapes_reaching_back(xs: Path, tmp_path: Path, change: Any, narrowed: bool) -> None:
    rules = _variant(tmp_path, change)
    assert_same(xs, rules)
    assert run_partitioned(xs, rules).narrowed is narrowed


def test_clawbacks_are_exercised(xs: Path, tmp_path: Path) -> None:
    rules = _variant(tmp_path, _ae_clawback)
    adjustments = run_partitioned(xs, rules).outputs()["adjustments"]
    assert adjustments.filter(pl.col("type").str.contains("clawback")).height > 0


def test_partitions_hold_one_period(xs: Path) -> None:
    parted = run_partitioned(xs, COMPANY, keep=False)
    total = pl.read_parquet(xs / "transactions.parquet").height
    assert sum(p.owned for p in parted.periods_done) == total
    assert max(p.transactions for p in parted.periods_done) < total / 4
    assert all(not p.frames for p in parted.periods_done)


# a fixture with a late return and rejected rows, as Parquet (split) and as CSV (whole load)


def _messy(data: Path, fmt: str) -> None:
    """Add a return long after its original, rejected rows and rows outside the calendar."""
    if fmt == "parquet":
        tx = pl.read_parquet(data / "transactions.parquet")
    else:
        tx = pl.read_csv(data / "transactions.csv", infer_schema=False)
    jan = tx.filter(
        pl.col("credit_date").cast(pl.Utf8).str.starts_with("2026-01")
        & pl.col("original_transaction_id").is_null()
    ).row(0, named=True)
    rows: list[dict[str, Any]] = [
        # a return in May of a January sale
        {
            **jan,
            "transaction_id": "LATE-RETURN",
            "credit_date": dt.date(2026, 5, 20),
            "amount": -Decimal(str(jan["amount"])),
            "deal_type": "return",
            "original_transaction_id": jan["transaction_id"],
        },
        # no date: rejected, reported with the first period
        {**jan, "transaction_id": "NO-DATE", "credit_date": None},
        # an unknown seller in July: rejected by its own period
        {**jan, "transaction_id": "BAD-SELLER", "credit_date": dt.date(2026, 7, 3)},
        # a return of a sale that does not exist: rejected
        {**jan, "transaction_id": "ORPHAN-RETURN", "original_transaction_id": "NOPE"},
        # outside the calendar: accepted, unrouted
        {**jan, "transaction_id": "NEXT-YEAR", "credit_date": dt.date(2027, 2, 1)},
    ]
    rows[2]["seller_id"] = "NOBODY"
    if fmt == "parquet":
        extra = pl.DataFrame(rows, schema=tx.schema)
        pl.concat([tx, extra]).write_parquet(data / "transactions.parquet")
        sellers = pl.read_parquet(data / "transaction_sellers.parquet")
        ghost = pl.DataFrame(
            [{"transaction_id": "GHOST", "participant_id": "X", "share": Decimal("1")}],
            schema=sellers.schema,
        )
        pl.concat([sellers, ghost]).write_parquet(data / "transaction_sellers.parquet")
    else:
        text = [{k: None if v is None else str(v) for k, v in r.items()} for r in rows]
        extra = pl.DataFrame(text, schema=dict.fromkeys(tx.columns, pl.Utf8))
        pl.concat([tx, extra]).write_csv(data / "transactions.csv")


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_late_return_and_rejected_rows(tmp_path: Path, fmt: str) -> None:
    data = tmp_path / "data"
    synthesize(data, "XS", seed=11, fmt=fmt, transactions=800, participants=40)
    _messy(data, fmt)
    rules = _variant(tmp_path, _ae_clawback)
    assert_same(data, rules)
    parted = run_partitioned(data, rules)
    rejects = parted.rejects
    tx = parted.accounting.filter(pl.col("table") == "transactions").row(0, named=True)
    assert tx["rows_rejected"] == 3
    assert rejects.filter(pl.col("file").str.starts_with("transactions.")).height == 3
    outputs = parted.outputs()
    assert "NEXT-YEAR" in outputs["unrouted"]["transaction_id"].to_list()
    assert "LATE-RETURN" in outputs["credits"]["transaction_id"].to_list()
    if fmt == "parquet":
        sellers = parted.accounting.filter(pl.col("table") == "transaction_sellers")
        assert sellers["rows_rejected"].to_list() == [1]


def _findings_everywhere(source: Path, data: Path) -> None:
    """Copy ``source`` with unknown plans, missing targets, quotas and exchange rates."""
    data.mkdir()
    for f in source.glob("*.parquet"):
        (data / f.name).write_bytes(f.read_bytes())
    quotas = pl.read_parquet(data / "quotas.parquet")
    some = quotas.get_column("participant_id").unique().sort().head(8).to_list()
    months = ["2026-02", "2026-05", "2026-09"]
    gone = pl.col("participant_id").is_in(some) & pl.col("period").is_in(months)
    quotas.filter(~gone).write_parquet(data / "quotas.parquet")
    rates = pl.read_parquet(data / "exchange_rates.parquet")
    pair = pl.col("from_currency").is_in(["EUR", "USD"]) & pl.col("to_currency").is_in(
        ["EUR", "USD"]
    )
    rates.filter(~(pair & pl.col("valid_from").dt.month().is_in([3, 7]))).write_parquet(
        data / "exchange_rates.parquet"
    )
    # transaction ids in the reverse of their dates' order
    flip = {
        c: pl.lit("X") + (10**9 - pl.col(c).str.slice(1).cast(pl.Int64)).cast(pl.Utf8)
        for c in ("transaction_id", "original_transaction_id")
    }
    tx = pl.read_parquet(data / "transactions.parquet")
    tx.with_columns(e.alias(c) for c, e in flip.items()).write_parquet(
        data / "transactions.parquet"
    )
    sellers = pl.read_parquet(data / "transaction_sellers.parquet")
    sellers.with_columns(flip["transaction_id"].alias("transaction_id")).write_parquet(
        data / "transaction_sellers.parquet"
    )
    plans = pl.read_parquet(data / "plan_assignments.parquet")
    ae = plans.filter(pl.col("plan_id") == "AE").get_column("participant_id").sort().to_list()
    plans.with_columns(
        pl.when(pl.col("participant_id") == ae[0])
        .then(pl.lit("NO-SUCH-PLAN"))
        .otherwise(pl.col("plan_id"))
        .alias("plan_id"),
        pl.when(pl.col("participant_id").is_in(ae[1:3]))
        .then(None)
        .otherwise(pl.col("target_incentive"))
        .alias("target_incentive"),
    ).write_parquet(data / "plan_assignments.parquet")


def test_calculation_findings_in_the_whole_run_order(xs: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    _findings_everywhere(xs, data)
    assert_same(data, COMPANY)
    findings = run_partitioned(data, COMPANY).outputs()["calc_findings"]
    assert findings.get_column("reason").n_unique() >= 3
    assert findings.get_column("period").n_unique() >= 4


def test_published_files_are_identical(tmp_path: Path) -> None:
    data, rules = ROOT / "fixtures" / "sample", ROOT / "rules" / "sample.yaml"
    whole = write(run(data, rules), tmp_path / "whole")
    parted = write_partitioned(run_partitioned(data, rules), tmp_path / "parted")
    names = sorted(p.name for p in whole.iterdir())
    assert names == sorted(p.name for p in parted.iterdir())
    _, mismatch, errors = filecmp.cmpfiles(whole, parted, names, shallow=False)
    assert (mismatch, errors) == ([], [])


def test_duplicate_transaction_ids_are_refused(tmp_path: Path) -> None:
    data = tmp_path / "data"
    synthesize(data, "XS", seed=5, transactions=300, participants=30)
    tx = pl.read_parquet(data / "transactions.parquet")
    pl.concat([tx, tx.head(1)]).write_parquet(data / "transactions.parquet")
    with pytest.raises(EngineError) as caught:
        run_partitioned(data, COMPANY)
    assert caught.value.reason is Reason.DUPLICATE_KEY
    assert caught.value.findings[0].hint


def test_a_period_subset_is_refused(xs: Path) -> None:
    with pytest.raises(EngineError) as caught:
        run_partitioned(xs, COMPANY, periods=["2026-03"])
    assert caught.value.reason is Reason.USAGE


def test_staging_is_removed(xs: Path, tmp_path: Path) -> None:
    run_partitioned(xs, COMPANY, staging=tmp_path / "stage", keep=False)
    assert list((tmp_path / "stage").iterdir()) == []
