"""Parquet is converted to text batch by batch, clean columns are left as they are: neither
may change what loads."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from engine.loading import load_dataset, read
from engine.loading.mapping import TableMapping

from .support import SAMPLE, read_text_frame


def _company(target: Path) -> Path:
    """The sample company as Parquet, transactions in two parts."""
    target.mkdir()
    for f in sorted(SAMPLE.glob("*.csv")):
        frame = read_text_frame(f)
        if f.stem == "transactions":
            (target / "transactions").mkdir()
            frame.head(12).write_parquet(target / "transactions" / "part-0.parquet")
            frame.slice(12).write_parquet(target / "transactions" / "part-1.parquet")
        else:
            frame.write_parquet(target / f"{f.stem}.parquet")
    return target


def test_small_batches_load_like_one_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = _company(tmp_path / "pq")
    whole = load_dataset(data)
    monkeypatch.setattr(read, "_BATCH_ROWS", 5)
    batched = load_dataset(data)
    assert batched.tables["transactions"].height > 5
    for name, frame in whole.tables.items():
        assert_frame_equal(batched.tables[name], frame, check_exact=True)
    assert_frame_equal(batched.rejects, whole.rejects)
    assert_frame_equal(batched.accounting, whole.accounting)
    assert batched.file_hashes == whole.file_hashes


@settings(max_examples=200, deadline=None)
@given(
    cells=st.lists(
        st.one_of(
            st.none(),
            st.text(alphabet=st.sampled_from(["a", "1", " ", "\t", "\u00a0", "\u2003", "\n"])),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_normalise_matches_strip_then_blank_to_null(cells: list[str | None]) -> None:
    """Skipping clean columns gives exactly what stripping every cell gives."""
    frame = pl.DataFrame(
        {"x": cells, "y": ["ok"] * len(cells)}, schema={"x": pl.Utf8, "y": pl.Utf8}
    )
    got = read._normalise(frame, TableMapping())
    want = frame.with_columns(
        pl.col(c).str.strip_chars().replace("", None).alias(c) for c in ("x", "y")
    )
    assert_frame_equal(got, want)
