"""A small generated company shared by the synth tests (generated once per session)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pytest

from engine.contract import TABLES
from engine.money import parse_decimal_expr
from engine.synth import Params, synthesize

SEED = 20260101
PARTICIPANTS = 2000
TRANSACTIONS = 20_000
# Small blocks and parts so that a small company still spans several blocks and part files.
SMALL_BLOCKS = Params(block_rows=6000, part_rows=12_000, parts_above=15_000)
_SCALE = {"money": 2, "decimal": 2, "share": 6, "fx": 10}


def generate(out: Path, fmt: str, *, seed: int = SEED, params: Params = SMALL_BLOCKS) -> Path:
    synthesize(
        out,
        "XS",
        seed=seed,
        fmt=fmt,
        transactions=TRANSACTIONS,
        participants=PARTICIPANTS,
        params=params,
    )
    return out


def read_table(data_dir: Path, table: str) -> pl.DataFrame:
    """A generated table with exact typed columns: scaled ``Int64`` for numbers, ``Date``s."""
    folder = data_dir / table
    if folder.is_dir():
        frame = pl.concat([pl.read_parquet(p) for p in sorted(folder.glob("part-*.parquet"))])
    elif (data_dir / f"{table}.parquet").exists():
        frame = pl.read_parquet(data_dir / f"{table}.parquet")
    else:
        frame = pl.read_csv(data_dir / f"{table}.csv", infer_schema=False)
    exprs = []
    for column in TABLES[table].columns:
        col = pl.col(column.name)
        if column.kind in _SCALE:
            exprs.append(parse_decimal_expr(col.cast(pl.Utf8), _SCALE[column.kind]).value)
        elif column.kind == "date":
            exprs.append(col.cast(pl.Utf8).str.to_date("%Y-%m-%d"))
        else:
            exprs.append(col.cast(pl.Utf8))
    return frame.select(
        [e.alias(c.name) for e, c in zip(exprs, TABLES[table].columns, strict=True)]
    )


@dataclass(frozen=True)
class Company:
    """Both formats of the shared company, and its tables read back from Parquet."""

    parquet: Path
    csv: Path
    tables: dict[str, pl.DataFrame]


@pytest.fixture(scope="session")
def company(tmp_path_factory: pytest.TempPathFactory) -> Company:
    parquet = generate(tmp_path_factory.mktemp("synth_parquet"), "parquet")
    csv = generate(tmp_path_factory.mktemp("synth_csv"), "csv")
    return Company(parquet, csv, {name: read_table(parquet, name) for name in TABLES})
