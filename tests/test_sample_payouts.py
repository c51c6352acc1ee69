"""The sample company's payouts equal the ones worked out by hand in docs/sample-payouts.md.

The expected values are read from the fenced tables of that page (``expected-credits``,
``expected-measures``, ``expected-incentives``, ``expected-payouts``, ``expected-total``) and
its per-participant summary table, so the hand derivation and the test cannot drift apart. They
were worked out from fixtures/sample and rules/sample.yaml alone, never copied from the engine.

A case the engine gets wrong stays asserting the hand-worked value and is listed in
``ENGINE_BUGS`` (strict xfail, with the reason), so that fixing the engine turns it green.
"""

from __future__ import annotations

import re
from collections import Counter
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import polars as pl
import pytest

from engine.pipeline import RunResult, run

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "sample-payouts.md"
DATA = ROOT / "fixtures" / "sample"
RULES = ROOT / "rules" / "sample.yaml"

ENGINE_BUGS: dict[str, str] = {}
"""Case id (``<test>:<participant>:<period>``) -> reason of a strict xfail (an engine bug)."""


# ---------------------------------------------------------------- reading the hand-worked page


def _fenced(name: str) -> list[dict[str, str]]:
    """The rows of the fenced block ```expected-<name>, as dicts keyed by its header."""
    text = DOC.read_text(encoding="utf-8")
    match = re.search(rf"^```expected-{re.escape(name)}\n(.*?)^```", text, re.M | re.S)
    assert match, f"no ```expected-{name} block in {DOC}"
    lines = [line for line in match.group(1).splitlines() if line.strip()]
    header = [cell.strip() for cell in lines[0].split("|")]
    rows = []
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.split("|")]
        assert len(cells) == len(header), f"{name}: bad row {line!r}"
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def _summary() -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    """The markdown table "payable per participant and period": cells and the total row."""
    text = DOC.read_text(encoding="utf-8")
    start = text.index("Payable per participant and period")
    block = text[start : text.index("\n\n", text.index("| **total**", start))]
    rows = [
        [cell.strip().strip("*") for cell in line.strip().strip("|").split("|")]
        for line in block.splitlines()
        if line.startswith("|")
    ]
    return _summary_rows(rows)


def _summary_rows(rows: list[list[str]]) -> tuple[dict[tuple[str, str], int], dict[str, int]]:
    header = rows[0]
    periods = header[2:5]
    cells: dict[tuple[str, str], int] = {}
    total: dict[str, int] = {}
    for row in rows[2:]:
        if row[0] == "total":
            total = {col: _cents(v) for col, v in zip(header[2:], row[2:], strict=True)}
            continue
        pid = row[0].split()[0]
        for period, value in zip(periods, row[2:5], strict=True):
            if value != "-":
                cells[pid, period] = _cents(value)
        cells[pid, "Q1"] = _cents(row[5])
    return cells, total


def _cents(text: str) -> int:
    """An exact decimal amount ("1,234.50", "-200.00") in cents; more than 2 decimals fails."""
    value = Decimal(text.replace(",", "")) * 100
    assert value == value.to_integral_value(), f"{text} is not a whole number of cents"
    return int(value)


def _ratio(text: str) -> Fraction:
    """An exact value written as a decimal or as ``a/b`` (both exact decimals)."""
    if "/" in text:
        num, den = text.split("/")
        return Fraction(Decimal(num)) / Fraction(Decimal(den))
    return Fraction(Decimal(text))


def _cases(rows: list[dict[str, str]], test: str) -> list[object]:
    """One parametrized case per participant and period, each with its rows."""
    groups: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        groups.setdefault((row["participant"], row["period"]), []).append(row)
    cases: list[object] = []
    for (pid, period), group in groups.items():
        case_id = f"{test}:{pid}:{period}"
        marks = []
        if case_id in ENGINE_BUGS:
            marks.append(pytest.mark.xfail(strict=True, reason=ENGINE_BUGS[case_id]))
        cases.append(pytest.param(pid, period, group, id=f"{pid}-{period}", marks=marks))
    return cases


CREDITS = _fenced("credits")
MEASURES = _fenced("measures")
INCENTIVES = _fenced("incentives")
PAYOUTS = _fenced("payouts")


