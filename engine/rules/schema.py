"""Top-level schema of a rule set (pydantic v2): settings, classification and the sections.

A rule set is one YAML file (see ``docs/rules.md``)::

    schema_version: 1
    name: acme-2026
    reference: "Acme FY2026 Sales Compensation Plan, signed 2025-12-15"
    settings: {rounding_mode: half_up, rounding_point: component, boundary: lower_inclusive}
    extra_columns: {channel: text}
    classify:   [...]   # derived text attributes on transactions
    crediting:  {...}   # engine.rules.crediting_schema
    measures:   [...]   # engine.rules.plan_schema
    rate_tables: [...]
    plans:      [...]

Models are strict: unknown keys are errors, scalars of this module are not coerced
(``priority: "5"`` is refused). :func:`engine.rules.load.load_ruleset` reads the file, maps every
validation error to a finding with its YAML line, and sets :attr:`RuleSet.content_hash` and
:attr:`RuleSet.source`.

Example:
    >>> rs = RuleSet.model_validate({"schema_version": 1, "name": "demo", "reference": "plan.pdf",
    ...     "classify": [{"name": "saas", "when": "product LIKE 'SAAS%'",
    ...                   "set": {"segment": "saas"}}]})
    >>> rs.settings.rounding_mode, rs.settings.rounding_point, rs.settings.boundary
    ('half_up', 'component', 'lower_inclusive')
    >>> rs.classify[0].set_, rs.attributes
    ({'segment': 'saas'}, ('segment',))
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StrictInt, StrictStr

from engine.contract import TABLES
from engine.money import RoundingMode
from engine.rules.crediting_schema import CreditingSection
from engine.rules.expr import compile_condition
from engine.rules.plan_schema import (
    AttainmentMeasure,
    Boundary,
    CountMeasure,
    CurveTable,
    FormulaMeasure,
    MatrixTable,
    Measure,
    Plan,
    RateTable,
    SumMeasure,
    TieredTable,
)

__all__ = [
    "SUPPORTED_VERSIONS",
    "ClassifyRule",
    "RuleSet",
    "Settings",
    "classification_exprs",
]

SUPPORTED_VERSIONS = (1,)
"""The ``schema_version`` values this engine reads."""

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
"""Names of rule sets and classify rules: a letter or digit, then ``A-Za-z0-9_.-``."""
ATTRIBUTE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
"""Names of derived attributes and declared extra columns: usable unquoted in conditions."""

Name = Annotated[StrictStr, Field(pattern=NAME_PATTERN, max_length=100)]
AttributeName = Annotated[StrictStr, Field(pattern=ATTRIBUTE_PATTERN, max_length=64)]
ExtraColumnKind = Literal["text", "id"]
"""Kinds an extra transaction column may be declared with (extra columns are read as text)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Settings(_Strict):
    """Rule-set-wide settings.

    Attributes:
        rounding_mode: ``half_up`` (half away from zero) or ``half_even`` (banker's).
        rounding_point: where amounts are rounded to cents: each credit ``line``, each
            ``component`` total, or only the participant's ``total``.
        boundary: default tier boundary inclusivity of rate tables (a table may override it).

    Example:
        >>> Settings(rounding_mode="half_even").mode
        <RoundingMode.HALF_EVEN: 'half_even'>
    """

    rounding_mode: Literal["half_up", "half_even"] = Field(
        default="half_up", description="tie-breaking when rounding to cents"
    )
    rounding_point: Literal["line", "component", "total"] = Field(
        default="component", description="where amounts are rounded to cents"
    )
    boundary: Boundary = Field(
        default="lower_inclusive", description="default tier boundary inclusivity"
    )

    @property
    def mode(self) -> RoundingMode:
        """The rounding mode as an :class:`~engine.money.RoundingMode`."""
        return RoundingMode(self.rounding_mode)


class ClassifyRule(_Strict):
    """One classification rule: where ``when`` matches, set derived text attributes.

    For each attribute, among the rules that set it and match a transaction, the highest
    ``priority`` wins, then the first declared. A transaction no rule matches has a null
    attribute. Conditions see the transaction's own columns (not other derived attributes).

    Example:
        >>> r = ClassifyRule.model_validate({"name": "big", "when": "amount >= 100000",
        ...     "set": {"deal_size": "large"}, "priority": 10})
        >>> r.set_, r.priority
        ({'deal_size': 'large'}, 10)
    """

    name: Name = Field(description="the rule's name, unique among classify rules")
    when: StrictStr | None = Field(
        default=None, description="condition on the transaction; absent = every transaction"
    )
    set_: dict[AttributeName, StrictStr] = Field(
        alias="set", min_length=1, description="attribute -> text value set where `when` matches"
    )
    priority: StrictInt = Field(default=0, description="higher wins; ties: the first declared")
    description: StrictStr | None = Field(default=None, description="free text for people")


