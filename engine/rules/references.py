"""Load-time checks across a rule set: conditions, references between sections, cycles.

Everything here runs when the rule set is loaded, so that a mistake fails with its file and
YAML line before any data is read:

* every condition (``when``) is compiled against the columns it will see at run time
  (:func:`condition_columns`): a syntax or type error is ``RULE_BAD_EXPRESSION``, an unknown
  column ``RULE_UNKNOWN_COLUMN`` with a did-you-mean hint;
* names that refer to other items must resolve (``RULE_DANGLING_REFERENCE`` with a
  did-you-mean hint): measures, rate tables and components named by plans, credit types named
  by measures and holds, measures named in formulas and attainments;
* columns named by rate tables (``by``, ``attribute``, ``order_by``) must exist
  (``RULE_UNKNOWN_COLUMN``);
* derived measures may not refer to each other in a cycle (``RULE_BAD_VALUE``, with the path);
* classification attributes and extra columns may not shadow contract columns.

Example:
    >>> sorted(condition_columns("classify", extra_columns={"channel": "text"}))[:4]
    ['amount', 'channel', 'credit_date', 'currency']
    >>> condition_columns("credit")["credit_type"]
    'text'
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, Literal

from engine.calc.formula import FormulaError, names_in, parse_formula
from engine.calc.measures import SUMMABLE
from engine.contract import TABLES
from engine.errors import Finding, Reason
from engine.rules.expr import NUMERIC_KINDS, ConditionError, compile_condition
from engine.rules.plan_schema import (
    AttainmentMeasure,
    CountMeasure,
    FormulaMeasure,
    SumMeasure,
    TieredTable,
    cross_reference_errors,
)
from engine.rules.schema import RuleSet
from engine.rules.yamlload import KeyPath, YamlDoc, format_path, value_at

__all__ = [
    "CONDITION_SITES",
    "CREDIT_COLUMNS",
    "RUN_COLUMNS",
    "Scope",
    "condition_columns",
    "condition_findings",
    "reference_findings",
]

Scope = Literal["classify", "transaction", "credit"]
"""Which columns a condition sees: ``classify`` (a transaction's own columns), ``transaction``
(plus derived attributes and crediting's derived columns), ``credit`` (plus credit columns)."""

TRANSACTION_COLUMNS: dict[str, str] = {c.name: c.kind for c in TABLES["transactions"].columns}
"""Contract columns of transactions: name -> kind."""

RUN_COLUMNS: dict[str, str] = {"period": "id", "split_sellers": "decimal"}
"""Columns crediting derives before rules run: the credit date's period and the number of
``transaction_sellers`` rows (:mod:`engine.crediting.conditions`)."""

CREDIT_COLUMNS: dict[str, str] = {
    "participant_id": "id",
    "direct_participant_id": "id",
    "credit_type": "text",
    "rule": "text",
    "amount": "money",
    "share": "share",
    "route_table": "text",
    "transaction_amount": "money",
    "pay_currency": "currency",
}
"""Columns a measure condition sees beyond the transaction's and ``period``
(:mod:`engine.calc.lines`): ``amount`` is the credited amount, ``transaction_amount`` the
transaction's."""

CONDITION_SITES: tuple[tuple[KeyPath, Scope], ...] = (
    (("classify",), "classify"),
    (("crediting", "exclusions"), "transaction"),
    (("crediting", "rules"), "transaction"),
    (("crediting", "overlays"), "transaction"),
    (("crediting", "holds"), "transaction"),
    (("crediting", "rollups"), "transaction"),
    (("measures",), "credit"),
)
"""The lists whose items carry a ``when`` condition, and the columns each sees."""


def condition_columns(
    scope: Scope,
    *,
    attributes: Iterable[str] = (),
    extra_columns: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The columns (name -> kind) a condition in ``scope`` may use.

    Args:
        scope: see :data:`Scope`.
        attributes: the attributes ``classify`` sets (text), for the later scopes.
        extra_columns: the extra transaction columns the rule set declares.

    Example:
        >>> cols = condition_columns("transaction", attributes=["segment"])
        >>> cols["segment"], cols["period"], cols["amount"]
        ('text', 'id', 'money')
    """
    columns = dict(TRANSACTION_COLUMNS)
    columns.update(extra_columns or {})
    if scope == "classify":
        return columns
    columns.update(dict.fromkeys(attributes, "text"))
    if scope == "credit":
        columns["period"] = "id"
        columns.update(CREDIT_COLUMNS)
    else:
        columns.update(RUN_COLUMNS)
    return columns


def _hint(name: str, known: Iterable[str]) -> str:
    choices = sorted(set(known))
    close = difflib.get_close_matches(name, choices, n=1, cutoff=0.6)
    listed = ", ".join(choices[:30]) if choices else "none"
    if close:
        return f"did you mean {close[0]!r}? (known: {listed})"
    return f"known: {listed}"


def _label(data: Any, path: KeyPath) -> str:
    """``crediting.rules[2] 'name': `` for the innermost named list item on ``path``."""
    label = ""
    current = data
    for i, part in enumerate(path):
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(part, int) and isinstance(current, dict):
            name = current.get("name", current.get("id"))
            if isinstance(name, str):
                label = f"{format_path(path[: i + 1])} {name!r}: "
    return label


def _finding(
    doc: YamlDoc,
    reason: Reason,
    path: KeyPath,
    message: str,
    hint: str | None = None,
    *,
    value: str | None = None,
) -> Finding:
    return Finding(
        reason,
        _label(doc.data, path) + message,
        file=doc.file,
        line=doc.line_of(path),
        column=format_path(path),
        hint=hint,
        value=value,
    )


# --------------------------------------------------------------------------- conditions


def _raw_attributes(data: Any) -> list[str]:
    names: list[str] = []
    for rule in value_at(data, ("classify",)) or []:
        sets = rule.get("set") if isinstance(rule, dict) else None
        if isinstance(sets, dict):
            names.extend(k for k in sets if isinstance(k, str) and k not in names)
    return names


def _raw_extra(data: Any) -> dict[str, str]:
    extra = value_at(data, ("extra_columns",))
    if not isinstance(extra, dict):
        return {}
    return {k: v for k, v in extra.items() if isinstance(k, str) and v in ("text", "id")}


def condition_findings(doc: YamlDoc) -> list[Finding]:
    r"""Compile every ``when`` in the document; one finding per condition that fails.

    Works on the raw data, so it runs (and reports) even when the schema has errors.

    Example:
        >>> from engine.rules.yamlload import parse_yaml
        >>> doc = parse_yaml("crediting:\n  rules:\n    - name: r\n      source: seller\n"
        ...                  "      when: amonut > 0\n", "r.yaml")
        >>> [(f.code, f.line, f.column) for f in condition_findings(doc)]
        [('RULE_UNKNOWN_COLUMN', 5, 'crediting.rules[0].when')]
    """
    data = doc.data
    attributes, extra = _raw_attributes(data), _raw_extra(data)
    findings: list[Finding] = []
    for site, scope in CONDITION_SITES:
        items = value_at(data, site)
        if not isinstance(items, list):
            continue
        columns = condition_columns(scope, attributes=attributes, extra_columns=extra)
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("when"), str):
                continue
            if site == ("measures",) and item.get("kind") not in ("sum", "count"):
                continue
            path = (*site, i, "when")
            try:
                compile_condition(item["when"], columns)
            except ConditionError as exc:
                f = exc.findings[0]
                findings.append(_finding(doc, f.reason, path, f.message, f.hint, value=f.value))
    return findings


# --------------------------------------------------------------------------- references

AnyMeasure = SumMeasure | CountMeasure | AttainmentMeasure | FormulaMeasure


def _credit_types(ruleset: RuleSet) -> set[str]:
    c = ruleset.crediting
    produced = {r.credit_type for r in c.rules} | {o.credit_type for o in c.overlays}
    return produced | {r.credit_type for r in c.rollups}


def _plan_schema_findings(ruleset: RuleSet, doc: YamlDoc) -> list[Finding]:
    measures = [m.name for m in ruleset.measures]
    tables = [t.name for t in ruleset.rate_tables]
    findings: list[Finding] = []
    for path, message in cross_reference_errors(
        ruleset.measures, ruleset.rate_tables, ruleset.plans
    ):
        value = value_at(doc.data, path)
        hint: str | None = None
        reason = Reason.RULE_BAD_VALUE
        text = message
        if message.startswith("unknown"):
            reason = Reason.RULE_DANGLING_REFERENCE
            if message.startswith("unknown measure"):
                known: list[str] = measures
            elif message.startswith("unknown rate table"):
                known = tables
            else:
                plan = ruleset.plans[int(path[1])]
                known = [c.name for c in plan.components]
            if isinstance(value, str):
                hint = _hint(value, known)
                text = message.split(" (known:")[0]
        findings.append(_finding(doc, reason, path, text, hint))
    return findings


def _credit_type_findings(ruleset: RuleSet, doc: YamlDoc) -> list[Finding]:
    produced = _credit_types(ruleset)
    findings: list[Finding] = []
    places: list[tuple[KeyPath, tuple[str, ...] | None]] = [
        (("measures", i), getattr(m, "credit_types", None)) for i, m in enumerate(ruleset.measures)
    ]
    places += [
        (("crediting", "holds", i), h.credit_types) for i, h in enumerate(ruleset.crediting.holds)
    ]
    for at, credit_types in places:
        for j, ct in enumerate(credit_types or ()):
            if ct not in produced:
                findings.append(
                    _finding(
                        doc,
                        Reason.RULE_DANGLING_REFERENCE,
                        (*at, "credit_types", j),
                        f"unknown credit type {ct!r}: no crediting rule, overlay or roll-up "
                        "produces it",
                        _hint(ct, produced),
                    )
                )
    return findings


def _measure_graph(ruleset: RuleSet, doc: YamlDoc) -> tuple[dict[str, list[str]], list[Finding]]:
    """Dependencies between measures (attainment -> measure, formula -> names), and problems."""
    names = [m.name for m in ruleset.measures]
    graph: dict[str, list[str]] = {}
    findings: list[Finding] = []
    for i, m in enumerate(ruleset.measures):
        deps: list[str] = []
        if isinstance(m, AttainmentMeasure):
            deps = [m.measure]  # an unknown name is reported by the plan schema check
        elif isinstance(m, FormulaMeasure):
            path: KeyPath = ("measures", i, "formula")
            try:
                used = sorted(names_in(parse_formula(m.formula)))
            except FormulaError as exc:
                findings.append(
                    _finding(
                        doc,
                        Reason.RULE_BAD_EXPRESSION,
                        path,
                        f"formula {m.formula!r}: {exc}",
                        "write a formula such as: new_revenue + 0.5 * renewals",
                        value=m.formula,
                    )
                )
                used = []
            for name in used:
                if name not in names:
                    findings.append(
                        _finding(
                            doc,
                            Reason.RULE_DANGLING_REFERENCE,
                            path,
                            f"the formula uses unknown measure {name!r}",
                            _hint(name, names),
                        )
                    )
            deps = [n for n in used if n in names]
        graph.setdefault(m.name, deps)
    return graph, findings


def _cycles(graph: Mapping[str, list[str]]) -> list[list[str]]:
    """Every elementary cycle found by depth-first search, each once (as ``a, b, ..., a``)."""
    found: list[list[str]] = []
    seen_sets: set[frozenset[str]] = set()
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, []):
            if state.get(dep) == 1:
                cycle = [*stack[stack.index(dep) :], dep]
                key = frozenset(cycle)
                if key not in seen_sets:
                    seen_sets.add(key)
                    found.append(cycle)
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])
    return found


def _measure_graph_findings(ruleset: RuleSet, doc: YamlDoc) -> list[Finding]:
    graph, findings = _measure_graph(ruleset, doc)
    index = {m.name: i for i, m in enumerate(ruleset.measures)}
    for cycle in _cycles(graph):
        first = ruleset.measures[index[cycle[0]]]
        key = "formula" if isinstance(first, FormulaMeasure) else "measure"
        findings.append(
            _finding(
                doc,
                Reason.RULE_BAD_VALUE,
                ("measures", index[cycle[0]], key),
                "measures refer to each other in a cycle: " + " -> ".join(cycle),
                "break the cycle: a measure cannot depend on itself, directly or not",
            )
        )
    return findings


def _measure_of_findings(ruleset: RuleSet, doc: YamlDoc) -> list[Finding]:
    findings: list[Finding] = []
    for i, m in enumerate(ruleset.measures):
        if isinstance(m, SumMeasure) and m.of not in SUMMABLE:
            findings.append(
                _finding(
                    doc,
                    Reason.RULE_BAD_VALUE,
                    ("measures", i, "of"),
                    f"a sum measure sums one of {list(SUMMABLE)}, not {m.of!r}",
                    _hint(m.of, SUMMABLE),
                )
            )
    return findings


def _table_column_findings(ruleset: RuleSet, doc: YamlDoc) -> list[Finding]:
    columns = condition_columns(
        "credit", attributes=ruleset.attributes, extra_columns=ruleset.extra_columns
    )
    findings: list[Finding] = []
    for i, table in enumerate(ruleset.rate_tables):
        if not isinstance(table, TieredTable):
            continue
        named: list[tuple[KeyPath, str]] = [
            (("rate_tables", i, "by", j), d) for j, d in enumerate(table.by)
        ]
        if "order_by" in (value_at(doc.data, ("rate_tables", i)) or {}):
            named += [(("rate_tables", i, "order_by", j), k) for j, k in enumerate(table.order_by)]
        if table.attribute is not None:
            named.append((("rate_tables", i, "attribute"), table.attribute))
        for path, name in named:
            if name not in columns:
                findings.append(
                    _finding(
                        doc,
                        Reason.RULE_UNKNOWN_COLUMN,
                        path,
                        f"unknown column {name!r}",
                        _hint(name, columns),
                    )
                )
            elif path[2] == "attribute" and columns[name] not in NUMERIC_KINDS:
                findings.append(
                    _finding(
                        doc,
                        Reason.RULE_BAD_VALUE,
                        path,
                        f"base: attribute needs a numeric column; {name!r} is {columns[name]}",
                    )
                )
    return findings


def _name_findings(ruleset: RuleSet, doc: YamlDoc) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[str] = set()
    for i, rule in enumerate(ruleset.classify):
        if rule.name in seen:
            findings.append(
                _finding(
                    doc,
                    Reason.RULE_BAD_VALUE,
                    ("classify", i, "name"),
                    f"classify rule name {rule.name!r} is used twice",
                )
            )
        seen.add(rule.name)
        for attribute in rule.set_:
            if attribute in TRANSACTION_COLUMNS or attribute in RUN_COLUMNS:
                findings.append(
                    _finding(
                        doc,
                        Reason.RULE_BAD_VALUE,
                        ("classify", i, "set", attribute),
                        f"{attribute!r} is a transaction column; a classify rule sets a new "
                        "attribute",
                        "give the derived attribute its own name, e.g. product_line",
                    )
                )
            elif attribute in ruleset.extra_columns:
                findings.append(
                    _finding(
                        doc,
                        Reason.RULE_BAD_VALUE,
                        ("classify", i, "set", attribute),
                        f"{attribute!r} is declared in extra_columns; a classify rule sets a "
                        "new attribute",
                    )
                )
    for name in ruleset.extra_columns:
        if name in TRANSACTION_COLUMNS or name in RUN_COLUMNS:
            findings.append(
                _finding(
                    doc,
                    Reason.RULE_BAD_VALUE,
                    ("extra_columns", name),
                    f"{name!r} is already a transaction column; list only columns beyond the "
                    "data contract",
                )
            )
    return findings


_CHECKS: tuple[tuple[Callable[[RuleSet, YamlDoc], list[Finding]], frozenset[str]], ...] = (
    (_measure_graph_findings, frozenset({"measures"})),
    (_plan_schema_findings, frozenset({"measures", "rate_tables", "plans"})),
    (_credit_type_findings, frozenset({"measures", "crediting"})),
    (_measure_of_findings, frozenset({"measures"})),
    (_table_column_findings, frozenset({"rate_tables", "classify", "extra_columns"})),
    (_name_findings, frozenset({"classify", "extra_columns"})),
)
"""Each check and the sections it reads (skipped when one of them is invalid)."""


def reference_findings(
    ruleset: RuleSet, doc: YamlDoc, *, invalid: Collection[str] = ()
) -> list[Finding]:
    """Every dangling reference, unknown column, cycle and name clash of a rule set.

    Args:
        ruleset: the validated rule set (or its valid sections).
        doc: the document it came from, for lines.
        invalid: top-level sections that failed validation; checks reading them are skipped.

    Example:
        >>> from engine.rules.yamlload import parse_yaml
        >>> doc = parse_yaml('''
        ... schema_version: 1
        ... name: d
        ... reference: r
        ... measures:
        ...   - {name: revenue, kind: sum}
        ...   - {name: blend, kind: formula, formula: "revenu * 2"}
        ... ''', "r.yaml")
        >>> f = reference_findings(RuleSet.model_validate(doc.data), doc)[0]
        >>> f.code, f.line, f.remedy.split("?")[0]
        ('RULE_DANGLING_REFERENCE', 7, "did you mean 'revenue'")
    """
    findings: list[Finding] = []
    for check, sections in _CHECKS:
        if not sections & set(invalid):
            findings += check(ruleset, doc)
    return findings
