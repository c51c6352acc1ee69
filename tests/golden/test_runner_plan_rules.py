"""Golden runner path rule: a case may name its plan's rule set one level up, nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.errors import EngineError, Reason
from engine.golden import run_case

RULES = "schema_version: 1\nname: plan\ncrediting:\n  rules: [{name: seller, source: seller}]\n"
CASE = """name: plan case
rules_file: {rules_file}
inputs:
  calendar: [{{period: 2026-01, start_date: 2026-01-01, end_date: 2026-01-31}}]
  participants: [{{participant_id: P1, role: AE, pay_currency: USD, hire_date: 2025-01-01}}]
  transactions:
    - {{transaction_id: T1, credit_date: 2026-01-05, amount: 10.00, currency: USD, seller_id: P1}}
expect:
  credits: [{{transaction_id: T1, participant_id: P1, amount: "10.00"}}]
"""


def _plan_dir(tmp_path: Path, rules_file: str) -> Path:
    """``tmp/outer/plan/{rules.yaml, other.yaml, cases/case.yaml}`` and ``tmp/outer/rules.yaml``."""
    plan = tmp_path / "outer" / "plan"
    (plan / "cases").mkdir(parents=True)
    for path in (plan / "rules.yaml", plan / "other.yaml", tmp_path / "outer" / "rules.yaml"):
        path.write_text(RULES, encoding="utf-8")
    case = plan / "cases" / "case.yaml"
    case.write_text(CASE.format(rules_file=rules_file), encoding="utf-8")
    return case


@pytest.mark.parametrize(
    "rules_file", ["../rules.yaml", "./../rules.yaml", "../cases/../rules.yaml"]
)
def test_the_plan_rule_set_one_level_up_is_allowed(tmp_path: Path, rules_file: str) -> None:
    result = run_case(_plan_dir(tmp_path, rules_file))
    assert result.passed, result.report()


@pytest.mark.parametrize("rules_file", ["../other.yaml", "../../rules.yaml", "/etc/passwd"])
def test_any_other_path_outside_the_case_directory_escapes(tmp_path: Path, rules_file: str) -> None:
    with pytest.raises(EngineError) as err:
        run_case(_plan_dir(tmp_path, rules_file))
    assert err.value.reason is Reason.PATH_ESCAPE
    assert err.value.findings[0].line == 2
    assert err.value.findings[0].column == "rules_file"


def test_a_plan_rule_set_that_links_elsewhere_escapes(tmp_path: Path) -> None:
    case = _plan_dir(tmp_path, "../rules.yaml")
    plan_rules = case.parent.parent / "rules.yaml"
    plan_rules.unlink()
    plan_rules.symlink_to(tmp_path / "outer" / "rules.yaml")
    with pytest.raises(EngineError) as err:
        run_case(case)
    assert err.value.reason is Reason.PATH_ESCAPE
