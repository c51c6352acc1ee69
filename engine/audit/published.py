"""A published run, read back for the audit trail of a few participants, without recomputing.

``icm explain P --run out/current`` explains a payout from what ``icm run`` published
(``out/runs/<run_id>/*.parquet`` and ``manifest.json``, :mod:`engine.publish`): the payouts,
incentives, measures and adjustments of the participant, their level-0 credits and, for a
manager, the roll-up credits derived from the published roll-up basis (chain segments and
links, :meth:`engine.pipeline.RunResult.frames`). Every published file is scanned lazily with a
filter on the participant (Polars predicate pushdown), so one participant of a large run is
read without loading the run.

What the outputs do not hold is read from the inputs: the credited transactions (their
descriptive columns, source lines, currencies), the calendar, the exchange rates and the
participant's name, from the data directory the user names, after checking each file's sha256
against the run manifest; and the rule set, after checking its content hash. A file or rule set
that changed since the run is a ``USAGE`` error saying which and what to do. Transactions in
Parquet are read lazily too (only the credited rows); a CSV file is read whole.

:func:`published_result` returns a :class:`~engine.pipeline.RunResult` restricted to those
participants, so :func:`engine.audit.lineage.build_lineage` and
:func:`engine.audit.explain.explain` run on it unchanged: the explanation of a published run is
built by the same code as after ``run`` (a test compares both on every sample payout).

Example:
    >>> import tempfile
    >>> from engine.pipeline import run, write
    >>> data, rules = Path("fixtures/sample"), Path("rules/sample.yaml")
    >>> with tempfile.TemporaryDirectory() as out:
    ...     _ = write(run(data, rules), Path(out))
    ...     got = published_result(open_run(Path(out)), data, rules, ["P021"])
    ...     got.calc.payouts["participant_id"].unique().to_list()
    ['P021']
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from engine.errors import EngineError, Reason
from engine.publish import MANIFEST

if TYPE_CHECKING:
    from engine.crediting.rollup import RollupBasis
    from engine.pipeline import RunResult
    from engine.rules import RuleSet

__all__ = ["PublishedRun", "open_run", "published_result"]

_CALC = ("measures", "incentives", "incentive_lines", "payouts", "adjustments")


@dataclass(frozen=True)
class PublishedRun:
    """A published run directory and its manifest."""

    directory: Path
    manifest: dict[str, Any]

    @property
    def run_id(self) -> str:
        """The run's fingerprint."""
        return str(self.manifest.get("run_id", self.directory.name))

    def scan(self, name: str) -> pl.LazyFrame:
        """A lazy scan of one published frame (``<name>.parquet``).

        Raises:
            EngineError: ``FILE_MISSING`` when the run did not publish it (an older run).
        """
        path = self.directory / f"{name}.parquet"
        if not path.is_file():
            raise EngineError.single(
                Reason.FILE_MISSING,
                f"the run does not hold {name}.parquet",
                file=str(path),
                hint="the run was published by an older engine: run `icm run` again, or "
                "explain with --data and --rules only (the run is recomputed)",
            )
        return pl.scan_parquet(path)


def open_run(path: Path) -> PublishedRun:
    """The published run at ``path``: a run directory, or an output root holding ``current``.

    Raises:
        EngineError: ``FILE_MISSING`` when no manifest is found there.
    """
    for candidate in (path, path / "current"):
        manifest = candidate / MANIFEST
        if manifest.is_file():
            doc = json.loads(manifest.read_text(encoding="utf-8"))
            return PublishedRun(candidate.resolve(), doc)
    raise EngineError.single(
        Reason.FILE_MISSING,
        "no published run here (no manifest.json)",
        file=str(path),
        hint="give --run the --out directory of `icm run`, its `current` link, or a "
        "runs/<run_id> directory",
    )


