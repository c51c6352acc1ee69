"""Loading rule sets: the valid example, exact numbers, content hash, error mapping."""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from engine.errors import EngineError, Reason
from engine.rules import RuleSet, load_ruleset
from engine.rules.load import canonical_json, parse_ruleset, ruleset_from_mapping
from engine.rules.references import condition_columns
from engine.rules.schema import classification_exprs

DATA = Path(__file__).parent / "data"
ACME = DATA / "acme.yaml"
HEAD = "schema_version: 1\nname: t\nreference: r\n"


def errors(text: str, base_dir: Path | None = None) -> list[tuple[str, int | None, str | None]]:
    with pytest.raises(EngineError) as info:
        parse_ruleset(text, "r.yaml", base_dir=base_dir)
    return [(f.code, f.line, f.column) for f in info.value.findings]


def test_valid_example_loads() -> None:
    rs = load_ruleset(ACME)
    assert isinstance(rs, RuleSet)
    assert rs.source == str(ACME)
    assert len(rs.content_hash) == 64
    assert rs.settings.rounding_point == "component"
    assert rs.attributes == ("product_line", "deal_size")
    assert rs.crediting.rollups[0].max_levels == 2
    assert rs.measure("revenue_att").kind == "attainment"
    assert rs.rate_table("ae-commission").kind == "retroactive"
    assert rs.plan("AE").components[0].rate_table == "ae-commission"
    with pytest.raises(KeyError):
        rs.plan("nope")


def test_decimals_are_exact() -> None:
    rs = parse_ruleset(
        HEAD
        + """
crediting:
  rules: [{name: s, source: seller}]
  rollups: [{name: m, credit_types: [direct], overrides: [0.1, 0.2, 0.3]}]
rate_tables:
  - name: t
    kind: incremental
    tiers:
      - {from: 0, to: 0.1, rate: 0.1}
      - {from: 0.1, to: 0.3, rate: 0.2}
      - {from: 0.3, rate: 0.3000000001}
""",
        "r.yaml",
    )
    tiers = rs.rate_tables[0].tiers  # type: ignore[union-attr]
    assert tiers[0].rate + tiers[1].rate == Decimal("0.3")
    assert tiers[2].rate == Decimal("0.3000000001")
    assert tiers[1].lower + tiers[1].lower + tiers[0].upper == tiers[1].upper
    assert rs.crediting.rollups[0].override_ppm == (100_000, 200_000, 300_000)


def test_defaults() -> None:
    rs = parse_ruleset("schema_version: 1\nname: minimal\n", "r.yaml")
    assert rs.reference is None
    assert rs.settings.model_dump() == {
        "rounding_mode": "half_up",
        "rounding_point": "component",
        "boundary": "lower_inclusive",
    }
    assert rs.classify == ()
    assert rs.plans == ()


# --- content hash ---------------------------------------------------------------------------

BASE = (
    HEAD
    + "settings: {rounding_mode: half_even}\nrate_tables:\n"
    + (
        "  - {name: t, kind: retroactive, tiers: [{from: 0, to: 100, rate: 0.05}, "
        "{from: 100, rate: 0.08}]}\n"
    )
)


def _hash(text: str) -> str:
    return parse_ruleset(text, "r.yaml").content_hash


def test_hash_ignores_formatting_order_and_comments() -> None:
    reformatted = """\
# the same rule set, written differently
reference: r
name: t
schema_version: 1
rate_tables:
  - tiers:
      - rate: 0.050
        to: 100.0
        from: 0
      - {rate: 0.08, from: 100.00}
    kind: retroactive
    name: t   # a comment
settings:
  rounding_mode: half_even
"""
    assert _hash(BASE) == _hash(reformatted)


@pytest.mark.parametrize(
    "changed",
    [
        BASE.replace("0.05", "0.051"),
        BASE.replace("half_even", "half_up"),
        BASE.replace("to: 100", "to: 101").replace("from: 100", "from: 101"),
        BASE.replace("name: t\n", "name: u\n"),
        BASE + "description: x\n",
    ],
)
def test_hash_changes_with_any_value(changed: str) -> None:
    assert _hash(BASE) != _hash(changed)


def test_canonical_form_keeps_text_and_numbers_apart() -> None:
    assert canonical_json({"a": "1"}) != canonical_json({"a": 1})
    assert canonical_json({"a": Decimal("1.10")}) == canonical_json({"a": Decimal("1.1")})
    assert canonical_json({"a": Decimal("-0.0")}) == canonical_json({"a": 0})


