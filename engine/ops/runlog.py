"""The run log: every run and every step, kept in the operations database.

:func:`run_logged` wraps :func:`engine.pipeline.run` and :func:`engine.pipeline.write`, times the
publish step, and records the outcome with :func:`record_run`, which also flags steps that are
outliers against their history (:mod:`engine.ops.anomalies`).

A failed run is recorded too: the steps that finished, then the failed step with status
``failed`` and the error's message. The pipeline does not report partial progress, so the failed
step is read from the exception's traceback (the frames of ``engine.pipeline.run`` and its
``_timed`` helper); when that is not possible the failure is recorded as a step named ``run``.

Example:
    >>> s = StepRecord("load", "2026-01-01T00:00:00.000+00:00", 0.5, 0, 30)
    >>> s.status, s.error
    ('ok', None)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType

import duckdb
import polars as pl

from engine import __version__
from engine.errors import EngineError, Reason
from engine.ops.anomalies import METRICS, WINDOW, Flag, outlier
from engine.ops.close import apply_closed, closed_periods, publish_with_closed
from engine.ops.db import connect, query, to_utc_naive, utc_now
from engine.pipeline import RunResult, Step, run, write


@dataclass(frozen=True)
class StepRecord:
    """One step of a logged run."""

    step: str
    started: str
    seconds: float
    rows_in: int
    rows_out: int
    status: str = "ok"
    error: str | None = None

    @classmethod
    def of(cls, step: Step) -> StepRecord:
        """The record of a finished pipeline step."""
        return cls(step.name, step.started, step.seconds, step.rows_in, step.rows_out)


@dataclass(frozen=True)
class LoggedRun:
    """A recorded run: its log row, its steps, its flags and, when it succeeded, its result."""

    run_id: str
    status: str
    started: datetime
    finished: datetime
    steps: list[StepRecord]
    flags: list[Flag] = field(default_factory=list)
    error: str | None = None
    fingerprint: str | None = None
    result: RunResult | None = None
    exception: BaseException | None = None
    adjustments: pl.DataFrame | None = None
    published: Path | None = None

    @property
    def seconds(self) -> float:
        """Wall time of the run."""
        return (self.finished - self.started).total_seconds()


def error_text(exc: BaseException) -> str:
    """A one-paragraph description of an error, without a traceback.

    Example:
        >>> error_text(ValueError("boom"))
        'ValueError: boom'
    """
    if isinstance(exc, EngineError):
        return "; ".join(f.render() for f in exc.findings)
    return f"{type(exc).__name__}: {exc}"


def steps_from_traceback(exc: BaseException) -> list[StepRecord]:
    """The steps a failed :func:`engine.pipeline.run` finished, then the failed one.

    Args:
        exc: the exception raised by the pipeline.

    Returns:
        Finished steps (status ok) and the failed step (status failed, with the error).
    """
    done: list[Step] = []
    failed: StepRecord | None = None
    tb: TracebackType | None = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        module = frame.f_globals.get("__name__")
        if module == "engine.pipeline" and frame.f_code.co_name == "run":
            steps = frame.f_locals.get("steps")
            if isinstance(steps, list):
                done = [s for s in steps if isinstance(s, Step)]
        if module == "engine.pipeline" and frame.f_code.co_name == "_timed" and failed is None:
            name, started, t0 = (frame.f_locals.get(k) for k in ("name", "started", "t0"))
            if isinstance(name, str) and isinstance(started, str):
                seconds = time.perf_counter() - t0 if isinstance(t0, float) else 0.0
                rows_in = frame.f_locals.get("rows_in")
                rows = rows_in if isinstance(rows_in, int) else 0
                failed = StepRecord(name, started, seconds, rows, 0, "failed", error_text(exc))
        tb = tb.tb_next
    if failed is None:
        now = utc_now().isoformat(timespec="milliseconds") + "+00:00"
        failed = StepRecord("run", now, 0.0, 0, 0, "failed", error_text(exc))
    return [*(StepRecord.of(s) for s in done), failed]


def run_logged(
    data_dir: Path,
    rules: Path,
    db_path: Path,
    *,
    out_dir: Path | None = None,
    periods: Sequence[str] | None = None,
    mapping: Path | None = None,
) -> LoggedRun:
    """Run the pipeline, publish when ``out_dir`` is given, and record everything.

    Never raises for a failed run: the exception is in :attr:`LoggedRun.exception`.

    Returns:
        The logged run.
    """
    started = utc_now()
    outcome: RunResult | BaseException
    extra: list[StepRecord] = []
    adjustments: pl.DataFrame | None = None
    published: Path | None = None
    try:
        outcome = run(data_dir, rules, periods=periods, mapping=mapping)
        closed = [c for c in closed_periods(db_path) if c.period in outcome.periods]
        if out_dir is None and closed:
            calendar = outcome.dataset.tables["calendar"].sort("start_date")["period"]
            payouts = outcome.calc.payouts
            adjustments = apply_closed(payouts, closed, outcome.periods, calendar.to_list())[1]
        if out_dir is not None:
            frames = outcome.frames()
            begun = utc_now().isoformat(timespec="milliseconds") + "+00:00"
            t0 = time.perf_counter()
            rows_in = sum(f.height for f in frames.values())
            try:
                if closed:
                    published, adjustments = publish_with_closed(outcome, closed, out_dir)
                else:
                    published = write(outcome, out_dir)
            except Exception as exc:
                seconds = time.perf_counter() - t0
                err = error_text(exc)
                steps = [StepRecord.of(s) for s in outcome.steps]
                steps.append(StepRecord("publish", begun, seconds, rows_in, 0, "failed", err))
                return record_run(
                    db_path, exc, started=started, finished=utc_now(), data_dir=data_dir,
                    rules=rules, out_dir=out_dir, steps=steps, result=outcome,
                )  # fmt: skip
            extra.append(
                StepRecord("publish", begun, time.perf_counter() - t0, rows_in, len(frames))
            )
    except Exception as exc:
        outcome = exc
    logged = record_run(
        db_path, outcome, started=started, finished=utc_now(), data_dir=data_dir,
        rules=rules, out_dir=out_dir, extra_steps=extra,
        fingerprint=published.name if published is not None else None,
    )  # fmt: skip
    return replace(logged, adjustments=adjustments, published=published)


def record_run(
    db_path: Path,
    outcome: RunResult | BaseException | None,
    *,
    started: datetime,
    finished: datetime,
    data_dir: Path | None = None,
    rules: Path | None = None,
    out_dir: Path | None = None,
    steps: Sequence[StepRecord] | None = None,
    extra_steps: Sequence[StepRecord] = (),
    result: RunResult | None = None,
    fingerprint: str | None = None,
) -> LoggedRun:
    """Record a run and its steps, flag outlying steps, and return the logged run.

    Args:
        db_path: the operations database.
        outcome: the pipeline's result, or the exception it raised; None records a successful
            run known only by its ``steps`` (runs driven by another tool, tests).
        started: when the run started (naive UTC).
        finished: when it ended (naive UTC).
        data_dir: the data directory.
        rules: the rule-set file.
        out_dir: where results were published, if anywhere.
        steps: the steps to record; by default taken from the result (or, for an exception,
            from its traceback).
        extra_steps: steps appended after those (e.g. ``publish``).
        result: the pipeline's result when ``outcome`` is a later exception (publish failed).
        fingerprint: the published run's id when it is not the pipeline's (closed periods).

    Returns:
        The logged run, with its flags.
    """
    exception: BaseException | None = None
    default: list[StepRecord] = []
    if isinstance(outcome, RunResult):
        result = outcome
        default = [StepRecord.of(s) for s in outcome.steps]
    elif isinstance(outcome, BaseException):
        exception = outcome
        default = steps_from_traceback(outcome)
    records = [*(default if steps is None else steps), *extra_steps]
    status = "failed" if exception is not None else "ok"
    error = error_text(exception) if exception is not None else None
    run_id = f"{started:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    fp = fingerprint or (result.run_id if result is not None else None)
    rejected = int(result.dataset.accounting["rows_rejected"].sum()) if result else None
    con = connect(db_path)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id, fp, started, finished, (finished - started).total_seconds(), status,
                error, str(rules) if rules else None,
                result.ruleset.name if result else None,
                result.ruleset.content_hash if result else None,
                str(data_dir) if data_dir else None, str(out_dir) if out_dir else None,
                ",".join(result.periods) if result else None, rejected, __version__,
            ],
        )  # fmt: skip
        flags = _flags(con, run_id, records)
        if records:
            con.executemany(
                "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [run_id, i, s.step, to_utc_naive(s.started), s.seconds, s.rows_in,
                     s.rows_out, s.status, s.error]
                    for i, s in enumerate(records)
                ],
            )  # fmt: skip
        if flags:
            con.executemany(
                "INSERT INTO flags VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    [run_id, f.step, f.metric, f.value, f.median, f.mad, f.threshold,
                     f.history, f.direction]
                    for f in flags
                ],
            )  # fmt: skip
        con.execute("COMMIT")
    finally:
        con.close()
    return LoggedRun(
        run_id, status, started, finished, records, flags, error, fp, result, exception
    )


def _flags(
    con: duckdb.DuckDBPyConnection, run_id: str, records: Sequence[StepRecord]
) -> list[Flag]:
    """Flags for this run's successful steps, against earlier successful runs."""
    flags: list[Flag] = []
    for record in records:
        if record.status != "ok":
            continue
        history = query(
            con,
            "SELECT s.seconds, s.rows_in, s.rows_out FROM steps s JOIN runs r USING (run_id) "
            "WHERE r.status = 'ok' AND s.status = 'ok' AND s.step = ? AND r.run_id <> ? "
            "ORDER BY r.started DESC, r.run_id DESC LIMIT ?",
            [record.step, run_id, WINDOW],
        )
        if history.height == 0:
            continue
        for metric in METRICS:
            values = [float(v) for v in history[metric].to_list() if v is not None]
            flag = outlier(metric, float(getattr(record, metric)), values, record.step)
            if flag is not None:
                flags.append(flag)
    return flags


