"""`icm validate` on every bad-data fixture: exit code, every finding, rows per file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from loading.support import BAD, BAD_DIRS, SAMPLE, read_expected, sort_key
from typer.testing import CliRunner

from engine.cli import app

runner = CliRunner()


def _table_rows(text: str) -> list[list[str]]:
    """The body rows of the tables rich printed, as lists of stripped cells."""
    return [
        [cell.strip() for cell in line.strip().strip("│").split("│")]
        for line in text.splitlines()
        if line.startswith("│")
    ]


@pytest.mark.parametrize("directory", BAD_DIRS, ids=[p.name for p in BAD_DIRS])
def test_validate_reports_every_finding(directory: Path, tmp_path: Path) -> None:
    expected = read_expected(directory)
    rejects = tmp_path / "rejects.parquet"
    args = ["validate", str(directory), "--rejects", str(rejects), "--show", "1000"]
    result = runner.invoke(app, args)
    assert result.exit_code == expected.exit_code, result.output
    written = pl.read_parquet(rejects).select("file", "line", "column", "reason").rows()
    assert sorted(written, key=sort_key) == sorted(expected.findings, key=sort_key)

    rows = _table_rows(result.stdout)
    printed = {tuple(r[:4]) for r in rows if len(r) == 5}
    for file, line, column, reason in expected.findings:
        where = (file, "" if line is None else str(line), column or "", reason)
        assert where in printed, where
    accounting = {r[0]: r for r in rows if len(r) == 6}
    for file, counts in expected.accounting.items():
        row = accounting[Path(file).stem]
        wanted = [str(counts[k]) for k in ("rows_read", "rows_accepted", "rows_rejected")]
        assert row[2:5] == wanted, row


def test_validate_sample_is_clean() -> None:
    result = runner.invoke(app, ["validate", str(SAMPLE)])
    assert result.exit_code == 0, result.output


def test_strict_turns_findings_into_failure() -> None:
    result = runner.invoke(app, ["validate", str(BAD / "bad_number"), "--strict"])
    assert result.exit_code == 2


def test_missing_directory_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nowhere")])
    assert result.exit_code == 2
    assert "FILE_MISSING" in result.stderr
    assert "Traceback" not in result.output


def test_bad_mapping_stops_with_exit_2(tmp_path: Path) -> None:
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text("tables:\n  salez: {}\n", encoding="utf-8")
    result = runner.invoke(app, ["validate", str(SAMPLE), "--mapping", str(mapping)])
    assert result.exit_code == 2
    assert "BAD_MAPPING" in result.stderr
