"""Run identity and publishing: content-hash fingerprints, manifests, atomic writes.

A run is identified by a **fingerprint**: the sha256 of the engine version, the rule set's
content hash, the input files' hashes and the periods asked for. Same inputs and rules, same
fingerprint, same bytes out.

Outputs are written into a staging directory next to the destination and moved into place with
one rename, so a reader never sees half a run: a process killed at any point leaves the
previously published results intact.

Example:
    >>> fp = fingerprint("abc", {"transactions.csv": "123"}, ["2026-01"])
    >>> len(fp), fp == fingerprint("abc", {"transactions.csv": "123"}, ["2026-01"])
    (64, True)
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path

import polars as pl

from engine import __version__

MANIFEST = "manifest.json"


def fingerprint(ruleset_hash: str, file_hashes: Mapping[str, str], periods: Iterable[str]) -> str:
    """The run's identity: a sha256 over the engine version, rules, inputs and periods."""
    payload = json.dumps(
        {
            "engine": __version__,
            "rules": ruleset_hash,
            "inputs": dict(sorted(file_hashes.items())),
            "periods": sorted(periods),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def write_parquet(frame: pl.DataFrame, path: Path) -> str:
    """Write ``frame`` deterministically (one chunk, fixed settings); return its sha256."""
    frame.rechunk().write_parquet(path, compression="zstd", statistics=False)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def publish(
    out_dir: Path, run_id: str, frames: Mapping[str, pl.DataFrame], manifest: Mapping[str, object]
) -> Path:
    """Write ``frames`` as Parquet plus a manifest, and make them the current results atomically.

    Layout: ``out_dir/runs/<run_id>/`` holds one run (kept as history); ``out_dir/current`` is
    a symbolic link to the published run. The run is written into a hidden staging directory and
    renamed into ``runs/``; then a new link is created and renamed over ``current``. Both renames
    are atomic, so a crash at any point leaves ``current`` pointing at complete results.

    Args:
        out_dir: the output root.
        run_id: the run's identity (usually its fingerprint).
        frames: output name -> frame; each becomes ``<name>.parquet``.
        manifest: run metadata; output hashes are added under ``outputs``.

    Returns:
        The run's directory.
    """
    runs = out_dir / "runs"
    runs.mkdir(parents=True, exist_ok=True)
    target = runs / run_id
    staging = runs / f".staging-{run_id}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        outputs = {
            f"{name}.parquet": write_parquet(frame, staging / f"{name}.parquet")
            for name, frame in sorted(frames.items())
        }
        document = {**manifest, "run_id": run_id, "outputs": outputs}
        (staging / MANIFEST).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
        _fsync_dir(staging)
        if target.exists():
            retired = runs / f".retired-{run_id}-{uuid.uuid4().hex[:8]}"
            os.replace(target, retired)
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, target)
        link = out_dir / f".current-{uuid.uuid4().hex[:8]}"
        link.symlink_to(Path("runs") / run_id, target_is_directory=True)
        os.replace(link, out_dir / "current")
        _fsync_dir(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
