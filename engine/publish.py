"""Run identity and publishing: content-hash fingerprints, manifests, atomic writes.

A run is identified by a **fingerprint**: the sha256 of the engine version, the rule set's
content hash, the input files' hashes, the periods asked for and, when the run pays a closed
period, the hashes of the closed periods' frozen payouts. Same inputs and rules, same
fingerprint, same bytes out.

Outputs are written into a staging directory next to the destination and moved into place with
one rename, so a reader never sees half a run: a process killed at any point leaves the
previously published results intact. Staging directories left by a killed process are removed
by the next successful publish.

Example:
    >>> fp = fingerprint("abc", {"transactions.csv": "123"}, ["2026-01"])
    >>> len(fp), fp == fingerprint("abc", {"transactions.csv": "123"}, ["2026-01"])
    (64, True)
"""

from __future__ import annotations

import errno
import hashlib
import importlib.metadata
import io
import json
import os
import platform
import re
import shutil
import socket
import uuid
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from engine import __version__

MANIFEST = "manifest.json"
LIBRARIES = ("polars", "numpy", "numba", "pyarrow", "duckdb", "pydantic")
"""The libraries whose versions a manifest records (with Python's)."""

_TEMP = re.compile(r"^\.(?:staging|current)-(?P<pid>\d+)@(?P<host>.+)-[0-9a-f]{8}$")
"""Names of publishing's temporary entries: ``.staging-<pid>@<host>-<hex8>`` (a run being
written, in ``runs/``) and ``.current-<pid>@<host>-<hex8>`` (a link about to replace
``current``)."""


