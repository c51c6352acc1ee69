"""Write frames to CSV or Parquet, safely.

Text cells (and column names) that a spreadsheet would read as a formula (starting with ``=``,
``+``, ``-``, ``@``, a tab or a carriage return) are prefixed with a single quote in CSV exports,
so that opening an export in Excel never runs a formula planted in the input data. Numbers are
never touched. Parquet keeps the data as it is (it is not opened by spreadsheets as text).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from engine.errors import EngineError, Reason

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells and column names that start like a spreadsheet formula with a quote.

    Text, categorical and enum columns are covered (the last two are written as text).

    Example:
        >>> df = pl.DataFrame({"name": ["=HYPERLINK(1)", "Ann", "-2"], "n": [-1, 2, 3]})
        >>> neutralise_formulas(df).rows()
        [("'=HYPERLINK(1)", -1), ('Ann', 2), ("'-2", 3)]
        >>> neutralise_formulas(pl.DataFrame({"@x": ["+1"]}).cast(pl.Categorical)).to_dicts()
        [{"'@x": "'+1"}]
    """
    pattern = "^[" + "".join("\\" + p if p in "-+" else p for p in FORMULA_PREFIXES) + "]"
    texts = [
        name
        for name, dtype in frame.schema.items()
        if dtype == pl.Utf8 or isinstance(dtype, pl.Categorical | pl.Enum)
    ]
    safe = frame.with_columns(
        pl.when(pl.col(name).cast(pl.Utf8).str.contains(pattern))
        .then(pl.lit("'") + pl.col(name).cast(pl.Utf8))
        .otherwise(pl.col(name).cast(pl.Utf8))
        .alias(name)
        for name in texts
    )
    return safe.rename({c: "'" + c for c in safe.columns if c.startswith(FORMULA_PREFIXES)})


def write_frame(frame: pl.DataFrame, path: Path) -> None:
    """Write ``frame`` to ``path`` as CSV (formulas neutralised) or Parquet, by its suffix.

    Raises:
        EngineError: ``USAGE`` for another suffix.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".csv":
        neutralise_formulas(frame).write_csv(path)
    elif path.suffix.lower() == ".parquet":
        frame.write_parquet(path, statistics=False)
    else:
        raise EngineError.single(
            Reason.USAGE, f"cannot write {path.name}: use a .csv or .parquet name"
        )