# --- error mapping --------------------------------------------------------------------------


def test_unknown_key_with_suggestion() -> None:
    with pytest.raises(EngineError) as info:
        parse_ruleset(
            HEAD + "crediting:\n  rules:\n    - name: r1\n      source: seller\n"
            "      wen: amount > 0\n",
            "r.yaml",
        )
    (f,) = info.value.findings
    assert (f.reason, f.line, f.column) == (Reason.RULE_UNKNOWN_KEY, 8, "crediting.rules[0].wen")
    assert "did you mean 'when'" in f.remedy
    assert "'r1'" in f.message  # the rule's name


def test_misspelt_required_key_is_one_finding() -> None:
    text = "schema_version: 1\nnmae: t\n"
    assert errors(text) == [("RULE_UNKNOWN_KEY", 2, "nmae")]


def test_all_errors_in_one_pass() -> None:
    text = (
        HEAD
        + """\
settings:
  rounding_mode: half_evn
  boundry: lower_inclusive
classify:
  - name: big
    when: amount >= 100000.001
    set: {size: big}
    priority: "5"
crediting:
  rules:
    - name: territory
      source: territry
measures:
  - name: revenue
    kind: sum
    when: chanel = 'web'
  - name: c
    kind: summ
  - name: d
rate_tables:
  - name: t
    kind: retroactive
    tiers: [{from: 0, rate: abc}]
plans:
  - id: AE
    components:
      - name: x
        measure: revenue
"""
    )
    assert errors(text) == [
        ("RULE_BAD_VALUE", 5, "settings.rounding_mode"),
        ("RULE_UNKNOWN_KEY", 6, "settings.boundry"),
        ("RULE_BAD_EXPRESSION", 9, "classify[0].when"),
        ("RULE_BAD_TYPE", 11, "classify[0].priority"),
        ("RULE_BAD_VALUE", 15, "crediting.rules[0].source"),
        ("RULE_UNKNOWN_COLUMN", 19, "measures[0].when"),
        ("RULE_BAD_VALUE", 21, "measures[1].kind"),
        ("RULE_MISSING_KEY", 22, "measures[2].kind"),
        ("RULE_BAD_VALUE", 26, "rate_tables[0].tiers[0].rate"),
        ("RULE_MISSING_KEY", 30, "plans[0].components[0].rate_table"),
    ]


@pytest.mark.parametrize(
    ("yaml", "expected"),
    [
        ("schema_version: 2\nname: t\nfoo: 1\n", [("RULE_BAD_VERSION", 1, "schema_version")]),
        ("schema_version: 0\n", [("RULE_BAD_VERSION", 1, "schema_version")]),
        ('schema_version: "1"\nname: t\n', [("RULE_BAD_TYPE", 1, "schema_version")]),
        ("schema_version: 1.0\nname: t\n", [("RULE_BAD_TYPE", 1, "schema_version")]),
        ("name: t\n", [("RULE_MISSING_KEY", 1, "schema_version")]),
        ("- 1\n- 2\n", [("RULE_BAD_TYPE", 1, None)]),
        ("", [("RULE_BAD_TYPE", 1, None)]),
        (HEAD + "name2: x\n", [("RULE_UNKNOWN_KEY", 4, "name2")]),
        (HEAD + "settings: half_up\n", [("RULE_BAD_TYPE", 4, "settings")]),
        (HEAD + "classify: {name: x}\n", [("RULE_BAD_TYPE", 4, "classify")]),
        (HEAD + "classify:\n  - {name: x, set: {}}\n", [("RULE_BAD_VALUE", 5, "classify[0].set")]),
        (
            HEAD + "classify:\n  - {name: x, set: {size: 1}}\n",
            [("RULE_BAD_TYPE", 5, "classify[0].set.size")],
        ),
        (
            HEAD + "classify:\n  - {name: x, set: {'bad name': a}}\n",
            [("RULE_BAD_VALUE", 5, "classify[0].set.bad name")],
        ),
        (
            HEAD + "classify:\n  - {name: x, when: 5, set: {a: b}}\n",
            [("RULE_BAD_TYPE", 5, "classify[0].when")],
        ),
        (
            HEAD + "classify:\n  - {name: x, set: {a: b}, priority: true}\n",
            [("RULE_BAD_TYPE", 5, "classify[0].priority")],
        ),
        (HEAD + "name: again\n", [("RULE_DUPLICATE_KEY", 4, "name")]),
        (
            HEAD + "extra_columns: {channel: money}\n",
            [("RULE_BAD_VALUE", 4, "extra_columns.channel")],
        ),
        (
            HEAD + "crediting:\n  rollups:\n    - {name: m, credit_types: [direct], levels: x}\n",
            [("RULE_BAD_VALUE", 6, "crediting.rollups[0].levels")],
        ),
    ],
)
def test_error_cases(yaml: str, expected: list[tuple[str, int | None, str | None]]) -> None:
    assert errors(yaml) == expected


