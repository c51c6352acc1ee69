"""Every fixture of fixtures/bad/data gives exactly its expected findings and row accounting."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.contract import TABLES
from engine.errors import Reason

from .support import (
    BAD,
    BAD_DIRS,
    SAMPLE,
    accounting_row,
    finding_keys,
    loaded,
    loader_reasons,
    read_expected,
    sort_key,
)

CONFIG_REASONS = {Reason.BAD_MAPPING, Reason.PATH_ESCAPE, Reason.USAGE}
"""Reasons the loader raises for configuration or API misuse, not as data findings."""


@pytest.fixture(params=BAD_DIRS, ids=[p.name for p in BAD_DIRS])
def bad_dir(request: pytest.FixtureRequest) -> Path:
    """Each directory of fixtures/bad/data."""
    path: Path = request.param
    return path


def test_findings_match_expected(bad_dir: Path) -> None:
    expected = read_expected(bad_dir)
    ds = loaded(bad_dir)
    assert finding_keys(ds.rejects) == sorted(expected.findings, key=sort_key)


def test_accounting_matches_expected(bad_dir: Path) -> None:
    expected = read_expected(bad_dir)
    ds = loaded(bad_dir)
    for file, counts in expected.accounting.items():
        row = accounting_row(ds.accounting, file)
        assert {k: row[k] for k in counts} == counts, file
    listed = {Path(f).stem for f in expected.accounting}
    others = ds.accounting.filter(~pl.col("table").is_in(sorted(listed)))
    assert others["rows_rejected"].sum() == 0


def test_usable_matches_exit_code(bad_dir: Path) -> None:
    expected = read_expected(bad_dir)
    ds = loaded(bad_dir)
    assert ds.usable == (expected.exit_code != 2)
    assert ds.clean == (expected.exit_code == 0)


@pytest.mark.parametrize(
    "directory", [SAMPLE, *BAD_DIRS], ids=["sample", *(p.name for p in BAD_DIRS)]
)
def test_rows_read_equal_accepted_plus_rejected(directory: Path) -> None:
    ds = loaded(directory)
    assert sorted(ds.accounting["table"]) == sorted(TABLES)
    for row in ds.accounting.iter_rows(named=True):
        assert row["rows_read"] == row["rows_accepted"] + row["rows_rejected"], row
        assert ds.tables[row["table"]].height == row["rows_accepted"], row
        if row["file"] is None:
            continue
        mine = ds.rejects.filter(pl.col("file") == row["file"])
        file_level = [
            r.value
            for r in (
                Reason.COLUMN_MISSING,
                Reason.BAD_ENCODING,
                Reason.FILE_UNREADABLE,
                Reason.FILE_EMPTY,
                Reason.FILE_MISSING,
            )
        ]
        whole_file = mine.filter(pl.col("line").is_null() | pl.col("reason").is_in(file_level))
        if whole_file.height == 0:
            assert mine["line"].n_unique() == row["rows_rejected"], row
            kept = set(ds.tables[row["table"]]["source_line"])
            assert kept.isdisjoint(mine["line"]), row


def test_cycle_path_is_named() -> None:
    for directory in BAD_DIRS:
        expected = read_expected(directory)
        if expected.cycle_path is None:
            continue
        cycles = loaded(directory).rejects.filter(pl.col("reason") == Reason.HIERARCHY_CYCLE.value)
        assert cycles.height > 0, directory.name
        for message in cycles["message"]:
            assert expected.cycle_path in message, directory.name


def test_every_loader_reason_has_a_fixture() -> None:
    covered = {Reason(f[3]) for d in BAD_DIRS for f in read_expected(d).findings}
    assert loader_reasons() - CONFIG_REASONS <= covered


def test_all_problems_combines_every_kind() -> None:
    """all_problems holds every row reason (not the file-level ones)."""
    everything = {Reason(f[3]) for f in read_expected(BAD / "all_problems").findings}
    file_level = {Reason.FILE_MISSING, Reason.FILE_UNREADABLE, Reason.UNKNOWN_TABLE}
    wanted = loader_reasons() - CONFIG_REASONS - file_level
    assert wanted <= everything


def test_each_single_fixture_injects_one_kind() -> None:
    for directory in BAD_DIRS:
        expected = read_expected(directory)
        if directory.name in ("all_problems", "valid_base"):
            continue
        kinds = {f[3] for f in expected.findings} - {Reason.UNKNOWN_REFERENCE.value}
        assert len(kinds) <= 1, directory.name


def test_sample_company_loads_clean() -> None:
    ds = loaded(SAMPLE)
    assert ds.rejects.height == 0
    assert ds.usable
    assert set(ds.accounting["status"]) == {"ok", "absent"}
    assert ds.tables["transactions"].height == 30


@pytest.mark.parametrize("name", ["file_missing", "file_empty", "bad_encoding", "file_unreadable"])
def test_accounting_names_files_that_could_not_be_read(name: str) -> None:
    ds = loaded(BAD / name)
    whole_file = ds.rejects.filter(
        pl.col("reason").is_in(["FILE_MISSING", "FILE_EMPTY", "BAD_ENCODING", "FILE_UNREADABLE"])
    )
    assert whole_file.height > 0
    for file in whole_file["file"]:
        assert file in ds.accounting["file"].to_list(), file
