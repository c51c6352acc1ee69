"""`icm intake`: validation, archive naming, duplicates, quarantine, atomic placement, history."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import polars as pl
from typer.testing import CliRunner

from engine.cli import app
from engine.ops.intake import history, intake

from .conftest import RULES, SAMPLE

runner = CliRunner()


def _invoke(inbox: Path, tmp_path: Path, data_dir: Path) -> tuple[int, str]:
    args = ["intake", str(inbox), "--archive", str(tmp_path / "archive"), "--data", str(data_dir)]
    result = runner.invoke(app, args)
    return result.exit_code, result.output


def test_accepted_file_is_archived_by_timestamp_and_hash_then_loaded(
    tmp_path: Path, inbox: Path, data_dir: Path
) -> None:
    content = (SAMPLE / "transactions.csv").read_bytes().replace(b"18000.00", b"18500.00")
    (inbox / "transactions.csv").write_bytes(content)
    code, output = _invoke(inbox, tmp_path, data_dir)
    assert code == 0, output
    sha = hashlib.sha256(content).hexdigest()
    archived = list((tmp_path / "archive" / "transactions").iterdir())
    assert len(archived) == 1
    pattern = rf"\d{{8}}T\d{{6}}\.\d{{6}}Z_{sha[:16]}_transactions\.csv"
    assert re.fullmatch(pattern, archived[0].name)
    assert archived[0].read_bytes() == content
    assert (data_dir / "transactions.csv").read_bytes() == content
    assert not list(inbox.iterdir())
    assert not [p for p in data_dir.iterdir() if p.name.startswith(".")]  # no temp file left
    hist = history(tmp_path / "archive" / "ops.duckdb")
    row = hist.row(0, named=True)
    assert row["tbl"] == "transactions"
    assert row["status"] == "accepted"
    assert row["sha256"] == sha
    assert row["archived_name"] == f"transactions/{archived[0].name}"
    assert (row["rows_read"], row["rows_accepted"], row["rows_rejected"]) == (30, 30, 0)


def test_same_content_twice_is_recorded_not_duplicated(
    tmp_path: Path, inbox: Path, data_dir: Path
) -> None:
    content = (SAMPLE / "participants.csv").read_bytes()
    for _ in range(2):
        (inbox / "participants.csv").write_bytes(content)
        code, output = _invoke(inbox, tmp_path, data_dir)
        assert code == 0, output
    assert len(list((tmp_path / "archive" / "participants").iterdir())) == 1
    hist = history(tmp_path / "archive" / "ops.duckdb")
    assert hist["status"].to_list() == ["accepted", "duplicate"]
    assert hist["archived_name"].n_unique() == 1
    # new content for the same table is kept beside the old one: full history
    (inbox / "participants.csv").write_bytes(content + b"\n")
    assert _invoke(inbox, tmp_path, data_dir)[0] == 0
    assert len(list((tmp_path / "archive" / "participants").iterdir())) == 2


def test_row_rejects_are_reported_but_the_file_is_loaded(
    tmp_path: Path, inbox: Path, data_dir: Path
) -> None:
    content = (SAMPLE / "transactions.csv").read_bytes().replace(b"18000.00", b"18000.005")
    (inbox / "transactions.csv").write_bytes(content)
    code, output = _invoke(inbox, tmp_path, data_dir)
    assert code == 1, output
    assert (data_dir / "transactions.csv").read_bytes() == content
    row = history(tmp_path / "archive" / "ops.duckdb").row(0, named=True)
    assert (row["status"], row["rows_read"], row["rows_accepted"], row["rows_rejected"]) == (
        "rejects",
        30,
        29,
        1,
    )


def test_unusable_files_are_quarantined_with_their_reasons(
    tmp_path: Path, inbox: Path, data_dir: Path
) -> None:
    before = (data_dir / "participants.csv").read_bytes()
    (inbox / "participants.csv").write_bytes(b"")
    (inbox / "quotas.csv").write_bytes(b"participant_id,period\nP1,2026-01\n")
    (inbox / "calendar.csv").write_bytes(b"period,start_date,end_date\n2026-01,\xff,2026-01-31\n")
    (inbox / "notes.txt").write_text("hello")
    code, output = _invoke(inbox, tmp_path, data_dir)
    assert code == 2, output
    quarantine = tmp_path / "archive" / "quarantine"
    reasons = {
        p.name.removesuffix(".reasons.csv"): set(pl.read_csv(p)["reason"].to_list())
        for p in quarantine.glob("*.reasons.csv")
    }
    assert reasons["participants.csv"] == {"FILE_EMPTY"}
    assert "COLUMN_MISSING" in reasons["quotas.csv"]
    assert reasons["calendar.csv"] == {"BAD_ENCODING"}
    assert reasons["notes.txt"] == {"FILE_UNREADABLE"}
    assert (quarantine / "quotas.csv").exists()
    assert (data_dir / "participants.csv").read_bytes() == before  # untouched
    assert not (tmp_path / "archive" / "participants").exists()
    hist = history(tmp_path / "archive" / "ops.duckdb")
    assert set(hist["status"].to_list()) == {"quarantined"}
    assert hist.height == 4


def test_parquet_replaces_csv_of_the_same_table(
    tmp_path: Path, inbox: Path, data_dir: Path
) -> None:
    pl.read_csv(SAMPLE / "territories.csv", infer_schema=False).write_parquet(
        inbox / "territories.parquet"
    )
    result = intake(inbox, tmp_path / "archive", tmp_path / "ops.duckdb", data_dir=data_dir)
    assert [r.status for r in result.records] == ["accepted"]
    assert (data_dir / "territories.parquet").exists()
    assert not (data_dir / "territories.csv").exists()


def test_batch_is_validated_together(tmp_path: Path, inbox: Path, data_dir: Path) -> None:
    # a new participant and a transaction sold by them arrive in the same batch
    participants = (SAMPLE / "participants.csv").read_text()
    first = participants.splitlines()[1].split(",")
    new_row = ",".join(["P-NEW", *first[1:]])
    (inbox / "participants.csv").write_text(participants.rstrip("\n") + "\n" + new_row + "\n")
    tx = (SAMPLE / "transactions.csv").read_text().rstrip("\n")
    (inbox / "transactions.csv").write_text(
        tx + "\nT9999,2026-01-20,100.00,USD,PLATFORM,New,,P-NEW,new,1,\n"
    )
    result = intake(inbox, tmp_path / "archive", tmp_path / "ops.duckdb", data_dir=data_dir)
    assert result.findings.filter(pl.col("reason") == "UNKNOWN_REFERENCE").height == 0, (
        result.findings
    )
    assert {r.status for r in result.records} == {"accepted"}


def test_mapped_table_is_placed_at_its_mapped_path(
    tmp_path: Path, inbox: Path, data_dir: Path
) -> None:
    (data_dir / "exports").mkdir()
    text = (SAMPLE / "transactions.csv").read_text()
    (data_dir / "transactions.csv").rename(data_dir / "exports" / "sales.csv")
    mapping = "tables:\n  transactions:\n    file: exports/sales.csv\n    columns:\n"
    (data_dir / "mapping.yaml").write_text(mapping + "      amount: NET\n")
    (data_dir / "exports" / "sales.csv").write_text(text.replace(",amount,", ",NET,", 1))
    incoming = text.replace(",amount,", ",NET,", 1).replace("18000.00", "18100.00")
    (inbox / "transactions.csv").write_text(incoming)
    result = intake(inbox, tmp_path / "archive", tmp_path / "ops.duckdb", data_dir=data_dir)
    assert [r.status for r in result.records] == ["accepted"], result.findings
    assert (data_dir / "exports" / "sales.csv").read_text() == incoming
    assert not (data_dir / "transactions.csv").exists()
    assert not [p for p in data_dir.iterdir() if p.name.startswith(".")]


def test_intake_then_logged_run_reads_the_new_file(
    tmp_path: Path, inbox: Path, data_dir: Path
) -> None:
    content = (SAMPLE / "transactions.csv").read_text().replace("18000.00", "28000.00")
    (inbox / "transactions.csv").write_text(content)
    assert _invoke(inbox, tmp_path, data_dir)[0] == 0
    shown = runner.invoke(app, ["intake-history", "--archive", str(tmp_path / "archive")])
    assert shown.exit_code == 0
    assert "transactions.csv" in shown.output
    out = tmp_path / "out"
    args = ["run-logged", str(data_dir), "--rules", str(RULES), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    archived = history(tmp_path / "archive" / "ops.duckdb")["sha256"][0]
    manifest = (out / "current" / "manifest.json").read_text()
    assert archived in manifest  # the run read exactly the archived bytes


def test_one_unusable_file_does_not_condemn_its_neighbours(
    tmp_path: Path, inbox: Path, data_dir: Path
) -> None:
    # the empty participants file is quarantined; the quotas are validated against the
    # participants already in the data directory, not against the empty file
    (inbox / "participants.csv").write_bytes(b"")
    (inbox / "quotas.csv").write_bytes((SAMPLE / "quotas.csv").read_bytes())
    result = intake(inbox, tmp_path / "archive", tmp_path / "ops.duckdb", data_dir=data_dir)
    status = {r.table: (r.status, r.rows_rejected) for r in result.records}
    assert status == {"participants": ("quarantined", 0), "quotas": ("accepted", 0)}
    assert (tmp_path / "archive" / "quarantine" / "participants.csv.reasons.csv").exists()
