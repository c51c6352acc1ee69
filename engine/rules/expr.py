"""Conditions: a small SQL-like language over transaction columns, compiled to Polars.

Rule sets select transactions with conditions such as
``product IN ('A', 'B') AND amount >= 1000 AND credit_date < DATE '2026-04-01'``. The text is
parsed by a hand-written recursive-descent parser into a small AST, type-checked against the
columns it may use, and compiled to a Polars expression. User text is never run as Python and
never handed to a SQL engine.

Grammar (keywords are case-insensitive)::

    condition  := or
    or         := and ("OR" and)*
    and        := not ("AND" not)*
    not        := "NOT" not | predicate
    predicate  := "(" or ")" | "TRUE" | "FALSE"
                | operand cmp operand                      cmp: = != <> < <= > >=
                | column ["NOT"] "IN" "(" literal ("," literal)* ")"
                | column "IS" ["NOT"] "NULL"
                | column ["NOT"] "BETWEEN" literal "AND" literal
                | column ["NOT"] "LIKE" 'pattern' ["ESCAPE" 'c']
    operand    := column | literal
    column     := name | "double-quoted name"
    literal    := 'text' ('' inside is a quote) | [-]number | DATE 'YYYY-MM-DD'

Types follow the data contract (:mod:`engine.contract`): a ``money`` column ``amount`` is
compared through its stored ``amount_cents`` (literals scaled exactly by 100; a literal with more
than 2 decimals is an error), ``decimal`` through ``<name>_e2`` (x100), ``share`` through
``<name>_ppm`` (x10**6), ``fx`` through ``<name>_e10``; ``date`` columns take ``DATE '...'``
literals; ``text``/``id``/``currency``/``enum`` columns take quoted text. Numbers are exact
decimals, never floats.

Nulls follow SQL: a comparison with a null is unknown, unknown is not a match
(the compiled expression is never null).

Example:
    >>> import polars as pl
    >>> df = pl.DataFrame({"amount_cents": [150, 99, None], "product": ["A", "B", "A"]})
    >>> cond = compile_condition("amount >= 1.00 AND product = 'A'",
    ...                          {"amount": "money", "product": "text"})
    >>> df.select(cond.alias("match"))["match"].to_list()
    [True, False, False]
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, TypeAlias

import polars as pl

from engine.errors import EngineError, Finding, Reason
from engine.money import parse_decimal

__all__ = [
    "KINDS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "And",
    "Between",
    "Col",
    "Compare",
    "ConditionError",
    "Const",
    "InList",
    "IsNull",
    "Like",
    "Lit",
    "Node",
    "Not",
    "Or",
    "columns_used",
    "compile_ast",
    "compile_condition",
    "format_condition",
    "parse_condition",
    "stored_column",
]

MAX_LENGTH = 20_000
"""Longest condition accepted, in characters."""
MAX_DEPTH = 40
"""Deepest nesting of parentheses and NOTs accepted (a typed error, never a RecursionError)."""

NUMERIC_KINDS: dict[str, tuple[str, int]] = {
    "money": ("_cents", 2),
    "decimal": ("_e2", 2),
    "share": ("_ppm", 6),
    "fx": ("_e10", 10),
}
"""Numeric column kinds: the stored column suffix and the decimal scale of the stored Int64."""
TEXT_KINDS = frozenset({"text", "id", "currency", "enum"})
"""Column kinds compared as text."""
KINDS = frozenset({*NUMERIC_KINDS, *TEXT_KINDS, "date"})
"""Every column kind a condition can use."""

_INT64_MAX = 2**63 - 1
CmpOp = Literal["=", "!=", "<", "<=", ">", ">="]
_FLIP: dict[str, CmpOp] = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


# ---------------------------------------------------------------------------------------------
# AST


@dataclass(frozen=True)
class Col:
    """A column reference, by its user-facing name."""

    name: str
    pos: int = 0


@dataclass(frozen=True)
class Lit:
    """A literal. ``kind`` is ``text``, ``number`` (an exact Decimal), ``date`` or ``bool``."""

    kind: Literal["text", "number", "date", "bool"]
    value: str | Decimal | dt.date | bool
    pos: int = 0


Operand: TypeAlias = Col | Lit


@dataclass(frozen=True)
class Compare:
    """``left op right``; at least one side is a column (the parser puts a column on the left)."""

    op: CmpOp
    left: Col
    right: Operand
    pos: int = 0


@dataclass(frozen=True)
class InList:
    """``column [NOT] IN (literal, ...)``."""

    column: Col
    values: tuple[Lit, ...]
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class IsNull:
    """``column IS [NOT] NULL``."""

    column: Col
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class Between:
    """``column [NOT] BETWEEN low AND high`` (both ends inclusive)."""

    column: Col
    low: Lit
    high: Lit
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class Like:
    """``column [NOT] LIKE 'pattern' [ESCAPE 'c']``: ``%`` any run, ``_`` one character."""

    column: Col
    pattern: str
    escape: str | None = None
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class Const:
    """``TRUE`` or ``FALSE`` standing alone as a condition."""

    value: bool
    pos: int = 0


@dataclass(frozen=True)
class Not:
    """``NOT operand``."""

    operand: Node
    pos: int = 0


@dataclass(frozen=True)
class And:
    """All of ``items`` (two or more; chains are kept flat)."""

    items: tuple[Node, ...]
    pos: int = 0


@dataclass(frozen=True)
class Or:
    """Any of ``items`` (two or more; chains are kept flat)."""

    items: tuple[Node, ...]
    pos: int = 0


Node: TypeAlias = Compare | InList | IsNull | Between | Like | Const | Not | And | Or


# ---------------------------------------------------------------------------------------------
# Errors


@dataclass
class ConditionError(EngineError):
    """A condition that cannot be parsed or compiled.

    Attributes:
        position: 0-based character offset of the problem in the condition text.
    """

    position: int | None = None


class _ExprError(Exception):
    """Raised inside the parser and compiler; turned into a :class:`ConditionError`."""

    def __init__(self, reason: Reason, message: str, pos: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.pos = pos
        self.hint = hint


def _excerpt(text: str, pos: int, width: int = 70) -> str:
    """The line of ``text`` holding ``pos`` with a caret under it, cut to ``width`` characters."""
    pos = max(0, min(pos, len(text)))
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    line = text[start : end if end >= 0 else len(text)]
    col = pos - start
    if len(line) > width:
        left = max(0, min(col - width // 2, len(line) - width))
        line = ("..." if left else "") + line[left : left + width]
        col = col - left + (3 if left else 0)
    return f"    {line}\n    {' ' * col}^"


def _error(text: str, problem: _ExprError) -> ConditionError:
    message = f"{problem.message} (at character {problem.pos + 1})\n{_excerpt(text, problem.pos)}"
    finding = Finding(problem.reason, message, hint=problem.hint, value=text)
    return ConditionError([finding], position=problem.pos)


# ---------------------------------------------------------------------------------------------
# Tokens

_KEYWORDS = frozenset(
    {"AND", "OR", "NOT", "IN", "IS", "NULL", "BETWEEN", "LIKE", "ESCAPE", "TRUE", "FALSE", "DATE"}
)
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^']|'')*')
  | (?P<qident>"(?:[^"]|"")*")
  | (?P<number>\d+(?:\.\d*)?|\.\d+)
  | (?P<ident>[^\W\d]\w*)
  | (?P<op><=|>=|<>|!=|==|=|<|>)
  | (?P<punct>[(),+-])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # kw, ident, string, number, op, punct, eof
    value: str
    pos: int


def _tokenize(text: str) -> Iterator[_Token]:
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            ch = text[pos]
            if ch in "'\"":
                what = "text" if ch == "'" else "quoted column name"
                raise _ExprError(
                    Reason.RULE_BAD_EXPRESSION,
                    f"unterminated {what}: missing the closing {ch}",
                    pos,
                    "close the quote; write a quote inside text as two quotes: 'O''Brien'",
                )
            raise _ExprError(Reason.RULE_BAD_EXPRESSION, f"unexpected character {ch!r}", pos)
        kind = m.lastgroup or ""
        raw = m.group()
        if kind == "string":
            yield _Token("string", raw[1:-1].replace("''", "'"), pos)
        elif kind == "qident":
            name = raw[1:-1].replace('""', '"')
            if not name:
                raise _ExprError(Reason.RULE_BAD_EXPRESSION, "empty quoted column name", pos)
            yield _Token("ident", name, pos)
        elif kind == "ident":
            upper = raw.upper()
            yield _Token("kw", upper, pos) if upper in _KEYWORDS else _Token("ident", raw, pos)
        elif kind != "ws":
            yield _Token(kind, raw, pos)
        pos = m.end()
    yield _Token("eof", "", pos)


def _describe(tok: _Token) -> str:
    if tok.kind == "eof":
        return "the end of the condition"
    if tok.kind == "string":
        return f"text {tok.value!r}"
    return repr(tok.value)


# ---------------------------------------------------------------------------------------------
# Parser


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = list(_tokenize(text))
        self.i = 0
        self.depth = 0

    # helpers
    def peek(self, offset: int = 0) -> _Token:
        return self.tokens[min(self.i + offset, len(self.tokens) - 1)]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def at_kw(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "kw" and tok.value in words

    def fail(self, message: str, tok: _Token | None = None, hint: str | None = None) -> _ExprError:
        tok = tok or self.peek()
        return _ExprError(Reason.RULE_BAD_EXPRESSION, message, tok.pos, hint)

    def expect_kw(self, word: str, context: str) -> _Token:
        if not self.at_kw(word):
            raise self.fail(f"expected {word} {context}, found {_describe(self.peek())}")
        return self.advance()

    def expect_punct(self, char: str, context: str) -> _Token:
        tok = self.peek()
        if tok.kind != "punct" or tok.value != char:
            raise self.fail(f"expected '{char}' {context}, found {_describe(tok)}")
        return self.advance()

    def enter(self, tok: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(
                f"the condition is nested more than {MAX_DEPTH} levels deep",
                tok,
                "split it into simpler conditions or several rules",
            )

    # grammar
    def parse(self) -> Node:
        if not self.text.strip():
            raise self.fail("the condition is empty", hint="write a condition, or omit 'when'")
        node = self.or_()
        tok = self.peek()
        if tok.kind != "eof":
            hint = None
            if tok.kind == "punct" and tok.value == ")":
                hint = "remove the extra ')' or add the matching '('"
            raise self.fail(f"unexpected {_describe(tok)}", tok, hint)
        return node

    def or_(self) -> Node:
        first = self.peek()
        items = [self.and_()]
        while self.at_kw("OR"):
            self.advance()
            items.append(self.and_())
        return items[0] if len(items) == 1 else Or(tuple(items), first.pos)

    def and_(self) -> Node:
        first = self.peek()
        items = [self.not_()]
        while self.at_kw("AND"):
            self.advance()
            items.append(self.not_())
        return items[0] if len(items) == 1 else And(tuple(items), first.pos)

    def not_(self) -> Node:
        if self.at_kw("NOT"):
            tok = self.advance()
            self.enter(tok)
            operand = self.not_()
            self.depth -= 1
            return Not(operand, tok.pos)
        return self.predicate()

    def predicate(self) -> Node:
        tok = self.peek()
        if tok.kind == "punct" and tok.value == "(":
            self.advance()
            self.enter(tok)
            node = self.or_()
            self.depth -= 1
            self.expect_punct(")", f"to close the '(' at character {tok.pos + 1}")
            return node
        if self.at_kw("TRUE", "FALSE"):
            self.advance()
            return Const(tok.value == "TRUE", tok.pos)
        left = self.operand()
        nxt = self.peek()
        if nxt.kind == "op":
            return self.comparison(left)
        negated = False
        if self.at_kw("NOT") and self.peek(1).kind == "kw":
            negated = True
            self.advance()
        if self.at_kw("IN", "BETWEEN", "LIKE"):
            word = self.advance()
            column = self.need_column(left, word.value)
            if word.value == "IN":
                return InList(column, self.in_list(), negated, left.pos)
            if word.value == "BETWEEN":
                low = self.literal("after BETWEEN")
                self.expect_kw("AND", "between the two bounds of BETWEEN")
                high = self.literal("after BETWEEN ... AND")
                return Between(column, low, high, negated, left.pos)
            return self.like(column, negated)
        if self.at_kw("IS") and not negated:
            self.advance()
            column = self.need_column(left, "IS NULL")
            neg = False
            if self.at_kw("NOT"):
                self.advance()
                neg = True
            self.expect_kw("NULL", "after IS")
            return IsNull(column, neg, left.pos)
        what = f"column {left.name!r}" if isinstance(left, Col) else "the value"
        raise self.fail(
            f"expected a comparison after {what}, found {_describe(self.peek())}",
            hint="compare it: =, <>, <, <=, >, >=, IN (...), IS NULL, BETWEEN ... AND ..., "
            "LIKE '...'",
        )

    def comparison(self, left: Operand) -> Node:
        tok = self.advance()
        if tok.value == "==":
            raise self.fail("'==' is not SQL", tok, "write a single '=' to test equality")
        op: CmpOp = "!=" if tok.value == "<>" else tok.value  # type: ignore[assignment]
        if self.at_kw("NULL"):
            raise self.fail(
                f"a comparison with NULL ({op} NULL) is never true",
                hint="write IS NULL or IS NOT NULL",
            )
        right = self.operand()
        if isinstance(left, Col):
            return Compare(op, left, right, left.pos)
        if isinstance(right, Col):
            return Compare(_FLIP[op], right, left, left.pos)
        raise _ExprError(
            Reason.RULE_BAD_EXPRESSION,
            "a comparison needs a column on at least one side",
            left.pos,
            "compare a column with a value, e.g. amount > 0",
        )

    def need_column(self, operand: Operand, what: str) -> Col:
        if isinstance(operand, Col):
            return operand
        raise _ExprError(
            Reason.RULE_BAD_EXPRESSION,
            f"{what} needs a column on its left",
            operand.pos,
            "write the column first, e.g. product IN ('A', 'B')",
        )

    def in_list(self) -> tuple[Lit, ...]:
        self.expect_punct("(", "after IN")
        values = [self.literal("in the IN list")]
        while self.peek().kind == "punct" and self.peek().value == ",":
            self.advance()
            values.append(self.literal("in the IN list"))
        self.expect_punct(")", "to close the IN list")
        return tuple(values)

    def like(self, column: Col, negated: bool) -> Like:
        tok = self.peek()
        if tok.kind != "string":
            raise self.fail(f"expected a quoted pattern after LIKE, found {_describe(tok)}")
        self.advance()
        escape: str | None = None
        if self.at_kw("ESCAPE"):
            self.advance()
            esc = self.peek()
            if esc.kind != "string" or len(esc.value) != 1:
                raise self.fail("ESCAPE takes one quoted character, e.g. ESCAPE '\\'")
            self.advance()
            escape = esc.value
        _like_parts(tok.value, escape, tok.pos)  # validate the pattern now
        return Like(column, tok.value, escape, negated, column.pos)

    def literal(self, context: str) -> Lit:
        operand = self.operand()
        if isinstance(operand, Col):
            raise _ExprError(
                Reason.RULE_BAD_EXPRESSION,
                f"expected a value {context}, found column {operand.name!r}",
                operand.pos,
                "quote text values: 'A'",
            )
        return operand

    def operand(self) -> Operand:
        tok = self.peek()
        if tok.kind == "ident":
            self.advance()
            return Col(tok.value, tok.pos)
        if tok.kind == "string":
            self.advance()
            return Lit("text", tok.value, tok.pos)
        if tok.kind == "number" or (tok.kind == "punct" and tok.value in "+-"):
            return self.number()
        if self.at_kw("DATE"):
            self.advance()
            text = self.peek()
            if text.kind != "string":
                raise self.fail(f"expected 'YYYY-MM-DD' after DATE, found {_describe(text)}")
            self.advance()
            return Lit("date", _parse_date(text.value, text.pos), tok.pos)
        if self.at_kw("TRUE", "FALSE"):
            self.advance()
            return Lit("bool", tok.value == "TRUE", tok.pos)
        if self.at_kw("NULL"):
            raise self.fail("NULL can only be tested with IS NULL / IS NOT NULL")
        hint = None
        if tok.kind == "kw":
            hint = f'{tok.value} is a keyword; quote a column of that name: "{tok.value.lower()}"'
        raise self.fail(f"expected a column or a value, found {_describe(tok)}", hint=hint)

    def number(self) -> Lit:
        start = self.peek()
        sign = ""
        if start.kind == "punct":
            sign = "-" if start.value == "-" else ""
            self.advance()
        tok = self.peek()
        if tok.kind != "number":
            raise self.fail(f"expected a number after '{start.value}', found {_describe(tok)}")
        self.advance()
        return Lit("number", Decimal(sign + tok.value), start.pos)


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_date(text: str, pos: int) -> dt.date:
    if _DATE_RE.match(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    raise _ExprError(
        Reason.RULE_BAD_EXPRESSION,
        f"{text!r} is not a date",
        pos,
        "write dates as DATE 'YYYY-MM-DD', e.g. DATE '2026-01-31'",
    )


def _like_parts(pattern: str, escape: str | None, pos: int) -> list[str | None]:
    """Split a LIKE pattern into literal runs (str) and wildcards (None = ``%``, '' = ``_``)."""
    parts: list[str | None] = []
    buf: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if escape is not None and ch == escape:
            if i + 1 >= len(pattern) or pattern[i + 1] not in ("%", "_", escape):
                raise _ExprError(
                    Reason.RULE_BAD_EXPRESSION,
                    f"the escape character {escape!r} must be followed by %, _ or itself",
                    pos,
                )
            buf.append(pattern[i + 1])
            i += 2
            continue
        if ch in "%_":
            if buf:
                parts.append("".join(buf))
                buf = []
            parts.append(None if ch == "%" else "")
        else:
            buf.append(ch)
        i += 1
    if buf:
        parts.append("".join(buf))
    return parts


def parse_condition(text: str) -> Node:
    """Parse a condition into its AST (no column checks; see :func:`compile_condition`).

    Raises:
        ConditionError: ``RULE_BAD_EXPRESSION`` with the 0-based ``position`` of the problem
            and a caret excerpt in the message.

    Example:
        >>> parse_condition("product IN ('A') AND NOT amount > 5")  # doctest: +ELLIPSIS
        And(items=(InList(column=Col(name='product', pos=0), values=(Lit(...),), ...), ...)
        >>> parse_condition("amount >> 5")
        Traceback (most recent call last):
        ...
        engine.rules.expr.ConditionError: ... RULE_BAD_EXPRESSION: expected a column or a value...
    """
    if len(text) > MAX_LENGTH:
        raise _error(
            text[:200],
            _ExprError(
                Reason.RULE_BAD_EXPRESSION,
                f"the condition is longer than {MAX_LENGTH} characters",
                0,
                "split it into several rules, or classify first and test the attribute",
            ),
        )
    try:
        return _Parser(text).parse()
    except _ExprError as problem:
        raise _error(text, problem) from None


# ---------------------------------------------------------------------------------------------
# Column use


def _walk(node: Node) -> Iterator[Node]:
    stack: list[Node] = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, And | Or):
            stack.extend(reversed(current.items))
        elif isinstance(current, Not):
            stack.append(current.operand)


def columns_used(node: Node) -> frozenset[str]:
    """The user-facing column names a condition reads (for lineage and specificity).

    Example:
        >>> sorted(columns_used(parse_condition("a = 1 OR (b IS NULL AND c < a)")))
        ['a', 'b', 'c']
    """
    names: set[str] = set()
    for n in _walk(node):
        if isinstance(n, Compare):
            names.add(n.left.name)
            if isinstance(n.right, Col):
                names.add(n.right.name)
        elif isinstance(n, InList | IsNull | Between | Like):
            names.add(n.column.name)
    return frozenset(names)


def stored_column(name: str, kind: str) -> str:
    """The stored (typed frame) column behind a user-facing column of ``kind``.

    Example:
        >>> stored_column("amount", "money"), stored_column("product", "text")
        ('amount_cents', 'product')
    """
    suffix = NUMERIC_KINDS.get(kind, ("", 0))[0]
    return name + suffix


_PLAIN_NAME = re.compile(r"^[^\W\d]\w*$")


def _fmt_col(col: Col) -> str:
    if _PLAIN_NAME.match(col.name) and col.name.upper() not in _KEYWORDS:
        return col.name
    return '"' + col.name.replace('"', '""') + '"'


def _fmt_lit(lit: Lit) -> str:
    if isinstance(lit.value, bool):
        return "TRUE" if lit.value else "FALSE"
    if isinstance(lit.value, Decimal):
        return _plain(lit.value)
    if isinstance(lit.value, dt.date):
        return f"DATE '{lit.value.isoformat()}'"
    return "'" + lit.value.replace("'", "''") + "'"


def _fmt_operand(operand: Operand) -> str:
    return _fmt_col(operand) if isinstance(operand, Col) else _fmt_lit(operand)


def format_condition(node: Node) -> str:
    """Write an AST back as normalized condition text (parses back to the same AST).

    Example:
        >>> format_condition(parse_condition("not (A<>1 or b  is null) and c like 'x%'"))
        "NOT (A != 1 OR b IS NULL) AND c LIKE 'x%'"
    """
    neg = "NOT " if getattr(node, "negated", False) else ""
    if isinstance(node, And | Or):
        word = " AND " if isinstance(node, And) else " OR "
        return word.join(
            f"({format_condition(i)})" if isinstance(i, And | Or) else format_condition(i)
            for i in node.items
        )
    if isinstance(node, Not):
        inner = format_condition(node.operand)
        return f"NOT ({inner})" if isinstance(node.operand, And | Or) else f"NOT {inner}"
    if isinstance(node, Const):
        return "TRUE" if node.value else "FALSE"
    if isinstance(node, Compare):
        return f"{_fmt_col(node.left)} {node.op} {_fmt_operand(node.right)}"
    if isinstance(node, InList):
        values = ", ".join(_fmt_lit(v) for v in node.values)
        return f"{_fmt_col(node.column)} {neg}IN ({values})"
    if isinstance(node, IsNull):
        return f"{_fmt_col(node.column)} IS {neg}NULL"
    if isinstance(node, Between):
        low, high = _fmt_lit(node.low), _fmt_lit(node.high)
        return f"{_fmt_col(node.column)} {neg}BETWEEN {low} AND {high}"
    pattern = _fmt_lit(Lit("text", node.pattern))
    escape = "" if node.escape is None else " ESCAPE " + _fmt_lit(Lit("text", node.escape))
    return f"{_fmt_col(node.column)} {neg}LIKE {pattern}{escape}"


# ---------------------------------------------------------------------------------------------
# Compiler


def _did_you_mean(name: str, known: Mapping[str, str]) -> str:
    lower = {k.lower(): k for k in known}
    if name.lower() in lower:
        return f"did you mean {lower[name.lower()]!r}? (column names are case-sensitive)"
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    if close:
        return "did you mean " + " or ".join(repr(c) for c in close) + "?"
    listed = ", ".join(sorted(known)[:30])
    return f"known columns: {listed}"


class _Compiler:
    def __init__(self, columns: Mapping[str, str]) -> None:
        for name, kind in columns.items():
            if kind not in KINDS:
                msg = f"column {name!r} has kind {kind!r}; expected one of {sorted(KINDS)}"
                raise ValueError(msg)
        self.columns = columns

    def kind(self, col: Col) -> str:
        kind = self.columns.get(col.name)
        if kind is None:
            raise _ExprError(
                Reason.RULE_UNKNOWN_COLUMN,
                f"unknown column {col.name!r}",
                col.pos,
                _did_you_mean(col.name, self.columns),
            )
        return kind

    def col(self, col: Col) -> pl.Expr:
        return pl.col(stored_column(col.name, self.kind(col)))

    def value(self, lit: Lit, col: Col) -> int | str | dt.date:
        """The literal as a stored value comparable with ``col``."""
        kind = self.kind(col)
        if lit.kind == "bool":
            raise _ExprError(
                Reason.RULE_BAD_EXPRESSION,
                f"{col.name!r} is a {kind} column and cannot be compared with TRUE/FALSE",
                lit.pos,
            )
        if kind in NUMERIC_KINDS:
            scale = NUMERIC_KINDS[kind][1]
            if lit.kind != "number" or not isinstance(lit.value, Decimal):
                raise _ExprError(
                    Reason.RULE_BAD_EXPRESSION,
                    f"{col.name!r} is a {kind} column; it is compared with numbers, "
                    f"not {_lit_desc(lit)}",
                    lit.pos,
                    f"write a plain number without quotes, e.g. {col.name} >= 1000.50",
                )
            try:
                scaled = parse_decimal(_plain(lit.value), scale)
            except ValueError:
                raise _ExprError(
                    Reason.RULE_BAD_EXPRESSION,
                    f"{_plain(lit.value)} has more decimals than {col.name!r} ({kind}) "
                    f"can hold ({scale})",
                    lit.pos,
                    f"round the value to {scale} decimals",
                ) from None
            if abs(scaled) > _INT64_MAX:
                raise _ExprError(
                    Reason.RULE_BAD_EXPRESSION,
                    f"{_plain(lit.value)} is too large for {col.name!r}",
                    lit.pos,
                )
            return scaled
        if kind == "date":
            if lit.kind != "date" or not isinstance(lit.value, dt.date):
                hint = "write DATE 'YYYY-MM-DD', e.g. DATE '2026-01-31'"
                raise _ExprError(
                    Reason.RULE_BAD_EXPRESSION,
                    f"{col.name!r} is a date column; it is compared with DATE '...', "
                    f"not {_lit_desc(lit)}",
                    lit.pos,
                    hint,
                )
            return lit.value
        if lit.kind != "text" or not isinstance(lit.value, str):
            raise _ExprError(
                Reason.RULE_BAD_EXPRESSION,
                f"{col.name!r} is a {kind} column; it is compared with quoted text, "
                f"not {_lit_desc(lit)}",
                lit.pos,
                f"quote the value: {col.name} = '{_lit_text(lit)}'",
            )
        return lit.value

    def lit(self, lit: Lit, col: Col) -> pl.Expr:
        value = self.value(lit, col)
        return pl.lit(value, dtype=_dtype(self.kind(col)))

    def compile(self, node: Node) -> pl.Expr:
        if isinstance(node, Or):
            return pl.any_horizontal(*(self.compile(i) for i in node.items))
        if isinstance(node, And):
            return pl.all_horizontal(*(self.compile(i) for i in node.items))
        if isinstance(node, Not):
            return ~self.compile(node.operand)
        if isinstance(node, Const):
            return pl.lit(node.value, dtype=pl.Boolean)
        if isinstance(node, IsNull):
            c = self.col(node.column)
            return c.is_not_null() if node.negated else c.is_null()
        if isinstance(node, Compare):
            return self.compare(node)
        if isinstance(node, InList):
            c = self.col(node.column)
            values = [self.value(v, node.column) for v in node.values]
            member = c.is_in(pl.Series(values, dtype=_dtype(self.kind(node.column))).implode())
            return ~member if node.negated else member
        if isinstance(node, Between):
            c = self.col(node.column)
            inside = pl.all_horizontal(
                c >= self.lit(node.low, node.column), c <= self.lit(node.high, node.column)
            )
            return ~inside if node.negated else inside
        return self.like(node)

    def compare(self, node: Compare) -> pl.Expr:
        left = self.col(node.left)
        if isinstance(node.right, Col):
            lk, rk = self.kind(node.left), self.kind(node.right)
            if _family(lk) != _family(rk) or (lk in NUMERIC_KINDS and lk != rk):
                raise _ExprError(
                    Reason.RULE_BAD_EXPRESSION,
                    f"cannot compare {node.left.name!r} ({lk}) with {node.right.name!r} ({rk})",
                    node.pos,
                    "compare columns of the same kind",
                )
            right = self.col(node.right)
        else:
            right = self.lit(node.right, node.left)
        ops = {
            "=": left.eq,
            "!=": left.ne,
            "<": left.lt,
            "<=": left.le,
            ">": left.gt,
            ">=": left.ge,
        }
        return ops[node.op](right)

    def like(self, node: Like) -> pl.Expr:
        kind = self.kind(node.column)
        if kind not in TEXT_KINDS:
            raise _ExprError(
                Reason.RULE_BAD_EXPRESSION,
                f"LIKE works on text columns; {node.column.name!r} is a {kind} column",
                node.pos,
            )
        c = self.col(node.column)
        parts = _like_parts(node.pattern, node.escape, node.pos)
        literal_parts = [p for p in parts if p]
        wild = [p for p in parts if not p]
        if not wild:
            expr = c == pl.lit("".join(literal_parts), dtype=pl.Utf8)
        elif all(p is None for p in wild) and len(literal_parts) <= 1:
            text = literal_parts[0] if literal_parts else ""
            starts, ends = parts[0] is None, parts[-1] is None
            if not text:
                expr = c.is_not_null()
            elif starts and ends:
                expr = c.str.contains(text, literal=True)
            elif ends:
                expr = c.str.starts_with(text)
            else:
                expr = c.str.ends_with(text)
        else:
            regex = "".join(
                ".*" if p is None else "." if p == "" else "".join(map(_rx_char, p)) for p in parts
            )
            expr = c.str.contains(f"(?s)^{regex}$")
        return ~expr if node.negated else expr


def _rx_char(ch: str) -> str:
    """One character as a regex atom: ASCII letters and digits as is, anything else hex-escaped."""
    if ch.isascii() and ch.isalnum():
        return ch
    return f"\\x{{{ord(ch):X}}}"


def _family(kind: str) -> str:
    if kind in NUMERIC_KINDS:
        return "number"
    return "date" if kind == "date" else "text"


def _dtype(kind: str) -> pl.DataType:
    if kind in NUMERIC_KINDS:
        return pl.Int64()
    return pl.Date() if kind == "date" else pl.Utf8()


def _plain(value: Decimal) -> str:
    """A Decimal as plain positional text (never exponent notation)."""
    return f"{value:f}"


def _lit_desc(lit: Lit) -> str:
    return {
        "text": f"text '{lit.value}'",
        "number": f"the number {lit.value}",
        "date": f"DATE '{lit.value}'",
        "bool": "TRUE/FALSE",
    }[lit.kind]


def _lit_text(lit: Lit) -> str:
    return _plain(lit.value) if isinstance(lit.value, Decimal) else str(lit.value)


def compile_ast(node: Node, columns: Mapping[str, str], text: str = "") -> pl.Expr:
    """Compile a parsed condition to a non-null Boolean Polars expression.

    Args:
        node: the AST from :func:`parse_condition`.
        columns: user-facing column name -> contract kind (see :data:`KINDS`).
        text: the original text, for error excerpts.

    Raises:
        ConditionError: ``RULE_UNKNOWN_COLUMN`` or ``RULE_BAD_EXPRESSION`` (type errors).
        ValueError: ``columns`` names a kind that is not in :data:`KINDS` (a programming error).

    Example:
        >>> import polars as pl
        >>> expr = compile_ast(parse_condition("qty BETWEEN 1 AND 2.5"), {"qty": "decimal"})
        >>> pl.DataFrame({"qty_e2": [100, 251, None]}).select(expr)["qty_e2"].to_list()
        [True, False, False]
    """
    compiler = _Compiler(columns)
    try:
        expr = compiler.compile(node).fill_null(value=False)
    except _ExprError as problem:
        raise _error(text, problem) from None
    if not columns_used(node):
        # a constant (TRUE, NOT FALSE...): one value per row, not a single broadcast literal
        expr = pl.repeat(expr, pl.len())
    return expr


def compile_condition(text: str, columns: Mapping[str, str]) -> pl.Expr:
    """Parse, type-check and compile a condition into a non-null Boolean Polars expression.

    Args:
        text: the condition, e.g. ``"product LIKE 'SaaS%' AND amount > 0"``.
        columns: user-facing column name -> contract kind (``money``, ``decimal``, ``share``,
            ``fx``, ``date``, ``text``, ``id``, ``currency``, ``enum``). The expression reads the
            stored columns (``amount`` of kind money -> ``amount_cents``).

    Returns:
        A Boolean expression; rows where the condition is false or unknown (null) are False.

    Raises:
        ConditionError: an ``EngineError`` with ``RULE_BAD_EXPRESSION`` (syntax or type error)
            or ``RULE_UNKNOWN_COLUMN`` (with a did-you-mean hint), its 0-based ``position`` and
            a caret excerpt in the message.

    Example:
        >>> import datetime as dt
        >>> import polars as pl
        >>> cols = {"credit_date": "date", "customer": "text"}
        >>> df = pl.DataFrame({"credit_date": [dt.date(2026, 1, 5), dt.date(2026, 3, 1)],
        ...                    "customer": ["O'Brien Ltd", None]})
        >>> cond = compile_condition(
        ...     "credit_date < DATE '2026-02-01' AND customer LIKE 'O''B%'", cols)
        >>> df.filter(cond).height
        1
        >>> compile_condition("amonut > 5", {"amount": "money"})
        Traceback (most recent call last):
        ...
        engine.rules.expr.ConditionError: ... RULE_UNKNOWN_COLUMN: unknown column 'amonut'...
    """
    node = parse_condition(text)
    return compile_ast(node, columns, text)
