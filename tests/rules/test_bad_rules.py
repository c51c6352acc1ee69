"""One broken rule set per kind of error: each must produce exactly its expected findings."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pytest

from engine.errors import EngineError, Reason
from engine.rules import load_ruleset

BAD = Path(__file__).resolve().parents[2] / "fixtures" / "bad" / "rules"
EXPECT = re.compile(
    rb"^# expect: (?P<code>\w+) line (?P<line>\d+)"
    rb'(?: column (?P<column>\S+))?(?: (?P<part>message|hint) "(?P<text>.*)")?\s*$',
    re.M,
)


class Expected(NamedTuple):
    code: str
    line: int
    column: str | None
    part: str | None
    text: str | None


def expectations(path: Path) -> list[Expected]:
    found = []
    for m in EXPECT.finditer(path.read_bytes()):
        column = m["column"].decode() if m["column"] else None
        part = m["part"].decode() if m["part"] else None
        text = m["text"].decode() if m["text"] is not None else None
        found.append(Expected(m["code"].decode(), int(m["line"]), column, part, text))
    return found


CASES = sorted(BAD.glob("*.yaml"))


def test_there_is_a_case_per_kind_of_error() -> None:
    codes = {e.code for case in CASES for e in expectations(case)}
    assert len(CASES) >= 12
    rule_reasons = {r.value for r in Reason if r.value.startswith("RULE_")}
    assert rule_reasons <= codes, sorted(rule_reasons - codes)
    assert {"PATH_ESCAPE", "BAD_ENCODING"} <= codes


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_bad_rule_set(case: Path) -> None:
    expected = expectations(case)
    assert expected, f"{case.name} has no '# expect:' line"
    with pytest.raises(EngineError) as info:
        load_ruleset(case)
    findings = info.value.findings
    got = [(f.code, f.line) for f in findings]
    assert got == [(e.code, e.line) for e in expected]
    for finding, want in zip(findings, expected, strict=True):
        assert finding.file == str(case)
        if want.column is not None:
            assert finding.column == want.column
        if want.part == "message":
            assert want.text in finding.message
        elif want.part == "hint":
            assert want.text in finding.remedy
        assert finding.render()  # renders without error, one finding per line of output
