"""Period-partitioned runs: credit and calculate one paid period at a time, same results.

:func:`run_partitioned` gives the outputs of :func:`engine.pipeline.run` over every calendar
period, while holding only one period's transactions (and what that period's calculation reads)
at a time. For each paid period ``P``, in calendar order:

1. the partition's dataset: every non-transaction table, and only the transactions ``P`` needs:
   those of ``P`` itself; all of those of the periods ``P``'s measure windows read (quarter- or
   year-to-date); of the periods ``P`` re-rates for a clawback window or a true-up, the ones
   credited to a participant on a clawback or true-up plan (below); and the originals their
   returns reference (so that references resolve as in a whole run). ``transaction_sellers``
   rows go with their transaction;
2. credit (:func:`engine.crediting.credit`) over the periods ``P``'s calculation reads
   (:func:`engine.calc.payouts._needed_periods`), then calculate ``P`` alone
   (:func:`engine.calc.payouts.calculate`) with the carry state of the period before;
3. keep ``P``'s result frames: the credits, roll-up totals and roll-up flags of ``P``'s own
   transactions, the unrouted and excluded rows of the transactions it owns, and the
   calculation's frames (paid period ``P`` only).

The periods' frames are then put together in the order of the whole run
(:func:`assemble`); rejects and the row accounting cover the whole input, each reject once.

**Narrowed re-rated periods.** A clawback or true-up makes the calculation re-rate earlier
periods, which only matters for the participants on such plans: the earlier periods' results of
everybody else are dropped (only the paid period is kept, and the carry state holds caps and
draws). So for those periods a partition reads only the transactions with a level-0 credit to a
participant on a clawback or true-up plan (recorded when their own period was credited). When
roll-ups could reach such a participant (they manage somebody, and the rule set rolls up),
every transaction of those periods is read instead.

**Reading the transactions.** When ``transactions`` (and ``transaction_sellers``) are Parquet
with contract column names and no mapping file, they are never read whole: a lazy scan splits
them into one Parquet file per period (rows whose credit date is missing, cannot be typed or is
in no calendar period go with the first period) in a staging directory, removed afterwards; each
partition's rows are validated by :func:`engine.loading.load_dataset` from a staging directory
holding them and the tables they reference, and their line numbers are mapped back to the
input's. Otherwise (CSV input, a mapping) the dataset is loaded whole by the normal loader and
split in memory.

**Limits** (refused with an :class:`~engine.errors.EngineError`, reason and hint): a paid-period
subset or closed periods (pay every calendar period); a ``transaction_id`` on more than one
Parquet row (the whole run's duplicate check needs every row at once).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from engine.calc.payouts import CalcResult, _needed_periods, calculate
from engine.calc.windows import calendar_frame
from engine.contract import TABLES
from engine.crediting import CreditResult, credit
from engine.crediting.frames import ROLLUP_TOTAL_KEYS
from engine.errors import EngineError, Reason
from engine.loading import Dataset, load_dataset
from engine.loading.mapping import MAPPING_FILE, TableMapping
from engine.loading.read import LINE, file_sha256, locate
from engine.pipeline import RunResult
from engine.publish import fingerprint, publish
from engine.rules import RuleSet, load_ruleset

__all__ = [
    "PartitionedRun",
    "PeriodFrames",
    "assemble",
    "run_partitioned",
    "write_partitioned",
]

SPLIT = ("transactions", "transaction_sellers")
"""The tables split by period (a seller row goes with its transaction)."""

_CALC_SORT: dict[str, list[str]] = {
    "measures": ["participant_id"],
    "incentives": ["participant_id"],
    "incentive_lines": ["participant_id", "period", "plan_id", "component", "transaction_id"],
    "payouts": ["participant_id"],
    "adjustments": ["participant_id"],
}
"""How each calculation frame of consecutive periods is put in the whole run's order (stable)."""

_ORIG = "_orig_line"
_CHUNK = 4_000_000
"""Transaction rows split at a time (:meth:`_ParquetSource._split`)."""


@dataclass(frozen=True)
class PeriodFrames:
    """One paid period's result frames and what the partition held.

    Attributes:
        period: the paid period.
        frames: ``credits``, ``rollup_totals``, ``rollup_flags``, ``unrouted``, ``excluded`` (of
            the period's own transactions) and the calculation's frames (``measures`` ...
            ``calc_findings``; ``carry_state`` after this period).
        transactions: transaction rows in the partition (own, window, re-rated, originals).
        owned: transaction rows the period owns (its own, plus undated ones in the first).
        seconds: wall time of the partition (read, credit, calculate).
    """

    period: str
    frames: dict[str, pl.DataFrame]
    transactions: int
    owned: int
    seconds: float


