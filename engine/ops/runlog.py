"""The run log: every run and every step, kept in the operations database as the run goes.

:func:`run_logged` runs the pipeline (honouring closed periods), publishes when asked, and
records the run through :class:`RunLog`, the pipeline's ``on_step`` hook
(:data:`engine.pipeline.StepHook`):

* when the run starts, a ``runs`` row with status ``running`` (and the process id and host);
* when each step ends, its ``steps`` row (ok, or failed with the error's message) and, for a
  step that succeeded, its anomaly flags against its history (:mod:`engine.ops.anomalies`);
* when the run ends, its outcome: ``ok`` or ``failed`` (with the error), or ``interrupted``.

So a failed run shows the steps that finished and the step that failed, and a run killed
mid-way keeps the steps it finished (each write is committed when the step ends); the next
run marks it ``interrupted`` once its process is gone. The database is held open while the
writes follow each other closely and released once they pause for half a second
(:class:`engine.ops.db.HeldConnection`), so a run opens it about once, not once per step,
and ``icm runs`` works during a run (waiting that half second at most).

Example:
    >>> new_run_id(datetime(2026, 1, 2, 3, 4, 5))[:16]
    '20260102T030405-'
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from engine import __version__
from engine.errors import EngineError, Reason
from engine.ops.anomalies import METRICS, WINDOW, Flag, outlier
from engine.ops.close import closed_periods
from engine.ops.db import HeldConnection, connect, query, to_utc_naive, utc_now
from engine.pipeline import RunResult, Step, StepHook, error_text, run, write
from engine.publish import pid_alive

INTERRUPTED = "the process ended before the run did (killed, or the machine stopped)"


@dataclass(frozen=True)
class LoggedRun:
    """A recorded run: its outcome, its steps, its flags and, when it got that far, its result."""

    run_id: str
    status: str
    started: datetime
    finished: datetime
    steps: list[Step]
    flags: list[Flag] = field(default_factory=list)
    error: str | None = None
    fingerprint: str | None = None
    result: RunResult | None = None
    exception: BaseException | None = None
    published: Path | None = None

    @property
    def seconds(self) -> float:
        """Wall time of the run."""
        return (self.finished - self.started).total_seconds()


def new_run_id(at: datetime | None = None) -> str:
    """A run id: the start time (UTC) and 8 random hex digits, unique per execution."""
    return f"{at or utc_now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"


class RunLog:
    """One run's rows in the operations database, written as the run goes.

    Call :meth:`start`, pass the instance as the pipeline's ``on_step`` hook, then
    :meth:`finish` (which releases the database). :attr:`steps` and :attr:`flags` hold what was
    recorded.
    """

    def __init__(
        self,
        db_path: Path,
        run_id: str,
        started: datetime,
        *,
        data_dir: Path | None = None,
        rules: Path | None = None,
        out_dir: Path | None = None,
    ) -> None:
        self.db_path = db_path
        self.run_id = run_id
        self.started = started
        self.where = [str(p) if p is not None else None for p in (rules, data_dir, out_dir)]
        self.steps: list[Step] = []
        self.flags: list[Flag] = []
        self._db = HeldConnection(db_path)
        self._history: History | None = None

    def start(self) -> None:
        """Record the run as ``running``; mark runs of dead processes of this host interrupted."""
        host = socket.gethostname()
        with self._db.use() as con:
            running = query(
                con, "SELECT run_id, pid FROM runs WHERE status = 'running' AND host = ?", [host]
            )
            gone = [r for r, pid in running.iter_rows() if pid is not None and not pid_alive(pid)]
            if gone:
                con.executemany(
                    "UPDATE runs SET status = 'interrupted', error = ? WHERE run_id = ?",
                    [[INTERRUPTED, r] for r in gone],
                )
            con.execute(
                "INSERT INTO runs (run_id, started, finished, seconds, status, rules_path, "
                "data_dir, out_dir, engine_version, pid, host) "
                "VALUES (?, ?, ?, 0, 'running', ?, ?, ?, ?, ?, ?)",
                [self.run_id, self.started, self.started, *self.where, __version__,
                 os.getpid(), host],
            )  # fmt: skip

    def __call__(self, step: Step) -> None:
        """Record a step that ended, with its flags (the pipeline's ``on_step`` hook)."""
        if step.status == "started":
            return
        with self._db.use() as con:
            if self._history is None:
                self._history = _history(con, self.run_id)
            flags = _flags(self._history, step) if step.status == "ok" else []
            con.execute("BEGIN TRANSACTION")
            con.execute(
                "INSERT INTO steps VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [self.run_id, len(self.steps), step.name, to_utc_naive(step.started),
                 step.seconds, step.rows_in, step.rows_out, step.status, step.error],
            )  # fmt: skip
            if flags:
                con.executemany(
                    "INSERT INTO flags VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        [self.run_id, f.step, f.metric, f.value, f.median, f.mad, f.threshold,
                         f.history, f.direction]
                        for f in flags
                    ],
                )  # fmt: skip
            con.execute("COMMIT")
        self.steps.append(step)
        self.flags.extend(flags)

    def finish(
        self,
        finished: datetime,
        status: str,
        error: str | None = None,
        result: RunResult | None = None,
        fingerprint: str | None = None,
    ) -> None:
        """Record the run's outcome (``ok``, ``failed`` or ``interrupted``); release the log."""
        values = [
            finished, (finished - self.started).total_seconds(), status, error,
            fingerprint or (result.run_id if result else None),
            result.ruleset.name if result else None,
            result.ruleset.content_hash if result else None,
            ",".join(result.periods) if result else None,
            int(result.dataset.accounting["rows_rejected"].sum()) if result else None,
            self.run_id,
        ]  # fmt: skip
        try:
            with self._db.use() as con:
                con.execute(
                    "UPDATE runs SET finished = ?, seconds = ?, status = ?, error = ?, "
                    "fingerprint = ?, rules_name = ?, rules_hash = ?, periods = ?, "
                    "rows_rejected = ? WHERE run_id = ?",
                    values,
                )
        finally:
            self._db.close()


