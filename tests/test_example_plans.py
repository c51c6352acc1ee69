"""The example plans under rules/examples/: every rule set loads, every golden case passes.

Each plan directory holds ``rules.yaml`` and ``cases/*.yaml`` (hand-worked golden cases, run
through :func:`engine.golden.run_case`). A case whose correct, hand-worked expectation the
engine does not meet yet is listed in :data:`KNOWN_BUGS`: it runs as a strict xfail, so it
turns into a failure (to remove from the list) the day the engine is fixed.
``rules/examples/synth-company.yaml`` assigns the five plans to the plan ids of ``icm synth``;
its measures, rate tables and plans must stay copies of the plan directories' ones.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.golden import run_case
from engine.rules import load_ruleset

EXAMPLES = Path(__file__).resolve().parents[1] / "rules" / "examples"
RULE_SETS = sorted(EXAMPLES.glob("*/rules.yaml"))
CASES = sorted(EXAMPLES.glob("*/cases/*.yaml"))
SYNTH = EXAMPLES / "synth-company.yaml"
PLANS = {"ae-quota", "sdr-meetings", "manager-override", "channel-partner", "renewal-draw"}

KNOWN_BUGS: dict[str, str] = {}
"""``<plan>/<case stem>`` -> why the engine fails the case (file, function, what goes wrong)."""


def _case_id(path: Path) -> str:
    return f"{path.parent.parent.name}/{path.stem}"


def _case_params() -> list[Any]:
    params = []
    for path in CASES:
        reason = KNOWN_BUGS.get(_case_id(path))
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        params.append(pytest.param(path, id=_case_id(path), marks=marks))
    return params


def test_five_plans_each_with_several_cases() -> None:
    assert {p.parent.name for p in RULE_SETS} >= PLANS
    for plan in PLANS:
        assert len(list((EXAMPLES / plan / "cases").glob("*.yaml"))) >= 3, plan


def test_known_bugs_name_existing_cases() -> None:
    assert set(KNOWN_BUGS) <= {_case_id(p) for p in CASES}


@pytest.mark.parametrize(
    "path", [*RULE_SETS, SYNTH], ids=lambda p: p.parent.name if p.name == "rules.yaml" else p.stem
)
def test_rule_set_loads(path: Path) -> None:
    ruleset = load_ruleset(path)
    assert ruleset.reference, "an example plan names the plan document it implements"
    assert ruleset.plans


@pytest.mark.parametrize("path", _case_params())
def test_golden_case(path: Path) -> None:
    result = run_case(path)
    assert result.passed, "\n" + result.report()


def _by_name(items: Any, key: str = "name") -> dict[str, dict[str, Any]]:
    return {getattr(item, key): item.model_dump() for item in items}


def test_synth_company_copies_the_example_plans() -> None:
    synth = load_ruleset(SYNTH)
    plans = _by_name(synth.plans, "id")
    tables = _by_name(synth.rate_tables)
    measures = _by_name(synth.measures)
    covered: set[str] = set()
    for path in RULE_SETS:
        example = load_ruleset(path)
        assert example.settings.model_dump() == synth.settings.model_dump(), path.parent.name
        for plan_id, plan in _by_name(example.plans, "id").items():
            assert plans[plan_id] == plan, f"plan {plan_id} differs from {path.parent.name}"
            covered.add(plan_id)
        for name, table in _by_name(example.rate_tables).items():
            assert tables[name] == table, f"rate table {name} differs from {path.parent.name}"
        for name, measure in _by_name(example.measures).items():
            assert measures[name] == measure, f"measure {name} differs from {path.parent.name}"
    assert covered == set(plans) == {"AE", "SDR", "MANAGER", "PARTNER", "RENEWAL"}