@dataclass
class PartitionedRun:
    """A partitioned run's result.

    Attributes:
        ruleset: the rule set.
        periods: the paid periods (every calendar period).
        run_id: the same fingerprint a whole run of the same inputs has.
        file_hashes: sha256 of every input file (the whole files).
        rejects: every reject of the whole input, once, sorted as the loader sorts them.
        accounting: rows read, accepted and rejected per table, for the whole input.
        shared: the frames that do not depend on transactions (roll-up chains).
        periods_done: each period's frames (empty frames when ``keep`` was False).
        narrowed: True when re-rated periods read only the transactions of clawback or
            true-up participants (module docstring).
    """

    ruleset: RuleSet
    periods: list[str]
    run_id: str
    file_hashes: dict[str, str]
    rejects: pl.DataFrame
    accounting: pl.DataFrame
    shared: dict[str, pl.DataFrame]
    periods_done: list[PeriodFrames] = field(default_factory=list)
    narrowed: bool = False

    def outputs(self) -> dict[str, pl.DataFrame]:
        """The outputs of the whole run (:meth:`engine.pipeline.RunResult.outputs`)."""
        return assemble(self)


def _empty_calc() -> CalcResult:
    return CalcResult(*(pl.DataFrame() for _ in range(7)))


def assemble(run: PartitionedRun) -> dict[str, pl.DataFrame]:
    """Put the periods' frames together, in the whole run's order and sort.

    Args:
        run: a partitioned run kept in memory (``keep=True``).

    Returns:
        The output frames by name, equal to those of :func:`engine.pipeline.run`.
    """
    done = run.periods_done

    def cat(name: str) -> pl.DataFrame:
        return pl.concat([p.frames[name] for p in done], how="vertical")

    credits = cat("credits").sort("participant_id", "transaction_id", maintain_order=True)
    frames: dict[str, pl.DataFrame] = {
        "credits": credits,
        "rollup_totals": cat("rollup_totals").sort(list(ROLLUP_TOTAL_KEYS), maintain_order=True),
        **run.shared,
        "rollup_flags": cat("rollup_flags").sort("transaction_id", maintain_order=True),
        "unrouted": cat("unrouted").sort("transaction_id", "source_line", maintain_order=True),
        "excluded": cat("excluded").sort("transaction_id", "source_line", maintain_order=True),
        "rejects": run.rejects,
        "accounting": run.accounting,
    }
    for name, keys in _CALC_SORT.items():
        frames[name] = cat(name).sort(keys, maintain_order=True)
    frames["carry_state"] = done[-1].frames["carry_state"]
    frames["calc_findings"] = _findings(done, run.periods)
    return frames


_FINDING_GROUPS = {
    Reason.NO_PLAN.value: 0,
    Reason.REQUIRED_VALUE_MISSING.value: 1,
    Reason.NO_EXCHANGE_RATE.value: 2,
    Reason.NO_QUOTA.value: 3,
}
"""The calculation's findings in the order it concatenates them: plan segments (unknown plans,
missing targets), lines (exchange rates), measures (quotas); anything else after them."""


