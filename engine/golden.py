r"""Golden cases: small, hand-checkable YAML files an analyst can read, run and add to.

A case holds its inputs (rows exactly as in the CSV files), its rule set (inline, or a file in
the case's directory), the periods of the run, and what the engine must produce::

    name: mid-quarter territory move
    description: T1 moves from P1 to P2 on 2026-02-15.
    rules:                       # or  rules_file: rules/territory.yaml (inside the case dir)
      crediting:
        rules: [{name: by-territory, source: territory}]
    periods: [2026-01, 2026-02]  # optional: default every calendar period
    inputs:
      calendar: [{period: 2026-01, start_date: 2026-01-01, end_date: 2026-01-31}]
      participants: [...]
      transactions: [...]
    expect:
      credits:                   # exact, order-insensitive, on the columns listed
        - {transaction_id: T1, participant_id: P1, amount: "100.00", level: 0}
      unrouted: [{transaction_id: T9, reason: NO_OWNER}]

Comparisons are exact (a margin of 0): money and shares as exact decimals, the rest as text.
Each ``expect`` section is checked by a *comparer* registered under its name in
:data:`COMPARERS`; other stages add theirs with :func:`register` (a module listed in
:data:`HANDLER_MODULES` is imported before a case runs). Built in: ``credits``, ``unrouted``,
``excluded``, ``overlay_misses``, ``rollup_totals``, ``counts`` and ``error`` (the run must fail
with these reason codes).

``rules_file`` is resolved relative to the case file and must stay inside the case's
directory (``PATH_ESCAPE`` otherwise, with the line), with one exception for the layout of
plan directories, ``rules/examples/<plan>/rules.yaml`` beside ``rules/examples/<plan>/cases/``:
a case may name ``../rules.yaml``, the rule set one level up. Only that exact file is allowed
(after resolving links: a ``rules.yaml`` that is a link to somewhere else is refused too);
any other path leaving the directory, ``../other.yaml`` or ``../../rules.yaml``, is still
``PATH_ESCAPE``.

Run from pytest (``tests/conftest.py`` collects ``tests/golden/**/*.yaml``) or from the shell:
``python -m engine.golden tests/golden/crediting/*.yaml``.

Example:
    >>> import pathlib, tempfile
    >>> case = '''
    ... name: one sale
    ... rules: {crediting: {rules: [{name: seller, source: seller}]}}
    ... inputs:
    ...   calendar: [{period: 2026-01, start_date: 2026-01-01, end_date: 2026-01-31}]
    ...   participants: [{participant_id: P1, role: AE, pay_currency: USD,
    ...                   hire_date: 2025-01-01}]
    ...   transactions: [{transaction_id: T1, credit_date: 2026-01-05, amount: 10.00,
    ...                   currency: USD, seller_id: P1}]
    ... expect:
    ...   credits: [{transaction_id: T1, participant_id: P1, amount: "10.01"}]
    ... '''
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = pathlib.Path(d, "case.yaml")
    ...     _ = path.write_text(case, encoding="utf-8")
    ...     result = run_case(path)
    >>> result.passed
    False
    >>> print(result.report())  # doctest: +ELLIPSIS
    FAIL one sale (.../case.yaml)
      credits: 1 expected row(s) not produced, 1 produced row(s) not expected
        - expected   {transaction_id: T1, participant_id: P1, amount: 10.01}
          closest    {transaction_id: T1, participant_id: P1, amount: 10.00}  (differs in: amount)
"""

from __future__ import annotations

import importlib
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from engine.crediting import CreditResult, credit
from engine.errors import EngineError, Finding, Reason
from engine.loading import Dataset, dataset_from_rows
from engine.money import format_cents, format_scaled
from engine.rules.crediting_schema import CreditingSection
from engine.rules.yamlload import KeyPath, YamlDoc, format_path, load_yaml

