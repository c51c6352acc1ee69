r"""Read a vendor export into our grains, amounts parsed exactly (never through a float).

Every grain becomes a frame with our key columns (``participant_id``, ``period`` and
``component``, ``measure`` or ``transaction_id``) as text and ``amount_cents`` as Int64,
summed per key (a vendor may export several rows per key, e.g. one per credit type); rows are
in no particular order.

Example:
    >>> import tempfile
    >>> from engine.reconcile.mapping import VendorMapping
    >>> d = Path(tempfile.mkdtemp())
    >>> _ = (d / "pay.csv").write_text("PAYEE,PER,AMT\nP1,2026-01,10.5\nP1,2026-01,-0.25\n")
    >>> m = VendorMapping.from_data({"grains": {"payment": {
    ...     "keys": {"participant": "PAYEE", "period": "PER"}, "amount": "AMT"}}})
    >>> read_vendor(d / "pay.csv", m)["payment"].rows()  # summed per key
    [('P1', '2026-01', 1025)]
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import polars as pl

from engine.errors import EngineError, Finding, Reason
from engine.money import parse_decimal_expr
from engine.reconcile.mapping import GRAIN_KEYS, GrainMapping, VendorMapping

KEY_COLUMNS = {
    "participant": "participant_id",
    "period": "period",
    "component": "component",
    "measure": "measure",
    "transaction": "transaction_id",
}
"""Our column for each grain key."""


def grain_columns(grain: str) -> list[str]:
    """Our key columns of ``grain``.

    Example:
        >>> grain_columns("credit")
        ['participant_id', 'period', 'transaction_id']
    """
    return [KEY_COLUMNS[k] for k in GRAIN_KEYS[grain]]


def _read(path: Path, delimiter: str) -> pl.DataFrame:
    if not path.is_file():
        raise EngineError.single(Reason.FILE_MISSING, "no such vendor file", file=str(path))
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pl.read_parquet(path)
        elif suffix in {".xlsx", ".xlsm", ".xls"}:
            frame = _read_excel(path)
        else:
            frame = pl.read_csv(path, infer_schema=False, separator=delimiter)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise EngineError.single(
            Reason.FILE_UNREADABLE, f"cannot read the vendor file: {exc}", file=str(path)
        ) from exc
    return frame.with_columns(pl.all().cast(pl.Utf8))


def _read_excel(path: Path) -> pl.DataFrame:
    if importlib.util.find_spec("fastexcel") is None:
        raise EngineError.single(
            Reason.FILE_UNREADABLE,
            "reading Excel needs the fastexcel package, which is not installed",
            file=str(path),
            hint="export the sheet as CSV, or install fastexcel",
        )
    return pl.read_excel(path, infer_schema_length=0)  # pragma: no cover


def _grain(frame: pl.DataFrame, grain: str, spec: GrainMapping, file: str) -> pl.DataFrame:
    needed = [*spec.keys.values(), spec.amount, *spec.where]
    missing = [c for c in dict.fromkeys(needed) if c not in frame.columns]
    if missing:
        raise EngineError(
            [
                Finding(
                    Reason.COLUMN_MISSING, f"no column {c!r} for grain {grain}", file=file, column=c
                )
                for c in missing
            ]
        )
    rows = frame.lazy().with_row_index("line", offset=2)
    for column, wanted in spec.where.items():
        rows = rows.filter(pl.col(column).str.strip_chars() == wanted)
    text = pl.col(spec.amount).str.strip_chars()
    value, _, _, _ = parse_decimal_expr(text, 2)
    parsed = rows.select(
        "line",
        *(pl.col(spec.keys[k]).str.strip_chars().alias(KEY_COLUMNS[k]) for k in GRAIN_KEYS[grain]),
        text.alias("text"),
        value.alias("amount_cents"),
    ).collect(engine="streaming")
    bad = parsed.filter(pl.col("amount_cents").is_null() & pl.col("text").is_not_null()).head(20)
    if bad.height:
        raise EngineError(
            [
                Finding(
                    Reason.BAD_NUMBER,
                    f"amount {t!r} is not an exact amount in cents",
                    file=file,
                    line=int(line),
                    column=spec.amount,
                )
                for line, t in bad.select("line", "text").iter_rows()
            ]
        )
    keys = grain_columns(grain)
    kept = parsed.filter(pl.all_horizontal(pl.col(k).is_not_null() for k in keys)).select(
        *keys, pl.col("amount_cents").fill_null(0)
    )
    if kept.select(pl.struct(keys).is_duplicated().any()).item():
        return kept.group_by(keys).agg(pl.col("amount_cents").sum())
    return kept


def read_vendor(vendor: Path, mapping: VendorMapping) -> dict[str, pl.DataFrame]:
    """Read every grain the mapping declares from ``vendor`` (a file or a directory).

    Raises:
        EngineError: a missing file or column (``FILE_MISSING``, ``COLUMN_MISSING``), an
            unreadable file, or an amount that is not an exact decimal of cents (``BAD_NUMBER``,
            with the row's line).
    """
    cache: dict[Path, pl.DataFrame] = {}
    result: dict[str, pl.DataFrame] = {}
    for grain, spec in mapping.grains.items():
        if vendor.is_dir():
            path = vendor / (spec.file or f"{grain}.csv")
        else:
            path = vendor if spec.file is None else vendor.parent / spec.file
        if path not in cache:
            cache[path] = _read(path, mapping.delimiter)
        result[grain] = _grain(cache[path], grain, spec, str(path))
    return result