def test_hint_suggests_quoting_numbers_for_text() -> None:
    with pytest.raises(EngineError) as info:
        parse_ruleset(HEAD + "description: 2026\n", "r.yaml")
    assert "quote the value" in info.value.findings[0].remedy


# --- references and conditions --------------------------------------------------------------

REFS = (
    HEAD
    + """\
classify:
  - name: saas
    set: {product_line: saas, amount: x}
crediting:
  rules:
    - {name: seller, source: seller}
  holds:
    - {name: h, credit_types: [overlay]}
  rollups:
    - {name: mgr, credit_types: [direct, dirct]}
measures:
  - {name: revenue, kind: sum, credit_types: [direkt]}
  - {name: rev_att, kind: attainment, measure: revenue}
  - {name: a, kind: formula, formula: b + revenue}
  - {name: b, kind: formula, formula: a * 2 + revenu}
  - {name: d, kind: formula, formula: "d +"}
  - {name: e, kind: formula, formula: "e * 1"}
rate_tables:
  - name: ae
    kind: per_transaction
    base: attribute
    attribute: quantty
    by: [prodct]
    overrides:
      - {match: {prodct: A}, tiers: [{from: 0, rate: 0.1}]}
    tiers:
      - {from: 0, rate: 0.05}
plans:
  - id: AE
    components:
      - {name: commission, measure: revenu, rate_table: ea}
"""
)


def test_references_all_reported() -> None:
    assert errors(REFS) == [
        ("RULE_BAD_VALUE", 6, "classify[0].set.amount"),
        ("RULE_DANGLING_REFERENCE", 13, "crediting.rollups[0].credit_types[1]"),
        ("RULE_BAD_VALUE", 17, "measures[2].formula"),  # cycle a -> b -> a
        ("RULE_DANGLING_REFERENCE", 18, "measures[3].formula"),
        ("RULE_BAD_EXPRESSION", 19, "measures[4].formula"),
        ("RULE_BAD_VALUE", 20, "measures[5].formula"),  # e -> e
        ("RULE_UNKNOWN_COLUMN", 25, "rate_tables[0].attribute"),
        ("RULE_UNKNOWN_COLUMN", 26, "rate_tables[0].by[0]"),
        ("RULE_DANGLING_REFERENCE", 34, "plans[0].components[0].measure"),
        ("RULE_DANGLING_REFERENCE", 34, "plans[0].components[0].rate_table"),
    ]


def test_reference_hints_and_cycle_path() -> None:
    with pytest.raises(EngineError) as info:
        parse_ruleset(REFS, "r.yaml")
    by_column = {f.column: f for f in info.value.findings}
    assert "did you mean 'direct'" in by_column["crediting.rollups[0].credit_types[1]"].remedy
    assert "a -> b -> a" in by_column["measures[2].formula"].message
    assert "did you mean 'revenue'" in by_column["plans[0].components[0].measure"].remedy
    assert "did you mean 'quantity'" in by_column["rate_tables[0].attribute"].remedy


def test_credit_type_references_when_crediting_is_valid() -> None:
    text = (
        HEAD
        + """\
crediting:
  rules: [{name: s, source: seller}]
  holds: [{name: h, credit_types: [overlay]}]
measures:
  - {name: revenue, kind: sum, credit_types: [direkt]}
"""
    )
    assert errors(text) == [
        ("RULE_DANGLING_REFERENCE", 6, "crediting.holds[0].credit_types[0]"),
        ("RULE_DANGLING_REFERENCE", 8, "measures[0].credit_types[0]"),
    ]


