"""Strict YAML loading: exact numbers, lines, duplicates, refused constructs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from engine.errors import EngineError, Reason
from engine.rules.yamlload import format_path, load_yaml, parse_yaml

DOC = """\
# a comment
name: demo
settings:
  rounding_mode: half_up
plans:
  - id: AE
    components:
      - name: commission
        rate: 0.05
      - name: bonus
        rate: "0.1"
"""


def test_lines_of_keys_and_items() -> None:
    doc = parse_yaml(DOC, "r.yaml")
    assert doc.lines[("name",)] == 2
    assert doc.lines[("settings", "rounding_mode")] == 4
    assert doc.lines[("plans", 0)] == 6
    assert doc.lines[("plans", 0, "components", 1)] == 10
    assert doc.lines[("plans", 0, "components", 1, "rate")] == 11
    assert doc.line_of(("plans", 0, "components", 1, "rate", "x", 3)) == 11
    assert doc.line_of(("nope",)) == 2  # the root's line: the first node


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.1", Decimal("0.1")),
        ("0.05", Decimal("0.05")),
        ("0.30000000000000004", Decimal("0.30000000000000004")),
        ("2.50", Decimal("2.50")),
        ("-0.005", Decimal("-0.005")),
        ("1e3", Decimal(1000)),
        ("12345678901234567890.123456789", Decimal("12345678901234567890.123456789")),
        ("7", 7),
        ("-7", -7),
        ("1_000", 1000),
        ("0x1F", 31),
        ("'0.1'", "0.1"),
        ("yes", "yes"),
        ("no", "no"),
        ("on", "on"),
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("2026-01-31", "2026-01-31"),
        ("!!str 0.5", "0.5"),
    ],
)
def test_scalars_are_exact(text: str, expected: object) -> None:
    value = parse_yaml(f"v: {text}\n").data["v"]
    assert value == expected
    assert type(value) is type(expected)
    if isinstance(expected, Decimal):
        assert str(value) == str(expected)  # no float on the way: the digits are kept


def test_decimal_sums_stay_exact() -> None:
    data = parse_yaml("a: 0.1\nb: 0.2\nc: 0.3\n").data
    assert data["a"] + data["b"] == data["c"]


@pytest.mark.parametrize(
    ("text", "reason", "line"),
    [
        ("a: 1\nb: [1, 2\nc: 3\n", Reason.RULE_YAML_SYNTAX, 2),
        ("a: 1\n  b: 2\n", Reason.RULE_YAML_SYNTAX, 2),
        ("a: 'x\n", Reason.RULE_YAML_SYNTAX, 2),
        ("a: 1\n---\nb: 2\n", Reason.RULE_YAML_SYNTAX, 2),
        ("a: 1\nb: 2\na: 3\n", Reason.RULE_DUPLICATE_KEY, 3),
        ("x:\n  - k: 1\n    k: 2\n", Reason.RULE_DUPLICATE_KEY, 3),
        ("a: &x 1\nb: *x\n", Reason.RULE_BAD_VALUE, 2),
        ("base: &b {x: 1}\nother:\n  <<: *b\n", Reason.RULE_BAD_VALUE, 3),
        ("a: !!python/object:os.system echo\n", Reason.RULE_BAD_VALUE, 1),
        ("a: !custom 1\n", Reason.RULE_BAD_VALUE, 1),
        ("a: .inf\n", Reason.RULE_BAD_VALUE, 1),
        ("a: .nan\n", Reason.RULE_BAD_VALUE, 1),
        ("? [1, 2]\n: x\n", Reason.RULE_BAD_TYPE, 1),
        ("[" * 5000 + "]" * 5000, Reason.RULE_BAD_VALUE, 1),
        ("a: 1\nb:\n" + "  [" * 65 + " ]" * 65, Reason.RULE_BAD_VALUE, 3),
        ("a:" + " [" * 100 + " ]" * 100 + "\n", Reason.RULE_BAD_VALUE, 1),
    ],
)
def test_refused(text: str, reason: Reason, line: int | None) -> None:
    with pytest.raises(EngineError) as info:
        parse_yaml(text, "r.yaml")
    finding = info.value.findings[0]
    assert finding.reason is reason
    assert finding.line == line
    assert finding.file == "r.yaml"


def test_all_duplicates_reported_together() -> None:
    with pytest.raises(EngineError) as info:
        parse_yaml("a: 1\na: 2\nb:\n  c: 1\n  c: 2\n  c: 3\n", "r.yaml")
    got = [(f.reason, f.line, f.column) for f in info.value.findings]
    assert got == [
        (Reason.RULE_DUPLICATE_KEY, 2, "a"),
        (Reason.RULE_DUPLICATE_KEY, 5, "b.c"),
        (Reason.RULE_DUPLICATE_KEY, 6, "b.c"),
    ]


def test_empty_document() -> None:
    assert parse_yaml("").data is None
    assert parse_yaml("# only a comment\n").data is None


def test_load_yaml_file_errors(tmp_path: Path) -> None:
    with pytest.raises(EngineError) as info:
        load_yaml(tmp_path / "missing.yaml")
    assert info.value.reason is Reason.FILE_MISSING
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes(b"name: demo\ndescription: caf\xe9\n")
    with pytest.raises(EngineError) as info:
        load_yaml(bad)
    assert info.value.reason is Reason.BAD_ENCODING
    assert info.value.findings[0].line == 2
    bom = tmp_path / "bom.yaml"
    bom.write_bytes("\ufeffname: démo\n".encode())
    assert load_yaml(bom).data == {"name": "démo"}


def test_format_path() -> None:
    assert format_path(()) == ""
    assert format_path(("a", 0, 1, "b")) == "a[0][1].b"


def test_brackets_in_quotes_and_comments_do_not_count_as_nesting() -> None:
    text = 'a: \'[[[[\'\n# [[[[[ {{{{\nb: "{{{\\"{{"\nc: ' + "[" * 60 + "]" * 60 + "\n"
    data = parse_yaml(text).data
    assert data["a"] == "[[[["
    assert data["b"] == '{{{"{{'
    depth, value = 0, data["c"]
    while isinstance(value, list):
        value, depth = (value[0] if value else None), depth + 1
    assert depth == 60
