"""`icm statements`: figures equal the payout table, data is escaped, a browser renders it."""

from __future__ import annotations

import html
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from engine.audit.explain import money
from engine.audit.lineage import Lineage
from engine.cli import app
from engine.pipeline import RunResult, run
from engine.reports.statements import render_statement, statement_context, write_statements

from .conftest import ROOT, RULES, SAMPLE

runner = CliRunner()
ARTIFACTS = ROOT / "tests" / "artifacts"


def _field(page: str, name: str) -> str:
    found = re.search(rf'data-field="{name}">([^<]*)<', page)
    assert found is not None, name
    return found.group(1)


def test_every_statement_shows_the_payout_table(
    sample_run: RunResult, sample_lineage: Lineage
) -> None:
    totals = sample_run.calc.payouts.group_by("participant_id", "period").agg(
        pl.col(c).sum()
        for c in ("earned_cents", "adjustments_cents", "draw_cents", "recovered_cents")
    )
    payable = sample_run.calc.payouts.group_by("participant_id", "period").agg(
        pl.col("payable_cents").sum()
    )
    rows = totals.join(payable, on=["participant_id", "period"]).to_dicts()
    assert len(rows) == 35
    for row in rows:
        ctx = statement_context(sample_run, sample_lineage, row["participant_id"], row["period"])
        page = render_statement(ctx)
        for key in ("earned", "adjustments", "draw", "recovered", "payable"):
            assert _field(page, key) == money(row[f"{key}_cents"]), (row, key)
        assert "<script" not in page.lower()
        assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
        assert "https://" not in page


def test_statement_content(sample_run: RunResult, sample_lineage: Lineage) -> None:
    page = render_statement(statement_context(sample_run, sample_lineage, "P021", "2026-02"))
    assert "Gus Ivers" in page
    assert "<svg" in page
    assert "138.75%" in page  # revenue_att, and the bar label
    reached = re.findall(r'<tr class="reached">(.*?)</tr>', page, re.S)
    assert len(reached) == 1
    assert "8%" in reached[0]
    assert "reaches tier 2 [1, 1.5) at 8%: revenue 55,500.00 x 8%" in page
    assert "return T1020 -4,000.00 of T1003 12,000.00" in page
    assert "clawback" in page
    assert "-200.00" in page
    for tx in ("T1014", "T1015", "T1016"):
        assert tx in page
    assert "transaction_sellers:3" in page
    assert sample_run.ruleset.content_hash in page


def test_names_are_escaped(tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    people = (data / "participants.csv").read_text(encoding="utf-8")
    evil = "<script>alert(1)</script>"
    (data / "participants.csv").write_text(
        people.replace("Gus Ivers", f'"{evil} & co"'), encoding="utf-8"
    )
    written = write_statements(
        run(data, RULES), tmp_path / "out", participants=["P021"], periods=["2026-02"]
    )
    assert [p.name for p in written] == ["P021_2026-02.html"]
    page = written[0].read_text(encoding="utf-8")
    assert evil not in page
    assert "<script" not in page
    assert html.escape(evil) in page or "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_statements_command(tmp_path: Path) -> None:
    args = ["statements", "--data", str(SAMPLE), "--rules", str(RULES), "--out", str(tmp_path)]
    result = runner.invoke(app, [*args, "--participant", "P010", "--period", "2026-03"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["P010_2026-03.html"]


def _png_is_not_blank(path: Path) -> tuple[int, int, int]:
    """Width, height and how many distinct bytes the decoded image rows hold."""
    raw = path.read_bytes()
    assert raw[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height = 8, b"", 0, 0
    while pos < len(raw):
        (length,) = struct.unpack(">I", raw[pos : pos + 4])
        kind = raw[pos + 4 : pos + 8]
        body = raw[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    pixels = zlib.decompress(idat)
    return width, height, len(set(pixels))


@pytest.mark.browser
def test_statement_renders_in_chromium(tmp_path: Path) -> None:
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("Debian chromium is not installed (apt-get install -y chromium)")
    written = write_statements(
        run(SAMPLE, RULES), tmp_path / "html", participants=["P021"], periods=["2026-02"]
    )
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    png = ARTIFACTS / "statement_P021_2026-02.png"
    png.unlink(missing_ok=True)
    cmd = [
        browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}", f"--screenshot={png}",
        "--window-size=1000,1400", written[0].resolve().as_uri(),
    ]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, timeout=90)
    assert png.stat().st_size > 20_000
    width, height, distinct = _png_is_not_blank(png)
    assert (width, height) == (1000, 1400)
    assert distinct > 16


def test_synth_statements_match_payouts_and_the_unpartitioned_path(
    synth_run: RunResult, tmp_path: Path
) -> None:
    from engine.audit.lineage import build_lineage

    pays = synth_run.calc.payouts.group_by("participant_id", "period").agg(
        pl.col("payable_cents").sum(), pl.col("earned_cents").sum()
    )
    picked = pays.sort("payable_cents", "participant_id", "period", descending=True).head(6)
    picked = pl.concat([picked, pays.sort("participant_id", "period").head(6)]).unique()
    who = sorted(set(picked["participant_id"].to_list()))
    written = write_statements(synth_run, tmp_path, participants=who)
    lin = build_lineage(synth_run, who)
    for pid, period, payable, earned in picked.iter_rows():
        page = (tmp_path / f"{pid}_{period}.html").read_text(encoding="utf-8")
        assert _field(page, "payable") == money(payable)
        assert _field(page, "earned") == money(earned)
        assert page == render_statement(statement_context(synth_run, lin, pid, period))
    assert len(written) == pays.filter(pl.col("participant_id").is_in(who)).height