def _findings(done: Sequence[PeriodFrames], periods: Sequence[str]) -> pl.DataFrame:
    """The calculation findings of the periods, each once, in the whole run's order.

    The whole run lists each kind of finding for every period before the next kind; a partition
    lists its period's. Within a kind the whole run's order is: unknown plans and missing
    targets by participant and period; missing exchange rates by transaction (the credits'
    order; the message names the transaction); missing quotas measure by measure (in the order
    the calculation meets them), by participant and period. So the periods' findings are sorted
    (stably) by those keys.
    """
    found = pl.concat([p.frames["calc_findings"] for p in done]).unique(maintain_order=True)
    if found.height == 0:
        return found
    subjects = found.filter(pl.col("reason") == Reason.NO_QUOTA.value).get_column("subject")
    block = {s: i for i, s in enumerate(subjects.unique(maintain_order=True).to_list())}
    seq = {p: i for i, p in enumerate(periods)}
    keys = found.select(
        pl.col("reason").replace_strict(_FINDING_GROUPS, default=len(_FINDING_GROUPS)).alias("k"),
        pl.when(pl.col("reason") == Reason.NO_QUOTA.value)
        .then(pl.col("subject").replace_strict(block, default=-1))
        .otherwise(-1)
        .alias("b"),
        pl.when(pl.col("reason") == Reason.NO_EXCHANGE_RATE.value)
        .then(pl.col("message").str.extract(r"for transaction (.*); credit left out"))
        .alias("t"),
        pl.when(pl.col("reason") != Reason.NO_EXCHANGE_RATE.value)
        .then(pl.col("participant_id"))
        .alias("p"),
        pl.when(pl.col("reason") != Reason.NO_EXCHANGE_RATE.value)
        .then(pl.col("period").replace_strict(seq, default=-1))
        .alias("s"),
    )
    order = keys.select(
        pl.arg_sort_by(["k", "b", "t", "p", "s"], nulls_last=False, maintain_order=True)
    ).to_series()
    return found[order]


def write_partitioned(run: PartitionedRun, out_dir: Path) -> Path:
    """Publish a partitioned run kept in memory exactly as :func:`engine.pipeline.write` would.

    Returns:
        The run's directory.
    """
    frames = run.outputs()
    stub = RunResult(
        Dataset({}, run.rejects, run.accounting, run.file_hashes),
        run.ruleset,
        CreditResult.__new__(CreditResult),
        _empty_calc(),
        run.periods,
        run.run_id,
    )
    return publish(out_dir, run.run_id, frames, stub.manifest(frames))


# --------------------------------------------------------------------------------------------
# the partitions' transactions

_TID = "_tid"
_OID = "_oid"
_BUCKET = "_b"
_OWN = "_own"
_HELPERS = (_TID, _OID, _BUCKET, _OWN, _ORIG)


def _text_id(column: str) -> pl.Expr:
    """An id as the loader reads it: text, stripped, blank = null."""
    return pl.col(column).cast(pl.Utf8).str.strip_chars().replace("", None)


def _buckets(calendar: pl.DataFrame, dates: pl.DataFrame) -> pl.DataFrame:
    """``_d -> _b``: each distinct date's period (its calendar ``seq``), -1 in no period.

    The same rule as :func:`engine.crediting.periods.assign_periods`: the last period starting
    on or before the date, if it ends on or after it.
    """
    cal = calendar.select(
        pl.col("start_date").alias("_s"), pl.col("end_date").alias("_e"), "seq"
    ).sort("_s")
    return (
        dates.select(pl.col("_d").unique())
        .drop_nulls()
        .sort("_d")
        .join_asof(cal, left_on="_d", right_on="_s", strategy="backward", check_sortedness=False)
        .select(
            "_d",
            pl.when(pl.col("_e") >= pl.col("_d"))
            .then(pl.col("seq"))
            .otherwise(-1)
            .cast(pl.Int64)
            .alias(_BUCKET),
        )
    )


@dataclass
class _Part:
    """A partition's typed split tables, the transaction ids and lines it owns, its rejects."""

    tables: dict[str, pl.DataFrame]
    owned_ids: pl.Series
    held: int
    owned: int


class _Source:
    """Where the partitions' transactions and seller rows come from."""

    base: Dataset
    """Every table; the split tables' rows are replaced partition by partition."""

    def partition(
        self, first: bool, seq: int, full: set[int], filters: dict[int, pl.Series]
    ) -> _Part:
        """The split tables of one partition.

        Args:
            first: the first partition (takes the rows in no period).
            seq: the paid period's calendar ``seq`` (its rows are owned).
            full: the ``seq`` of the periods all of whose rows are read.
            filters: ``seq`` -> transaction ids: of those periods, only these rows.
        """
        raise NotImplementedError

    def finish(self) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
        """The whole input's rejects, accounting and file hashes (after every partition)."""
        raise NotImplementedError


def _keep(first: bool, full: set[int], filters: dict[int, pl.Series]) -> pl.Expr:
    wanted = sorted(full | ({-1} if first else set()))
    keep = pl.col(_BUCKET).is_in(wanted)
    for seq, ids in filters.items():
        keep = keep | ((pl.col(_BUCKET) == seq) & pl.col(_TID).is_in(ids.implode()))
    return keep