def _expected_total() -> int:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(r"^```expected-total\n(.*?)\n^```", text, re.M | re.S)
    assert match, "no ```expected-total block"
    return _cents(match.group(1).strip())


# ---------------------------------------------------------------- the run (once per module)


@pytest.fixture(scope="module")
def result() -> RunResult:
    return run(DATA, RULES)


def _payout_lines(result: RunResult) -> dict[tuple[str, ...], dict[str, object]]:
    frame = result.calc.payouts
    keys = ("participant_id", "period", "plan_id", "component", "line")
    return {tuple(str(r[k]) for k in keys): r for r in frame.iter_rows(named=True)}


# ---------------------------------------------------------------- crediting


def test_every_transaction_is_credited(result: RunResult) -> None:
    assert result.dataset.rejects.height == 0
    counts = result.credits.counts
    assert counts.balanced
    assert (counts.transactions, counts.credited, counts.excluded) == (30, 30, 0)
    assert counts.unrouted_total == 0
    assert result.credits.unrouted.height == 0
    assert result.credits.excluded.height == 0
    assert result.credits.overlay_misses.height == 0
    ids = set(result.dataset.tables["transactions"]["transaction_id"])
    assert len(ids) == 30
    credited = set(result.credits.credits.filter(pl.col("level") == 0)["transaction_id"])
    assert credited == ids == {row["tx"] for row in CREDITS}
    assert (counts.credit_rows, counts.rollup_rows, counts.held_rows) == (37, 68, 0)


def _route(text: str) -> tuple[str, int]:
    table, line = text.split(":")
    return table, int(line)


def test_level0_credits(result: RunResult) -> None:
    expected = Counter(
        (r["tx"], r["participant"], r["type"], r["rule"], _cents(r["amount"]), *_route(r["route"]))
        for r in CREDITS
    )
    frame = result.credits.credits.filter(pl.col("level") == 0)
    assert frame["held"].not_().all()
    assert (frame["currency"] == "USD").all()
    actual = Counter(
        frame.select(
            "transaction_id",
            "participant_id",
            "credit_type",
            "rule",
            "amount_cents",
            "route_table",
            "route_line",
        ).iter_rows()
    )
    assert actual == expected


def test_rollup_credits(result: RunResult) -> None:
    expected: Counter[tuple[object, ...]] = Counter()
    for r in CREDITS:
        if r["managers"] == "-":
            continue
        for level, hop in enumerate(r["managers"].split(), start=1):
            manager, line = hop.split("@")
            expected[r["tx"], level, manager, r["participant"], _cents(r["amount"]), int(line)] += 1
    frame = result.credits.all_credits().filter(pl.col("level") > 0)
    assert (frame["credit_type"] == "rollup").all()
    assert (frame["rule"] == "managers").all()
    assert (frame["route_table"] == "hierarchy").all()
    assert (frame["share_ppm"] == 1_000_000).all()
    actual = Counter(
        frame.select(
            "transaction_id",
            "level",
            "participant_id",
            "direct_participant_id",
            "amount_cents",
            "route_line",
        ).iter_rows()
    )
    assert actual == expected


# ---------------------------------------------------------------- measures and incentives


@pytest.mark.parametrize(("pid", "period", "rows"), _cases(MEASURES, "measures"))
def test_measures(result: RunResult, pid: str, period: str, rows: list[dict[str, str]]) -> None:
    frame = result.calc.measures.filter(
        (pl.col("participant_id") == pid) & (pl.col("period") == period)
    )
    got = {r["measure"]: r for r in frame.iter_rows(named=True)}
    for row in rows:
        actual = got[row["measure"]]
        assert actual["num"] is not None, f"{row['measure']} is undefined"
        value = Fraction(actual["num"], actual["den"])
        if actual["unit"] != "ratio":
            value /= 100  # hundredths of the unit (cents, count x 100)
        assert (row["measure"], value) == (row["measure"], _ratio(row["value"]))
        if row["quota"]:
            assert actual["quota_e2"] == _cents(row["quota"]), row["measure"]