__all__ = [
    "COMPARERS",
    "HANDLER_MODULES",
    "CaseContext",
    "CaseResult",
    "GoldenCase",
    "compare_rows",
    "load_case",
    "main",
    "register",
    "run_case",
    "run_cases",
]

Comparer = Callable[["CaseContext", Any], list[str]]
"""Checks one ``expect`` section: returns readable difference lines (empty = pass)."""

COMPARERS: dict[str, Comparer] = {}
"""``expect`` section name -> comparer."""

HANDLER_MODULES: list[str] = ["engine.calc.golden_cases"]
"""Modules imported before a case runs, so that they can :func:`register` their comparers."""

PLAN_RULES_FILE = "rules.yaml"
"""The one file outside its directory a case may name: ``../rules.yaml``, its plan's rule set."""


def register(section: str) -> Callable[[Comparer], Comparer]:
    """Register a comparer for an ``expect`` section (a decorator).

    Example:
        >>> @register("nothing")
        ... def _nothing(ctx, expected):
        ...     return []
        >>> "nothing" in COMPARERS
        True
        >>> del COMPARERS["nothing"]
    """

    def deco(fn: Comparer) -> Comparer:
        COMPARERS[section] = fn
        return fn

    return deco


class GoldenCase(BaseModel):
    """The shape of a golden case file (strict: unknown keys are errors)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str | None = None
    rules: dict[str, Any] | None = None
    rules_file: str | None = None
    periods: list[str] | None = None
    inputs: dict[str, list[dict[str, Any]]]
    expect: dict[str, Any]

    @model_validator(mode="after")
    def _one_rule_source(self) -> GoldenCase:
        if (self.rules is None) == (self.rules_file is None):
            raise ValueError("give exactly one of 'rules' (inline) or 'rules_file'")
        if not self.expect:
            raise ValueError("'expect' must list at least one section")
        return self


@dataclass
class CaseContext:
    """What comparers work from; results are computed once and shared between sections.

    Attributes:
        case: the validated case.
        path: the case file.
        dataset: the loaded inputs.
        ruleset: the rule set (a ``RuleSet``, or a bare crediting section).
        doc: the parsed YAML (for line numbers).
        cache: results shared between comparers (e.g. ``"credit"``).
    """

    case: GoldenCase
    path: Path
    dataset: Dataset
    ruleset: Any
    doc: YamlDoc
    cache: dict[str, Any] = field(default_factory=dict)

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per case under ``key``."""
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]

    def credit_result(self) -> CreditResult:
        """The crediting result of the case (roll-ups materialised)."""
        result: CreditResult = self.memo(
            "credit", lambda: credit(self.dataset, self.ruleset, self.case.periods)
        )
        return result


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case.

    Attributes:
        path: the case file.
        name: the case name.
        differences: readable difference lines; empty when the case passed.
    """

    path: Path
    name: str
    differences: list[str]

    @property
    def passed(self) -> bool:
        """True when the engine produced exactly what the case expects."""
        return not self.differences

    def report(self) -> str:
        """A readable report: PASS/FAIL, the case, and every difference."""
        head = f"{'PASS' if self.passed else 'FAIL'} {self.name} ({self.path})"
        return "\n".join([head, *("  " + d for d in self.differences)])


# ---------------------------------------------------------------------------------------------
# loading


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _case_error(doc: YamlDoc, path: KeyPath, reason: Reason, message: str) -> EngineError:
    return EngineError(
        [Finding(reason, message, file=doc.file, line=doc.line_of(path), column=format_path(path))]
    )


def load_case(path: Path) -> tuple[GoldenCase, YamlDoc]:
    """Read and validate a case file.

    Raises:
        EngineError: the YAML is malformed, or the case does not have the documented shape
            (``RULE_UNKNOWN_KEY``, ``RULE_MISSING_KEY``, ``RULE_BAD_VALUE``, with the line).
    """
    doc = load_yaml(path, str(path))
    if not isinstance(doc.data, dict):
        raise _case_error(doc, (), Reason.RULE_BAD_TYPE, "a golden case is a YAML mapping")
    try:
        case = GoldenCase.model_validate(doc.data)
    except ValidationError as exc:
        findings = []
        for err in exc.errors():
            loc: KeyPath = tuple(p for p in err["loc"] if isinstance(p, str | int))
            reason = {
                "extra_forbidden": Reason.RULE_UNKNOWN_KEY,
                "missing": Reason.RULE_MISSING_KEY,
            }.get(err["type"], Reason.RULE_BAD_VALUE)
            findings.append(
                Finding(
                    reason,
                    f"{format_path(loc) or 'case'}: {err['msg']}",
                    file=doc.file,
                    line=doc.line_of(loc),
                    column=format_path(loc),
                )
            )
        raise EngineError(findings) from None
    unknown = sorted(set(case.expect) - set(COMPARERS))
    if unknown:
        raise _case_error(
            doc,
            ("expect", unknown[0]),
            Reason.RULE_UNKNOWN_KEY,
            f"no comparer for expect section(s) {unknown}; known: {sorted(COMPARERS)}",
        )
    return case, doc


def _inside(root: Path, relative: str, doc: YamlDoc) -> Path:
    """The rules file a case names: inside ``root``, or exactly ``../rules.yaml`` (see module)."""
    base = root.resolve()
    target = (root / relative).resolve()
    if target.is_relative_to(base) or target == base.parent / PLAN_RULES_FILE:
        return target
    raise _case_error(
        doc,
        ("rules_file",),
        Reason.PATH_ESCAPE,
        f"rules_file {relative!r} leaves the case's directory (the one file allowed outside "
        f"it is ../{PLAN_RULES_FILE}, the rule set of the plan directory above)",
    )


def _load_rules(case: GoldenCase, path: Path, doc: YamlDoc) -> Any:
    if case.rules_file is not None:
        target = _inside(path.parent, case.rules_file, doc)
        from engine.rules import load_ruleset  # noqa: PLC0415  (lazy: a sibling stage)

        return load_ruleset(target)
    assert case.rules is not None
    try:
        loader = importlib.import_module("engine.rules.load").ruleset_from_mapping
    except (ImportError, AttributeError):
        return _crediting_only(case.rules, doc)
    slug = re.sub(r"[^A-Za-z0-9_.\-]+", "-", path.stem).strip("-") or "case"
    data = {"schema_version": 1, "name": slug, **case.rules}
    lines = {key[1:]: line for key, line in doc.lines.items() if key[:1] == ("rules",)}
    return loader(data, str(path), lines=lines, base_dir=path.parent)


def _crediting_only(rules: Mapping[str, Any], doc: YamlDoc) -> CreditingSection:
    """Fallback while the full rule-set loader is not available: the crediting section only."""
    try:
        return CreditingSection.model_validate(rules.get("crediting") or {})
    except ValidationError as exc:
        err = exc.errors()[0]
        loc: KeyPath = ("rules", "crediting", *(p for p in err["loc"] if isinstance(p, str | int)))
        raise _case_error(doc, loc, Reason.RULE_BAD_VALUE, err["msg"]) from None


# ---------------------------------------------------------------------------------------------
# comparing rows


def _norm(value: Any) -> str:
    """A value as canonical text: numbers as exact decimals without trailing zeros."""
    if value is None:
        return "<blank>"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    try:
        number = Decimal(text)
    except InvalidOperation:
        return text
    return format(number.normalize(), "f") if number.is_finite() else text


def _show(row: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_text(v)}" for k, v in row.items()) + "}"


def compare_rows(
    section: str,
    expected: Sequence[Mapping[str, Any]],
    actual: Sequence[Mapping[str, Any]],
) -> list[str]:
    """Compare rows exactly as multisets, on the columns the expected rows list.

    Args:
        section: the section name, for the report.
        expected: the expected rows; every row must list the same columns.
        actual: the produced rows (values already in the case's vocabulary, e.g. ``amount``
            as a decimal string).

    Returns:
        Readable difference lines; empty when equal.

    Example:
        >>> compare_rows("x", [{"a": "1.50"}], [{"a": "1.5", "b": 2}])
        []
        >>> compare_rows("x", [{"a": "1"}], [])[1]
        '  - expected   {a: 1}'
    """
    if not isinstance(expected, list) or not all(isinstance(r, dict) for r in expected):
        return [f"{section}: expected a list of rows (mappings)"]
    columns = list(expected[0]) if expected else (list(actual[0]) if actual else [])
    for i, row in enumerate(expected):
        if set(row) != set(columns):
            return [f"{section}: every expected row must list the same columns (row {i + 1})"]
    if expected:
        known = set(actual[0]) if actual else set(columns)
        missing_cols = [c for c in columns if c not in known]
        if missing_cols:
            return [f"{section}: unknown column(s) {missing_cols}; known: {sorted(known)}"]

    def key(row: Mapping[str, Any]) -> tuple[str, ...]:
        return tuple(_norm(row.get(c)) for c in columns)

    shown: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in [*expected, *actual]:
        shown.setdefault(key(row), {c: row.get(c) for c in columns})
    want = Counter(key(r) for r in expected)
    got = Counter(key(r) for r in actual)
    if want == got:
        return []
    not_produced = want - got
    not_expected = got - want
    lines = [
        f"{section}: {sum(not_produced.values())} expected row(s) not produced, "
        f"{sum(not_expected.values())} produced row(s) not expected"
    ]
    spare = sorted(not_expected.elements())

    def same(a: tuple[str, ...], b: tuple[str, ...]) -> int:
        return sum(x == y for x, y in zip(a, b, strict=True))

    for row in sorted(not_produced.elements()):
        lines.append(f"  - expected   {_show(shown[row])}")
        best = max(spare, key=lambda s: same(s, row), default=None)
        if best is not None and same(best, row) * 2 >= len(columns):
            diff = [c for c, a, b in zip(columns, best, row, strict=True) if a != b]
            lines.append(f"    closest    {_show(shown[best])}  (differs in: {', '.join(diff)})")
            spare.remove(best)
    lines.extend(f"  + unexpected {_show(shown[row])}" for row in spare)
    return lines


def _friendly(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows in the case vocabulary: ``amount`` and ``share`` as decimals, dates as text."""
    rows = []
    for row in frame.iter_rows(named=True):
        out: dict[str, Any] = {}
        for name, value in row.items():
            if name.endswith("_cents"):
                out[name.removesuffix("_cents")] = None if value is None else format_cents(value)
            elif name.endswith("_ppm"):
                out[name.removesuffix("_ppm")] = None if value is None else format_scaled(value, 6)
            else:
                out[name] = value.isoformat() if hasattr(value, "isoformat") else value
        rows.append(out)
    return rows


