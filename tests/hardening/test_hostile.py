"""Hostile input: conditions cannot run code or read files, configured paths cannot leave their
directory, CSV exports neutralise formulas, HTML escapes data.

The hostile company is the sample company with a participant whose id is an HTML script
(``P021<script>...``), a participant whose id climbs directories (``../../P011``) and customers
whose names are spreadsheet formulas. Each report is produced by the real command.
"""

from __future__ import annotations

import ast
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.errors import EngineError, Reason
from engine.loading import load_dataset
from engine.reports.export import neutralise_formulas, write_frame
from engine.rules import load_ruleset
from engine.rules.expr import compile_condition

from .corpus import BAD, ROOT

runner = CliRunner()
SAMPLE = ROOT / "fixtures" / "sample"
RULES = ROOT / "rules" / "sample.yaml"
SCRIPT_ID = "P021<script>alert(1)</script>"
CLIMBING_ID = "../../P011"
FORMULA = "=cmd|' /C calc'!A0"


def _icm(*args: str | Path) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 1), result.output
    return result.output


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample company with hostile identifiers and formula-like customer names."""
    root = tmp_path_factory.mktemp("hostile")
    data = root / "data"
    shutil.copytree(SAMPLE, data)
    for csv in data.glob("*.csv"):
        text = csv.read_text(encoding="utf-8")
        text = text.replace("P021", SCRIPT_ID).replace("P011", CLIMBING_ID)
        if csv.name == "transactions.csv":
            text = text.replace("Northwind", FORMULA).replace("Contoso", "@SUM(1+1)")
        csv.write_text(text, encoding="utf-8")
    ds = load_dataset(data)
    assert ds.clean, ds.rejects
    return data


def _texts(directory: Path, suffix: str) -> Iterator[tuple[Path, str]]:
    for path in sorted(directory.rglob(f"*{suffix}")):
        yield path, path.read_text(encoding="utf-8")


# Conditions ---------------------------------------------------------------------------------

FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__", "open", "breakpoint", "input"}
FORBIDDEN_ATTRIBUTES = {"sql", "SQLContext", "system", "popen", "import_module", "read_csv"}
FORBIDDEN_MODULES = {"duckdb", "subprocess", "importlib", "pickle", "marshal", "ctypes"}
ALLOWED = {"__init__.py": {"importlib", "import_module"}}
"""The package imports its three public names lazily, from a fixed table of module names."""


@pytest.mark.parametrize(
    "module", sorted((ROOT / "engine" / "rules").glob("*.py")), ids=lambda p: p.name
)
def test_rule_modules_never_evaluate_text(module: Path) -> None:
    """Conditions are parsed by hand and built as Polars expressions: no eval, SQL or import."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    allowed = ALLOWED.get(module.name, set())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            assert node.func.id not in FORBIDDEN_CALLS, (module.name, node.lineno)
        if isinstance(node, ast.Attribute):
            assert node.attr not in FORBIDDEN_ATTRIBUTES - allowed, (module.name, node.lineno)
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
            for name in names:
                root = name.split(".")[0]
                assert root not in FORBIDDEN_MODULES - allowed, (module.name, node.lineno)


