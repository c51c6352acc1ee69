"""Shared fixtures: one sample run per session, and a writer of vendor-shaped exports."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from engine.money import format_cents
from engine.pipeline import RunResult, run
from engine.reconcile.mapping import GRAIN_KEYS, SHIPPED, VendorMapping, load_vendor_mapping
from engine.reconcile.ours import run_grains
from engine.reconcile.vendor import KEY_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "fixtures" / "sample"
RULES = ROOT / "rules" / "sample.yaml"
MAPPINGS = {p.stem: p for p in sorted(SHIPPED.glob("*.yaml"))}


@pytest.fixture(scope="session")
def sample_run() -> RunResult:
    return run(SAMPLE, RULES)


@pytest.fixture(scope="session")
def sample_grains(sample_run: RunResult) -> dict[str, pl.DataFrame]:
    return run_grains(sample_run)


def write_vendor(grains: dict[str, pl.DataFrame], mapping_path: Path, out: Path) -> Path:
    """Write grain frames as the vendor the mapping describes would; return the --vendor path."""
    mapping: VendorMapping = load_vendor_mapping(mapping_path)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, list[pl.DataFrame]] = {}
    for grain, spec in mapping.grains.items():
        frame = grains[grain]
        cols = [pl.col(KEY_COLUMNS[k]).alias(spec.keys[k]) for k in GRAIN_KEYS[grain]]
        amounts = [format_cents(int(c)).replace(",", "") for c in frame["amount_cents"]]
        shaped = frame.select(cols).with_columns(
            pl.Series(spec.amount, amounts, dtype=pl.Utf8),
            *(pl.lit(v).alias(c) for c, v in spec.where.items()),
        )
        files.setdefault(spec.file or "export.csv", []).append(shaped)
    for name, parts in files.items():
        pl.concat(parts, how="diagonal").write_csv(out / name)
    single = [s.file for s in mapping.grains.values()] == [None] * len(mapping.grains)
    return out / "export.csv" if single else out
