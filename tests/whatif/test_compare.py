"""`icm compare`: zero deltas against itself, exact deltas and counts, files, report, browser."""

from __future__ import annotations

import shutil
import struct
import subprocess
import zlib
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.pipeline import RunResult, run
from engine.rules import load_ruleset
from engine.whatif.compare import compare, write_comparison
from engine.whatif.report import render_comparison
from engine.whatif.shared import Workbench, crediting_key
from tests.whatif.conftest import RULES, SAMPLE, variant

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
SPIF_UP = ('amount: "150.00"', 'amount: "200.00"')
AE_DOWN = ('{from: 0, to: 1, rate: "5%"}', '{from: 0, to: 1, rate: "4%"}')


def _per(result: RunResult) -> dict[str, int]:
    per = result.calc.payouts.group_by("participant_id").agg(pl.col("payable_cents").sum())
    return dict(per.iter_rows())


def test_a_rule_set_against_itself_changes_nothing(bench: Workbench) -> None:
    rs = load_ruleset(RULES)
    c = compare(bench, rs, rs)
    assert c.credit_passes == 1
    assert c.participants["delta_cents"].to_list() == [0] * c.participants.height
    assert (c.summary["delta_cents"] == 0).all()
    assert (c.by_role["delta_cents"] == 0).all()
    assert (c.by_region["delta_cents"] == 0).all()
    assert (c.winners, c.losers) == (0, 0)
    assert c.unchanged == c.participants.height > 0
    base = c.distributions.filter(pl.col("series").str.starts_with("baseline"))["value"]
    cand = c.distributions.filter(pl.col("series").str.starts_with("candidate"))["value"]
    assert base.to_list() == cand.to_list()
    s = c.summary.row(0, named=True)
    assert s["baseline_cost_of_sales_ppm"] == s["candidate_cost_of_sales_ppm"] > 0


def test_totals_equal_standalone_runs(bench: Workbench, sample_run: RunResult) -> None:
    rs = load_ruleset(RULES)
    c = compare(bench, rs, rs)
    total = int(sample_run.calc.payouts["payable_cents"].sum())
    assert c.summary["baseline_cents"].to_list() == [total]
    assert dict(c.participants.select("participant_id", "baseline_cents").iter_rows()) == _per(
        sample_run
    )


def test_winners_and_losers_on_a_hand_made_change(
    tmp_path: Path, bench: Workbench, sample_run: RunResult
) -> None:
    # SDRs gain 50.00 a meeting; AEs lose 1% of revenue in the first tier
    cand_path = variant(tmp_path, "cand", SPIF_UP, AE_DOWN)
    cand = load_ruleset(cand_path)
    c = compare(bench, load_ruleset(RULES), cand)
    assert c.credit_passes == 1  # crediting sections unchanged: shared
    expected = _per(run(SAMPLE, cand_path))
    base = _per(sample_run)
    deltas = {p: expected.get(p, 0) - base.get(p, 0) for p in base.keys() | expected.keys()}
    got = dict(c.participants.select("participant_id", "delta_cents").iter_rows())
    assert got == deltas
    assert c.winners == sum(d > 0 for d in deltas.values())
    assert c.losers == sum(d < 0 for d in deltas.values())
    roles = dict(c.participants.select("participant_id", "role").iter_rows())
    assert {roles[p] for p, d in deltas.items() if d > 0} == {"SDR"}
    assert {roles[p] for p, d in deltas.items() if d < 0} == {"AE"}
    assert c.winners >= 1
    assert c.losers >= 1
    meetings = sample_run.calc.measures.filter(
        (pl.col("measure") == "meetings") & (pl.col("participant_id").is_in(list(roles)))
    )
    for pid, d in deltas.items():
        if roles[pid] == "SDR":  # count measures are in hundredths
            n = int(meetings.filter(pl.col("participant_id") == pid)["num"].sum()) // 100
            assert d == 5000 * n
    winners = c.top(1, winners=True)
    assert winners["delta_cents"].to_list() == [max(deltas.values())]
    sdr = c.by_role.filter(pl.col("role") == "SDR").row(0, named=True)
    assert sdr["losers"] == 0
    assert sdr["winners"] == c.winners


def test_a_crediting_change_credits_twice(tmp_path: Path, bench: Workbench) -> None:
    moved = variant(tmp_path, "prio", ("priority: 20}", "priority: 5}"))
    base, cand = load_ruleset(RULES), load_ruleset(moved)
    assert crediting_key(base) != crediting_key(cand)
    same = variant(tmp_path, "same", AE_DOWN)
    assert crediting_key(base) == crediting_key(load_ruleset(same))
    c = compare(bench, base, cand)
    assert c.credit_passes == 2
    total = int(run(SAMPLE, moved).calc.payouts["payable_cents"].sum())
    assert c.summary["candidate_cents"].to_list() == [total]


def test_files_are_written_and_formula_safe(tmp_path: Path, bench: Workbench) -> None:
    rs = load_ruleset(RULES)
    written = write_comparison(compare(bench, rs, rs), tmp_path / "out")
    names = sorted(p.name for p in written)
    assert names == [
        "by_region.csv",
        "by_role.csv",
        "compare.html",
        "distributions.csv",
        "participants.csv",
        "summary.csv",
    ]
    html = (tmp_path / "out" / "compare.html").read_text(encoding="utf-8")
    assert "<svg" in html
    assert "<script" not in html
    assert "<link" not in html
    assert "src=" not in html
    assert "url(" not in html


def test_data_text_is_escaped(tmp_path: Path, bench: Workbench) -> None:
    rs = load_ruleset(RULES)
    cand = load_ruleset(variant(tmp_path, "cand", SPIF_UP))
    c = compare(bench, rs, cand)
    evil = c.participants.with_columns(pl.lit("<b>W&E</b>").alias("region"))
    html = render_comparison(replace(c, participants=evil))
    assert "<b>W&E</b>" not in html
    assert "&lt;b&gt;W&amp;E&lt;/b&gt;" in html


def test_cli_compare(tmp_path: Path) -> None:
    cand = variant(tmp_path, "cand", SPIF_UP)
    out = tmp_path / "out"
    args = ["compare", "--data", str(SAMPLE), "--baseline", str(RULES)]
    result = CliRunner().invoke(app, [*args, "--candidate", str(cand), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "winners" in result.output
    summary = pl.read_csv(out / "summary.csv")
    assert summary["delta_cents"].to_list()[0] > 0


def test_cli_compare_bad_rules_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("schema_version: 1\nname: x\nreferense: y\n", encoding="utf-8")
    args = ["compare", "--data", str(SAMPLE), "--baseline", str(RULES), "--candidate", str(bad)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2


def _png_summary(path: Path) -> tuple[int, int, int]:
    data = path.read_bytes()
    pos, idat = 8, b""
    width = height = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    return width, height, len(set(zlib.decompress(idat)))


@pytest.mark.browser
def test_report_renders_in_chromium(tmp_path: Path, bench: Workbench) -> None:
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    cand = load_ruleset(variant(tmp_path, "cand", SPIF_UP, AE_DOWN))
    written = write_comparison(compare(bench, load_ruleset(RULES), cand), tmp_path / "out")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = ARTIFACTS / "whatif_compare.png"
    png.unlink(missing_ok=True)
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}",
        "--window-size=1100,1400", written[-1].resolve().as_uri(),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=90)
    assert png.stat().st_size > 20_000
    width, height, distinct = _png_summary(png)
    assert (width, height) == (1100, 1400)
    assert distinct > 16