def _check_rules(run: PublishedRun, rules: Path) -> RuleSet:
    from engine.rules import load_ruleset  # noqa: PLC0415

    ruleset = load_ruleset(rules)
    expected = run.manifest.get("ruleset", {}).get("content_hash")
    if ruleset.content_hash != expected:
        raise EngineError.single(
            Reason.USAGE,
            f"the rule set is not the one of run {run.run_id[:12]} (content hash "
            f"{ruleset.content_hash[:12]}, the run used {str(expected)[:12]})",
            file=str(rules),
            hint="give --rules the rule file the run was made with, or run `icm run` again",
        )
    return ruleset


@dataclass(frozen=True)
class _Input:
    """One input file of the run, located and checked."""

    name: str
    path: Path
    display: str
    mapping: Any


def _input(run: PublishedRun, data_dir: Path, name: str, config: Any) -> _Input | None:
    """Locate ``name`` in ``data_dir`` and check its sha256 against the run manifest."""
    from engine.loading.read import file_sha256, locate  # noqa: PLC0415

    table_map = config.for_table(name)
    path = locate(data_dir, name, table_map, config.source)
    inputs: dict[str, str] = run.manifest.get("inputs", {})
    if path is None:
        if any(Path(k).stem == name for k in inputs):
            raise EngineError.single(
                Reason.FILE_MISSING,
                f"the run read a {name} file; none is in the data directory",
                file=str(data_dir),
                hint="give --data the data directory the run was made from",
            )
        return None
    display = path.relative_to(data_dir).as_posix()
    expected = inputs.get(display)
    if expected is None or file_sha256(path) != expected:
        what = "was not an input of" if expected is None else "changed since"
        raise EngineError.single(
            Reason.USAGE,
            f"{display} {what} run {run.run_id[:12]}: its explanation would not be the run's",
            file=str(path),
            hint="give --data the data directory the run was made from (unchanged), or run "
            "`icm run` again on the new data and explain that run",
        )
    return _Input(name, path, display, table_map)


def _as_text(frame: pl.DataFrame, date_format: str) -> pl.DataFrame:
    """Source columns as text, as :mod:`engine.loading.read` reads Parquet."""
    from engine.loading.read import LINE  # noqa: PLC0415

    table = frame.drop(LINE).to_arrow()
    dates = [
        n
        for n, t in zip(table.column_names, table.schema.types, strict=True)
        if pa.types.is_date(t)
    ]
    columns = [
        pc.cast(col, pa.string())
        if not (
            pa.types.is_string(col.type)
            or pa.types.is_large_string(col.type)
            or pa.types.is_date(col.type)
        )
        else col
        for col in table.columns
    ]
    text = pl.from_arrow(pa.table(columns, names=table.column_names))
    assert isinstance(text, pl.DataFrame)
    text = text.with_columns(pl.col(d).dt.strftime(date_format) for d in dates)
    return text.with_columns(frame[LINE])


