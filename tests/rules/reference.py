"""A tiny, obviously-correct evaluator of condition ASTs on one row (three-valued SQL logic).

Rows hold user-facing values: Decimal for numeric kinds, datetime.date for dates, str for text,
None for null. Used as the reference the compiled Polars expressions are tested against.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any

from engine.rules.expr import (
    And,
    Between,
    Col,
    Compare,
    Const,
    InList,
    IsNull,
    Like,
    Lit,
    Node,
    Not,
    Or,
)

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _value(operand: Col | Lit, row: Mapping[str, Any]) -> Any:
    return row[operand.name] if isinstance(operand, Col) else operand.value


def _not(v: bool | None) -> bool | None:
    return None if v is None else not v


def like_match(text: str, pattern: str, escape: str | None) -> bool:
    """Match SQL LIKE by plain recursion over the pattern (small inputs only)."""
    tokens: list[str | None] = []  # None = %, "" = _, else one literal character
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if escape is not None and ch == escape:
            tokens.append(pattern[i + 1])
            i += 2
            continue
        tokens.append(None if ch == "%" else "" if ch == "_" else ch)
        i += 1

    def go(t: int, p: int) -> bool:
        if p == len(tokens):
            return t == len(text)
        tok = tokens[p]
        if tok is None:
            return any(go(k, p + 1) for k in range(t, len(text) + 1))
        if t == len(text):
            return False
        if tok == "":
            return go(t + 1, p + 1)
        return text[t] == tok and go(t + 1, p + 1)

    return go(0, 0)


def evaluate(node: Node, row: Mapping[str, Any]) -> bool | None:
    """True, False or None (unknown) for one row."""
    if isinstance(node, Const):
        return node.value
    if isinstance(node, Not):
        return _not(evaluate(node.operand, row))
    if isinstance(node, And):
        values = [evaluate(i, row) for i in node.items]
        if False in values:
            return False
        return None if None in values else True
    if isinstance(node, Or):
        values = [evaluate(i, row) for i in node.items]
        if True in values:
            return True
        return None if None in values else False
    if isinstance(node, IsNull):
        isnull = row[node.column.name] is None
        return not isnull if node.negated else isnull
    v = row[node.column.name] if not isinstance(node, Compare) else row[node.left.name]
    if isinstance(node, Compare):
        r = _value(node.right, row)
        return None if v is None or r is None else OPS[node.op](v, r)
    if v is None:
        return None
    if isinstance(node, InList):
        hit = any(v == lit.value for lit in node.values)
    elif isinstance(node, Between):
        hit = node.low.value <= v <= node.high.value  # type: ignore[operator]
    else:
        assert isinstance(node, Like)
        hit = like_match(v, node.pattern, node.escape)
    return not hit if node.negated else hit
