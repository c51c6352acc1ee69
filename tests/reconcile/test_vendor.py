"""Reading vendor exports through the shipped mappings: exact amounts, every grain."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from engine.errors import EngineError, Reason
from engine.reconcile.mapping import VendorMapping, load_vendor_mapping
from engine.reconcile.vendor import read_vendor

from .conftest import MAPPINGS, write_vendor


def test_three_vendor_mappings_shipped() -> None:
    assert set(MAPPINGS) == {"sap_commissions", "xactly", "varicent"}


@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_round_trip_every_grain(
    name: str, sample_grains: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    vendor = write_vendor(sample_grains, MAPPINGS[name], tmp_path)
    theirs = read_vendor(vendor, load_vendor_mapping(MAPPINGS[name]))
    assert set(theirs) == {"payment", "incentive", "measure", "credit"}
    for grain, ours in sample_grains.items():
        keys = ours.columns[:-1]
        assert_frame_equal(theirs[grain].sort(keys), ours.sort(keys), check_dtypes=True)


def _payment_mapping() -> VendorMapping:
    return VendorMapping.from_data(
        {"grains": {"payment": {"keys": {"participant": "P", "period": "M"}, "amount": "A"}}}
    )


def test_amounts_exact_and_summed_per_key(tmp_path: Path) -> None:
    f = tmp_path / "v.csv"
    f.write_text("P,M,A\nX,2026-01, 0.1\nX,2026-01,0.2\nY,2026-01,-12345678901.99\n")
    rows = read_vendor(f, _payment_mapping())["payment"].sort("participant_id").rows()
    assert rows == [("X", "2026-01", 30), ("Y", "2026-01", -1234567890199)]


def test_parquet_read(tmp_path: Path) -> None:
    f = tmp_path / "v.parquet"
    pl.DataFrame({"P": ["X"], "M": ["2026-01"], "A": ["7.05"]}).write_parquet(f)
    assert read_vendor(f, _payment_mapping())["payment"].rows() == [("X", "2026-01", 705)]


def test_bad_amount_names_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "v.csv"
    f.write_text("P,M,A\nX,2026-01,1.00\nX,2026-01,1.005\nX,2026-01,1e3\n")
    with pytest.raises(EngineError) as info:
        read_vendor(f, _payment_mapping())
    found = [(x.reason, x.line, x.column) for x in info.value.findings]
    assert found == [(Reason.BAD_NUMBER, 3, "A"), (Reason.BAD_NUMBER, 4, "A")]


def test_missing_column(tmp_path: Path) -> None:
    f = tmp_path / "v.csv"
    f.write_text("P,M\nX,2026-01\n")
    with pytest.raises(EngineError) as info:
        read_vendor(f, _payment_mapping())
    assert [(x.reason, x.column) for x in info.value.findings] == [(Reason.COLUMN_MISSING, "A")]


def test_excel_needs_fastexcel(tmp_path: Path) -> None:
    f = tmp_path / "v.xlsx"
    f.write_bytes(b"PK")
    # fastexcel is not a dependency; without it, a clear error
    try:
        import fastexcel  # noqa: F401
    except ModuleNotFoundError:
        with pytest.raises(EngineError) as info:
            read_vendor(f, _payment_mapping())
        assert info.value.findings[0].reason == Reason.FILE_UNREADABLE


@pytest.mark.parametrize(
    "data",
    [
        {"grains": {"pay": {}}},
        {"grains": {"payment": {"keys": {"participant": "P"}, "amount": "A"}}},
        {"grains": {"payment": {"keys": {"participant": "P", "period": "M"}}}},
        {"grains": {}, "extra": 1},
        [],
    ],
)
def test_bad_mapping(data: object) -> None:
    with pytest.raises(EngineError) as info:
        VendorMapping.from_data(data)
    assert {x.reason for x in info.value.findings} == {Reason.BAD_MAPPING}


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    f = tmp_path / "m.yaml"
    f.write_text("vendor: a\nvendor: b\ngrains: {}\n")
    with pytest.raises(EngineError) as info:
        load_vendor_mapping(f)
    assert info.value.findings[0].reason == Reason.BAD_MAPPING
