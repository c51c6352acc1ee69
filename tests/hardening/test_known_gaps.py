"""Bad inputs the loader does not yet handle as it should, found while building the corpus.

Each test states the behaviour wanted and is marked ``xfail(strict=True)``: it fails today, and
the suite turns red the day it passes, so that the mark is removed and the case joins the corpus
under ``fixtures/bad/data/``. The fixes lie outside the hardening files (``engine/loading/read.py``
and ``engine/loading/dataset.py``).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from engine.cli import app

from .corpus import VALID_DATA

runner = CliRunner()


def _company(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(VALID_DATA, data, ignore=shutil.ignore_patterns("*.yaml"))
    return data


@pytest.mark.xfail(
    strict=True,
    reason="read.py: the careful CSV reader opens the text without universal newlines; "
    "csv.Error escapes as an internal error (exit 3)",
)
def test_old_mac_line_endings_are_read_or_refused_typed(tmp_path: Path) -> None:
    data = _company(tmp_path)
    path = data / "transactions.csv"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r"))
    result = runner.invoke(app, ["validate", str(data)])
    assert "internal error" not in result.output
    assert result.exit_code in (0, 1, 2)


@pytest.mark.xfail(
    strict=True,
    reason="dataset.py ignores files that name no contract table (salez.csv): no finding, "
    "so a misspelt file name silently drops its rows",
)
def test_a_file_of_no_known_table_is_reported(tmp_path: Path) -> None:
    data = _company(tmp_path)
    (data / "salez.csv").write_text("transaction_id,amount\nT9,10.00\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(data)])
    assert "salez.csv" in result.output