def _typed(source: _Input, key: str | None = None, wanted: Sequence[str] = ()) -> pl.DataFrame:
    """The typed rows of one input table (only those whose ``key`` is in ``wanted``).

    A single Parquet file is scanned lazily, keeping the wanted rows only, with the line
    numbers the loader gives (row 1 = line 1); anything else is read whole by the loader's
    reader. Cells are typed by the loader's parser; the rows were accepted by the run (the
    file is unchanged), so nothing is rejected here.
    """
    from engine.contract import TABLES  # noqa: PLC0415
    from engine.loading.columns import validate_cells  # noqa: PLC0415
    from engine.loading.read import LINE, read_table  # noqa: PLC0415

    table = TABLES[source.name]
    mapping = source.mapping
    renames = {src: dst for dst, src in mapping.columns.items() if src != dst}
    if key is not None and source.path.suffix.lower() == ".parquet" and source.path.is_file():
        src_key = mapping.columns.get(key, key)
        scan = pl.scan_parquet(source.path, row_index_name=LINE, row_index_offset=1)
        raw = scan.filter(pl.col(src_key).cast(pl.Utf8).str.strip_chars().is_in(list(wanted)))
        frame = _as_text(raw.collect(), mapping.date_format)
        frame = frame.rename({c: c.strip() for c in frame.columns if c != LINE})
        frame = frame.rename({s: d for s, d in renames.items() if s in frame.columns})
        frame = frame.with_columns(
            pl.col(c).cast(pl.Utf8).str.strip_chars().replace("", None)
            for c in frame.columns
            if c != LINE
        )
    else:
        frame = read_table(source.name, source.path, source.display, mapping).frame
        if key is not None:
            frame = frame.filter(pl.col(key).is_in(list(wanted)))
    frame = frame.with_columns(
        pl.lit(c.default, dtype=pl.Utf8).alias(c.name)
        for c in table.columns
        if c.name not in frame.columns
    ).with_columns(
        pl.col(c.name).fill_null(c.default) for c in table.columns if c.default is not None
    )
    typed, _ = validate_cells(frame, table, source.display, mapping.date_format)
    typed = typed.sort(LINE)
    if source.name == "calendar":
        start = pl.col("start_date")
        typed = typed.with_columns(
            pl.col("quarter").fill_null(
                start.dt.year().cast(pl.Utf8)
                + pl.lit("-Q")
                + ((start.dt.month() - 1) // 3 + 1).cast(pl.Utf8)
            ),
            pl.col("year").fill_null(start.dt.year().cast(pl.Utf8)),
        )
    return typed


def _read(
    run: PublishedRun,
    data_dir: Path,
    name: str,
    config: Any,
    *,
    key: str | None = None,
    wanted: Sequence[str] = (),
) -> pl.DataFrame:
    """One input table, checked against the manifest (empty when the run had none)."""
    source = _input(run, data_dir, name, config)
    if source is not None:
        return _typed(source, key, wanted)
    from engine.contract import TABLES  # noqa: PLC0415
    from engine.loading.dataset import empty_table  # noqa: PLC0415

    return empty_table(TABLES[name])


def _credit_periods(ruleset: RuleSet, calendar: pl.DataFrame, periods: Sequence[str]) -> list[str]:
    """The credit periods the measures of ``periods`` read (their windows reach back)."""
    from engine.audit.lineage import window_periods  # noqa: PLC0415

    windows = {str(getattr(m, "window", "period")) for m in ruleset.measures} | {"period"}
    reach = pl.concat([window_periods(calendar, w) for w in sorted(windows)])
    wanted = reach.filter(pl.col("period").is_in(list(periods)))["credit_period"]
    return sorted(set(wanted.to_list()))


def _rollup_basis(
    run: PublishedRun,
    ruleset: RuleSet,
    managers: Sequence[str],
    credit_periods: Sequence[str] | None,
) -> tuple[RollupBasis, pl.DataFrame]:
    """The roll-up basis restricted to what rolls up to ``managers`` (in ``credit_periods``).

    Also returns the managers' own credits: the published credits are sorted by transaction,
    so a participant's rows are in every row group and each scan decodes the whole file; one
    scan serves both.
    """
    from engine.calc.payouts import settings_of  # noqa: PLC0415
    from engine.crediting.hierarchy import Chains  # noqa: PLC0415
    from engine.crediting.holds import hold_column  # noqa: PLC0415
    from engine.crediting.rollup import prepare, roll_column  # noqa: PLC0415

    section = ruleset.crediting
    rounding = settings_of(ruleset).rounding_mode
    links_all = run.scan("rollup_chain_links")
    segs = (
        links_all.filter(pl.col("manager_id").is_in(list(managers)))
        .select("seg_id")
        .unique()
        .collect()
    )
    below = (
        run.scan("rollup_chain_segments")
        .filter(pl.col("seg_id").is_in(segs["seg_id"].implode()))
        .select("participant_id")
        .unique()
        .collect()["participant_id"]
        .sort()
        .to_list()
    )
    segments = (
        run.scan("rollup_chain_segments").filter(pl.col("participant_id").is_in(below)).collect()
    )
    links = links_all.filter(pl.col("seg_id").is_in(segments["seg_id"].implode())).collect()
    depth = int(links.select(pl.col("level").max()).item() or 0) if links.height else 0
    rolled = sorted({t for r in section.rollups for t in r.credit_types})
    keep = (
        pl.col("participant_id").is_in(below)
        & (pl.col("level") == 0)
        & pl.col("credit_type").is_in(rolled)
    )
    if credit_periods is not None:
        keep = keep & pl.col("period").is_in(list(credit_periods))
    own_rows = pl.col("participant_id").is_in(list(managers))
    read = run.scan("credits").filter(own_rows | keep if below else own_rows).collect()
    own = read.filter(own_rows)
    level0 = read.filter(keep)
    flag_cols = [roll_column(i) for i in range(len(section.rollups))] + [
        hold_column(i) for i in range(len(section.holds))
    ]
    if flag_cols and level0.height:
        flags = (
            run.scan("rollup_flags")
            .filter(pl.col("transaction_id").is_in(level0["transaction_id"].unique().implode()))
            .collect()
        )
        level0 = level0.join(flags, on="transaction_id", how="left").with_columns(
            pl.col(c).fill_null(c.startswith("_roll_")) if c in flags.columns
            else pl.lit(c.startswith("_roll_")).alias(c)
            for c in flag_cols
        )  # fmt: skip
    chains = Chains(segments, links, depth)
    return prepare(level0, chains, section.rollups, section.holds, rounding), own


def published_result(
    run: PublishedRun,
    data_dir: Path,
    rules: Path,
    participants: Sequence[str],
    *,
    periods: Sequence[str] | None = None,
    mapping: Path | None = None,
) -> RunResult:
    """The run's result for ``participants``, read from the published files (see module doc).

    Args:
        run: the published run (:func:`open_run`).
        data_dir: the data directory the run was made from (files checked by sha256).
        rules: the rule-set file the run used (checked by content hash).
        participants: the participants to read.
        periods: only these periods will be explained: a manager's roll-up lines are then read
            for the credit periods their measures' windows reach only (a manager high in a
            large hierarchy has one per team deal). Own credits, payouts and the rest are read
            for every period (a clawback's original deal is in an earlier one).
        mapping: the column-mapping file, if the run used one.

    Returns:
        A :class:`~engine.pipeline.RunResult` holding these participants' outputs only.

    Raises:
        EngineError: a missing run or file, or an input or rule set that changed since the run.
    """
    from engine.calc.payouts import CalcResult  # noqa: PLC0415
    from engine.crediting import CreditResult  # noqa: PLC0415
    from engine.crediting.result import CreditCounts  # noqa: PLC0415
    from engine.loading import Dataset  # noqa: PLC0415
    from engine.loading.mapping import load_mapping  # noqa: PLC0415
    from engine.pipeline import RunResult  # noqa: PLC0415

    ruleset = _check_rules(run, rules)
    config = load_mapping(data_dir, mapping)
    who = sorted(set(participants))
    mine = pl.col("participant_id").is_in(who)
    calc = {name: run.scan(name).filter(mine).collect() for name in _CALC}
    tables = {
        "participants": _read(
            run, data_dir, "participants", config, key="participant_id", wanted=who
        ),
        "calendar": _read(run, data_dir, "calendar", config),
        "exchange_rates": _read(run, data_dir, "exchange_rates", config),
    }
    reach = None if periods is None else _credit_periods(ruleset, tables["calendar"], periods)
    basis, own = _rollup_basis(run, ruleset, who, reach)
    ids = pl.concat([own["transaction_id"], basis.credits["transaction_id"]]).unique().sort()
    tables["transactions"] = _read(
        run, data_dir, "transactions", config, key="transaction_id", wanted=ids.to_list()
    )
    empty = pl.DataFrame()
    dataset = Dataset(tables, empty, empty, dict(run.manifest.get("inputs", {})), data_dir)
    credits = CreditResult(
        credits=own,
        unrouted=empty,
        excluded=empty,
        overlay_misses=empty,
        counts=CreditCounts(0, 0, 0),
        rollups_materialised=False,
        basis=basis,
    )
    result = CalcResult(
        calc["measures"],
        calc["incentives"],
        calc["incentive_lines"],
        calc["payouts"],
        calc["adjustments"],
        empty,
        empty,
    )
    periods = [str(p) for p in run.manifest.get("periods", [])]
    return RunResult(dataset, ruleset, credits, result, periods, run.run_id)
