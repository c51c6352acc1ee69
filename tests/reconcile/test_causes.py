"""Every injected difference is a break with the right class and probable cause."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.reconcile.compare import Tolerance, compare
from engine.reconcile.mapping import load_vendor_mapping
from engine.reconcile.vendor import read_vendor

from .conftest import MAPPINGS, write_vendor
from .injected import EXPECTED, inject


@pytest.fixture(scope="module")
def theirs(
    sample_grains: dict[str, pl.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, pl.DataFrame]:
    path = MAPPINGS["xactly"]
    vendor = write_vendor(inject(sample_grains), path, tmp_path_factory.mktemp("xactly"))
    return read_vendor(vendor, load_vendor_mapping(path))


def test_every_break_has_its_cause(
    sample_grains: dict[str, pl.DataFrame], theirs: dict[str, pl.DataFrame]
) -> None:
    c = compare(sample_grains, theirs, Tolerance())
    found = {(g, k): cause for g, k, cause in c.breaks.select("grain", "key", "cause").iter_rows()}
    assert found == EXPECTED
    assert c.failed


def test_classes(sample_grains: dict[str, pl.DataFrame], theirs: dict[str, pl.DataFrame]) -> None:
    b = compare(sample_grains, theirs, Tolerance(tolerance_cents=1)).breaks
    cls = {(g, k): x for g, k, x in b.select("grain", "key", "class").iter_rows()}
    assert cls["payment", "P014 / 2026-01"] == "within_tolerance"
    assert cls["payment", "P022 / 2026-02"] == "over_tolerance"
    assert cls["credit", "P012 / 2026-01 / T1002"] == "only_ours"
    assert cls["credit", "P011 / 2026-01 / T1002"] == "only_theirs"
    assert cls["payment", "P030 / 2026-01"] == "only_ours"
    within = b.filter(pl.col("class") == "within_tolerance")
    assert not within["over"].any()
    row = b.filter(pl.col("key") == "P022 / 2026-02").row(0, named=True)
    assert (row["ours_cents"], row["theirs_cents"], row["difference_cents"]) == (
        97500, 102500, -5000,
    )  # fmt: skip


def test_details_name_the_transactions(
    sample_grains: dict[str, pl.DataFrame], theirs: dict[str, pl.DataFrame]
) -> None:
    b = compare(sample_grains, theirs, Tolerance()).breaks
    detail = dict(b.select("key", "detail").iter_rows())
    assert "T1013" in detail["P023 / 2026-02"]
    assert "2026-03" in detail["P023 / 2026-02 / T1013"]
    assert "T1002" in detail["P011 / 2026-01"]
    assert "T1023" in detail["P014 / 2026-03 / T1023"]
    assert "P030" in detail["P030 / 2026-02"]


def test_summary_counts_and_amounts(
    sample_grains: dict[str, pl.DataFrame], theirs: dict[str, pl.DataFrame]
) -> None:
    c = compare(sample_grains, theirs, Tolerance())
    s = c.summary()
    assert s["breaks"].sum() == len(EXPECTED)
    assert s["abs_difference_cents"].sum() == c.breaks["difference_cents"].abs().sum()
    by_cause = dict(s.group_by("cause").agg(pl.col("breaks").sum()).iter_rows())
    assert by_cause["rounding"] == 2
    assert by_cause["rate"] == 2


def test_self_reconcile_has_no_break(
    sample_grains: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    path = MAPPINGS["sap_commissions"]
    vendor = write_vendor(sample_grains, path, tmp_path)
    c = compare(sample_grains, read_vendor(vendor, load_vendor_mapping(path)), Tolerance())
    assert c.breaks.height == 0
    assert not c.failed
