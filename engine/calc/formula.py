"""Formula measures: exact ``+ - * /`` over other measures and decimal constants.

A measure value is an exact ratio ``num / den`` of integers (``den > 0``); sums and counts have
``den = 1``. Formulas are parsed by a small recursive-descent parser (never ``eval``) and
evaluated column-wise on ``Int128`` numerators and denominators, so ``a / b`` is exact.

Grammar::

    expr   := term (("+" | "-") term)*
    term   := unary (("*" | "/") unary)*
    unary  := "-" unary | atom
    atom   := number | name | '"' name '"' | "(" expr ")"

Names are measure names; a name with ``-`` must be double-quoted. Numbers are plain decimals.

Example:
    >>> ast = parse_formula("new + 0.5 * renewal")
    >>> sorted(names_in(ast))
    ['new', 'renewal']
    >>> df = pl.DataFrame({"new__n": [100], "new__d": [1], "renewal__n": [30], "renewal__d": [1]})
    >>> n, d = evaluate(ast)
    >>> df.select(n.alias("n"), d.alias("d")).rows()
    [(1150, 10)]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import polars as pl

from engine.calc.exact import I128

__all__ = ["BinOp", "FormulaError", "Neg", "Num", "Ref", "evaluate", "names_in", "parse_formula"]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>\d+(?:\.\d+)?|\.\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)"
    r'|"(?P<quoted>[^"]+)"|(?P<op>[-+*/()]))'
)


class FormulaError(ValueError):
    """A formula that cannot be parsed; the message names the position."""


@dataclass(frozen=True)
class Num:
    """A decimal constant."""

    value: Decimal


@dataclass(frozen=True)
class Ref:
    """A reference to another measure."""

    name: str


@dataclass(frozen=True)
class Neg:
    """Unary minus."""

    operand: Node


@dataclass(frozen=True)
class BinOp:
    """A binary operation ``+ - * /``."""

    op: str
    left: Node
    right: Node


Node = Num | Ref | Neg | BinOp


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise FormulaError(f"unexpected character at position {pos + 1}: {text[pos:]!r}")
        kind = m.lastgroup or ""
        value = m.group(kind)
        out.append(("name" if kind == "quoted" else kind, value, m.start(kind) + 1))
        pos = m.end()
    return out


def parse_formula(text: str) -> Node:
    """Parse a formula into an AST.

    Raises:
        FormulaError: the text is not a well-formed formula.

    Example:
        >>> parse_formula("-(a)")
        Neg(operand=Ref(name='a'))
        >>> parse_formula("a +")
        Traceback (most recent call last):
        engine.calc.formula.FormulaError: formula ends too early: 'a +'
    """
    toks = _tokens(text)
    i = 0

    def peek() -> tuple[str, str, int] | None:
        return toks[i] if i < len(toks) else None

    def take() -> tuple[str, str, int]:
        nonlocal i
        if i >= len(toks):
            raise FormulaError(f"formula ends too early: {text!r}")
        i += 1
        return toks[i - 1]

    def expr(depth: int) -> Node:
        if depth > 40:
            raise FormulaError("formula nests too deeply")
        node = term(depth)
        while (t := peek()) is not None and t[1] in "+-" and t[0] == "op":
            take()
            node = BinOp(t[1], node, term(depth))
        return node

    def term(depth: int) -> Node:
        node = unary(depth)
        while (t := peek()) is not None and t[1] in "*/" and t[0] == "op":
            take()
            node = BinOp(t[1], node, unary(depth))
        return node

    def unary(depth: int) -> Node:
        t = peek()
        if t is not None and t == ("op", "-", t[2]):
            take()
            return Neg(unary(depth + 1))
        return atom(depth)

    def atom(depth: int) -> Node:
        kind, value, pos = take()
        if kind == "num":
            try:
                return Num(Decimal(value))
            except InvalidOperation:  # pragma: no cover - the regex admits only decimals
                raise FormulaError(f"bad number {value!r} at position {pos}") from None
        if kind == "name":
            return Ref(value)
        if value == "(":
            node = expr(depth + 1)
            close = take()
            if close[1] != ")":
                raise FormulaError(f"expected ')' at position {close[2]}")
            return node
        raise FormulaError(f"unexpected {value!r} at position {pos}")

    node = expr(0)
    if i != len(toks):
        raise FormulaError(f"unexpected {toks[i][1]!r} at position {toks[i][2]}")
    return node


def names_in(node: Node) -> set[str]:
    """The measure names a formula refers to.

    Example:
        >>> sorted(names_in(parse_formula('a / "b-c"')))
        ['a', 'b-c']
    """
    if isinstance(node, Ref):
        return {node.name}
    if isinstance(node, Neg):
        return names_in(node.operand)
    if isinstance(node, BinOp):
        return names_in(node.left) | names_in(node.right)
    return set()


def evaluate(node: Node) -> tuple[pl.Expr, pl.Expr]:
    """Expressions ``(num, den)`` computing the formula exactly over ``<name>__n/__d`` columns.

    The denominator is positive, or null when the formula divides by zero.

    Example:
        >>> df = pl.DataFrame({"a__n": [3], "a__d": [4], "b__n": [0], "b__d": [1]})
        >>> n, d = evaluate(parse_formula("a / b"))
        >>> df.select(n.alias("n"), d.alias("d")).rows()
        [(None, None)]
    """
    n, d = _eval(node)
    bad = d == 0
    sign = pl.when(d < 0).then(-1).otherwise(1).cast(I128)
    return (
        pl.when(bad).then(None).otherwise(n * sign),
        pl.when(bad).then(None).otherwise(d * sign),
    )


def _eval(node: Node) -> tuple[pl.Expr, pl.Expr]:
    if isinstance(node, Num):
        sign, digits, exponent = node.value.as_tuple()
        assert isinstance(exponent, int)
        mantissa = int("".join(map(str, digits))) * (-1 if sign else 1)
        if exponent >= 0:
            return pl.lit(mantissa * 10**exponent, I128), pl.lit(1, I128)
        return pl.lit(mantissa, I128), pl.lit(10**-exponent, I128)
    if isinstance(node, Ref):
        return pl.col(f"{node.name}__n").cast(I128), pl.col(f"{node.name}__d").cast(I128)
    if isinstance(node, Neg):
        n, d = _eval(node.operand)
        return n * -1, d
    ln, ld = _eval(node.left)
    rn, rd = _eval(node.right)
    if node.op == "+":
        return _add(ln, ld, rn, rd)
    if node.op == "-":
        return _add(ln, ld, rn * -1, rd)
    if node.op == "*":
        return ln * rn, ld * rd
    return ln * rd, ld * rn


def _add(ln: pl.Expr, ld: pl.Expr, rn: pl.Expr, rd: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    same = ld == rd
    return (
        pl.when(same).then(ln + rn).otherwise(ln * rd + rn * ld),
        pl.when(same).then(ld).otherwise(ld * rd),
    )
