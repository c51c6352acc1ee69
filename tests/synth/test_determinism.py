"""Same seed and counts, same bytes: across runs, formats' row contents and thread counts."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.synth.conftest import SEED, Company, generate

REPO = Path(__file__).resolve().parents[2]


def digests(data_dir: Path) -> dict[str, str]:
    return {
        p.relative_to(data_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data_dir.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_same_seed_gives_byte_identical_files(company: Company, tmp_path: Path, fmt: str) -> None:
    first = company.parquet if fmt == "parquet" else company.csv
    again = generate(tmp_path / "again", fmt)
    assert digests(again) == digests(first)


def test_parts_are_written_above_the_threshold(company: Company) -> None:
    names = sorted(digests(company.parquet))
    assert "transactions/part-00000.parquet" in names
    assert "transactions/part-00001.parquet" in names
    assert "transaction_sellers/part-00001.parquet" in names


def test_another_seed_gives_other_data(company: Company, tmp_path: Path) -> None:
    other = digests(generate(tmp_path / "other", "csv", seed=SEED + 1))
    same = digests(company.csv)
    assert other["calendar.csv"] == same["calendar.csv"]
    assert other["transactions.csv"] != same["transactions.csv"]
    assert other["participants.csv"] != same["participants.csv"]


def test_thread_count_does_not_change_the_bytes(company: Company, tmp_path: Path) -> None:
    out = tmp_path / "one_thread"
    code = (
        "import sys; from pathlib import Path; "
        "from tests.synth.conftest import generate; "
        "generate(Path(sys.argv[1]), 'parquet')"
    )
    env = {**os.environ, "POLARS_MAX_THREADS": "1"}
    subprocess.run([sys.executable, "-c", code, str(out)], check=True, cwd=REPO, env=env)
    assert digests(out) == digests(company.parquet)