# ---------------------------------------------------------------------------------------------
# built-in comparers


@register("credits")
def _credits(ctx: CaseContext, expected: Any) -> list[str]:
    return compare_rows("credits", expected, _friendly(ctx.credit_result().all_credits()))


@register("unrouted")
def _unrouted(ctx: CaseContext, expected: Any) -> list[str]:
    return compare_rows("unrouted", expected, _friendly(ctx.credit_result().unrouted))


@register("excluded")
def _excluded(ctx: CaseContext, expected: Any) -> list[str]:
    return compare_rows("excluded", expected, _friendly(ctx.credit_result().excluded))


@register("overlay_misses")
def _overlay_misses(ctx: CaseContext, expected: Any) -> list[str]:
    return compare_rows("overlay_misses", expected, _friendly(ctx.credit_result().overlay_misses))


@register("rollup_totals")
def _rollup_totals(ctx: CaseContext, expected: Any) -> list[str]:
    if not isinstance(expected, list) or not expected or not isinstance(expected[0], dict):
        return ["rollup_totals: expected a non-empty list of rows"]
    rename = {"amount": "amount_cents"}
    by = [str(rename.get(c, c)) for c in expected[0] if c not in ("amount", "credit_count")]
    try:
        frame = ctx.credit_result().rollup_totals(by)
    except (ValueError, pl.exceptions.PolarsError) as exc:
        return [f"rollup_totals: cannot group by {by}: {exc}"]
    return compare_rows("rollup_totals", expected, _friendly(frame))


