"""Publishing a run whose exact outputs are already published reuses them without rewriting."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import engine.publish as publishing
from engine.publish import publish

MANIFEST = {"engine_version": "test"}


def _frames(value: int) -> dict[str, pl.DataFrame]:
    return {"payouts": pl.DataFrame({"cents": [value, 2]}), "other": pl.DataFrame({"x": ["a"]})}


def test_the_same_outputs_again_are_not_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = publish(tmp_path, "RUN", _frames(1), MANIFEST)
    stamps = {p.name: p.stat().st_mtime_ns for p in first.iterdir()}

    def no_write(frame: pl.DataFrame, path: Path) -> str:
        raise AssertionError(f"{path.name} written again")

    monkeypatch.setattr(publishing, "write_parquet", no_write)
    again = publish(tmp_path, "RUN", _frames(1), MANIFEST)
    assert again == first
    assert {p.name: p.stat().st_mtime_ns for p in again.iterdir()} == stamps
    assert (tmp_path / "current").resolve() == first.resolve()
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["RUN"]


def test_other_outputs_under_the_same_id_go_beside_and_each_is_found_again(
    tmp_path: Path,
) -> None:
    first = publish(tmp_path, "RUN", _frames(1), MANIFEST)
    second = publish(tmp_path, "RUN", _frames(5), MANIFEST)
    assert second.name == "RUN-2"
    assert (tmp_path / "current").resolve() == second.resolve()
    assert publish(tmp_path, "RUN", _frames(1), MANIFEST) == first
    assert (tmp_path / "current").resolve() == first.resolve()
    assert publish(tmp_path, "RUN", _frames(5), MANIFEST) == second
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["RUN", "RUN-2"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no link left over
    manifest = (second / "manifest.json").read_text()
    assert '"payouts.parquet"' in manifest


def test_a_different_manifest_hashes_nothing_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = publish(tmp_path, "RUN", _frames(1), MANIFEST)

    def no_hash(frame: pl.DataFrame) -> str:
        raise AssertionError("hashed in memory")

    monkeypatch.setattr(publishing, "parquet_sha256", no_hash)
    other = publish(tmp_path, "RUN", _frames(1), {"engine_version": "other"})
    assert other.name == "RUN-2"
    assert first.exists()
