"""File intake: validate incoming files, archive them by timestamp and hash, load them.

A file's table is its name without suffix (``transactions.csv`` -> ``transactions``), as in the
data contract. The batch in the inbox is validated together with the current data directory
(the incoming files replace their tables), so references between new files are checked as the
next run will check them.

* **Accepted** (its table is usable): copied into the archive as
  ``<archive>/<table>/<UTC timestamp>_<sha256[:16]>_<original name>`` (never overwritten), then
  placed into the data directory by writing a temporary file and renaming it over
  ``<table>.<suffix>``; a file of the same table with the other suffix is removed so that the
  next run reads the new one. Row-level rejects are reported but the file is loaded.
* **Duplicate**: the same content (sha256) already archived for the table is recorded in the
  history with status ``duplicate`` and the existing archive name; no second copy is made.
* **Quarantined**: an unusable file (unknown table, empty, bad encoding, missing required column,
  no accepted row) is moved to the quarantine directory with ``<name>.reasons.csv``.

Processed files leave the inbox. Every file gets a row in the ``intake`` history table.

Example:
    >>> archive_name("transactions.csv", "ab" * 32, datetime(2026, 1, 2, 3, 4, 5, 6))
    '20260102T030405.000006Z_abababababababab_transactions.csv'
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from engine.contract import TABLES
from engine.errors import Reason
from engine.loading import Dataset, load_dataset
from engine.loading.mapping import Mapping, load_mapping
from engine.ops.db import connect, query, utc_now
from engine.reports.export import write_frame

SUFFIXES = (".csv", ".parquet")
FILE_REASONS = [
    r.value
    for r in (Reason.FILE_EMPTY, Reason.BAD_ENCODING, Reason.FILE_UNREADABLE, Reason.COLUMN_MISSING)
]


@dataclass(frozen=True)
class IntakeRecord:
    """What happened to one incoming file (one row of the ``intake`` table)."""

    received: datetime
    table: str | None
    original_name: str
    archived_name: str | None
    sha256: str
    rows_read: int
    rows_accepted: int
    rows_rejected: int
    status: str  # accepted | rejects | duplicate | quarantined
    detail: str


@dataclass(frozen=True)
class IntakeResult:
    """The outcome of one intake: a record per file, and the findings of every file."""

    records: list[IntakeRecord]
    findings: pl.DataFrame

    @property
    def quarantined(self) -> int:
        """How many files went to quarantine."""
        return sum(r.status == "quarantined" for r in self.records)

    @property
    def rows_rejected(self) -> int:
        """Rows rejected in the files that were loaded."""
        return sum(r.rows_rejected for r in self.records if r.status != "quarantined")


def archive_name(original: str, sha256: str, when: datetime) -> str:
    """The archive file name: ``<UTC timestamp>_<sha256[:16]>_<original name>``."""
    return f"{when:%Y%m%dT%H%M%S.%fZ}_{sha256[:16]}_{original}"


def sha256_of(path: Path) -> str:
    """The sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def intake(
    inbox: Path,
    archive: Path,
    db_path: Path,
    *,
    quarantine: Path | None = None,
    data_dir: Path | None = None,
) -> IntakeResult:
    """Validate, archive and load every file of ``inbox``.

    Args:
        inbox: the directory files arrive in (files only; sub-directories are ignored).
        archive: the archive root (one sub-directory per table).
        db_path: the operations database.
        quarantine: where unusable files go (default ``<archive>/quarantine``).
        data_dir: the data directory the next run reads; None to archive only.

    Returns:
        A record per file and the findings (file, line, column, reason, message...).
    """
    quarantine = quarantine or archive / "quarantine"
    now = utc_now()
    config = load_mapping(data_dir) if data_dir is not None and data_dir.is_dir() else Mapping()
    incoming = sorted(p for p in inbox.iterdir() if p.is_file() and not p.name.startswith("."))
    known: dict[str, Path] = {}
    targets: dict[str, str] = {}
    unknown: list[tuple[Path, str]] = []
    for path in incoming:
        table = path.name.rsplit(".", 1)[0] if path.suffix.lower() in SUFFIXES else None
        mapped = config.for_table(table).file if table in TABLES else None
        if table not in TABLES:
            tables = ", ".join(sorted(TABLES))
            unknown.append((path, f"not a contract table name ({tables}) with .csv or .parquet"))
        elif table in known:
            unknown.append((path, "a second file for the same table in one batch"))
        elif mapped is not None and Path(mapped).suffix.lower() != path.suffix.lower():
            unknown.append((path, f"the data directory's mapping reads this table from {mapped}"))
        else:
            known[table] = path
            targets[table] = mapped or f"{table}{path.suffix.lower()}"
    findings: list[pl.DataFrame] = []
    records: list[IntakeRecord] = []
    where = data_dir if data_dir is not None and data_dir.is_dir() else None
    # validate; an unusable file is quarantined and the rest validated again without it (its
    # table as it is in the data directory), so one bad file does not condemn its neighbours:
    # files unusable in themselves (empty, bad encoding, missing column) go first
    pending = dict(known)
    while True:
        dataset = _validate(where, pending, targets)
        accounting = {row["table"]: row for row in dataset.accounting.iter_rows(named=True)}
        unusable = [t for t in pending if accounting[t]["status"] == "unusable"]
        broken = set(dataset.rejects.filter(pl.col("reason").is_in(FILE_REASONS))["file"])
        if any(targets[t] in broken for t in unusable):  # the file itself first
            unusable = [t for t in unusable if targets[t] in broken]
        for table in unusable:
            path = pending.pop(table)
            mine = _findings_of(dataset, targets[table], path.name)
            findings.append(mine)
            sha = sha256_of(path)
            read = accounting[table]["rows_read"]
            _quarantine(path, quarantine, mine)
            reasons = ", ".join(sorted(set(mine["reason"].to_list()))) or "no accepted row"
            records.append(
                IntakeRecord(
                    now, table, path.name, None, sha, read, 0, read, "quarantined", reasons
                )
            )
        if not unusable:
            break
    for table, path in pending.items():
        mine = _findings_of(dataset, targets[table], path.name)
        findings.append(mine)
        row = accounting[table]
        sha = sha256_of(path)
        read, accepted, rejected = row["rows_read"], row["rows_accepted"], row["rows_rejected"]
        stored, duplicate = _archive(path, table, sha, archive, now)
        if data_dir is not None:
            place(path, data_dir, table, targets[table])
        path.unlink()
        status = "duplicate" if duplicate else ("rejects" if rejected else "accepted")
        detail = f"{rejected} row(s) rejected" if rejected else ""
        records.append(
            IntakeRecord(
                now, table, path.name, stored, sha, read, accepted, rejected, status, detail
            )
        )
    for path, message in unknown:
        found = _finding(path.name, Reason.FILE_UNREADABLE, message)
        findings.append(found)
        sha = sha256_of(path)
        _quarantine(path, quarantine, found)
        records.append(
            IntakeRecord(
                now, None, path.name, None, sha, 0, 0, 0, "quarantined",
                Reason.FILE_UNREADABLE.value,
            )
        )  # fmt: skip
    _record(db_path, records)
    all_findings = pl.concat(findings) if findings else _finding("", Reason.USAGE, "").clear()
    return IntakeResult(records, all_findings)


