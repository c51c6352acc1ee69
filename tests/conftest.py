"""Collect golden YAML cases under tests/golden/ as tests (one test per case file).

Rule set files shared by cases live in a ``rules/`` directory (or start with ``_``) and are not
collected.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests explore a fixed, reproducible set of examples: a CI run never fails on an example
# that the previous run did not try. `HYPOTHESIS_PROFILE=explore` searches afresh (not in CI).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

GOLDEN = Path(__file__).parent / "golden"


def pytest_collect_file(parent: pytest.Collector, file_path: Path) -> pytest.Collector | None:
    if (
        file_path.suffix == ".yaml"
        and GOLDEN in file_path.parents
        and not file_path.name.startswith("_")
        and "rules" not in file_path.relative_to(GOLDEN).parts[:-1]
    ):
        return GoldenFile.from_parent(parent, path=file_path)
    return None


class GoldenFile(pytest.File):
    def collect(self):  # type: ignore[no-untyped-def]
        yield GoldenItem.from_parent(self, name=self.path.stem)


class GoldenItem(pytest.Item):
    def runtest(self) -> None:
        from engine.errors import EngineError
        from engine.golden import run_case

        try:
            result = run_case(self.path)
        except EngineError as exc:
            raise GoldenCaseError(f"the case file is not valid:\n{exc}") from None
        if not result.passed:
            raise GoldenCaseError(result.report())

    def repr_failure(self, excinfo, style=None):  # type: ignore[no-untyped-def]
        if isinstance(excinfo.value, GoldenCaseError):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):  # type: ignore[no-untyped-def]
        return self.path, None, f"golden: {self.path.relative_to(GOLDEN)}"


class GoldenCaseError(Exception):
    """A golden case produced something other than what it expects."""