def run_logged(
    data_dir: Path,
    rules: Path,
    db_path: Path | None,
    *,
    out_dir: Path | None = None,
    periods: Sequence[str] | None = None,
    mapping: Path | None = None,
    on_step: StepHook | None = None,
    run_id: str | None = None,
) -> LoggedRun:
    """Run the pipeline, publish when ``out_dir`` is given, and record everything.

    Args:
        data_dir: the data directory.
        rules: the rule-set file.
        db_path: the operations database: the run log, and the closed periods the run honours;
            None runs without either.
        out_dir: publish the results here.
        periods: the periods to pay; default all.
        mapping: a column-mapping file.
        on_step: another step hook (progress display, JSON logs), told after the run log.
        run_id: the run's id (default :func:`new_run_id`).

    Returns:
        The logged run. A failed run is returned, not raised: its exception is in
        :attr:`LoggedRun.exception` (``KeyboardInterrupt`` and the like are recorded as
        ``interrupted``, then raised again).
    """
    started = utc_now()
    run_id = run_id or new_run_id(started)
    log = (
        RunLog(db_path, run_id, started, data_dir=data_dir, rules=rules, out_dir=out_dir)
        if db_path is not None
        else None
    )
    finished: list[Step] = []

    def hook(step: Step) -> None:
        if log is not None:
            log(step)
        if step.status != "started":
            finished.append(step)
        if on_step is not None:
            on_step(step)

    result: RunResult | None = None
    published: Path | None = None
    exception: BaseException | None = None
    if log is not None:
        log.start()
    try:
        closed = closed_periods(db_path) if db_path is not None else []
        result = run(data_dir, rules, periods=periods, mapping=mapping, closed=closed, on_step=hook)
        if out_dir is not None:
            published = write(result, out_dir, on_step=hook)
    except Exception as exc:
        exception = exc
    except BaseException:
        if log is not None:
            log.finish(utc_now(), "interrupted", INTERRUPTED, result)
        raise
    status = "failed" if exception is not None else "ok"
    error = error_text(exception) if exception is not None else None
    fingerprint = published.name if published is not None else None
    end = utc_now()
    if log is not None:
        log.finish(end, status, error, result, fingerprint)
    return LoggedRun(
        run_id,
        status,
        started,
        end,
        finished,
        log.flags if log is not None else [],
        error,
        fingerprint or (result.run_id if result is not None else None),
        result,
        exception,
        published,
    )


def record_run(
    db_path: Path,
    steps: Sequence[Step],
    *,
    started: datetime,
    finished: datetime,
    error: str | None = None,
) -> LoggedRun:
    """Record a run known only by its steps (a run driven by another tool, tests).

    Returns:
        The logged run, with its flags.
    """
    log = RunLog(db_path, new_run_id(started), started)
    log.start()
    for step in steps:
        log(step)
    status = "failed" if error is not None else "ok"
    log.finish(finished, status, error)
    return LoggedRun(log.run_id, status, started, finished, log.steps, log.flags, error)


History = dict[str, list[tuple[float | None, ...]]]
"""Step name -> its measurements (:data:`METRICS`) in earlier successful runs, newest first."""

_HISTORY = (
    "SELECT step, seconds, rows_in, rows_out FROM ("
    " SELECT s.step, s.seconds, s.rows_in, s.rows_out, row_number() OVER ("
    "  PARTITION BY s.step ORDER BY r.started DESC, r.run_id DESC) AS k"
    " FROM steps s JOIN runs r USING (run_id)"
    " WHERE r.status = 'ok' AND s.status = 'ok' AND r.run_id <> ?"
    ") WHERE k <= ? ORDER BY step, k"
)


def _history(con: duckdb.DuckDBPyConnection, run_id: str) -> History:
    """Every step's last :data:`WINDOW` measurements in successful runs other than ``run_id``.

    One query for all steps, read when the run's first step ends (the runs before this one).
    """
    history: History = {}
    for step, *values in con.execute(_HISTORY, [run_id, WINDOW]).fetchall():
        history.setdefault(step, []).append(tuple(values))
    return history


def _flags(history: History, step: Step) -> list[Flag]:
    """Flags for a successful step, against the same step in earlier successful runs."""
    rows = history.get(step.name, [])
    flags: list[Flag] = []
    for i, metric in enumerate(METRICS) if rows else ():
        values = [float(v) for v in (row[i] for row in rows) if v is not None]
        flag = outlier(metric, float(getattr(step, metric)), values, step.name)
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