def _validate(where: Path | None, incoming: dict[str, Path], targets: dict[str, str]) -> Dataset:
    """Load the data directory with ``incoming`` files in place of their tables.

    The copy is made of hard links in a hidden directory inside the data directory (removed
    afterwards), so that paths in ``mapping.yaml`` resolve as they will for the next run.
    """
    with tempfile.TemporaryDirectory(prefix=".icm-intake-", dir=where) as tmp:
        staging = Path(tmp) / "data"
        if where is not None:
            shutil.copytree(
                where, staging, copy_function=_link_or_copy, ignore=_hidden, symlinks=False
            )
        staging.mkdir(exist_ok=True)
        for table, path in incoming.items():
            for old in (f"{table}.csv", f"{table}.parquet", targets[table]):
                (staging / old).unlink(missing_ok=True)
            (staging / targets[table]).parent.mkdir(parents=True, exist_ok=True)
            _link_or_copy(path, staging / targets[table])
        return load_dataset(staging)


def _findings_of(dataset: Dataset, display: str, original: str) -> pl.DataFrame:
    """The findings about one file, named as it arrived."""
    return dataset.rejects.filter(pl.col("file") == display).with_columns(
        pl.lit(original).alias("file")
    )


def place(source: Path, data_dir: Path, table: str, name: str | None = None) -> Path:
    """Copy ``source`` into ``data_dir`` atomically (temporary file + rename).

    Args:
        source: the incoming file.
        data_dir: the data directory.
        table: its contract table.
        name: the path inside ``data_dir`` (the mapping's ``file``); default
            ``<table><suffix>``, in which case a file of the same table with the other suffix
            is removed so that the loader reads this one.

    Returns:
        The placed file.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    suffix = source.suffix.lower()
    default = f"{table}{suffix}"
    target = data_dir / (name or default)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        shutil.copyfile(source, temp)
        with temp.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    for other in SUFFIXES:
        if other != suffix and (name or default) == default:
            (data_dir / f"{table}{other}").unlink(missing_ok=True)
    return target


def _archive(path: Path, table: str, sha: str, archive: Path, now: datetime) -> tuple[str, bool]:
    """Copy ``path`` into the archive; return its archive name and whether it was already there."""
    folder = archive / table
    folder.mkdir(parents=True, exist_ok=True)
    for existing in sorted(folder.glob(f"*_{sha[:16]}_*")):
        if sha256_of(existing) == sha:
            return f"{table}/{existing.name}", True
    name = archive_name(path.name, sha, now)
    target = folder / name
    temp = folder / f".{name}.tmp"
    shutil.copyfile(path, temp)
    try:
        os.link(temp, target)  # fails if the name exists: an archived file is never overwritten
    finally:
        temp.unlink()
    return f"{table}/{name}", False


def _link_or_copy(source: str | Path, target: str | Path) -> None:
    """Hard-link ``source`` to ``target`` (cheap for large files), copying across file systems."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _hidden(_: str, names: list[str]) -> list[str]:
    return [n for n in names if n.startswith(".")]


