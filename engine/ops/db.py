"""The operations database: one embedded DuckDB file holding intake history, runs and flags.

Every table is created on first use (``CREATE TABLE IF NOT EXISTS``), so any command can open a
fresh path. Timestamps are stored as ``TIMESTAMP`` in UTC (naive, documented).

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> with tempfile.TemporaryDirectory() as d:
    ...     con = connect(Path(d) / "ops.duckdb")
    ...     tables = sorted(r[0] for r in con.execute("SHOW TABLES").fetchall())
    ...     con.close()
    >>> tables
    ['closed_adjustments', 'closed_payouts', 'closed_periods', 'flags', 'intake', 'runs', 'steps']
"""

from __future__ import annotations

import atexit
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import polars as pl

SCHEMA = """
CREATE TABLE IF NOT EXISTS intake (
    received TIMESTAMP NOT NULL,
    tbl VARCHAR,
    original_name VARCHAR NOT NULL,
    archived_name VARCHAR,
    sha256 VARCHAR NOT NULL,
    rows_read BIGINT,
    rows_accepted BIGINT,
    rows_rejected BIGINT,
    status VARCHAR NOT NULL,
    detail VARCHAR
);
CREATE TABLE IF NOT EXISTS runs (
    run_id VARCHAR NOT NULL,
    fingerprint VARCHAR,
    started TIMESTAMP NOT NULL,
    finished TIMESTAMP NOT NULL,
    seconds DOUBLE NOT NULL,
    status VARCHAR NOT NULL,
    error VARCHAR,
    rules_path VARCHAR,
    rules_name VARCHAR,
    rules_hash VARCHAR,
    data_dir VARCHAR,
    out_dir VARCHAR,
    periods VARCHAR,
    rows_rejected BIGINT,
    engine_version VARCHAR,
    pid BIGINT,
    host VARCHAR
);
CREATE TABLE IF NOT EXISTS steps (
    run_id VARCHAR NOT NULL,
    seq INTEGER NOT NULL,
    step VARCHAR NOT NULL,
    started TIMESTAMP,
    seconds DOUBLE,
    rows_in BIGINT,
    rows_out BIGINT,
    status VARCHAR NOT NULL,
    error VARCHAR
);
CREATE TABLE IF NOT EXISTS flags (
    run_id VARCHAR NOT NULL,
    step VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    value DOUBLE NOT NULL,
    median DOUBLE NOT NULL,
    mad DOUBLE NOT NULL,
    threshold DOUBLE NOT NULL,
    history INTEGER NOT NULL,
    direction VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS closed_periods (
    period VARCHAR PRIMARY KEY,
    closed_at TIMESTAMP NOT NULL,
    fingerprint VARCHAR NOT NULL,
    frozen_file VARCHAR NOT NULL,
    sha256 VARCHAR NOT NULL,
    rows BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS closed_payouts (
    period VARCHAR NOT NULL,
    participant_id VARCHAR NOT NULL,
    plan_id VARCHAR,
    component VARCHAR,
    currency VARCHAR,
    payable_cents BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS closed_adjustments (
    posted_in VARCHAR NOT NULL,
    closed_period VARCHAR NOT NULL,
    participant_id VARCHAR NOT NULL,
    plan_id VARCHAR,
    component VARCHAR,
    line VARCHAR,
    currency VARCHAR,
    difference_cents BIGINT NOT NULL
);
"""

MIGRATIONS = {("runs", "pid"): "BIGINT", ("runs", "host"): "VARCHAR"}
"""Columns added since a table was first created: added to older databases on first use."""

_READY: set[Path] = set()
"""Databases whose schema this process has already checked."""


