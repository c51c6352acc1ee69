"""docs/data-contract.md describes every table, column, key, reference and reason code."""

from __future__ import annotations

import re

import pytest

from engine.contract import TABLES
from engine.errors import REMEDIES, Reason
from engine.money import CURRENCY_DIGITS

from .support import ROOT, loader_reasons

DOC = (ROOT / "docs" / "data-contract.md").read_text(encoding="utf-8")
COLUMN_ROW = re.compile(r"^\| `(\w+)` \| (\w+) \| (yes|no) \| (yes|no) \| .+ \|$", re.MULTILINE)
REASON_ROW = re.compile(r"^\| `([A-Z_0-9]+)` \| .+ \| (.+) \|$", re.MULTILINE)


def _section(table: str) -> str:
    match = re.search(rf"^### `{table}`\n(.*?)(?=^##)", DOC + "\n##", re.MULTILINE | re.DOTALL)
    assert match is not None, f"docs/data-contract.md has no section ### `{table}`"
    return match.group(1)


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("name", list(TABLES))
def test_every_column_is_documented_with_its_kind(name: str) -> None:
    table = TABLES[name]
    rows = COLUMN_ROW.findall(_section(name))
    documented = [(c, kind, req == "yes", blank == "yes") for c, kind, req, blank in rows]
    contract = [(c.name, c.kind, c.required, c.nullable) for c in table.columns]
    assert documented == contract


@pytest.mark.parametrize("name", list(TABLES))
def test_key_file_and_references_are_documented(name: str) -> None:
    table = TABLES[name]
    section = _flat(_section(name))
    key = ", ".join(f"`{k}`" for k in table.key)
    assert f"**Key**: {key}" in section
    if table.effective_dated:
        assert f"**Key**: {key} (effective-dated" in section
    assert f"**File**: {'required' if table.required else 'optional'}" in section
    for ref in table.references:
        for col, target in zip(ref.columns, ref.target_columns, strict=True):
            assert f"`{col}` → `{ref.target}.{target}`" in section
    assert table.description.rstrip(".") in section


def test_no_undocumented_table_sections() -> None:
    sections = re.findall(r"^### `(\w+)`$", DOC, re.MULTILINE)
    assert sections == list(TABLES)


def test_every_loader_reason_is_documented_with_its_remedy() -> None:
    documented = dict(REASON_ROW.findall(DOC))
    for reason in sorted(loader_reasons()):
        assert reason.value in documented, f"{reason.value} is not in docs/data-contract.md"
        assert documented[reason.value].strip() == REMEDIES[reason], reason.value


def test_documented_reason_codes_exist() -> None:
    codes = {code for code, _ in REASON_ROW.findall(DOC)}
    assert codes <= {r.value for r in Reason}


def test_currencies_and_their_decimals_are_documented() -> None:
    rows = dict(re.findall(r"^\| (\d) \| ([A-Z, ]+) \|$", DOC, re.MULTILINE))
    documented = {c.strip(): int(d) for d, codes in rows.items() for c in codes.split(",")}
    assert documented == CURRENCY_DIGITS