def _quarantine(path: Path, quarantine: Path, found: pl.DataFrame) -> None:
    quarantine.mkdir(parents=True, exist_ok=True)
    target = quarantine / path.name
    if target.exists():
        stamp = f"{utc_now():%Y%m%dT%H%M%S.%fZ}"
        target = quarantine / f"{stamp}_{path.name}"
    shutil.move(path, target)
    write_frame(found, quarantine / f"{target.name}.reasons.csv")


def _finding(file: str, reason: Reason, message: str) -> pl.DataFrame:
    return pl.DataFrame(
        [{"file": file, "line": None, "column": None, "reason": reason.value,
          "message": message, "value": None, "hint": None}],
        schema={"file": pl.Utf8, "line": pl.Int64, "column": pl.Utf8, "reason": pl.Utf8,
                "message": pl.Utf8, "value": pl.Utf8, "hint": pl.Utf8},
    )  # fmt: skip


def _record(db_path: Path, records: list[IntakeRecord]) -> None:
    con = connect(db_path)
    try:
        con.executemany(
            "INSERT INTO intake VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                [r.received, r.table, r.original_name, r.archived_name, r.sha256, r.rows_read,
                 r.rows_accepted, r.rows_rejected, r.status, r.detail]
                for r in records
            ],
        )  # fmt: skip
    finally:
        con.close()


def history(db_path: Path) -> pl.DataFrame:
    """The intake history, oldest first."""
    con = connect(db_path)
    try:
        return query(con, "SELECT * FROM intake ORDER BY received, original_name")
    finally:
        con.close()