def fingerprint(
    ruleset_hash: str,
    file_hashes: Mapping[str, str],
    periods: Iterable[str],
    closed: Mapping[str, str] | None = None,
) -> str:
    """The run's identity: a sha256 over the engine version, rules, inputs and periods.

    Args:
        ruleset_hash: the rule set's content hash.
        file_hashes: input file name -> sha256.
        periods: the periods paid.
        closed: closed period -> sha256 of its frozen payouts, for a run that pays a closed
            period (left out of the hash when empty, so other runs keep their identity).
    """
    content: dict[str, object] = {
        "engine": __version__,
        "rules": ruleset_hash,
        "inputs": dict(sorted(file_hashes.items())),
        "periods": sorted(periods),
    }
    if closed:
        content["closed"] = dict(sorted(closed.items()))
    payload = json.dumps(content, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def library_versions() -> dict[str, str]:
    """Python's version and the installed versions of :data:`LIBRARIES`, for the manifest.

    Example:
        >>> sorted(library_versions())[:3]
        ['duckdb', 'numba', 'numpy']
    """
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def write_parquet(frame: pl.DataFrame, path: Path) -> str:
    """Write ``frame`` deterministically (one chunk, fixed settings); return its sha256."""
    frame.rechunk().write_parquet(path, compression="zstd", statistics=False)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def parquet_sha256(frame: pl.DataFrame) -> str:
    """The sha256 of the file :func:`write_parquet` would write for ``frame``, written nowhere.

    Example:
        >>> import tempfile
        >>> frame = pl.DataFrame({"a": [1, 2]})
        >>> with tempfile.TemporaryDirectory() as d:
        ...     parquet_sha256(frame) == write_parquet(frame, Path(d) / "a.parquet")
        True
    """
    buffer = io.BytesIO()
    frame.rechunk().write_parquet(buffer, compression="zstd", statistics=False)
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def publish(
    out_dir: Path, run_id: str, frames: Mapping[str, pl.DataFrame], manifest: Mapping[str, object]
) -> Path:
    """Write ``frames`` as Parquet plus a manifest, and make them the current results atomically.

    Layout: ``out_dir/runs/<run_id>/`` holds one run (kept as history); ``out_dir/current`` is
    a symbolic link to the published run. The run is written and synced into a hidden staging
    directory ``runs/.staging-<pid>@<host>-<hex8>`` and renamed into ``runs/``; then a new link
    is created and renamed over ``current``. Both renames are atomic, so a process killed at any
    point leaves ``current`` pointing at complete results. A published run directory is never
    rewritten: when ``runs/<run_id>`` already holds the same manifest (same output hashes) it is
    reused; when it holds another, the run goes to ``runs/<run_id>-2`` (``-3``...).

    When ``runs/<run_id>`` (or ``-2``...) exists already, the outputs' hashes are computed in
    memory first: a run published before with the same bytes is reused without writing its
    files again (the usual case when the same inputs are run again). Files are synced
    concurrently (the file system commits them together), all before the rename.

    After a successful publish, temporary entries of publishes whose process is no longer alive
    on this host (killed mid-way) are removed; those of a live process never are.

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
    published = _published_before(runs, run_id, frames, manifest)
    if published is not None:
        _link_current(out_dir, published)
        sweep(out_dir)
        return published
    staging = runs / f".staging-{owner_tag()}-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        outputs = {
            f"{name}.parquet": write_parquet(frame, staging / f"{name}.parquet")
            for name, frame in sorted(frames.items())
        }
        text = _manifest_text(manifest, run_id, outputs)
        (staging / MANIFEST).write_text(text)
        _fsync_all(list(staging.iterdir()))
        _fsync(staging)
        target = _move_into_place(staging, runs, run_id, text)
        _link_current(out_dir, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    sweep(out_dir)
    return target


def _manifest_text(manifest: Mapping[str, object], run_id: str, outputs: dict[str, str]) -> str:
    document = {**manifest, "run_id": run_id, "outputs": outputs}
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _published_before(
    runs: Path, run_id: str, frames: Mapping[str, pl.DataFrame], manifest: Mapping[str, object]
) -> Path | None:
    """The directory already holding these exact outputs (the same manifest), if any.

    Only directories named as :func:`_move_into_place` names them are candidates, and only
    those whose manifest matches apart from the outputs' hashes; the hashes are then computed
    in memory, one output at a time, stopping at the first that no candidate holds. So a run
    published for the first time pays nothing here, and a changed run little.
    """
    expected = json.loads(_manifest_text(manifest, run_id, {}))
    candidates: list[tuple[Path, dict[str, str]]] = []
    for n in range(1, 1000):
        target = runs / (run_id if n == 1 else f"{run_id}-{n}")
        if not target.exists():
            break
        try:
            document = json.loads((target / MANIFEST).read_text())
        except (OSError, ValueError):
            continue
        if isinstance(document, dict) and {**document, "outputs": {}} == expected:
            candidates.append((target, document.get("outputs", {})))
    outputs: dict[str, str] = {}
    for name, frame in sorted(frames.items()):
        if not candidates:
            return None
        file = f"{name}.parquet"
        outputs[file] = parquet_sha256(frame)
        candidates = [(t, held) for t, held in candidates if held.get(file) == outputs[file]]
    text = _manifest_text(manifest, run_id, outputs)
    for target, _ in candidates:
        if (target / MANIFEST).read_text() == text:
            return target
    return None


def _link_current(out_dir: Path, target: Path) -> None:
    """Point ``out_dir/current`` at ``target`` atomically (a new link renamed over it)."""
    link = out_dir / f".current-{owner_tag()}-{uuid.uuid4().hex[:8]}"
    try:
        link.symlink_to(Path("runs") / target.name, target_is_directory=True)
        os.replace(link, out_dir / "current")
    except BaseException:
        link.unlink(missing_ok=True)
        raise
    _fsync(out_dir)


def _move_into_place(staging: Path, runs: Path, run_id: str, manifest: str) -> Path:
    """Rename ``staging`` to ``runs/<run_id>`` (or reuse an identical run, or take ``-2``...)."""
    for n in range(1, 1000):
        target = runs / (run_id if n == 1 else f"{run_id}-{n}")
        existing = target / MANIFEST
        if existing.exists() and existing.read_text() == manifest:
            shutil.rmtree(staging)  # the same bytes are already published: keep them
            return target
        if target.exists():
            continue
        try:
            os.rename(staging, target)  # fails, never merges, if another process took the name
        except OSError as exc:
            if exc.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            continue
        return target
    raise FileExistsError(f"too many published runs named {run_id} in {runs}")


def sweep(out_dir: Path) -> list[Path]:
    """Remove temporary entries left by publishes killed mid-way; return what was removed.

    Only entries named by :data:`_TEMP` whose owner (process id and host name, encoded in the
    name) is a process of this host that is no longer alive are removed: a publish in progress,
    here or on another host sharing the directory, is never touched.
    """
    removed: list[Path] = []
    for folder in (out_dir, out_dir / "runs"):
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            match = _TEMP.match(entry.name)
            if match is None or match["host"] != _host() or pid_alive(int(match["pid"])):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this host (assumed so where that cannot be checked).

    Example:
        >>> pid_alive(os.getpid())
        True
    """
    if os.name != "posix":
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "localhost"


def owner_tag() -> str:
    """``<pid>@<host>`` of this process: the owner part of publishing's temporary names."""
    return f"{os.getpid()}@{_host()}"


def _fsync_all(paths: list[Path]) -> None:
    """Sync ``paths`` to disk concurrently; return once every one is synced (or raise)."""
    if len(paths) <= 1:
        for path in paths:
            _fsync(path)
        return
    with ThreadPoolExecutor(max_workers=min(8, len(paths))) as pool:
        list(pool.map(_fsync, paths))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