def test_condition_scopes() -> None:
    # classify conditions see only the transaction; crediting sees attributes and period;
    # measures also see credit columns
    text = (
        HEAD
        + """\
classify:
  - {name: a, when: "period = '2026-01'", set: {seg: x}}
  - {name: b, when: "seg = 'x'", set: {seg2: y}}
crediting:
  rules:
    - {name: s, source: seller, when: "seg = 'x' AND period = '2026-01' AND credit_type = 'a'"}
measures:
  - {name: m, kind: sum, when: "credit_type = 'direct' AND seg2 = 'y' AND nope = 1"}
"""
    )
    found = errors(text)
    assert found == [
        ("RULE_UNKNOWN_COLUMN", 5, "classify[0].when"),
        ("RULE_UNKNOWN_COLUMN", 6, "classify[1].when"),
        ("RULE_UNKNOWN_COLUMN", 9, "crediting.rules[0].when"),
        ("RULE_UNKNOWN_COLUMN", 11, "measures[0].when"),
    ]


def test_conditions_checked_even_when_schema_fails() -> None:
    text = HEAD + "crediting:\n  rules:\n    - {name: s, source: nobody, when: 'amount >'}\n"
    assert errors(text) == [
        ("RULE_BAD_VALUE", 6, "crediting.rules[0].source"),
        ("RULE_BAD_EXPRESSION", 6, "crediting.rules[0].when"),
    ]


# --- paths ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference_file",
    ["../plan.pdf", "/etc/passwd", "docs/../../plan.pdf", "~/plan.pdf", "C:\\\\plan.pdf"],
)
def test_path_escape(tmp_path: Path, reference_file: str) -> None:
    text = HEAD + f'reference_file: "{reference_file}"\n'
    assert errors(text, tmp_path) == [("PATH_ESCAPE", 4, "reference_file")]


def test_path_escape_through_a_link(tmp_path: Path) -> None:
    outside = tmp_path / "outside.pdf"
    outside.write_text("x")
    rules = tmp_path / "rules"
    rules.mkdir()
    os.symlink(outside, rules / "plan.pdf")
    assert errors(HEAD + "reference_file: plan.pdf\n", rules) == [
        ("PATH_ESCAPE", 4, "reference_file")
    ]


def test_reference_file_inside(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "plan.pdf").write_text("signed")
    path = tmp_path / "rules.yaml"
    path.write_text(HEAD + "reference_file: docs/plan.pdf\n")
    assert load_ruleset(path).reference_file == "docs/plan.pdf"
    path.write_text(HEAD + "reference_file: docs/missing.pdf\n")
    with pytest.raises(EngineError) as info:
        load_ruleset(path)
    assert info.value.reason is Reason.FILE_MISSING


# --- classification semantics ---------------------------------------------------------------


def test_classification_priority_then_declaration_order() -> None:
    rs = load_ruleset(ACME)
    columns = condition_columns("classify", extra_columns=rs.extra_columns)
    exprs = classification_exprs(rs.classify, columns)
    frame = pl.DataFrame(
        {
            "product": ["SAAS-1", "CONSULT", "HW", None],
            "amount_cents": [20_000_000, 100, 10_000_000, 5],
        }
    )
    out = frame.select(**exprs)
    assert out["product_line"].to_list() == ["saas", "services", None, None]
    # large-deal (priority 10) beats default-size (no condition) wherever both match
    assert out["deal_size"].to_list() == ["large", "standard", "large", "standard"]


def test_classification_ties_go_to_the_first_declared() -> None:
    rs = parse_ruleset(
        HEAD
        + """\
classify:
  - {name: first, when: "amount > 0", set: {seg: first}}
  - {name: second, when: "amount > 0", set: {seg: second}}
  - {name: higher, when: "amount > 100", set: {seg: higher}, priority: 1}
""",
        "r.yaml",
    )
    exprs = classification_exprs(rs.classify, {"amount": "money"})
    got = pl.DataFrame({"amount_cents": [5, 50_000, -1]}).select(**exprs)["seg"].to_list()
    assert got == ["first", "higher", None]


def test_ruleset_from_mapping() -> None:
    rs = ruleset_from_mapping(
        {
            "schema_version": 1,
            "name": "inline",
            "crediting": {"rules": [{"name": "s", "source": "seller", "when": "amount > 0.5"}]},
        },
        "case.yaml#rules",
    )
    assert rs.crediting.rules[0].name == "s"
    with pytest.raises(EngineError) as info:
        ruleset_from_mapping(
            {"schema_version": 1, "name": "x", "bogus": 1},
            "case.yaml#rules",
            lines={("bogus",): 12},
        )
    f = info.value.findings[0]
    assert (f.reason, f.file, f.line) == (Reason.RULE_UNKNOWN_KEY, "case.yaml#rules", 12)
