"""``icm synth``: a realistic synthetic company, deterministic by seed, at any scale.

:func:`synthesize` writes every table of the data contract (:mod:`engine.contract`) into a
directory: ``calendar``, ``participants``, ``hierarchy``, ``territories``,
``territory_owners``, ``transactions``, ``transaction_sellers``, ``quotas``,
``plan_assignments`` and ``exchange_rates``, plus ``synth.json`` describing the run. The same
seed, counts and format give byte-identical files on any machine with the same numpy, Polars
and pyarrow versions (recorded in ``synth.json``), whatever the thread count. Transactions
are generated and written in blocks of a million rows, so memory stays bounded at every
scale; above 20 million transactions (scale L) they are written as Parquet parts
``transactions/part-00000.parquet``...

See ``docs/synth.md`` for what is generated and why.

Example:
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp())
    >>> summary = synthesize(out, "XS", seed=7, fmt="csv", transactions=500, participants=40)
    >>> summary.rows["transactions"], summary.rows["participants"]
    (500, 40)
    >>> sorted(p.name for p in out.iterdir())[:3]
    ['calendar.csv', 'exchange_rates.csv', 'hierarchy.csv']
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from importlib.metadata import version
from pathlib import Path

import polars as pl

from engine.contract import TABLES
from engine.errors import EngineError, Reason
from engine.synth.config import SCALES, Params, Scale, Stream, resolve_scale, stream
from engine.synth.fx import exchange_rates_frame
from engine.synth.people import build_org, hierarchy_frame, participants_frame
from engine.synth.plans import plan_assignments_frame, plan_rows
from engine.synth.pools import seller_pools
from engine.synth.quotas import quota_frames
from engine.synth.territories import build_territories, owners_frame, territories_frame
from engine.synth.transactions import TxContext, generate_block
from engine.synth.writer import FORMATS, TableSink
from engine.synth.year import PlanYear, calendar_frame

__all__ = ["SCALES", "Params", "Scale", "SynthSummary", "synthesize"]

MANIFEST = "synth.json"
GENERATOR_VERSION = 1
"""Bumped whenever the same seed and scale would give different data."""


@dataclass(frozen=True)
class SynthSummary:
    """What :func:`synthesize` wrote.

    Attributes:
        out_dir: the output directory.
        scale: the scale used (``custom`` when counts were overridden).
        seed: the seed.
        fmt: ``parquet`` or ``csv``.
        rows: rows written per table.
        files: files written, relative to ``out_dir``.
        seconds: wall time.
    """

    out_dir: Path
    scale: Scale
    seed: int
    fmt: str
    rows: dict[str, int] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    seconds: float = 0.0

    def __str__(self) -> str:
        counts = ", ".join(f"{name} {n:,}" for name, n in self.rows.items())
        return (
            f"wrote scale {self.scale.name} (seed {self.seed}, {self.fmt}) to {self.out_dir} "
            f"in {self.seconds:.1f} s: {counts}"
        )


def synthesize(
    out_dir: Path,
    scale: str = "S",
    *,
    seed: int = 42,
    fmt: str = "parquet",
    transactions: int | None = None,
    participants: int | None = None,
    params: Params | None = None,
) -> SynthSummary:
    """Generate a synthetic company into ``out_dir``.

    Args:
        out_dir: directory to write into (created if missing). Files of contract tables
            already there (``<table>.csv``, ``<table>.parquet``, ``<table>/part-*.parquet``)
            are replaced; nothing else is touched.
        scale: ``XS``, ``S``, ``M`` or ``L`` (see :data:`SCALES`), case-insensitive.
        seed: a non-negative integer; same seed and counts, same bytes.
        fmt: ``parquet`` or ``csv``.
        transactions: overrides the scale's number of transactions.
        participants: overrides the scale's number of participants (at least 20).
        params: every other knob (:class:`Params`); the defaults are the documented company.

    Returns:
        What was written.

    Raises:
        EngineError: ``USAGE`` for an unknown scale or format, a negative seed or counts
            that are too small.

    Example:
        >>> import tempfile, pathlib
        >>> s = synthesize(pathlib.Path(tempfile.mkdtemp()), "XS", seed=1, transactions=300,
        ...                participants=30)
        >>> s.files[-1], s.scale.name
        ('synth.json', 'custom')
    """
    began = time.perf_counter()
    if fmt not in FORMATS:
        raise EngineError.single(Reason.USAGE, f"format must be parquet or csv, not {fmt!r}")
    if seed < 0:
        raise EngineError.single(Reason.USAGE, f"seed must be a non-negative integer, not {seed}")
    size = resolve_scale(scale, transactions=transactions, participants=participants)
    params = params or Params()
    out_dir.mkdir(parents=True, exist_ok=True)
    _clear(out_dir)
    year = PlanYear(params.year)

    org = build_org(size.participants, params, year, stream(seed, Stream.PEOPLE))
    terr = build_territories(org, params, stream(seed, Stream.TERRITORIES))
    pools = seller_pools(org)
    plans = plan_rows(org, stream(seed, Stream.PLANS))
    written: dict[str, int] = {}
    files: list[Path] = []

    def put(table: str, frames: Iterable[pl.DataFrame]) -> None:
        with TableSink(out_dir, table, fmt) as sink:
            for frame in frames:
                sink.write(frame)
        written[table] = sink.rows
        files.extend(sink.files)

    put("calendar", [calendar_frame(year)])
    put("participants", [participants_frame(org)])
    put("hierarchy", [hierarchy_frame(org)])
    put("territories", [territories_frame(org, terr)])
    put("territory_owners", [owners_frame(org, terr)])
    put("plan_assignments", [plan_assignments_frame(org, plans)])
    put(
        "quotas",
        quota_frames(
            org,
            plans,
            pools,
            params,
            transactions=size.transactions,
            rng=stream(seed, Stream.QUOTAS),
        ),
    )
    put("exchange_rates", [exchange_rates_frame(year, stream(seed, Stream.FX))])

    ctx = TxContext.build(org, terr, pools, params, transactions=size.transactions, seed=seed)
    parts = size.transactions > params.parts_above
    per_part = max(1, params.part_rows // params.block_rows)
    tx_sink = TableSink(out_dir, "transactions", fmt, parts=parts)
    seller_sink = TableSink(out_dir, "transaction_sellers", fmt, parts=parts)
    with tx_sink, seller_sink:
        for number, first, rows in ctx.blocks():
            if number and number % per_part == 0:
                tx_sink.next_part()
                seller_sink.next_part()
            tx, sellers = generate_block(ctx, number, first, rows)
            tx_sink.write(tx)
            seller_sink.write(sellers)
    for sink in (tx_sink, seller_sink):
        written[sink.table.name] = sink.rows
        files.extend(sink.files)

    ordered = {name: written[name] for name in TABLES if name in written}
    manifest = out_dir / MANIFEST
    manifest.write_text(_manifest(size, seed, fmt, ordered, params), encoding="utf-8")
    names = [p.relative_to(out_dir).as_posix() for p in files]
    return SynthSummary(
        out_dir=out_dir,
        scale=size,
        seed=seed,
        fmt=fmt,
        rows=ordered,
        files=(*names, MANIFEST),
        seconds=time.perf_counter() - began,
    )


def _clear(out_dir: Path) -> None:
    """Remove files of contract tables (any format) left by an earlier run."""
    for name in TABLES:
        for suffix in (".csv", ".parquet"):
            (out_dir / f"{name}{suffix}").unlink(missing_ok=True)
        folder = out_dir / name
        if folder.is_dir():
            for part in folder.glob("part-*.parquet"):
                part.unlink()
            if not any(folder.iterdir()):
                folder.rmdir()
    (out_dir / MANIFEST).unlink(missing_ok=True)


def _manifest(size: Scale, seed: int, fmt: str, rows: dict[str, int], params: Params) -> str:
    body = {
        "generator": "icm synth",
        "generator_version": GENERATOR_VERSION,
        "scale": size.name,
        "seed": seed,
        "format": fmt,
        "transactions": size.transactions,
        "participants": size.participants,
        "rows": rows,
        "library_versions": {lib: version(lib) for lib in ("numpy", "polars", "pyarrow")},
        "params": asdict(params),
    }
    return json.dumps(body, indent=2, default=str) + "\n"
