"""Load a data directory into typed, validated tables: the first stage of every run.

``load_dataset`` reads every contract table, checks cells, keys, dates and references in one
pass, and returns the accepted rows together with a rejects table (one row per problem: file,
line, column, reason code, message, value, hint) and a row accounting per file in which rows read
always equal rows accepted plus rows rejected.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from engine.contract import LOAD_ORDER, TABLES, Column, Table
from engine.errors import REMEDIES, EngineError, Reason
from engine.loading import checks
from engine.loading.columns import FINDING_SCHEMA, empty_findings, validate_cells
from engine.loading.mapping import Mapping, load_mapping
from engine.loading.read import LINE, SUFFIXES, RawTable, locate, raw_from_rows, read_table

ACCOUNTING_SCHEMA: dict[str, pl.DataType] = {
    "table": pl.Utf8(),
    "file": pl.Utf8(),
    "rows_read": pl.Int64(),
    "rows_accepted": pl.Int64(),
    "rows_rejected": pl.Int64(),
    "status": pl.Utf8(),
}


@dataclass(frozen=True)
class Dataset:
    """Validated input tables.

    Attributes:
        tables: every contract table, typed (see ``docs/data-contract.md``); a table whose file
            is absent is present and empty.
        rejects: one row per problem found.
        accounting: per table: file, rows read, accepted, rejected, and a status
            (``ok``, ``rejects``, ``absent``, ``unusable``).
        file_hashes: sha256 of every input file read, by file name.
        root: the data directory (None for in-memory data).
    """

    tables: dict[str, pl.DataFrame]
    rejects: pl.DataFrame
    accounting: pl.DataFrame
    file_hashes: dict[str, str] = field(default_factory=dict)
    root: Path | None = None

    @property
    def clean(self) -> bool:
        """True when nothing was rejected."""
        return self.rejects.height == 0

    @property
    def usable(self) -> bool:
        """False when a required table has no accepted row (nothing can be calculated)."""
        counts = dict(self.accounting.select("table", "rows_accepted").iter_rows())
        return all(counts.get(t.name, 0) > 0 for t in TABLES.values() if t.required)


def empty_table(table: Table) -> pl.DataFrame:
    """An empty typed frame with the stored columns of ``table`` (a new frame each call)."""
    if TABLES.get(table.name) is not table:
        return _empty_frame(table)
    return _empty_template(table.name).clear()  # copying a template is far cheaper


@functools.cache
def _empty_template(name: str) -> pl.DataFrame:
    return _empty_frame(TABLES[name])


def _empty_frame(table: Table) -> pl.DataFrame:
    schema: dict[str, pl.DataType] = {LINE: pl.Int64()}
    for c in table.columns:
        schema[c.stored_name] = _dtype(c)
    return pl.DataFrame(schema=schema)


def _dtype(column: Column) -> pl.DataType:
    if column.kind == "date":
        return pl.Date()
    if column.kind in ("money", "share", "fx", "decimal"):
        return pl.Int64()
    return pl.Utf8()


def load_dataset(data_dir: Path, mapping: Path | None = None) -> Dataset:
    """Read and validate every table of a data directory.

    Args:
        data_dir: the directory holding ``<table>.csv`` / ``<table>.parquet`` files.
        mapping: a mapping file; defaults to ``data_dir/mapping.yaml`` when present.

    Returns:
        The dataset; problems are in ``rejects``, never raised.

    Raises:
        EngineError: only when the directory itself or the mapping cannot be used.
    """
    if not data_dir.is_dir():
        raise EngineError.single(
            Reason.FILE_MISSING, "the data directory does not exist", file=str(data_dir)
        )
    config = load_mapping(data_dir, mapping)
    file_errors: dict[str, pl.DataFrame] = {}
    displays: dict[str, str] = {}
    paths: dict[str, Path] = {}
    for name in LOAD_ORDER:
        table_map = config.for_table(name)
        path = locate(data_dir, name, table_map, config.source)
        display = displays[name] = table_map.file or f"{name}.csv"
        if path is None:
            if TABLES[name].required or table_map.file is not None:
                file_errors[name] = _file_finding(
                    display, Reason.FILE_MISSING, f"required table {name} not found"
                )
            continue
        displays[name] = path.relative_to(data_dir).as_posix()
        paths[name] = path

    for display, message in _stray_files(data_dir, set(paths.values()), config):
        file_errors[f"?{display}"] = _file_finding(display, Reason.UNKNOWN_TABLE, message)

    def read(name: str) -> RawTable | None:
        # read when the table is validated, so that one table's text is held at a time
        path = paths.get(name)
        if path is None:
            return None
        try:
            return read_table(name, path, displays[name], config.for_table(name))
        except EngineError as exc:
            file_errors[name] = pl.concat(
                [
                    _file_finding(f.file or displays[name], f.reason, f.message, f.line)
                    for f in exc.findings
                ]
            )
            return None

    return _validate(read, file_errors, config, data_dir, displays)


def dataset_from_rows(rows: MappingABC[str, list[dict[str, str]]]) -> Dataset:
    """Validate in-memory tables given as rows of text, exactly as a CSV would hold them.

    Args:
        rows: table name -> list of rows (column -> text). Absent tables are empty.

    Returns:
        The validated dataset.

    Raises:
        EngineError: ``USAGE`` for an unknown table name.

    Example:
        >>> ds = dataset_from_rows({
        ...     "calendar": [{"period": "2026-01", "start_date": "2026-01-01",
        ...                   "end_date": "2026-01-31"}],
        ...     "participants": [{"participant_id": "P1", "role": "AE", "pay_currency": "USD",
        ...                       "hire_date": "2025-01-01"}],
        ...     "transactions": [{"transaction_id": "T1", "credit_date": "2026-01-05",
        ...                       "amount": "100.005", "currency": "USD", "seller_id": "P1"}],
        ... })
        >>> ds.rejects.select("line", "column", "reason").rows()
        [(2, 'amount', 'TOO_MANY_DECIMALS')]
        >>> ds.tables["calendar"].select("quarter", "year").rows()
        [('2026-Q1', '2026')]
    """
    unknown = set(rows) - set(TABLES)
    if unknown:
        raise EngineError.single(Reason.USAGE, f"unknown tables: {sorted(unknown)}")
    raws: dict[str, RawTable | None] = {
        name: raw_from_rows(name, list(rows[name]), f"{name} (inline)") if rows.get(name) else None
        for name in LOAD_ORDER
    }
    file_errors = {
        name: _file_finding(f"{name} (inline)", Reason.FILE_MISSING, f"required table {name}")
        for name in LOAD_ORDER
        if raws[name] is None and TABLES[name].required
    }
    displays = {name: f"{name} (inline)" for name in LOAD_ORDER}
    return _validate(raws.pop, file_errors, Mapping(), None, displays)


def _stray_files(data_dir: Path, used: set[Path], config: Mapping) -> list[tuple[str, str]]:
    """Data files in ``data_dir`` that no table reads: a misspelt name must not drop rows silently.

    A ``.csv`` or ``.parquet`` file, or a directory of Parquet parts, that is neither a table's
    file (by name or by ``mapping.yaml``) nor read because another file of the same table won.
    """
    mapped = {
        (data_dir / f).resolve()
        for name in TABLES
        if (f := config.for_table(name).file) is not None
    }
    taken = {p.resolve() for p in used} | mapped
    out: list[tuple[str, str]] = []
    for path in sorted(data_dir.iterdir()):
        if path.name.startswith(".") or path.resolve() in taken:
            continue
        is_data = path.is_file() and path.suffix.lower() in SUFFIXES
        is_parts = path.is_dir() and any(path.glob("*.parquet"))
        if not (is_data or is_parts):
            continue
        table = path.stem if path.is_file() else path.name
        display = path.name + ("/" if is_parts else "")
        if table in TABLES:
            message = f"not read: another file holds table {table} (one file per table)"
        else:
            known = ", ".join(sorted(TABLES))
            message = f"names no table of the data contract, so its rows are not read ({known})"
        out.append((display, message))
    return out


def _file_finding(file: str, reason: Reason, message: str, line: int | None = None) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "file": file,
                "line": line,
                "column": None,
                "reason": reason.value,
                "message": message,
                "value": None,
                "hint": None,
            }
        ],
        schema=FINDING_SCHEMA,
    )


def _validate(
    read: Callable[[str], RawTable | None],
    file_errors: dict[str, pl.DataFrame],
    config: Mapping,
    root: Path | None,
    displays: dict[str, str],
) -> Dataset:
    done: dict[str, pl.DataFrame] = {}
    table_findings_all: list[pl.DataFrame] = []
    accounting: list[dict[str, object]] = []
    hashes: dict[str, str] = {}
    for name in LOAD_ORDER:
        table = TABLES[name]
        raw = read(name)
        if raw is None:
            done[name] = empty_table(table)
            status = "unusable" if name in file_errors else "absent"
            file = displays[name] if name in file_errors else None
            accounting.append(_account(name, file, 0, 0, status))
            continue
        hashes[raw.file] = raw.sha256
        frame = raw.frame
        read_count = frame.height + raw.malformed.height
        missing = [c.name for c in table.columns if c.required and c.name not in frame.columns]
        if missing:
            table_findings_all.append(
                pl.concat(
                    [
                        _file_finding(raw.file, Reason.COLUMN_MISSING, f"column {c} is missing")
                        .with_columns(pl.lit(c).alias("column"))
                        .with_columns(pl.lit(1, dtype=pl.Int64).alias("line"))
                        for c in missing
                    ]
                )
            )
            done[name] = empty_table(table)
            accounting.append(_account(name, raw.file, read_count, read_count, "unusable"))
            continue
        frame = frame.with_columns(
            pl.lit(c.default, dtype=pl.Utf8).alias(c.name)
            for c in table.columns
            if c.name not in frame.columns
        )
        frame = frame.with_columns(
            pl.col(c.name).fill_null(c.default) for c in table.columns if c.default is not None
        )
        date_format = config.for_table(name).date_format
        typed, cell_findings = validate_cells(frame, table, raw.file, date_format)
        found = [raw.malformed, cell_findings]
        rows, _ = _apply(typed, cell_findings)
        for check in checks.GENERIC_CHECKS:
            rows, more = _apply(rows, check(rows, table, raw.file, done))
            found.append(more)
        if name == "territory_owners":
            rows, more = _apply(rows, checks.territory_shares(rows, raw.file))
            found.append(more)
        if name == "hierarchy":
            rows, more = _apply(rows, checks.hierarchy_cycles(rows, raw.file))
            found.append(more)
        rows, more = _apply(rows, checks.self_references(rows, table, raw.file))
        found.append(more)
        if name == "calendar":
            rows = _derive_calendar(rows)
        table_findings = pl.concat(found)
        rejected = table_findings.select("line").n_unique() if table_findings.height else 0
        done[name] = rows.sort(LINE)
        status = "ok" if rejected == 0 else ("unusable" if rows.height == 0 else "rejects")
        accounting.append(_account(name, raw.file, read_count, rejected, status))
        table_findings_all.append(table_findings)
        del raw, frame, typed, rows  # the text of this table is no longer needed
    # file-level problems first, in table order, as when every file was read up front
    all_findings = [file_errors[n] for n in LOAD_ORDER if n in file_errors]
    all_findings += [f for n, f in sorted(file_errors.items()) if n not in TABLES]
    all_findings += table_findings_all
    rejects = (pl.concat(all_findings) if all_findings else empty_findings()).with_columns(
        pl.col("hint").fill_null(
            pl.col("reason").replace_strict(
                {r.value: text for r, text in REMEDIES.items()}, default=None
            )
        )
    )
    rejects = rejects.sort("file", "line", "column", "reason", nulls_last=False)
    return Dataset(
        tables=done,
        rejects=rejects,
        accounting=pl.DataFrame(accounting, schema=ACCOUNTING_SCHEMA),
        file_hashes=hashes,
        root=root,
    )


def _apply(rows: pl.DataFrame, found: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    if found.height == 0:
        return rows, found
    bad = found.select(pl.col("line").alias(LINE)).unique()
    return rows.join(bad, on=LINE, how="anti"), found


def _account(
    table: str, file: str | None, read: int, rejected: int, status: str
) -> dict[str, object]:
    return {
        "table": table,
        "file": file,
        "rows_read": read,
        "rows_accepted": read - rejected,
        "rows_rejected": rejected,
        "status": status,
    }


def _derive_calendar(rows: pl.DataFrame) -> pl.DataFrame:
    start = pl.col("start_date")
    return rows.with_columns(
        pl.col("quarter").fill_null(
            start.dt.year().cast(pl.Utf8)
            + pl.lit("-Q")
            + ((start.dt.month() - 1) // 3 + 1).cast(pl.Utf8)
        ),
        pl.col("year").fill_null(start.dt.year().cast(pl.Utf8)),
    )