def _own(first: bool, seq: int) -> pl.Expr:
    own = pl.col(_BUCKET) == seq
    return (own | (pl.col(_BUCKET) == -1)) if first else own


def _with_originals(rows: pl.DataFrame, everything: pl.LazyFrame) -> pl.DataFrame:
    """Add the originals the returns of ``rows`` reference, transitively (not owned)."""
    while True:
        wanted = rows.get_column(_OID).drop_nulls().unique()
        missing = wanted.filter(~wanted.is_in(rows.get_column(_TID).implode()))
        if missing.len() == 0:
            return rows
        more = (
            everything.filter(pl.col(_TID).is_in(missing.implode()))
            .with_columns(pl.lit(False).alias(_OWN))
            .collect(engine="streaming")
        )
        if more.height == 0:
            return rows
        rows = pl.concat([rows, more.select(rows.columns)])


class _MemorySource(_Source):
    """The normal loader over the whole directory, split in memory (CSV input, a mapping)."""

    def __init__(self, data_dir: Path, mapping: Path | None) -> None:
        self.base = load_dataset(data_dir, mapping)
        cal = calendar_frame(self.base.tables["calendar"])
        tx = self.base.tables["transactions"]
        by_date = _buckets(cal, tx.select(pl.col("credit_date").alias("_d")))
        self.tx = tx.with_columns(
            pl.col("transaction_id").alias(_TID),
            pl.col("original_transaction_id").alias(_OID),
            pl.col("credit_date")
            .replace_strict(by_date["_d"], by_date[_BUCKET], default=-1)
            .cast(pl.Int64)
            .alias(_BUCKET),
        )

    def partition(
        self, first: bool, seq: int, full: set[int], filters: dict[int, pl.Series]
    ) -> _Part:
        every = self.tx.lazy()
        rows = every.filter(_keep(first, full, filters)).with_columns(_own(first, seq).alias(_OWN))
        got = _with_originals(rows.collect(), every).sort(LINE)
        owned = got.filter(pl.col(_OWN)).get_column(_TID)
        sellers = self.base.tables["transaction_sellers"].join(
            got.select(pl.col(_TID).alias("transaction_id")), on="transaction_id", how="semi"
        )
        tx = got.drop(_TID, _OID, _BUCKET, _OWN)
        return _Part(
            {"transactions": tx, "transaction_sellers": sellers}, owned, got.height, owned.len()
        )

    def finish(self) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
        return self.base.rejects, self.base.accounting, self.base.file_hashes


class _UnsplittableError(Exception):
    """The input cannot be split as Parquet: load it whole instead."""


