"""The registry of rule primitives agrees with the schema, and docs/rules.md documents it all."""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

import pytest

from engine.rules import expr
from engine.rules.load import parse_ruleset
from engine.rules.registry import (
    FAMILIES,
    MARK_END,
    MARK_START,
    Family,
    family_for,
    field_doc,
    generated_markdown,
    literal_values,
    models_in_order,
    splice,
)
from engine.rules.schema import ExtraColumnKind

DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def test_docs_generated_block_is_current() -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert splice(text) == text, "run: python -m engine.rules.registry docs/rules.md"
    start = text.index(MARK_START) + len(MARK_START)
    assert text[start : text.index(MARK_END)].strip() == generated_markdown().strip()


@pytest.mark.parametrize("family", list(FAMILIES.values()), ids=list(FAMILIES))
def test_every_primitive_is_documented(family: Family) -> None:
    text = DOCS.read_text(encoding="utf-8")
    assert f"### {family.title}" in text
    for value, doc in family.values.items():
        assert doc.strip(), f"{family.key}.{value} has no doc"
        assert f"| `{value}` | {doc} |" in text


@pytest.mark.parametrize("family", [f for f in FAMILIES.values() if f.fields], ids=lambda f: f.key)
def test_family_values_are_exactly_what_the_schema_accepts(family: Family) -> None:
    union: set[str] = set()
    for model, field in family.fields:
        values = literal_values(model, field)
        assert values, f"{model.__name__}.{field} is not a closed vocabulary"
        assert set(values) <= set(family.values), (model.__name__, field)
        union.update(values)
    assert union == set(family.values)


def test_families_without_schema_fields() -> None:
    assert list(FAMILIES["extra_column_kind"].values) == list(get_args(ExtraColumnKind))
    assert set(FAMILIES["condition_kind"].values) == set(expr.KINDS)


def test_every_closed_vocabulary_in_the_schema_is_registered() -> None:
    missing = [
        f"{where} {model.__name__}.{name}"
        for where, model in models_in_order()
        for name in model.model_fields
        if literal_values(model, name) and family_for(model, name) is None
    ]
    assert missing == [], "add these to engine/rules/registry.py FAMILIES"


def test_every_key_is_documented() -> None:
    undocumented = [
        f"{model.__name__}.{name}"
        for _, model in models_in_order()
        for name in model.model_fields
        if not field_doc(model, name).strip()
    ]
    assert undocumented == []
    text = DOCS.read_text(encoding="utf-8")
    for _, model in models_in_order():
        assert f"### {model.__name__}" in text


def test_every_condition_operator_keyword_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("### Condition operators") :]
    for keyword in sorted(expr._KEYWORDS):
        assert re.search(rf"\b{keyword}\b", section), keyword


def test_yaml_examples_in_docs_load() -> None:
    blocks = re.findall(r"```yaml\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S)
    full = [b for b in blocks if b.startswith("schema_version")]
    assert len(full) >= 2
    for i, block in enumerate(full):
        parse_ruleset(block, f"docs/rules.md#example{i}")


def test_hint_names_the_docs_anchor() -> None:
    hint = FAMILIES["rate_table_kind"].hint("retroactiv")
    assert hint.startswith("did you mean 'retroactive'?")
    assert "(docs/rules.md#rate-table-kinds)" in hint
    assert FAMILIES["rate_table_kind"].anchor == "rate-table-kinds"
    assert "did you mean" not in FAMILIES["boundary"].hint("zzz")
