"""``icm reconcile``: files written, report content, exit codes."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from engine.cli import app

from .conftest import MAPPINGS, RULES, SAMPLE, write_vendor
from .injected import EXPECTED, inject

runner = CliRunner()


def _invoke(vendor: Path, mapping: str, out: Path, *more: str) -> tuple[int, str]:
    args = ["reconcile", "--data", str(SAMPLE), "--rules", str(RULES), "--vendor", str(vendor),
            "--mapping", mapping, "--out", str(out), *more]  # fmt: skip
    result = runner.invoke(app, args)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def injected_vendor(
    sample_grains: dict[str, pl.DataFrame], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    return write_vendor(
        inject(sample_grains), MAPPINGS["varicent"], tmp_path_factory.mktemp("varicent")
    )


def test_breaks_written_and_exit_1(injected_vendor: Path, tmp_path: Path) -> None:
    code, output = _invoke(injected_vendor, "varicent", tmp_path)
    assert code == 1, output
    breaks = pl.read_parquet(tmp_path / "breaks.parquet")
    assert dict(zip(zip(breaks["grain"], breaks["key"], strict=True), breaks["cause"],
                    strict=True)) == EXPECTED  # fmt: skip
    assert pl.read_csv(tmp_path / "breaks.csv").height == len(EXPECTED)
    summary = pl.read_csv(tmp_path / "summary.csv")
    assert summary["breaks"].sum() == len(EXPECTED)
    assert f"{len(EXPECTED)} breaks" in output


def test_html_report_self_contained_with_drill_down(injected_vendor: Path, tmp_path: Path) -> None:
    _invoke(injected_vendor, "varicent", tmp_path)
    html = (tmp_path / "report.html").read_text()
    assert "http://" not in html
    assert "https://" not in html
    assert "<script" not in html
    for person in ("P011", "P012", "P014", "P022", "P023", "P030"):
        assert f"<strong>{person}</strong>" in html
    assert "T1013 counted in 2026-02 by ours, 2026-03 by theirs" in html
    # the drill-down lists matches too: P011's February payment agrees
    assert '<tr class="match"><td>P011 / 2026-02</td>' in html


def test_only_rounding_within_tolerance_exits_0(
    sample_grains: dict[str, pl.DataFrame], tmp_path: Path
) -> None:
    theirs = {k: v.clone() for k, v in sample_grains.items()}
    hit = (pl.col("participant_id") == "P014") & (pl.col("period") == "2026-01")
    for g in ("incentive", "payment"):
        theirs[g] = theirs[g].with_columns(
            pl.when(hit).then(pl.col("amount_cents") + 1).otherwise(pl.col("amount_cents"))
        )
    vendor = write_vendor(theirs, MAPPINGS["xactly"], tmp_path / "v")
    code, output = _invoke(vendor, str(MAPPINGS["xactly"]), tmp_path / "o", "--tolerance", "0.01")
    assert code == 0, output
    assert pl.read_parquet(tmp_path / "o" / "breaks.parquet")["class"].to_list() == [
        "within_tolerance", "within_tolerance",
    ]  # fmt: skip
    code, _ = _invoke(vendor, "xactly", tmp_path / "o2")
    assert code == 1


def test_self_reconcile_exits_0(sample_grains: dict[str, pl.DataFrame], tmp_path: Path) -> None:
    vendor = write_vendor(sample_grains, MAPPINGS["sap_commissions"], tmp_path / "v")
    code, output = _invoke(vendor, "sap_commissions", tmp_path / "o")
    assert code == 0, output
    assert pl.read_parquet(tmp_path / "o" / "breaks.parquet").height == 0
    assert "No break over tolerance" in (tmp_path / "o" / "report.html").read_text()


@pytest.mark.parametrize(
    ("more", "mapping"),
    [(["--tolerance", "-1"], "xactly"), (["--tolerance", "x"], "xactly"), ([], "nope.yaml")],
)
def test_usage_errors_exit_2(
    more: list[str], mapping: str, injected_vendor: Path, tmp_path: Path
) -> None:
    code, _ = _invoke(injected_vendor, mapping, tmp_path, *more)
    assert code == 2


def test_missing_vendor_file_exits_2(tmp_path: Path) -> None:
    code, output = _invoke(tmp_path / "none.csv", "xactly", tmp_path / "o")
    assert code == 2
    assert "FILE_MISSING" in output