class _ParquetSource(_Source):
    """Parquet transactions split into one file per period by a lazy scan (module docstring).

    Layout of the staging directory: ``base/`` (links to every input but the split tables),
    ``buckets/_b=<seq>/`` (the transactions of each period, ``-1`` for no period, with their
    input line ``_orig_line`` and the ids as text), ``p<seq>/`` (one partition's load).
    """

    def __init__(self, data_dir: Path, stage: Path) -> None:
        self.data_dir, self.stage = data_dir, stage
        self.paths: dict[str, Path] = {}
        self.files: dict[str, list[Path]] = {}
        for name in SPLIT:
            found = [
                p
                for p in (data_dir / f"{name}.csv", data_dir / f"{name}.parquet", data_dir / name)
                if p.exists()
            ]
            if len(found) > 1:
                raise _UnsplittableError(f"{name}: more than one file")
            if found:
                if found[0].suffix == ".csv" or locate(data_dir, name, TableMapping(), "") is None:
                    raise _UnsplittableError(f"{name}: not Parquet")
                self.paths[name] = found[0]
        if "transactions" not in self.paths:
            raise _UnsplittableError("no transactions")
        self.scans = {name: self._scan(name, path) for name, path in self.paths.items()}
        self.rows = {
            name: int(scan.select(pl.len()).collect().item()) for name, scan in self.scans.items()
        }
        if self.rows["transactions"] == 0:
            raise _UnsplittableError("no transaction rows")
        self._check_unique()
        base_dir = stage / "base"
        base_dir.mkdir(parents=True)
        skip = {p.resolve() for p in self.paths.values()}
        for entry in sorted(data_dir.iterdir()):
            if entry.resolve() not in skip:
                (base_dir / entry.name).symlink_to(entry.resolve())
        self.base_dir = base_dir
        self.base = load_dataset(base_dir)
        self.cal = calendar_frame(self.base.tables["calendar"])
        self._split()
        self.findings: list[pl.DataFrame] = []
        self.claimed: list[pl.Series] = []
        self.rejected = dict.fromkeys(SPLIT, 0)

    def _scan(self, name: str, path: Path) -> pl.LazyFrame:
        files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
        self.files[name] = files
        try:
            scan = pl.scan_parquet(files)
            schema = scan.collect_schema()
        except (pl.exceptions.PolarsError, OSError) as exc:
            raise _UnsplittableError(f"{name}: {exc}") from None
        required = [c.name for c in TABLES[name].columns if c.required]
        if any(c not in schema for c in required):
            raise _UnsplittableError(f"{name}: a required column is missing")
        if name == "transactions":
            kind = schema["credit_date"]
            if kind not in (pl.Date, pl.Utf8):
                raise _UnsplittableError("credit_date is neither a date nor text")
            if "original_transaction_id" not in schema:
                scan = scan.with_columns(pl.lit(None, pl.Utf8).alias("original_transaction_id"))
                self.no_original = True
            else:
                self.no_original = False
        scan = scan.with_row_index(_ORIG, offset=1).with_columns(
            pl.col(_ORIG).cast(pl.Int64), _text_id("transaction_id").alias(_TID)
        )
        if name == "transactions":
            scan = scan.with_columns(_text_id("original_transaction_id").alias(_OID))
        return scan

    def _check_unique(self) -> None:
        """Refuse a ``transaction_id`` on two rows.

        Checked on the ids' 64-bit hashes, sorted (8 bytes a row, not the ids' text), then
        exactly on the few ids whose hash repeats.
        """
        ids = self.scans["transactions"].select(_TID).drop_nulls()
        hashes = (
            ids.select(pl.col(_TID).hash().alias("h"))
            .collect(engine="streaming")
            .get_column("h")
            .sort()
        )
        repeated = hashes.filter(hashes == hashes.shift(1)).unique()
        del hashes
        if repeated.len() == 0:
            return
        suspects = (
            ids.filter(pl.col(_TID).hash().is_in(repeated.implode()))
            .collect(engine="streaming")
            .get_column(_TID)
        )
        if suspects.is_duplicated().any():
            raise EngineError.single(
                Reason.DUPLICATE_KEY,
                "a transaction_id is on more than one row: a period-partitioned run cannot "
                "tell which row the whole run would keep",
                file=self._display("transactions"),
                column="transaction_id",
                hint="run without period partitioning (icm run): its rejects name the rows",
            )

    def _display(self, name: str) -> str:
        return self.paths[name].relative_to(self.data_dir).as_posix()

    def _split(self) -> None:
        """Write the transactions as one directory of Parquet files per period, chunk by chunk.

        Each source file is read ``_CHUNK`` rows at a time, numbered (``_orig_line``, the line
        the loader gives the row), tagged with its period's ``seq`` (-1: none) and written to
        ``buckets/_b=<seq>/<chunk>.parquet``: only one chunk is in memory at a time.
        """
        scan = self.scans["transactions"]
        date = pl.col("credit_date")
        if scan.collect_schema()["credit_date"] == pl.Utf8:
            date = date.str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
        dates = scan.select(date.alias("_d")).unique().collect(engine="streaming")
        by_date = _buckets(self.cal, dates).lazy()
        self.bucket_dir = self.stage / "buckets"
        offset, index = 1, 0
        for f in self.files["transactions"]:
            rows = int(pl.scan_parquet(f).select(pl.len()).collect().item())
            for start in range(0, rows, _CHUNK):
                chunk = pl.scan_parquet(f).slice(start, _CHUNK)
                if self.no_original:
                    chunk = chunk.with_columns(
                        pl.lit(None, pl.Utf8).alias("original_transaction_id")
                    )
                frame = (
                    chunk.with_row_index(_ORIG, offset=offset + start)
                    .with_columns(
                        pl.col(_ORIG).cast(pl.Int64),
                        _text_id("transaction_id").alias(_TID),
                        _text_id("original_transaction_id").alias(_OID),
                        date.alias("_d"),
                    )
                    .join(by_date, on="_d", how="left")
                    .with_columns(pl.col(_BUCKET).fill_null(-1))
                    .drop("_d", *(["original_transaction_id"] if self.no_original else []))
                    .collect()
                )
                for (seq,), part in frame.partition_by(_BUCKET, as_dict=True).items():
                    folder = self.bucket_dir / f"{_BUCKET}={seq}"
                    folder.mkdir(parents=True, exist_ok=True)
                    part.write_parquet(folder / f"{index:06d}.parquet")
                index += 1
                del frame
            offset += rows

    def _bucket_scan(self, seqs: Sequence[int] | None = None) -> pl.LazyFrame:
        dirs = sorted(self.bucket_dir.glob(f"{_BUCKET}=*"))
        if seqs is not None:
            names = {f"{_BUCKET}={s}" for s in seqs}
            dirs = [d for d in dirs if d.name in names]
        files = [f for d in dirs for f in sorted(d.glob("*.parquet"))]
        if not files:
            return (
                self.scans["transactions"]
                .clear()
                .with_columns(pl.lit(0, pl.Int64).alias(_BUCKET))
                .head(0)
                .drop("original_transaction_id" if self.no_original else [])
            )
        return pl.scan_parquet(files).with_columns(pl.col(_BUCKET).cast(pl.Int64))

    def partition(
        self, first: bool, seq: int, full: set[int], filters: dict[int, pl.Series]
    ) -> _Part:
        wanted = sorted(full | set(filters) | ({-1} if first else set()))
        rows = (
            self._bucket_scan(wanted)
            .filter(_keep(first, full, filters))
            .with_columns(_own(first, seq).alias(_OWN))
            .collect(engine="streaming")
        )
        if not self.no_original:
            rows = _with_originals(rows, self._bucket_scan())
        rows = rows.sort(_ORIG)
        owned = rows.filter(pl.col(_OWN))
        owned_ids = owned.get_column(_TID)
        folder = self.stage / f"p{seq}"
        staged: dict[str, tuple[pl.Series, pl.Series]] = {
            "transactions": self._stage(folder, "transactions", rows)
        }
        if "transaction_sellers" in self.paths:
            sellers = (
                self.scans["transaction_sellers"]
                .join(rows.lazy().select(_TID), on=_TID, how="semi")
                .with_columns(pl.col(_TID).is_in(owned_ids.implode()).alias(_OWN))
                .collect(engine="streaming")
                .sort(_ORIG)
            )
            staged["transaction_sellers"] = self._stage(folder, "transaction_sellers", sellers)
            self.claimed.append(sellers.get_column(_ORIG))
            del sellers
        n_rows, n_owned = rows.height, owned.height
        del rows, owned
        tables = self._load(folder, staged)
        return _Part(tables, owned_ids, n_rows, n_owned)

    def _stage(self, folder: Path, name: str, rows: pl.DataFrame) -> tuple[pl.Series, pl.Series]:
        """Write ``rows`` (without helper columns) where the loader looks for table ``name``.

        Returns:
            The input lines of the staged rows, in staged order, and the owned ones.
        """
        original = self.paths[name]
        target = folder / original.relative_to(self.data_dir)
        if original.is_dir():
            target.mkdir(parents=True)
            target = target / "part-0.parquet"
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
        if rows.height:
            rows.drop([c for c in _HELPERS if c in rows.columns]).write_parquet(target)
        owned = rows.filter(pl.col(_OWN)).get_column(_ORIG)
        return rows.get_column(_ORIG), owned

    def _load(
        self, folder: Path, staged: dict[str, tuple[pl.Series, pl.Series]]
    ) -> dict[str, pl.DataFrame]:
        """Load a partition's staged rows with the tables they reference; keep owned rejects."""
        for name in ("calendar", "participants", "territories"):
            path = locate(self.data_dir, name, TableMapping(), "")
            if path is not None:
                (folder / path.name).symlink_to(path.resolve())
        ds = load_dataset(folder)
        shutil.rmtree(folder)
        tables: dict[str, pl.DataFrame] = {}
        for name in SPLIT:
            lines, owned = staged.get(name, (pl.Series([], dtype=pl.Int64),) * 2)
            table = ds.tables[name]
            tables[name] = table.with_columns(lines.gather(table.get_column(LINE) - 1).alias(LINE))
            if name in self.paths:
                self._keep_rejects(ds.rejects, name, lines, owned)
        return tables

    def _keep_rejects(
        self, rejects: pl.DataFrame, name: str, lines: pl.Series, owned: pl.Series
    ) -> None:
        mine = rejects.filter(
            (pl.col("file") == self._display(name)) & pl.col("line").is_not_null()
        )
        mine = mine.with_columns(lines.gather(mine.get_column("line") - 1).alias("line"))
        mine = mine.filter(pl.col("line").is_in(owned.implode()))
        self.rejected[name] += mine.get_column("line").n_unique()
        self.findings.append(mine)

    def _orphan_sellers(self) -> None:
        """Seller rows of no transaction of the input: loaded alone, so all rejected."""
        if "transaction_sellers" not in self.paths:
            return
        claimed = pl.concat(self.claimed) if self.claimed else pl.Series([], dtype=pl.Int64)
        rest = (
            self.scans["transaction_sellers"]
            .filter(~pl.col(_ORIG).is_in(claimed.implode()))
            .with_columns(pl.lit(True).alias(_OWN))
            .collect(engine="streaming")
            .sort(_ORIG)
        )
        if rest.height == 0:
            return
        folder = self.stage / "orphans"
        staged = {"transaction_sellers": self._stage(folder, "transaction_sellers", rest)}
        self._load(folder, staged)

    def finish(self) -> tuple[pl.DataFrame, pl.DataFrame, dict[str, str]]:
        self._orphan_sellers()
        base = self.base
        missing = (
            (pl.col("file") == "transactions.csv")
            & (pl.col("reason") == Reason.FILE_MISSING.value)
            & pl.col("line").is_null()
        )
        rejects = pl.concat([base.rejects.filter(~missing), *self.findings]).sort(
            "file", "line", "column", "reason", nulls_last=False
        )
        rows = []
        for given in base.accounting.iter_rows(named=True):
            name, row = given["table"], given
            if name in self.paths:
                read, rejected = self.rows[name], self.rejected[name]
                status = "ok" if rejected == 0 else ("unusable" if rejected == read else "rejects")
                row = {
                    "table": name,
                    "file": self._display(name),
                    "rows_read": read,
                    "rows_accepted": read - rejected,
                    "rows_rejected": rejected,
                    "status": status,
                }
            rows.append(row)
        accounting = pl.DataFrame(rows, schema=base.accounting.schema)
        hashes = dict(base.file_hashes)
        for name, path in self.paths.items():
            hashes[self._display(name)] = file_sha256(path)
        return rejects, accounting, hashes