@pytest.mark.parametrize(("pid", "period", "rows"), _cases(INCENTIVES, "incentives"))
def test_incentives(result: RunResult, pid: str, period: str, rows: list[dict[str, str]]) -> None:
    frame = result.calc.incentives.filter(
        (pl.col("participant_id") == pid) & (pl.col("period") == period)
    )
    got = {(r["plan_id"], r["component"]): r for r in frame.iter_rows(named=True)}
    for row in rows:
        actual = got[row["plan"], row["component"]]
        exact = Decimal(row["exact"]) * 10**8
        assert (row["component"], actual["earned_e8"]) == (row["component"], int(exact))
        assert (row["component"], actual["rated_cents"]) == (
            row["component"],
            _cents(row["rounded"]),
        )
        if row["tier"] != "-":
            assert actual["tier"] == int(row["tier"]), row["component"]
            assert Decimal(actual["tier_rate"]) == Decimal(row["rate"]), row["component"]


# ---------------------------------------------------------------- payouts


MONEY = ("earned", "adjustments", "draw", "recovered", "payable")


@pytest.mark.parametrize(("pid", "period", "rows"), _cases(PAYOUTS, "payouts"))
def test_payouts(result: RunResult, pid: str, period: str, rows: list[dict[str, str]]) -> None:
    lines = _payout_lines(result)
    for row in rows:
        key = (pid, period, row["plan"], row["component"], row["line"])
        assert key in lines, f"no payout line {key}"
        actual = lines[key]
        got = {m: actual[f"{m}_cents"] for m in MONEY}
        want = {m: _cents(row[m]) for m in MONEY}
        assert (key, got) == (key, want)
        assert actual["currency"] == "USD"
        if row["target"]:
            assert actual["target_incentive_cents"] == _cents(row["target"]), key


def test_no_payout_line_beyond_the_hand_worked_ones(result: RunResult) -> None:
    expected = {
        (r["participant"], r["period"], r["plan"], r["component"], r["line"]) for r in PAYOUTS
    }
    assert set(_payout_lines(result)) == expected
    assert result.calc.payouts.height == len(PAYOUTS)


def test_the_only_adjustment_is_p021s_clawback(result: RunResult) -> None:
    # docs/sample-payouts.md section 3: T1020 returns 4,000 of T1003 (paid at 5% in January)
    adjustments = result.calc.adjustments.filter(pl.col("amount_cents") != 0)
    assert adjustments.select(
        "participant_id", "period", "plan_id", "component", "type", "amount_cents"
    ).rows() == [("P021", "2026-02", "AE", "commission", "clawback", -20000)]


def test_summary_table_and_total(result: RunResult) -> None:
    cells, total = _summary()
    expected_total = _expected_total()
    # the summary table adds up to the fenced payout lines and to the stated total
    by_cell: Counter[tuple[str, str]] = Counter()
    for r in PAYOUTS:
        by_cell[r["participant"], r["period"]] += _cents(r["payable"])
        by_cell[r["participant"], "Q1"] += _cents(r["payable"])
    assert cells == dict(by_cell)
    assert total["Q1"] == expected_total == sum(_cents(r["payable"]) for r in PAYOUTS)
    # and the engine agrees, per participant and period and in total
    frame = result.calc.payouts
    engine = {
        (r[0], r[1]): r[2]
        for r in frame.group_by("participant_id", "period")
        .agg(pl.col("payable_cents").sum())
        .rows()
    }
    assert engine == {k: v for k, v in cells.items() if k[1] != "Q1"}
    assert frame["payable_cents"].sum() == expected_total
    for period in ("2026-01", "2026-02", "2026-03"):
        assert frame.filter(pl.col("period") == period)["payable_cents"].sum() == total[period]


def test_findings_are_only_known_noise(result: RunResult) -> None:
    # known noise: NO_QUOTA for attainment measures of plans a participant is not on
    on_plan = {(r["participant"], r["period"], r["plan"]) for r in PAYOUTS}
    own = {"AE": "revenue_att", "MANAGER": "team_att"}
    findings = result.calc.findings
    assert set(findings["reason"]) <= {"NO_QUOTA"}
    for pid, period, plan in on_plan:
        if plan in own:
            hit = findings.filter(
                (pl.col("participant_id") == pid)
                & (pl.col("period") == period)
                & (pl.col("subject") == own[plan])
            )
            assert hit.height == 0, hit.rows()
