"""Shared runs for the audit tests (one pipeline run per company per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.audit.lineage import Lineage, build_lineage
from engine.pipeline import RunResult, run

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
RULES = ROOT / "rules" / "sample.yaml"
SYNTH_RULES = ROOT / "rules" / "examples" / "synth-company.yaml"


@pytest.fixture(scope="session")
def sample_run() -> RunResult:
    return run(SAMPLE, RULES)


@pytest.fixture(scope="session")
def sample_lineage(sample_run: RunResult) -> Lineage:
    return build_lineage(sample_run)


@pytest.fixture(scope="session")
def synth_run(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    from engine.synth import synthesize

    data = tmp_path_factory.mktemp("synth_xs")
    synthesize(data, "XS", seed=1)
    return run(data, SYNTH_RULES)