def list_runs(db_path: Path, limit: int = 50) -> pl.DataFrame:
    """The most recent runs, newest first, with their number of flags (none without a database)."""
    if not db_path.exists():
        return pl.DataFrame()
    con = connect(db_path)
    try:
        return query(
            con,
            "SELECT r.run_id, r.started, round(r.seconds, 2) AS seconds, r.status, "
            "left(r.fingerprint, 12) AS fingerprint, r.rules_name, r.periods, "
            "(SELECT count(*) FROM flags f WHERE f.run_id = r.run_id) AS flags, r.error "
            "FROM runs r ORDER BY r.started DESC, r.run_id DESC LIMIT ?",
            [limit],
        )
    finally:
        con.close()


def show_run(db_path: Path, ident: str) -> tuple[dict[str, object], pl.DataFrame, pl.DataFrame]:
    """One run (by run id or fingerprint, or a unique prefix of either): row, steps, flags.

    Raises:
        EngineError: ``FILE_MISSING`` without a database; ``USAGE`` when no run, or more than
            one, matches.
    """
    if not db_path.exists():
        raise EngineError.single(
            Reason.FILE_MISSING, "no operations database (no run logged here)", file=str(db_path)
        )
    con = connect(db_path)
    try:
        runs = query(
            con,
            "SELECT * FROM runs WHERE starts_with(run_id, ?) OR starts_with(fingerprint, ?) "
            "ORDER BY started DESC",
            [ident, ident],
        )
        exact = runs.filter(pl.col("run_id") == ident)
        if exact.height == 1:
            runs = exact
        if runs.height != 1:
            what = "no run" if runs.height == 0 else f"{runs.height} runs"
            raise EngineError.single(
                Reason.USAGE, f"{what} match {ident!r}; see `icm runs`", file=str(db_path)
            )
        row = runs.row(0, named=True)
        steps = query(
            con,
            "SELECT step, started, round(seconds, 3) AS seconds, rows_in, rows_out, status, "
            "error FROM steps WHERE run_id = ? ORDER BY seq",
            [row["run_id"]],
        )
        flags = query(con, "SELECT * EXCLUDE (run_id) FROM flags WHERE run_id = ?", [row["run_id"]])
        return row, steps, flags
    finally:
        con.close()


def stored_flags(frame: pl.DataFrame) -> list[Flag]:
    """Flags read back from the ``flags`` table."""
    return [Flag(**row) for row in frame.iter_rows(named=True)]
