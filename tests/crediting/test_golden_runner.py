"""The golden case runner: loading, exact comparison, readable diffs, registry, path safety."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import EngineError, Reason
from engine.golden import COMPARERS, CaseContext, main, register, run_case, run_cases

INPUTS = """
inputs:
  calendar: [{period: 2026-01, start_date: 2026-01-01, end_date: 2026-01-31}]
  participants: [{participant_id: P1, role: AE, pay_currency: USD, hire_date: 2025-01-01}]
  transactions:
    - {transaction_id: T1, credit_date: 2026-01-05, amount: 10.00, currency: USD, seller_id: P1}
"""
RULES = "rules: {crediting: {rules: [{name: seller, source: seller}]}}\n"


def _case(tmp_path: Path, body: str, name: str = "case.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


def test_a_passing_case(tmp_path: Path) -> None:
    path = _case(
        tmp_path,
        "name: ok\n"
        + RULES
        + INPUTS
        + """
expect:
  credits: [{transaction_id: T1, participant_id: P1, amount: 10}]
  counts: {credited: 1}
""",
    )
    result = run_case(path)
    assert result.passed, result.report()
    assert result.report().startswith("PASS ok")


def test_a_failing_case_names_the_differing_columns(tmp_path: Path) -> None:
    path = _case(
        tmp_path,
        "name: wrong\n"
        + RULES
        + INPUTS
        + """
expect:
  credits: [{transaction_id: T1, participant_id: P2, amount: "10.00"}]
  unrouted: [{transaction_id: T1, reason: NO_OWNER}]
  counts: {credited: 2}
""",
    )
    result = run_case(path)
    assert not result.passed
    text = "\n".join(result.differences)
    assert "(differs in: participant_id)" in text
    assert "unrouted: 1 expected row(s) not produced" in text
    assert "counts: credited expected 2, got 1" in text


def test_rules_file_inside_the_case_directory(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "plan.yaml").write_text(
        "schema_version: 1\nname: plan\ncrediting:\n  rules: [{name: seller, source: seller}]\n",
        encoding="utf-8",
    )
    path = _case(
        tmp_path,
        "name: file\nrules_file: rules/plan.yaml\n"
        + INPUTS
        + """
expect:
  credits: [{transaction_id: T1, amount: "10.00"}]
""",
    )
    assert run_case(path).passed


def test_rules_file_may_not_leave_the_case_directory(tmp_path: Path) -> None:
    case_dir = tmp_path / "cases"
    case_dir.mkdir()
    (tmp_path / "plan.yaml").write_text("schema_version: 1\nname: plan\n", encoding="utf-8")
    path = _case(
        case_dir,
        "name: escape\nrules_file: ../plan.yaml\n" + INPUTS + "expect: {counts: {credited: 1}}\n",
    )
    with pytest.raises(EngineError) as err:
        run_case(path)
    assert err.value.reason is Reason.PATH_ESCAPE
    assert err.value.findings[0].line == 2


@pytest.mark.parametrize(
    ("body", "reason", "line"),
    [
        ("name: x\n" + RULES + INPUTS + "expect: {nonsense: []}\n", Reason.RULE_UNKNOWN_KEY, 9),
        (
            "name: x\nrulez: {}\n" + RULES + INPUTS + "expect: {counts: {}}\n",
            Reason.RULE_UNKNOWN_KEY,
            2,
        ),
        ("name: x\n" + INPUTS + "expect: {counts: {}}\n", Reason.RULE_BAD_VALUE, 1),
    ],
)
def test_malformed_cases_are_typed_errors_with_lines(
    tmp_path: Path, body: str, reason: Reason, line: int
) -> None:
    with pytest.raises(EngineError) as err:
        run_case(_case(tmp_path, body))
    assert err.value.findings[0].reason is reason
    assert err.value.findings[0].line == line


def test_bad_inline_rules_are_reported_with_the_case_line(tmp_path: Path) -> None:
    body = "name: x\nrules:\n  crediting:\n    rules: [{name: s, source: nobody}]\n" + INPUTS
    with pytest.raises(EngineError) as err:
        run_case(_case(tmp_path, body + "expect: {counts: {}}\n"))
    assert err.value.findings[0].line == 4


def test_rejected_inputs_fail_the_case_with_the_loader_findings(tmp_path: Path) -> None:
    body = "name: x\n" + RULES + INPUTS.replace("10.00", "10.001") + "expect: {counts: {}}\n"
    result = run_case(_case(tmp_path, body))
    assert not result.passed
    assert "TOO_MANY_DECIMALS" in "\n".join(result.differences)


def test_error_section_expects_a_typed_failure(tmp_path: Path) -> None:
    body = "name: x\n" + RULES + "periods: [2027-01]\n" + INPUTS
    assert run_case(_case(tmp_path, body + "expect: {error: [UNKNOWN_REFERENCE]}\n")).passed
    assert not run_case(_case(tmp_path, body + "expect: {error: [NO_OWNER]}\n")).passed


def test_other_stages_register_their_sections(tmp_path: Path) -> None:
    seen: list[object] = []

    @register("probe")
    def _probe(ctx: CaseContext, expected: object) -> list[str]:
        seen.append((ctx.credit_result().counts.credited, expected))
        return [] if expected == 1 else ["probe: wrong"]

    try:
        assert run_case(
            _case(tmp_path, "name: x\n" + RULES + INPUTS + "expect: {probe: 1}\n")
        ).passed
        assert seen == [(1, 1)]
    finally:
        del COMPARERS["probe"]


def test_run_cases_and_main_over_a_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _case(tmp_path, "name: a\n" + RULES + INPUTS + "expect: {counts: {credited: 1}}\n", "a.yaml")
    _case(tmp_path, "name: b\n" + RULES + INPUTS + "expect: {counts: {credited: 0}}\n", "b.yaml")
    assert [r.passed for r in run_cases([tmp_path])] == [True, False]
    assert main([str(tmp_path)]) == 1
    assert "1 failed" in capsys.readouterr().out