def _open_source(data_dir: Path, mapping: Path | None, stage: Path) -> _Source:
    """The Parquet splitter when it applies (module docstring), else the whole-table loader."""
    if mapping is None and not (data_dir / MAPPING_FILE).exists() and data_dir.is_dir():
        try:
            return _ParquetSource(data_dir, stage)
        except _UnsplittableError:
            shutil.rmtree(stage / "base", ignore_errors=True)
            shutil.rmtree(stage / "buckets", ignore_errors=True)
    return _MemorySource(data_dir, mapping)


# --------------------------------------------------------------------------------------------
# the run


@contextmanager
def _staging(parent: Path | None) -> Iterator[Path]:
    """A fresh staging directory (under ``parent`` or the temp dir), removed afterwards."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix="icm-partition-", dir=parent))
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _narrowing(base: Dataset, ruleset: RuleSet) -> pl.Series | None:
    """The participants re-rated periods are read for, or None to read those periods whole.

    They are the participants with a clawback or true-up plan at some time; None when roll-ups
    could reach one of them (the rule set rolls up and one of them manages somebody).
    """
    plans = [p.id for p in ruleset.plans if p.clawback is not None or p.true_up is not None]
    special = (
        base.tables["plan_assignments"]
        .filter(pl.col("plan_id").is_in(plans))
        .get_column("participant_id")
        .unique()
    )
    managers = base.tables["hierarchy"].get_column("manager_id").unique()
    if ruleset.crediting.rollups and special.is_in(managers.implode()).any():
        return None
    return special


def _period_frames(
    dataset: Dataset,
    ruleset: RuleSet,
    results: tuple[CreditResult, CalcResult],
    period: str,
    owned_ids: pl.Series,
) -> tuple[dict[str, pl.DataFrame], dict[str, pl.DataFrame]]:
    """A partition's frames of the paid period (and the shared ones), by output name."""
    credited, calc = results
    in_period = pl.col("period") == period
    mine = dataclasses.replace(credited, credits=credited.credits.filter(in_period))
    totals = credited.rollup_totals().filter(in_period)
    result = RunResult(dataset, ruleset, mine, calc, [period], "", [], totals)
    frames = result.frames()
    owned = pl.col("transaction_id").is_in(owned_ids.implode())
    shared = {n: frames.pop(n) for n in ("rollup_chain_segments", "rollup_chain_links")}
    for name in ("rollup_flags", "unrouted", "excluded"):
        frames[name] = frames[name].filter(owned)
    for name in ("rejects", "accounting"):
        del frames[name]
    return frames, shared