def connect(path: Path, wait: float = 30.0) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the operations database at ``path``.

    Every command holds the database only for the moment it reads or writes, so a second
    process waits (up to ``wait`` seconds) for the lock rather than failing. The schema is
    checked (tables created, older tables given their new columns) once per process.

    Args:
        path: the DuckDB file; its directory is created when missing.
        wait: how long to wait for another process to release the file.

    Returns:
        An open connection with every table present.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    key = path.resolve()
    if not path.exists():
        _READY.discard(key)
    deadline = time.monotonic() + wait
    while True:
        try:
            con = duckdb.connect(str(path))
            break
        except duckdb.IOException:
            # another process holds the file (DuckDB allows one writing process): wait a little
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)
    if key not in _READY:
        con.execute(SCHEMA)
        have = set(con.execute("SELECT table_name, column_name FROM duckdb_columns()").fetchall())
        for (table, column), kind in MIGRATIONS.items():
            if (table, column) not in have:
                con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
        _READY.add(key)
    return con


class HeldConnection:
    """A connection to the operations database kept open while writes follow each other closely.

    Opening the database costs tens of milliseconds (DuckDB starts an instance, and checkpoints
    when the last connection closes), so a run that records a dozen events in a second opens it
    once rather than a dozen times. DuckDB lets one process hold the file at a time, so the
    connection is released by a timer once the writes pause for ``idle`` seconds: another
    process (``icm runs``, which waits for the file) waits about that long at most. While it is
    open, :func:`connect` in this process reuses the same database instance (no second open).

    Each :meth:`use` is one unit of work: a statement that fails closes the connection, which
    rolls back any transaction left open, as closing a short-lived connection would.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     held = HeldConnection(Path(d) / "ops.duckdb")
        ...     with held.use() as con:
        ...         n = con.execute("SELECT count(*) FROM runs").fetchone()
        ...     held.close()
        >>> n
        (0,)
    """

    def __init__(self, path: Path, idle: float = 0.5) -> None:
        self.path = path
        self.idle = idle
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._generation = 0
        _HELD.add(self)

    @contextmanager
    def use(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """The open connection (opened if needed), held by this thread for the block."""
        with self._lock:
            self._cancel()
            if self._con is None:
                self._con = connect(self.path)
            try:
                yield self._con
            except BaseException:
                self._close()
                raise
            self._generation += 1
            self._timer = threading.Timer(self.idle, self._release, [self._generation])
            self._timer.daemon = True
            self._timer.start()

    def close(self) -> None:
        """Release the connection now (it is opened again by the next :meth:`use`)."""
        with self._lock:
            self._cancel()
            self._close()

    def _release(self, generation: int) -> None:
        with self._lock:
            if generation == self._generation:  # no write since this timer was set
                self._close()

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _close(self) -> None:
        if self._con is not None:
            con, self._con = self._con, None
            con.close()


_HELD: weakref.WeakSet[HeldConnection] = weakref.WeakSet()
"""Held connections of this process: released at exit if their owner did not release them."""


@atexit.register
def _release_held() -> None:
    for held in list(_HELD):
        held.close()


def utc_now() -> datetime:
    """The current UTC time as a naive ``datetime`` (the database's convention).

    Example:
        >>> utc_now().tzinfo is None
        True
    """
    return datetime.now(UTC).replace(tzinfo=None)


def to_utc_naive(text: str) -> datetime:
    """Parse an ISO timestamp and return it as naive UTC.

    Example:
        >>> to_utc_naive("2026-01-01T10:00:00.000+01:00")
        datetime.datetime(2026, 1, 1, 9, 0)
    """
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def query(
    con: duckdb.DuckDBPyConnection, sql: str, params: list[object] | None = None
) -> pl.DataFrame:
    """Run ``sql`` and return its result as a Polars frame (column names from the query).

    Example:
        >>> con = duckdb.connect()
        >>> query(con, "SELECT 1 AS a, ? AS b", ["x"]).rows()
        [(1, 'x')]
    """
    cursor = con.execute(sql, params or [])
    names = [d[0] for d in cursor.description or []]
    return pl.DataFrame(cursor.fetchall(), schema=names, orient="row")