def test_code_in_a_string_literal_is_only_data(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    evil = f"x'); __import__('os').system('touch {canary}'); ('"
    frame = pl.DataFrame({"customer": [evil, "Acme"]})
    condition = "customer = '" + evil.replace("'", "''") + "'"
    matched = frame.filter(compile_condition(condition, {"customer": "text"}))
    assert matched["customer"].to_list() == [evil]
    assert not canary.exists()


def test_like_patterns_are_literal_not_regular_expressions() -> None:
    frame = pl.DataFrame(
        {"customer": ["aaaaaaaaaaaaaaaaaaaaaaaaaaaa!", "(a+)+$ Ltd", "/etc/passwd"]}
    )
    like = compile_condition("customer LIKE '(a+)+$%'", {"customer": "text"})
    assert frame.filter(like)["customer"].to_list() == ["(a+)+$ Ltd"]
    dots = compile_condition("customer LIKE '.*'", {"customer": "text"})
    assert frame.filter(dots).height == 0


def test_a_rule_set_with_hostile_conditions_runs_nothing(tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    text = RULES.read_text(encoding="utf-8").replace(
        "\"product <> 'MEETING'\"",
        f"\"product <> 'MEETING' AND customer <> 'x''); open(''{canary}'', ''w'') #'\"",
    )
    rules = tmp_path / "rules.yaml"
    rules.write_text(text, encoding="utf-8")
    _icm("run", SAMPLE, "--rules", rules)
    assert not canary.exists()


# Paths --------------------------------------------------------------------------------------


def _company(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(BAD / "data" / "valid_base", data, ignore=shutil.ignore_patterns("*.yaml"))
    return data


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_a_mapped_symlink_out_of_the_data_directory_escapes(tmp_path: Path) -> None:
    data = _company(tmp_path)
    secret = tmp_path / "secret.csv"
    secret.write_text("transaction_id\nS1\n", encoding="utf-8")
    (data / "inside.csv").symlink_to(secret)
    (data / "mapping.yaml").write_text("tables:\n  transactions: {file: inside.csv}\n")
    with pytest.raises(EngineError) as info:
        load_dataset(data)
    assert info.value.reason is Reason.PATH_ESCAPE


@pytest.mark.parametrize(
    ("mapping", "reason"),
    [
        ("tables:\n  transactions: {file: ../../../../etc/passwd}\n", Reason.PATH_ESCAPE),
        ("tables:\n  transactions: {file: /etc/passwd}\n", Reason.PATH_ESCAPE),
        ('tables:\n  transactions: {file: "x\\0.csv"}\n', Reason.BAD_MAPPING),
        ("tables: " + "[" * 5000 + "]" * 5000 + "\n", Reason.BAD_MAPPING),
        ("tables: !!python/object/apply:os.system ['true']\n", Reason.BAD_MAPPING),
        ("date_format: 2026-02-30\n", Reason.BAD_MAPPING),
        ("1: a\n", Reason.BAD_MAPPING),
        ("tables:\n  transactions: {delimiter: '\"'}\n", Reason.BAD_MAPPING),
    ],
    ids=["climb", "absolute", "nul", "deep", "python-tag", "bad-date", "int-key", "quote"],
)
def test_hostile_mappings_are_typed_errors(tmp_path: Path, mapping: str, reason: Reason) -> None:
    data = _company(tmp_path)
    (data / "mapping.yaml").write_text(mapping, encoding="utf-8")
    with pytest.raises(EngineError) as info:
        load_dataset(data)
    assert info.value.reason is reason


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symbolic links")
def test_a_rule_set_reference_file_symlinked_outside_escapes(tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret", encoding="utf-8")
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "plan.pdf").symlink_to(outside)
    rules = rules_dir / "rules.yaml"
    rules.write_text("schema_version: 1\nname: x\nreference_file: plan.pdf\n", encoding="utf-8")
    with pytest.raises(EngineError) as info:
        load_ruleset(rules)
    assert info.value.reason is Reason.PATH_ESCAPE


def test_statement_files_stay_in_their_directory(hostile: Path, tmp_path: Path) -> None:
    out = tmp_path / "deep" / "er" / "statements"
    _icm("statements", "--data", hostile, "--rules", RULES, "--out", out)
    written = sorted(p for p in tmp_path.rglob("*") if p.is_file())
    assert written
    assert all(out in p.parents for p in written), written


# CSV exports --------------------------------------------------------------------------------


def _cells(path: Path) -> list[str]:
    frame = pl.read_csv(path, infer_schema=False)
    return [*frame.columns, *(v for col in frame.columns for v in frame[col] if v is not None)]


def _assert_neutral(path: Path) -> None:
    for cell in _cells(path):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")) or _number(cell), (path, cell)


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_neutralise_covers_categorical_enum_and_column_names(tmp_path: Path) -> None:
    frame = pl.DataFrame({"=name": ["=1+1"], "cat": ["@SUM(1)"], "enum": ["+1"], "n": [-5]})
    frame = frame.with_columns(
        pl.col("cat").cast(pl.Categorical), pl.col("enum").cast(pl.Enum(["+1"]))
    )
    path = tmp_path / "x.csv"
    write_frame(frame, path)
    assert path.read_text(encoding="utf-8").splitlines() == [
        "'=name,cat,enum,n",
        "'=1+1,'@SUM(1),'+1,-5",
    ]
    assert neutralise_formulas(pl.DataFrame({"a": ["Ann", None]})).rows() == [("Ann",), (None,)]


def test_validate_rejects_csv_is_neutralised(tmp_path: Path) -> None:
    path = tmp_path / "rejects.csv"
    runner.invoke(
        app, ["validate", str(BAD / "data" / "formula_in_amount"), "--rejects", str(path)]
    )
    assert "'=25000+1000" in path.read_text(encoding="utf-8")
    _assert_neutral(path)


def test_lineage_csv_is_neutralised(hostile: Path, tmp_path: Path) -> None:
    out = tmp_path / "lineage"
    _icm("lineage", "--data", hostile, "--rules", RULES, "--out", out, "--format", "csv")
    text = (out / "transactions.csv").read_text(encoding="utf-8")
    assert "'" + FORMULA in text
    for path in sorted(out.glob("*.csv")):
        _assert_neutral(path)


def _candidate(tmp_path: Path) -> Path:
    rules = tmp_path / "candidate.yaml"
    text = RULES.read_text(encoding="utf-8").replace('rate: "8%"', 'rate: "9%"')
    rules.write_text(text.replace("name: sample-company-fy2026", "name: candidate"))
    return rules


def test_whatif_compare_csv_and_html(hostile: Path, tmp_path: Path) -> None:
    out = tmp_path / "compare"
    candidate = _candidate(tmp_path)
    _icm("compare", "--data", hostile, "--baseline", RULES, "--candidate", candidate, "--out", out)
    for path in sorted(out.glob("*.csv")):
        _assert_neutral(path)
    _assert_escaped(out)


# HTML ---------------------------------------------------------------------------------------


def _assert_escaped(directory: Path) -> None:
    pages = list(_texts(directory, ".html"))
    assert pages
    seen = False
    for path, page in pages:
        assert "<script>alert" not in page, path
        assert "<script" not in page.lower(), path
        seen |= "&lt;script&gt;alert(1)&lt;/script&gt;" in page or "&lt;script&gt;" in page
    assert seen, "no page shows the hostile participant (escaped)"


def test_statements_escape_ids(hostile: Path, tmp_path: Path) -> None:
    out = tmp_path / "statements"
    _icm("statements", "--data", hostile, "--rules", RULES, "--out", out)
    _assert_escaped(out)


def test_reconcile_report_and_breaks(hostile: Path, tmp_path: Path) -> None:
    from reconcile.conftest import MAPPINGS, write_vendor

    from engine.pipeline import run
    from engine.reconcile.ours import run_grains

    grains = run_grains(run(hostile, RULES))
    grains["payment"] = grains["payment"].with_columns(
        pl.when(pl.col("participant_id") == SCRIPT_ID)
        .then(pl.col("amount_cents") + 1234)
        .otherwise(pl.col("amount_cents"))
        .alias("amount_cents")
    )
    vendor = write_vendor(grains, MAPPINGS["xactly"], tmp_path / "vendor")
    out = tmp_path / "reconcile"
    _icm(
        "reconcile", "--data", hostile, "--rules", RULES, "--vendor", vendor,
        "--mapping", "xactly", "--out", out,
    )  # fmt: skip
    for path in sorted(out.glob("*.csv")):
        _assert_neutral(path)
    _assert_escaped(out)


def test_intake_quarantine_reasons_are_neutralised(tmp_path: Path) -> None:
    from engine.ops.intake import intake

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "=HYPERLINK(1).csv").write_text("a,b\n1,2\n", encoding="utf-8")
    intake(inbox, tmp_path / "archive", tmp_path / "ops.duckdb")
    reasons = sorted((tmp_path / "archive").rglob("*.reasons.csv"))
    assert reasons
    for path in reasons:
        _assert_neutral(path)