def run_partitioned(
    data_dir: Path,
    rules: Path,
    *,
    mapping: Path | None = None,
    periods: Sequence[str] | None = None,
    staging: Path | None = None,
    keep: bool = True,
    on_period: Callable[[PeriodFrames], None] | None = None,
) -> PartitionedRun:
    """Run every calendar period one at a time; the same outputs as :func:`engine.pipeline.run`.

    Args:
        data_dir: the data directory.
        rules: the rule-set file.
        mapping: a column-mapping file (the data is then loaded whole, then split).
        periods: must be None or every calendar period (partitioned runs pay them all).
        staging: where the staging directory is made (default: the temp directory); it is
            removed when the run ends, failed or not.
        keep: keep each period's frames (for :meth:`PartitionedRun.outputs` and
            :func:`write_partitioned`); False for runs too large to hold them: use
            ``on_period`` to write them.
        on_period: called with each period's frames once the period is calculated.

    Returns:
        The run.

    Raises:
        EngineError: unusable input or rules, as :func:`engine.pipeline.run`; ``USAGE`` for a
            period subset; ``DUPLICATE_KEY`` when a Parquet ``transaction_id`` is on two rows.
    """
    ruleset = load_ruleset(rules)
    with _staging(staging) as stage:
        source = _open_source(data_dir, mapping, stage)
        base = source.base
        cal = calendar_frame(base.tables["calendar"])
        paid: list[str] = cal.get_column("period").to_list()
        if periods is not None and list(periods) != paid:
            raise EngineError.single(
                Reason.USAGE,
                "a period-partitioned run pays every calendar period",
                hint="leave out the periods, or run without period partitioning",
            )
        seq_of = dict(zip(paid, cal.get_column("seq").to_list(), strict=True))
        plans = {p.id: p for p in ruleset.plans}
        measures = list(ruleset.measures)
        special = _narrowing(base, ruleset)
        relevant: dict[int, pl.Series] = {}
        state: pl.DataFrame | None = None
        done: list[PeriodFrames] = []
        shared: dict[str, pl.DataFrame] = {}
        for index, period in enumerate(paid):
            t0 = time.perf_counter()
            _, needed = _needed_periods(cal, [period], plans, measures)
            _, windows = _needed_periods(cal, [period], {}, measures)
            extra = [seq_of[p] for p in needed if p not in windows] if special is not None else []
            full = {seq_of[p] for p in needed} - set(extra)
            part = source.partition(
                index == 0, seq_of[period], full, {s: relevant[s] for s in extra}
            )
            dataset = Dataset({**base.tables, **part.tables}, base.rejects, base.accounting)
            credited = credit(dataset, ruleset, needed, rollups="aggregate")
            calc = calculate(dataset, credited, ruleset, [period], state=state)
            state = calc.state
            if special is not None:
                relevant[seq_of[period]] = (
                    credited.credits.filter(
                        (pl.col("period") == period)
                        & pl.col("participant_id").is_in(special.implode())
                    )
                    .get_column("transaction_id")
                    .unique()
                )
            frames, chains = _period_frames(
                dataset, ruleset, (credited, calc), period, part.owned_ids
            )
            if index == 0:
                shared = chains
            del credited, calc, dataset, part.tables
            seconds = time.perf_counter() - t0
            result = PeriodFrames(period, frames, part.held, part.owned, seconds)
            if on_period is not None:
                on_period(result)
            if not keep:
                result = PeriodFrames(period, {}, part.held, part.owned, seconds)
            done.append(result)
            del frames
        rejects, accounting, hashes = source.finish()
    run_id = fingerprint(ruleset.content_hash, hashes, paid, {})
    return PartitionedRun(
        ruleset,
        paid,
        run_id,
        hashes,
        rejects,
        accounting,
        shared,
        done,
        narrowed=special is not None,
    )
