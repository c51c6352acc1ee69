"""Source-to-contract mapping: which file holds each table and what its columns are called.

Vendor exports never match the data contract. A ``mapping.yaml`` in the data directory (or given
with ``--mapping``) says, per table, which file to read and which source column feeds each
contract column::

    date_format: "%Y-%m-%d"        # optional, for every table
    tables:
      transactions:
        file: SALES_EXPORT.csv     # relative to the data directory; may not leave it
        delimiter: ";"
        date_format: "%d/%m/%Y"
        columns:                   # contract column: source column
          transaction_id: ORDER_ID
          amount: NET_VALUE

Example:
    >>> m = Mapping.from_data({"tables": {"transactions": {"columns": {"amount": "VALUE"}}}})
    >>> m.for_table("transactions").columns
    {'amount': 'VALUE'}
    >>> m.for_table("quotas").file is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from engine.contract import TABLES
from engine.errors import EngineError, Finding, Reason

DEFAULT_DATE_FORMAT = "%Y-%m-%d"
MAPPING_FILE = "mapping.yaml"
_TABLE_KEYS = {"file", "delimiter", "date_format", "columns"}
_NOT_DELIMITERS = {'"', "\n", "\r"}


@dataclass(frozen=True)
class TableMapping:
    """How one contract table is read from its source file."""

    file: str | None = None
    delimiter: str = ","
    date_format: str = DEFAULT_DATE_FORMAT
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Mapping:
    """The mapping of every table; tables not named use their contract names."""

    tables: dict[str, TableMapping] = field(default_factory=dict)
    date_format: str = DEFAULT_DATE_FORMAT
    source: str = MAPPING_FILE

    def for_table(self, table: str) -> TableMapping:
        """The mapping of ``table``, defaulted when absent."""
        return self.tables.get(table, TableMapping(date_format=self.date_format))

    @classmethod
    def from_data(cls, data: object, source: str = MAPPING_FILE) -> Mapping:
        """Build and check a mapping from parsed YAML data.

        Raises:
            EngineError: with ``BAD_MAPPING`` findings for every problem found.
        """
        problems: list[Finding] = []

        def bad(message: str, column: str | None = None) -> None:
            problems.append(Finding(Reason.BAD_MAPPING, message, file=source, column=column))

        if data is None:
            return cls(source=source)
        if not isinstance(data, dict):
            raise EngineError([Finding(Reason.BAD_MAPPING, "expected a mapping", file=source)])
        unknown = set(data) - {"date_format", "tables"}
        for key in sorted(unknown, key=str):
            bad(f"unknown key {key!r}; allowed: date_format, tables", str(key))
        date_format = _text(data.get("date_format", DEFAULT_DATE_FORMAT), "date_format", bad)
        tables: dict[str, TableMapping] = {}
        raw_tables = data.get("tables") or {}
        if not isinstance(raw_tables, dict):
            bad("'tables' must map table names to their settings", "tables")
            raw_tables = {}
        for name, spec in raw_tables.items():
            if name not in TABLES:
                bad(f"unknown table {name!r}; known: {', '.join(TABLES)}", f"tables.{name}")
                continue
            if not isinstance(spec, dict):
                bad("expected file/delimiter/date_format/columns", f"tables.{name}")
                continue
            for key in sorted(set(spec) - _TABLE_KEYS, key=str):
                bad(f"unknown key {key!r}; allowed: {', '.join(sorted(_TABLE_KEYS))}", name)
            columns = spec.get("columns") or {}
            if not isinstance(columns, dict) or not all(
                isinstance(k, str) and isinstance(v, str) for k, v in columns.items()
            ):
                bad("columns must map contract column names to source names", f"{name}.columns")
                columns = {}
            known = {c.name for c in TABLES[name].columns}
            for col in columns:
                if col not in known:
                    bad(f"{col!r} is not a column of {name}; known: {sorted(known)}", name)
            file = spec.get("file")
            if file is not None and (not isinstance(file, str) or not file.strip() or "\0" in file):
                bad("file must be a file name", f"{name}.file")
                file = None
            delimiter = _text(spec.get("delimiter", ","), f"{name}.delimiter", bad)
            if len(delimiter) != 1:
                bad("delimiter must be one character", f"{name}.delimiter")
                delimiter = ","
            elif delimiter in _NOT_DELIMITERS:
                bad("a quote or a line break cannot be the delimiter", f"{name}.delimiter")
                delimiter = ","
            tables[name] = TableMapping(
                file=file,
                delimiter=delimiter,
                date_format=_text(spec.get("date_format", date_format), name, bad),
                columns=dict(columns),
            )
        if problems:
            raise EngineError(problems)
        return cls(tables=tables, date_format=date_format, source=source)


def _text(value: Any, where: str, bad: Any) -> str:
    if isinstance(value, str):
        return value
    bad(f"expected text, got {value!r}", where)
    return DEFAULT_DATE_FORMAT


def load_mapping(data_dir: Path, mapping_path: Path | None = None) -> Mapping:
    """Read the mapping file (``mapping.yaml`` in ``data_dir`` unless another is given).

    Returns the default mapping when no file exists.
    """
    path = mapping_path if mapping_path is not None else data_dir / MAPPING_FILE
    if not path.exists():
        if mapping_path is not None:
            raise EngineError.single(Reason.FILE_MISSING, "mapping file not found", file=str(path))
        return Mapping()
    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (YAMLError, UnicodeDecodeError, ValueError) as exc:  # ValueError: 2026-02-30
        raise EngineError.single(
            Reason.BAD_MAPPING, f"cannot read the mapping: {exc}", file=str(path)
        ) from None
    except RecursionError:
        raise EngineError.single(
            Reason.BAD_MAPPING, "cannot read the mapping: nested too deeply", file=str(path)
        ) from None
    return Mapping.from_data(data, source=str(path))


def resolve_inside(root: Path, name: str, source: str) -> Path:
    """Resolve ``name`` relative to ``root``, refusing paths that leave it.

    Raises:
        EngineError: ``PATH_ESCAPE`` when the path is absolute or leaves ``root``.

    Example:
        >>> resolve_inside(Path("/data"), "a/b.csv", "mapping.yaml").as_posix()
        '/data/a/b.csv'
    """
    candidate = (root / name).resolve()
    if Path(name).is_absolute() or not candidate.is_relative_to(root.resolve()):
        raise EngineError.single(
            Reason.PATH_ESCAPE, f"{name!r} is outside the data directory", file=source
        )
    return root / name