class RuleSet(_Strict):
    """A validated rule set.

    Attributes:
        schema_version: the schema version (only 1 is supported).
        name: the rule set's name.
        reference: where the signed plan document is (title, document id, URL).
        reference_file: optional path, relative to the rule set's directory, of the signed
            plan document stored beside it; it may not leave that directory.
        description: free text.
        settings: rounding and boundary settings.
        extra_columns: extra transaction columns (beyond the data contract) that conditions
            may use, with their kind.
        classify: classification rules (derived attributes).
        crediting: the crediting section.
        measures: the measures.
        rate_tables: the rate tables.
        plans: the plans.
    """

    schema_version: StrictInt = Field(description="the schema version; only 1 is supported")
    name: Name = Field(description="the rule set's name")
    reference: StrictStr | None = Field(
        default=None,
        min_length=1,
        description="the signed plan document this rule set implements (recommended)",
    )
    reference_file: StrictStr | None = Field(
        default=None, min_length=1, description="the plan document's path beside the rule set"
    )
    description: StrictStr | None = Field(default=None, description="free text for people")
    settings: Settings = Field(default_factory=Settings, description="rounding and boundaries")
    extra_columns: dict[AttributeName, ExtraColumnKind] = Field(
        default_factory=dict, description="extra transaction columns usable in conditions"
    )
    classify: tuple[ClassifyRule, ...] = Field(default=(), description="classification rules")
    crediting: CreditingSection = Field(
        default_factory=CreditingSection, description="who gets credit"
    )
    measures: tuple[Measure, ...] = Field(default=(), description="aggregates of credits")
    rate_tables: tuple[RateTable, ...] = Field(default=(), description="rating primitives")
    plans: tuple[Plan, ...] = Field(default=(), description="compensation plans")

    _content_hash: str = PrivateAttr(default="")
    _source: str | None = PrivateAttr(default=None)

    @property
    def content_hash(self) -> str:
        """sha256 of the rule set's canonical content (set by the loader; '' otherwise)."""
        return self._content_hash

    @property
    def source(self) -> str | None:
        """The file the rule set was loaded from (None when built in memory)."""
        return self._source

    @property
    def attributes(self) -> tuple[str, ...]:
        """The derived attribute names set by ``classify``, in first-declared order."""
        seen: dict[str, None] = {}
        for rule in self.classify:
            for attribute in rule.set_:
                seen.setdefault(attribute, None)
        return tuple(seen)

    def measure(self, name: str) -> SumMeasure | CountMeasure | AttainmentMeasure | FormulaMeasure:
        """The measure called ``name`` (KeyError when absent)."""
        for m in self.measures:
            if m.name == name:
                return m
        raise KeyError(name)

    def rate_table(self, name: str) -> TieredTable | CurveTable | MatrixTable:
        """The rate table called ``name`` (KeyError when absent)."""
        for t in self.rate_tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def plan(self, plan_id: str) -> Plan:
        """The plan with id ``plan_id`` (KeyError when absent)."""
        for p in self.plans:
            if p.id == plan_id:
                return p
        raise KeyError(plan_id)


TRANSACTION_COLUMNS: dict[str, str] = {c.name: c.kind for c in TABLES["transactions"].columns}
"""Contract columns of transactions, by user-facing name -> kind."""


def classification_exprs(
    rules: tuple[ClassifyRule, ...], columns: Mapping[str, str]
) -> dict[str, pl.Expr]:
    """One Utf8 expression per derived attribute, applying priority then declaration order.

    Args:
        rules: the classify rules, in declared order.
        columns: the transaction columns conditions may use (name -> kind).

    Returns:
        attribute -> expression (null where no rule sets it), in first-declared order.

    Example:
        >>> rules = (
        ...     ClassifyRule.model_validate({"name": "any", "set": {"size": "small"}}),
        ...     ClassifyRule.model_validate({"name": "big", "when": "amount >= 1000",
        ...                                  "set": {"size": "big"}, "priority": 5}),
        ... )
        >>> exprs = classification_exprs(rules, {"amount": "money"})
        >>> df = pl.DataFrame({"amount_cents": [100, 200000]})
        >>> df.select(**exprs)["size"].to_list()
        ['small', 'big']
    """
    order = sorted(range(len(rules)), key=lambda i: (-rules[i].priority, i))
    out: dict[str, pl.Expr] = {}
    attributes: dict[str, None] = {}
    for rule in rules:
        for attribute in rule.set_:
            attributes.setdefault(attribute, None)
    for attribute in attributes:
        expr: pl.Expr = pl.lit(None, dtype=pl.Utf8)
        for i in reversed(order):  # build inside-out: the winner is the outermost branch
            rule = rules[i]
            if attribute not in rule.set_:
                continue
            cond = (
                pl.lit(value=True)
                if rule.when is None
                else compile_condition(rule.when, dict(columns))
            )
            expr = pl.when(cond).then(pl.lit(rule.set_[attribute], dtype=pl.Utf8)).otherwise(expr)
        out[attribute] = expr
    return out
