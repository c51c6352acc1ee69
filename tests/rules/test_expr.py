"""Conditions: golden cases, errors, hostile input, and a differential property test."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import EngineError, Reason
from engine.rules.expr import (
    MAX_DEPTH,
    And,
    Between,
    Col,
    Compare,
    ConditionError,
    Const,
    InList,
    IsNull,
    Like,
    Lit,
    Node,
    Not,
    Or,
    columns_used,
    compile_condition,
    format_condition,
    parse_condition,
)

from .reference import evaluate

COLUMNS = {
    "transaction_id": "id",
    "amount": "money",
    "product": "text",
    "credit_date": "date",
    "deal_type": "text",
    "quantity": "decimal",
    "customer": "text",
    "discount": "share",
    "currency": "currency",
}

ROWS = pl.DataFrame(
    {
        "transaction_id": ["T1", "T2", "T3", "T4"],
        "amount_cents": [100_000, -5_025, 5, 25_000_000],
        "product": ["A", "B", None, "AB"],
        "credit_date": [
            dt.date(2026, 1, 15),
            dt.date(2026, 2, 1),
            dt.date(2026, 3, 31),
            dt.date(2026, 4, 1),
        ],
        "deal_type": ["new", "renewal", None, "upsell"],
        "quantity_e2": [200, None, 50, 1_000],
        "customer": ["O'Brien", "Acme%Co", "acme", "Big_Corp"],
        "discount_ppm": [100_000, 0, None, 333_333],
        "currency": ["USD", "EUR", "USD", "JPY"],
    }
)

GOLDEN: list[tuple[str, list[str]]] = [
    ("TRUE", ["T1", "T2", "T3", "T4"]),
    ("FALSE", []),
    ("amount > 0", ["T1", "T3", "T4"]),
    ("amount >= 1000", ["T1", "T4"]),
    ("amount = 1000.00", ["T1"]),
    ("amount = 0.05", ["T3"]),
    ("amount < -50.24", ["T2"]),
    ("amount <= -50.25", ["T2"]),
    ("amount = -50.250", ["T2"]),  # trailing zeros are not extra precision
    ("0 < amount", ["T1", "T3", "T4"]),  # literal on the left
    ("amount BETWEEN 0.05 AND 1000", ["T1", "T3"]),
    ("amount NOT BETWEEN 0.05 AND 1000", ["T2", "T4"]),
    ("product = 'A'", ["T1"]),
    ("product <> 'A'", ["T2", "T4"]),  # null product is not a match
    ("product != 'A'", ["T2", "T4"]),
    ("NOT product = 'A'", ["T2", "T4"]),  # NOT unknown is unknown
    ("product IN ('A', 'AB')", ["T1", "T4"]),
    ("product NOT IN ('A', 'AB')", ["T2"]),
    ("product IS NULL", ["T3"]),
    ("product IS NOT NULL", ["T1", "T2", "T4"]),
    ("product IS NULL OR product = 'B'", ["T2", "T3"]),
    ("product = 'A' OR amount < 1", ["T1", "T2", "T3"]),  # unknown OR true = true
    ("NOT (product = 'A' AND amount > 0)", ["T2", "T4"]),  # NOT (unknown AND true) = unknown
    ("product < 'B'", ["T1", "T4"]),
    ("product LIKE 'A%'", ["T1", "T4"]),
    ("product LIKE 'A'", ["T1"]),
    ("product LIKE '_'", ["T1", "T2"]),
    ("product LIKE '%B'", ["T2", "T4"]),
    ("product NOT LIKE 'A%'", ["T2"]),
    ("customer LIKE '%''%'", ["T1"]),
    ("customer LIKE 'O''Brien'", ["T1"]),
    ("customer LIKE 'Acme\\%%' ESCAPE '\\'", ["T2"]),
    ("customer LIKE 'Big\\_C%' ESCAPE '\\'", ["T4"]),
    ("customer LIKE 'A%C_'", ["T2"]),
    ("customer LIKE '%c%'", ["T2", "T3"]),  # case-sensitive
    ("customer LIKE '%'", ["T1", "T2", "T3", "T4"]),
    ("customer LIKE 'a.m%'", []),  # a regex metacharacter is literal
    ("customer LIKE '%.*%'", []),
    ("credit_date < DATE '2026-02-01'", ["T1"]),
    ("credit_date BETWEEN DATE '2026-02-01' AND DATE '2026-03-31'", ["T2", "T3"]),
    ("credit_date IN (DATE '2026-04-01', DATE '2026-01-15')", ["T1", "T4"]),
    ("quantity >= 2", ["T1", "T4"]),
    ("quantity = 0.5", ["T3"]),
    ("quantity IS NULL", ["T2"]),
    ("NOT quantity > 1", ["T3"]),
    ("discount >= 0.1", ["T1", "T4"]),
    ("discount = 0.333333", ["T4"]),
    ("discount < 0.000001", ["T2"]),
    ("currency IN ('USD') AND (deal_type = 'new' OR deal_type IS NULL)", ["T1", "T3"]),
    ("not PRODUCT_x_is_unused IS NULL or TRUE", ["T1", "T2", "T3", "T4"]),
    ("\"product\" = 'B'", ["T2"]),
    ("transaction_id = 'T1' OR transaction_id = 'T2' OR transaction_id = 'T3'", ["T1", "T2", "T3"]),
    ("amount > 0 AND amount < 100000 AND NOT NOT product = 'A'", ["T1"]),
]


@pytest.mark.parametrize(("condition", "expected"), GOLDEN)
def test_golden(condition: str, expected: list[str]) -> None:
    columns = {**COLUMNS, "PRODUCT_x_is_unused": "text"}
    frame = ROWS.with_columns(pl.lit(None, dtype=pl.Utf8).alias("PRODUCT_x_is_unused"))
    expr = compile_condition(condition, columns)
    matched = frame.filter(expr)["transaction_id"].to_list()
    assert matched == expected
    # the result is a Boolean column without nulls
    flags = frame.select(expr.alias("m"))["m"]
    assert flags.dtype == pl.Boolean
    assert flags.null_count() == 0
    assert flags.len() == frame.height


@pytest.mark.parametrize(("condition", "expected"), GOLDEN)
def test_golden_round_trip_through_format(condition: str, expected: list[str]) -> None:
    text = format_condition(parse_condition(condition))
    assert format_condition(parse_condition(text)) == text


def test_money_literal_is_scaled_exactly() -> None:
    expr = compile_condition("amount = 0.29", {"amount": "money"})
    frame = pl.DataFrame({"amount_cents": [29, 28, 30]})
    assert frame.select(expr)["amount_cents"].to_list() == [True, False, False]
    big = compile_condition("amount < 92233720368547758.07", {"amount": "money"})
    assert pl.DataFrame({"amount_cents": [1]}).select(big).item()


def test_columns_used() -> None:
    ast = parse_condition("a = 1 AND (b LIKE 'x' OR NOT c IN ('y')) AND d BETWEEN 1 AND 2")
    assert columns_used(ast) == {"a", "b", "c", "d"}
    assert columns_used(parse_condition("x = y")) == {"x", "y"}
    assert columns_used(parse_condition("TRUE")) == frozenset()


def test_parse_shapes() -> None:
    ast = parse_condition("a = 1 OR b = 2 OR c = 3")
    assert isinstance(ast, Or)
    assert len(ast.items) == 3  # chains stay flat
    flipped = parse_condition("5 > amount")
    assert isinstance(flipped, Compare)
    assert flipped.op == "<"
    assert flipped.left == Col("amount", 4)
    neg = parse_condition("x not in ('a')")
    assert isinstance(neg, InList)
    assert neg.negated
    assert parse_condition("x <> 'a'") == Compare("!=", Col("x", 0), Lit("text", "a", 5), 0)


# --- errors -----------------------------------------------------------------------------------

SYNTAX_ERRORS: list[tuple[str, int]] = [
    # (condition, 0-based position of the problem)
    ("amount >> 5", 8),
    ("amount > ", 9),
    ("", 0),
    ("   ", 3),
    ("amount", 6),
    ("amount = 5)", 10),
    ("(amount = 5", 11),
    ("product IN ()", 12),
    ("product IN ('A',)", 16),
    ("product = 'A", 10),
    ("amount == 5", 7),
    ("amount = NULL", 9),
    ("product IS 'A'", 11),
    ("credit_date > DATE '2026-02-30'", 19),
    ("credit_date > DATE 2026", 19),
    ("1 = 1", 0),
    ("'A' IN ('A')", 0),
    ("amount BETWEEN 1 OR 2", 17),
    ("product LIKE 'a\\' ESCAPE '\\'", 13),
    ("product LIKE x", 13),
    ("amount > 5 AND", 14),
    ("amount @ 5", 7),
    ('"" = 1', 0),
    ("and = 5", 0),
    ("x = 1; DROP TABLE t", 5),
]


@pytest.mark.parametrize(("condition", "position"), SYNTAX_ERRORS)
def test_syntax_errors(condition: str, position: int) -> None:
    with pytest.raises(ConditionError) as info:
        compile_condition(condition, COLUMNS)
    err = info.value
    assert isinstance(err, EngineError)
    assert err.reason is Reason.RULE_BAD_EXPRESSION
    assert err.position == position
    finding = err.findings[0]
    assert finding.value == condition
    assert f"at character {position + 1}" in finding.message
    # caret excerpt: the last line is a caret under the offending character
    caret_line = finding.message.splitlines()[-1]
    assert caret_line.index("^") - 4 == position - (condition.rfind("\n", 0, position) + 1)


TYPE_ERRORS = [
    "amount = '5'",
    "amount > DATE '2026-01-01'",
    "amount = 0.001",
    "amount = 1.005",
    "quantity > 0.125",
    "discount = 0.0000001",
    "product = 5",
    "product > DATE '2026-01-01'",
    "credit_date > '2026-01-01'",
    "credit_date = 20260101",
    "product = TRUE",
    "amount LIKE '5%'",
    "credit_date LIKE '2026%'",
    "amount = product",
    "amount = quantity",
    "credit_date = product",
    "amount IN (1, 'x')",
    "product BETWEEN 'A' AND 1",
    "amount > 99999999999999999999",
]


@pytest.mark.parametrize("condition", TYPE_ERRORS)
def test_type_errors(condition: str) -> None:
    with pytest.raises(ConditionError) as info:
        compile_condition(condition, COLUMNS)
    assert info.value.reason is Reason.RULE_BAD_EXPRESSION
    assert info.value.position is not None


@pytest.mark.parametrize(
    ("condition", "name", "suggestion"),
    [
        ("amonut > 5", "amonut", "amount"),
        ("Product = 'A'", "Product", "product"),
        ("x = 'a' AND produkt IN ('A')", "produkt", "product"),
        ("zzz IS NULL", "zzz", None),
    ],
)
def test_unknown_column(condition: str, name: str, suggestion: str | None) -> None:
    with pytest.raises(ConditionError) as info:
        compile_condition(condition, {**COLUMNS, "x": "text"} if "x = " in condition else COLUMNS)
    err = info.value
    assert err.reason is Reason.RULE_UNKNOWN_COLUMN
    assert err.position == condition.index(name)
    hint = err.findings[0].remedy
    if suggestion:
        assert f"'{suggestion}'" in hint
        assert "did you mean" in hint
    else:
        assert "known columns" in hint


def test_bad_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="kind"):
        compile_condition("a = 1", {"a": "float"})


# --- hostile input ----------------------------------------------------------------------------

HOSTILE = [
    "__import__('os')",
    "__import__('os').system('echo pwned')",
    "open('x')",
    "open('x').read()",
    "eval('1')",
    "exec('import os')",
    "lambda: 1",
    "amount > 0 or __import__('os')",
    "pl.col('amount') > 0",
    "amount > 0 --",
    "amount > 0 /* */",
    "product = 'A'; SELECT * FROM t",
    "${HOME}",
    "amount > 0 \x00",
    "product = 'A' \\",
    "[1, 2]",
]


@pytest.mark.parametrize("condition", HOSTILE)
def test_hostile_inputs_are_typed_errors(condition: str, tmp_path: Any) -> None:
    with pytest.raises(ConditionError) as info:
        compile_condition(condition, COLUMNS)
    assert info.value.reason in {Reason.RULE_BAD_EXPRESSION, Reason.RULE_UNKNOWN_COLUMN}


@pytest.mark.parametrize(
    "condition",
    [
        "(" * 100_000 + "amount > 0" + ")" * 100_000,
        "NOT " * 50_000 + "amount > 0",
        "(" * (MAX_DEPTH + 1) + "amount > 0" + ")" * (MAX_DEPTH + 1),
        "NOT " * (MAX_DEPTH + 1) + "amount > 0",
        "product IN (" + ", ".join(["'x'"] * 10_000) + ")",
    ],
)
def test_deep_or_huge_input_is_a_typed_error(condition: str) -> None:
    with pytest.raises(ConditionError) as info:
        compile_condition(condition, COLUMNS)
    assert info.value.reason is Reason.RULE_BAD_EXPRESSION


def test_max_depth_is_allowed() -> None:
    nested = "(" * MAX_DEPTH + "amount > 0" + ")" * MAX_DEPTH
    assert ROWS.filter(compile_condition(nested, COLUMNS)).height == 3


def test_long_flat_chains_do_not_recurse() -> None:
    chain = " OR ".join(f"transaction_id = 'T{i}'" for i in range(500))
    assert ROWS.filter(compile_condition(chain, COLUMNS)).height == 4


def test_long_line_excerpt_is_cut() -> None:
    text = "amount > 0 AND " * 30 + "amount ? 1"
    with pytest.raises(ConditionError) as info:
        compile_condition(text, COLUMNS)
    lines = info.value.findings[0].message.splitlines()
    assert len(lines[-2]) < 100
    assert lines[-2][lines[-1].index("^")] == "?"


def test_multiline_condition_excerpt() -> None:
    text = "amount > 0\n  AND product = = 'A'"
    with pytest.raises(ConditionError) as info:
        compile_condition(text, COLUMNS)
    lines = info.value.findings[0].message.splitlines()
    assert lines[-2] == "      AND product = = 'A'"
    assert lines[-1].index("^") == lines[-2].index("= '")


# --- differential property test ---------------------------------------------------------------

PROP_COLUMNS = {"amount": "money", "qty": "decimal", "pct": "share", "d": "date", "p": "text"}
SCALES = {"amount": 2, "qty": 2, "pct": 6}
STORED = {"amount": "amount_cents", "qty": "qty_e2", "pct": "pct_ppm", "d": "d", "p": "p"}
TEXTS = ["", "A", "B", "AB", "a%", "O'B", "x_y", "é", "A.B"]
BASE_DATE = dt.date(2026, 1, 1)


def _num_lit(scale: int) -> st.SearchStrategy[Lit]:
    return st.integers(-300, 300).map(lambda i: Lit("number", Decimal(i).scaleb(-scale)))


def _date_lit() -> st.SearchStrategy[Lit]:
    return st.integers(0, 20).map(lambda i: Lit("date", BASE_DATE + dt.timedelta(days=i)))


def _lit_for(name: str) -> st.SearchStrategy[Lit]:
    if name in SCALES:
        return _num_lit(SCALES[name])
    if name == "d":
        return _date_lit()
    return st.sampled_from(TEXTS).map(lambda t: Lit("text", t))


def _predicate(name: str) -> st.SearchStrategy[Node]:
    col = Col(name)
    lit = _lit_for(name)
    ops = st.sampled_from(["=", "!=", "<", "<=", ">", ">="])
    options: list[st.SearchStrategy[Node]] = [
        st.builds(Compare, ops, st.just(col), lit),
        st.builds(Compare, ops, st.just(col), st.just(col)),
        st.builds(
            InList, st.just(col), st.lists(lit, min_size=1, max_size=4).map(tuple), st.booleans()
        ),
        st.builds(IsNull, st.just(col), st.booleans()),
        st.builds(Between, st.just(col), lit, lit, st.booleans()),
    ]
    if name == "p":
        pattern = st.text(alphabet="AB%_'x.é\\", max_size=5)
        options.append(st.builds(Like, st.just(col), pattern, st.just(None), st.booleans()))
    return st.one_of(options)


LEAVES: st.SearchStrategy[Node] = st.one_of(
    st.sampled_from(list(PROP_COLUMNS)).flatmap(_predicate),
    st.booleans().map(Const),
)


def _extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    return st.one_of(
        children.map(Not),
        st.lists(children, min_size=2, max_size=4).map(lambda xs: And(tuple(xs))),
        st.lists(children, min_size=2, max_size=4).map(lambda xs: Or(tuple(xs))),
    )


CONDITIONS = st.recursive(LEAVES, _extend, max_leaves=12)


def _row() -> st.SearchStrategy[dict[str, Any]]:
    def maybe(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        return st.one_of(st.none(), s)

    return st.fixed_dictionaries(
        {
            "amount": maybe(st.integers(-300, 300)),
            "qty": maybe(st.integers(-300, 300)),
            "pct": maybe(st.integers(-300, 300)),
            "d": maybe(st.integers(0, 20)),
            "p": maybe(st.sampled_from(TEXTS)),
        }
    )


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    data = {STORED[n]: [r[n] for r in rows] for n in ("amount", "qty", "pct", "p")}
    data["d"] = [None if r["d"] is None else BASE_DATE + dt.timedelta(days=r["d"]) for r in rows]
    schema = {
        "amount_cents": pl.Int64,
        "qty_e2": pl.Int64,
        "pct_ppm": pl.Int64,
        "p": pl.Utf8,
        "d": pl.Date,
    }
    return pl.DataFrame(data, schema=schema)


def _user_row(row: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in row.items():
        if value is None:
            out[name] = None
        elif name in SCALES:
            out[name] = Decimal(value).scaleb(-SCALES[name])
        elif name == "d":
            out[name] = BASE_DATE + dt.timedelta(days=value)
        else:
            out[name] = value
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(CONDITIONS, st.lists(_row(), min_size=1, max_size=8))
def test_compiled_matches_reference(node: Node, rows: list[dict[str, Any]]) -> None:
    text = format_condition(node)
    parsed = parse_condition(text)
    assert format_condition(parsed) == text
    got = _frame(rows).select(compile_condition(text, PROP_COLUMNS).alias("m"))["m"].to_list()
    expected = [evaluate(parsed, _user_row(r)) is True for r in rows]
    assert got == expected
    # the evaluator agrees on the generated AST too (the formatter loses nothing)
    assert [evaluate(node, _user_row(r)) is True for r in rows] == expected
