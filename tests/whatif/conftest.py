"""Shared fixtures for the what-if tests: the sample company, loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.pipeline import RunResult, run
from engine.whatif.shared import Workbench

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
RULES = ROOT / "rules" / "sample.yaml"


@pytest.fixture(scope="session")
def sample_run() -> RunResult:
    return run(SAMPLE, RULES)


@pytest.fixture
def bench() -> Workbench:
    return Workbench.load(SAMPLE)


def variant(tmp_path: Path, name: str, *edits: tuple[str, str]) -> Path:
    """A copy of the sample rule set with text replacements (each must apply once)."""
    text = RULES.read_text(encoding="utf-8")
    for old, new in edits:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path
