"""Lean credit lines: narrowed transaction columns, FX only where needed, one-pass measures."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from engine.calc.fx import convert
from engine.calc.lines import Lines, condition_columns, prepare_lines
from engine.calc.measures import compute_measures
from engine.calc.rollup_lines import line_columns
from engine.money import RoundingMode
from engine.rules.plan_schema import MEASURE_ADAPTER, Plan, TieredTable

RATES = pl.DataFrame(
    {
        "from_currency": ["EUR", "USD"],
        "to_currency": ["USD", "JPY"],
        "rate_e10": [10_850_000_000, 1_500_000_000_000],
        "valid_from": [date(2026, 1, 1), date(2026, 1, 1)],
        "valid_to": [None, date(2026, 1, 31)],
    },
    schema_overrides={"valid_to": pl.Date},
)


def _naive(amount: int | None, cur: str | None, to: str | None, on: date) -> int | None:
    """The conversion by hand (HALF_UP, positive amounts): the reference for :func:`convert`."""
    if amount is None or cur is None or to is None:
        return None
    if cur == to:
        return amount
    if (cur, to) == ("EUR", "USD"):
        return (amount * 10_850_000_000 + 5_000_000_000) // 10_000_000_000
    if (cur, to) == ("USD", "JPY") and on <= date(2026, 1, 31):
        return (amount * 150 + 50) // 100 * 100
    if (cur, to) == ("JPY", "USD") and on <= date(2026, 1, 31):
        return (amount * 100 // 100 * 10_000_000_000 + 750_000_000_000) // 1_500_000_000_000
    return None


def test_convert_looks_up_only_other_currencies_and_keeps_row_order():
    rows = pl.DataFrame(
        {
            "a": [100, 333, 10_001, 7, 500, None, 42, 9],
            "c": ["USD", "USD", "EUR", "GBP", "JPY", "EUR", None, "EUR"],
            "t": ["USD", "JPY", "USD", "USD", "USD", "USD", "USD", "EUR"],
            "d": [date(2026, 1, 5)] * 4
            + [date(2026, 1, 6), date(2026, 1, 5)]
            + [date(2026, 2, 1)] * 2,
            "other": list("abcdefgh"),
        }
    )
    out, missing = convert(
        rows, amount="a", currency="c", target="t", on="d", rates=RATES,
        mode=RoundingMode.HALF_UP, out="x",
    )  # fmt: skip
    assert out.columns == [*rows.columns, "x"]
    assert out.drop("x").equals(rows)
    expected = [_naive(*r) for r in rows.select("a", "c", "t", "d").rows()]
    assert out["x"].to_list() == expected
    assert out["x"].to_list()[:3] == [100, 50_000, 10_851]
    # no rate GBP -> USD; null currency: no value but a null amount is not "missing"
    assert missing["other"].to_list() == ["d", "g"]


def test_convert_when_every_row_is_in_its_target_currency():
    rows = pl.DataFrame({"a": [1, 2], "c": ["EUR", "EUR"], "t": ["EUR", "EUR"]}).with_columns(
        pl.lit(date(2026, 1, 1)).alias("d")
    )
    out, missing = convert(
        rows, amount="a", currency="c", target="t", on="d", rates=RATES,
        mode=RoundingMode.HALF_UP, out="x",
    )  # fmt: skip
    assert out["x"].to_list() == [1, 2]
    assert out.schema["x"] == pl.Int64
    assert missing.height == 0


def _inputs() -> dict[str, pl.DataFrame]:
    credits = pl.DataFrame(
        {
            "transaction_id": ["T1", "T2", "T1", "T3"],
            "participant_id": ["A", "A", "B", "B"],
            "credit_type": ["direct"] * 4,
            "share_ppm": [1_000_000, 1_000_000, 500_000, 1_000_000],
            "amount_cents": [10_000, 20_000, 5_000, 700],
            "currency": ["USD", "EUR", "USD", "GBP"],
            "credit_date": [date(2026, 1, 5)] * 4,
            "period": ["2026-01"] * 4,
            "held": [False, False, False, False],
        }
    )
    transactions = pl.DataFrame(
        {
            "transaction_id": ["T1", "T2", "T3"],
            "amount_cents": [10_000, 20_000, 700],
            "currency": ["USD", "EUR", "GBP"],
            "credit_date": [date(2026, 1, 5)] * 3,
            "product": ["A", "B", "A"],
            "customer": ["C1", "C2", "C3"],
            "quantity_e2": [300, 100, 200],
        }
    )
    pay = pl.DataFrame(
        {
            "participant_id": ["A", "B"],
            "period": ["2026-01", "2026-01"],
            "pay_currency": ["USD", "USD"],
            "convert_at": ["credit_date", "period_end"],
        }
    )
    calendar = pl.DataFrame(
        {"period": ["2026-01"], "start_date": [date(2026, 1, 1)], "end_date": [date(2026, 1, 31)]}
    )
    return {"credits": credits, "transactions": transactions, "pay": pay, "calendar": calendar}


@pytest.mark.parametrize("held", [False, True])
def test_prepare_lines_keep_drops_only_unread_text_columns(held):
    data = _inputs()
    credits = data.pop("credits").with_columns(pl.Series("held", [False, held, False, False]))
    common = {**data, "rates": RATES, "mode": RoundingMode.HALF_UP}
    wide, wide_missing = prepare_lines(credits, **common)
    narrow, narrow_missing = prepare_lines(credits, keep={"product"}, **common)
    assert "customer" in wide.columns
    assert "customer" not in narrow.columns
    assert {"product", "quantity_e2", "quantity_credit_e2"} <= set(narrow.columns)
    assert wide.select(narrow.columns).equals(narrow)
    assert wide_missing.select(narrow_missing.columns).equals(narrow_missing)
    # the GBP line has no rate: left out, and reported once
    assert narrow["transaction_id"].to_list() == (["T1", "T1"] if held else ["T1", "T2", "T1"])
    assert narrow_missing["transaction_id"].to_list() == ["T3"]
    # the condition vocabulary comes from the full column set, whatever is carried
    assert "customer" in condition_columns(wide)


def test_line_columns_names_everything_read_by_name():
    frame = pl.DataFrame(
        schema={
            "product": pl.Utf8,
            "customer": pl.Utf8,
            "credit_type": pl.Utf8,
            "amount_cents": pl.Int64,
            "pay_cents": pl.Int64,
            "color": pl.Utf8,
        }
    )
    shape = Lines(frame, pl.DataFrame(), condition_columns(frame))
    measures = [
        MEASURE_ADAPTER.validate_python(
            {"name": "a", "kind": "sum", "when": "product = 'X'", "include_returns": False}
        ),
        MEASURE_ADAPTER.validate_python({"name": "n", "kind": "count", "credit_types": ["x"]}),
    ]
    table = TieredTable.model_validate(
        {
            "name": "t",
            "kind": "per_transaction_marginal",
            "tiers": [{"from": 0, "rate": 0.1}],
            "order_by": ["credit_date"],
            "base": "attribute",
            "attribute": "weight",
        }
    )
    plan = Plan.model_validate(
        {
            "id": "P",
            "components": [{"name": "c", "measure": "a", "rate_table": "t"}],
            "clawback": {"window_days": 30, "percent": 1},
        }
    )
    got = line_columns(measures=measures, plans={"P": plan}, tables={"t": table}, lines=shape)
    assert got is not None
    assert {"product", "amount_cents", "credit_type", "pay_cents", "credit_date"} <= got
    assert {"weight", "weight_e2", "weight_cents", "original_transaction_id"} <= got
    assert "customer" not in got
    assert "color" not in got
    bad = MEASURE_ADAPTER.validate_python({"name": "b", "kind": "sum", "when": "nope = 'X'"})
    assert line_columns(measures=[bad], plans={}, tables={}, lines=shape) is None


def test_one_pass_counts_and_sums_match_the_lines():
    lines_frame = pl.DataFrame(
        {
            "participant_id": ["A", "A", "A", "B"],
            "period": ["2026-01", "2026-01", "2026-02", "2026-01"],
            "pay_currency": [None, "EUR", "EUR", "USD"],
            "transaction_id": ["T1", "T1", "T2", "T3"],
            "credit_type": ["direct", "overlay", "direct", "direct"],
            "amount_cents": [100, 50, -30, 7],
            "pay_cents": [110, 55, -33, 7],
            "product": ["A", "B", "A", "A"],
        }
    )
    lines = Lines(lines_frame, pl.DataFrame(), condition_columns(lines_frame))
    measures = [
        MEASURE_ADAPTER.validate_python(m)
        for m in (
            {"name": "all", "kind": "count"},
            {"name": "deals", "kind": "count", "distinct": "transaction"},
            {"name": "rev", "kind": "sum", "include_returns": False},
            {"name": "rev_a", "kind": "sum", "when": "product = 'A'"},
        )
    ]
    calendar = pl.DataFrame(
        {
            "period": ["2026-01", "2026-02"],
            "start_date": [date(2026, 1, 1), date(2026, 2, 1)],
            "end_date": [date(2026, 1, 31), date(2026, 2, 28)],
            "quarter": ["Q1", "Q1"],
            "year": ["2026", "2026"],
        }
    )
    population = pl.DataFrame(
        {"participant_id": ["C"], "period": ["2026-01"], "pay_currency": ["GBP"]}
    )
    out = compute_measures(
        lines,
        measures,
        calendar=calendar,
        quotas=pl.DataFrame(),
        participants=pl.DataFrame(),
        population=population,
        periods=["2026-01", "2026-02"],
        mode=RoundingMode.HALF_UP,
    ).frame
    rows = out.select("participant_id", "period", "measure", "currency", "num").rows()
    assert rows == [
        ("A", "2026-01", "all", None, 200),
        ("A", "2026-01", "deals", None, 100),
        ("A", "2026-01", "rev", "EUR", 165),
        ("A", "2026-01", "rev_a", "EUR", 110),
        ("A", "2026-02", "all", None, 100),
        ("A", "2026-02", "deals", None, 100),
        ("A", "2026-02", "rev", "EUR", 0),
        ("A", "2026-02", "rev_a", "EUR", -33),
        ("B", "2026-01", "all", None, 100),
        ("B", "2026-01", "deals", None, 100),
        ("B", "2026-01", "rev", "USD", 7),
        ("B", "2026-01", "rev_a", "USD", 7),
        ("C", "2026-01", "all", None, 0),
        ("C", "2026-01", "deals", None, 0),
        ("C", "2026-01", "rev", "GBP", 0),
        ("C", "2026-01", "rev_a", "GBP", 0),
    ]