@register("counts")
def _counts(ctx: CaseContext, expected: Any) -> list[str]:
    if not isinstance(expected, dict):
        return ["counts: expected a mapping such as {credited: 3, excluded: 1}"]
    actual = ctx.credit_result().counts.as_dict()
    lines = []
    for name, want in expected.items():
        if name not in actual:
            lines.append(f"counts: unknown count {name!r}; known: {sorted(actual)}")
        elif _norm(actual[name]) != _norm(want) and actual[name] != want:
            lines.append(f"counts: {name} expected {_text(want)}, got {_text(actual[name])}")
    return lines


@register("error")
def _error(ctx: CaseContext, expected: Any) -> list[str]:
    wanted = expected if isinstance(expected, list) else [expected]
    reasons = sorted(str(w["reason"] if isinstance(w, dict) else w) for w in wanted)
    try:
        ctx.credit_result()
    except EngineError as exc:
        got = sorted({f.code for f in exc.findings})
        return [] if got == sorted(set(reasons)) else [f"error: expected {reasons}, got {got}"]
    return [f"error: expected the run to fail with {reasons}, but it succeeded"]


# ---------------------------------------------------------------------------------------------
# running


def run_case(path: Path) -> CaseResult:
    """Run one golden case file.

    Raises:
        EngineError: the case file itself is malformed (never for a wrong engine result: that
            is a failed :class:`CaseResult`).
    """
    for module in HANDLER_MODULES:
        importlib.import_module(module)
    case, doc = load_case(path)
    rows = {
        table: [{k: _text(v) for k, v in r.items()} for r in items]
        for table, items in case.inputs.items()
    }
    dataset = dataset_from_rows(rows)
    differences: list[str] = []
    if dataset.rejects.height:
        differences.append("inputs: rows were rejected on load (fix the case's inputs):")
        for r in dataset.rejects.iter_rows(named=True):
            differences.append(
                f"  {r['file']}:{r['line']} [{r['column']}] {r['reason']}: {r['message']}"
            )
        return CaseResult(path, case.name, differences)
    ctx = CaseContext(case, path, dataset, _load_rules(case, path, doc), doc)
    expects_error = "error" in case.expect
    for section, expected in case.expect.items():
        try:
            differences.extend(COMPARERS[section](ctx, expected))
        except EngineError as exc:
            if expects_error:
                continue
            differences.append(f"{section}: the run failed: {exc}")
    return CaseResult(path, case.name, differences)


def run_cases(paths: Iterable[Path]) -> list[CaseResult]:
    """Run several case files (directories are searched for ``*.yaml``), in sorted order."""
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.rglob("*.yaml")) if p.is_dir() else [p])
    return [run_case(f) for f in sorted(files)]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m engine.golden FILE_OR_DIR...``: print a report; exit 1 on any failure."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print("usage: python -m engine.golden CASE.yaml|DIR ...", file=sys.stderr)
        return 2
    failed = 0
    for result in run_cases(Path(a) for a in args):
        print(result.report())
        failed += not result.passed
    print(f"{failed} failed" if failed else "all passed")
    return 1 if failed else 0


if __name__ == "__main__":
    # Run the imported module's main: comparers register into `engine.golden`, not `__main__`.
    from engine.golden import main as _main

    raise SystemExit(_main())
