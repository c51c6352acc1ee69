"""Helpers shared by the loading tests: fixture directories, their expectations, loads."""

from __future__ import annotations

import functools
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from ruamel.yaml import YAML

from engine.errors import Reason
from engine.loading import Dataset, load_dataset

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
BAD = ROOT / "fixtures" / "bad" / "data"
OPTIONAL_EXTRAS = ("hierarchy.csv", "territory_owners.csv", "quotas.csv", "plan_assignments.csv")
"""Sample files no test of transactions needs: skipping them keeps small tests fast."""
BAD_DIRS = sorted(p for p in BAD.iterdir() if (p / "expected.yaml").is_file())

Key = tuple[str, int | None, str | None, str]


@dataclass(frozen=True)
class Expected:
    """The expectations of one fixture directory (its ``expected.yaml``)."""

    name: str
    findings: list[Key]
    accounting: dict[str, dict[str, int]]
    exit_code: int
    cycle_path: str | None


def read_expected(directory: Path) -> Expected:
    """Parse ``expected.yaml`` of a fixture directory."""
    data: dict[str, Any] = YAML(typ="safe", pure=True).load(
        (directory / "expected.yaml").read_text(encoding="utf-8")
    )
    findings = [(f["file"], f["line"], f["column"], f["reason"]) for f in data["findings"] or []]
    return Expected(
        name=directory.name,
        findings=findings,
        accounting=data.get("accounting") or {},
        exit_code=data["exit_code"],
        cycle_path=data.get("cycle_path"),
    )


@functools.cache
def loaded(directory: Path) -> Dataset:
    """``load_dataset(directory)``, once per test session (datasets are not modified)."""
    return load_dataset(directory)


def finding_keys(rejects: pl.DataFrame) -> list[Key]:
    """The (file, line, column, reason) of every finding, sorted for comparison."""
    return sorted(rejects.select("file", "line", "column", "reason").rows(), key=sort_key)


def sort_key(key: Key) -> tuple[str, int, str, str]:
    """Order findings with nulls first (line -1, column '')."""
    file, line, column, reason = key
    return (file, -1 if line is None else line, column or "", reason)


def accounting_row(accounting: pl.DataFrame, file: str) -> dict[str, Any]:
    """The accounting row of the table stored in ``file`` (default file names only)."""
    table = Path(file).stem
    rows = accounting.filter(pl.col("table") == table).to_dicts()
    assert len(rows) == 1, f"no single accounting row for {table}"
    return rows[0]


def copy_company(source: Path, target: Path, skip: tuple[str, ...] = ()) -> Path:
    """Copy the CSV files of a company directory into ``target`` (created), except ``skip``."""
    target.mkdir(parents=True, exist_ok=True)
    for f in sorted(source.glob("*.csv")):
        if f.name not in skip:
            shutil.copyfile(f, target / f.name)
    return target


def read_text_frame(path: Path) -> pl.DataFrame:
    """A CSV file read as text, every column Utf8, blanks null (as the loader reads it)."""
    return pl.read_csv(path, infer_schema=False)


def loader_reasons() -> set[Reason]:
    """Every Reason named in the loader's source (engine/loading)."""
    sources = sorted((ROOT / "engine" / "loading").glob("*.py"))
    text = "\n".join(p.read_text(encoding="utf-8") for p in sources)
    return {Reason(code) for code in re.findall(r"Reason\.([A-Z_0-9]+)", text)}
