"""The corpus of bad inputs under ``fixtures/bad/``: data directories and rule sets.

* ``fixtures/bad/data/<case>/`` is a company directory with an ``expected.yaml``: its findings
  (file, line, column, reason), the message ``keywords`` they must contain, the exit code of
  ``icm validate`` and the row accounting of the files concerned.
* ``fixtures/bad/rules/<case>.yaml`` is a rule set whose ``# expect:`` comment lines give the
  reason, line, key path and, quoted, a text the message or hint contains.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
BAD = ROOT / "fixtures" / "bad"
VALID_DATA = BAD / "data" / "valid_base"
"""The clean company the rule-set cases run against (rules are read before any data)."""

_EXPECT = re.compile(
    rb"^# expect: (?P<code>\w+) line (?P<line>\d+)"
    rb'(?: column (?P<column>\S+))?(?: (?P<part>message|hint) "(?P<text>.*)")?\s*$',
    re.M,
)


@dataclass(frozen=True)
class Case:
    """One bad input and what the command line must say about it.

    Attributes:
        name: ``data/<dir>`` or ``rules/<file>``.
        kind: which half of the corpus.
        path: the directory or rule-set file.
        codes: the reason codes expected (for data, one per finding, sorted).
        keywords: texts that must appear in the findings' messages (or hints, for rules).
        exit_code: what ``icm`` must exit with.
        accounting: for data, ``file -> {rows_read, rows_accepted, rows_rejected}``.
    """

    name: str
    kind: Literal["data", "rules"]
    path: Path
    codes: list[str]
    keywords: list[str]
    exit_code: int
    accounting: dict[str, dict[str, int]] = field(default_factory=dict)


def _data_case(directory: Path) -> Case:
    spec: dict[str, Any] = YAML(typ="safe", pure=True).load(
        (directory / "expected.yaml").read_text(encoding="utf-8")
    )
    findings = spec.get("findings") or []
    return Case(
        name=f"data/{directory.name}",
        kind="data",
        path=directory,
        codes=sorted(f["reason"] for f in findings),
        keywords=list(spec.get("keywords") or []),
        exit_code=int(spec["exit_code"]),
        accounting=spec.get("accounting") or {},
    )


def _rules_case(path: Path) -> Case:
    matches = list(_EXPECT.finditer(path.read_bytes()))
    return Case(
        name=f"rules/{path.stem}",
        kind="rules",
        path=path,
        codes=[m["code"].decode() for m in matches],
        keywords=[m["text"].decode() for m in matches if m["text"] is not None],
        exit_code=2,
    )


def corpus() -> list[Case]:
    """Every case of ``fixtures/bad/``, data directories first, each half sorted by name."""
    data = sorted(p for p in (BAD / "data").iterdir() if (p / "expected.yaml").is_file())
    rules = sorted((BAD / "rules").glob("*.yaml"))
    return [*(_data_case(d) for d in data), *(_rules_case(r) for r in rules)]


def table_rows(text: str) -> list[list[str]]:
    """The body rows of the tables rich printed, as lists of stripped cells."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]
