"""Operations commands: ``icm intake``, ``icm runs``, ``icm close``, and the body of ``icm run``.

Registered by :func:`engine.cli._register_plugins`; ``icm run`` (and its alias ``icm run-logged``)
is declared in :mod:`engine.cli` and calls :func:`execute_run`. Heavy modules are imported inside
the command bodies so that ``icm --help`` stays fast.
"""

# ruff: noqa: PLC0415

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from engine.ops.progress import JsonLines
    from engine.ops.runlog import LoggedRun
    from engine.pipeline import RunResult

LOG_FORMATS = ("text", "json")


def register(app: typer.Typer) -> None:
    """Add the operations commands to ``app``."""
    app.command("intake")(intake_command)
    app.command("intake-history")(intake_history_command)
    runs = typer.Typer(
        help="The run log: list runs, or `icm runs show ID` for one run's steps and flags.",
        no_args_is_help=False,
    )
    runs.callback(invoke_without_command=True)(runs_command)
    runs.command("show")(show_command)
    app.add_typer(runs, name="runs")
    app.command("close")(close_command)


def close_command(
    period: Annotated[str, typer.Argument(help="The period to close, e.g. 2026-01.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Output root with published results.")],
    db: Annotated[
        Path | None, typer.Option(help="Operations database (default OUT/ops.duckdb).")
    ] = None,
) -> None:
    """Close a period: freeze its published payouts; later changes become adjustments."""
    from engine.cli import guarded

    def body() -> int:
        from engine.cli import EXIT_OK, out
        from engine.ops.close import close_period

        closed = close_period(out_dir, period, _db_path(db, out_dir))
        out.print(
            f"Closed {closed.period}: {closed.rows} payout rows of run {closed.fingerprint[:12]} "
            f"frozen in {closed.frozen_file} (sha256 {closed.sha256[:16]})"
        )
        return EXIT_OK

    guarded(body)


def intake_history_command(
    archive: Annotated[
        Path | None, typer.Option(help="Archive root (database ARCHIVE/ops.duckdb).")
    ] = None,
    db: Annotated[Path | None, typer.Option(help="Operations database.")] = None,
    limit: Annotated[int, typer.Option(help="How many recent files.")] = 50,
) -> None:
    """List the files received by `icm intake`, newest first."""
    from engine.cli import guarded

    def body() -> int:
        from engine.cli import EXIT_OK, EXIT_UNUSABLE, _table, err, out
        from engine.ops.intake import history

        path = db or (archive / "ops.duckdb" if archive is not None else None)
        if path is None:
            err.print("give --archive or --db")
            return EXIT_UNUSABLE
        if not path.exists():
            out.print("no file received yet")
            return EXIT_OK
        frame = history(path).reverse().head(limit)
        frame = frame.with_columns(frame["sha256"].str.slice(0, 16))
        out.print(_table(frame, f"Intake history ({frame.height} most recent)"))
        return EXIT_OK

    guarded(body)


def _db_path(db: Path | None, out_dir: Path | None) -> Path:
    return db if db is not None else (out_dir or Path("out")) / "ops.duckdb"


def execute_run(
    data_dir: Path,
    rules: Path,
    *,
    out_dir: Path | None,
    periods: list[str] | None,
    mapping: Path | None,
    runlog: Path | None,
    log_format: str,
) -> int:
    """The body of ``icm run``: run, publish, log, show progress and report; the exit code.

    The run log (the operations database) is ``runlog``, by default ``OUT/ops.duckdb`` when
    publishing; a run that publishes nothing and names no ``--runlog`` is not logged.
    """
    from contextlib import nullcontext

    from engine.cli import err
    from engine.errors import EngineError, Reason
    from engine.ops.progress import JsonLines, StepProgress
    from engine.ops.runlog import new_run_id, run_logged

    if log_format not in LOG_FORMATS:
        raise EngineError.single(Reason.USAGE, "--log-format must be text or json")
    db_path = runlog if runlog is not None else (out_dir / "ops.duckdb" if out_dir else None)
    run_id = new_run_id()
    json_log = JsonLines(run_id) if log_format == "json" else None
    progress = StepProgress(err) if json_log is None and err.is_terminal else None
    with progress or nullcontext():
        logged = run_logged(
            data_dir, rules, db_path, out_dir=out_dir, periods=periods, mapping=mapping,
            on_step=json_log or progress, run_id=run_id,
        )  # fmt: skip
    return _report(logged, json_log, logged_to=db_path)


def _report(logged: LoggedRun, json_log: JsonLines | None, logged_to: Path | None) -> int:
    """Print a run's report, its errors and warnings (as text, or JSON lines); the exit code."""
    import os

    from engine.cli import EXIT_INTERNAL, EXIT_OK, EXIT_UNUSABLE, _print_run, err, out
    from engine.errors import EngineError

    code = EXIT_OK
    warnings: list[str] = []
    if isinstance(logged.exception, EngineError):
        code = EXIT_UNUSABLE
    elif logged.exception is not None:
        if os.environ.get("ICM_DEBUG"):
            raise logged.exception
        code = EXIT_INTERNAL
    elif logged.result is not None:
        code = _print_run(logged.result, logged.published)
        warnings = _print_adjustments(logged.result)
    if json_log is not None:  # standard error holds JSON only
        for f in logged.flags:
            json_log.emit("flag", **f.__dict__, message=f.message())
        for message in warnings:
            json_log.emit("warning", message=message)
        json_log.emit(
            "run",
            status=logged.status,
            fingerprint=logged.fingerprint,
            started=logged.started.isoformat() + "Z",
            seconds=round(logged.seconds, 6),
            steps=len(logged.steps),
            flags=len(logged.flags),
            error=logged.error,
            exit_code=code,
        )
    else:
        failed = [s for s in logged.steps if s.status == "failed"]
        for s in failed:
            err.print(f"error: step {s.name} failed: {s.error}", markup=False)
        if logged.exception is not None and not failed:
            err.print(f"error: {logged.error}", markup=False)
        if code == EXIT_INTERNAL:
            err.print(
                "internal error: this is a bug in the engine. "
                "Re-run with ICM_DEBUG=1 for details and report it.",
                markup=False,
            )
        for f in logged.flags:
            err.print(f"warning: unusual {f.message()}", markup=False)
        for message in warnings:
            err.print(f"warning: {message}", markup=False)
    if logged_to is not None:
        out.print(
            f"Logged as run {logged.run_id} ({logged.status}, {logged.seconds:.2f}s) "
            f"in {logged_to}",
            markup=False,
        )
    return code


def _print_adjustments(result: RunResult) -> list[str]:
    """Print the prior-period adjustments of a run that paid a closed period; return warnings."""
    import polars as pl

    from engine.cli import _table, out
    from engine.money import format_cents

    ppa = result.prior_period_adjustments
    if ppa is None:
        return []
    closed = ", ".join(p for p in result.periods if p in result.closed_periods)
    out.print(f"Closed periods {closed} keep the amounts paid (shown above).")
    if ppa.height == 0:
        out.print("No prior-period adjustment: closed periods recalculate to what was paid.")
        return []
    money = [c for c in ppa.columns if c.endswith("_cents")]
    shown = ppa.with_columns(pl.Series(c, [format_cents(v) for v in ppa[c]]) for c in money)
    shown = shown.rename({c: c.removesuffix("_cents") for c in money})
    out.print(_table(shown, f"Prior-period adjustments ({ppa.height})"))
    pending = ppa.filter(pl.col("posted_in").is_null())
    if pending.height == 0:
        return []
    periods = ", ".join(pending["closed_period"].unique(maintain_order=True).to_list())
    return [
        f"{pending.height} prior-period adjustment(s) of {periods} not posted: the run pays no "
        "open period after it (a run that pays a later period posts them)"
    ]


def runs_command(
    ctx: typer.Context,
    db: Annotated[Path | None, typer.Option(help="Operations database.")] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Output root (database OUT/ops.duckdb).")
    ] = None,
    limit: Annotated[int, typer.Option(help="How many recent runs.")] = 50,
) -> None:
    """List recent runs, newest first."""
    if ctx.invoked_subcommand is not None:
        return
    from engine.cli import guarded

    def body() -> int:
        from engine.cli import EXIT_OK, _table, out
        from engine.ops.runlog import list_runs

        runs = list_runs(_db_path(db, out_dir), limit)
        if runs.height == 0:
            out.print("no runs logged yet")
        else:
            out.print(_table(runs, f"Runs ({runs.height})"))
        return EXIT_OK

    guarded(body)


def show_command(
    ident: Annotated[str, typer.Argument(help="Run id or fingerprint (a unique prefix will do).")],
    db: Annotated[Path | None, typer.Option(help="Operations database.")] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Output root (database OUT/ops.duckdb).")
    ] = None,
) -> None:
    """Show one run: its details, its steps, and any anomaly flags."""
    from engine.cli import guarded

    def body() -> int:
        from engine.cli import EXIT_OK, _table, err, out
        from engine.ops.runlog import show_run, stored_flags

        row, steps, flags = show_run(_db_path(db, out_dir), ident)
        for key, value in row.items():
            if value is not None:
                out.print(f"{key:>15}: {value}", markup=False)
        out.print(_table(steps, "Steps"))
        for f in stored_flags(flags):
            err.print(f"warning: unusual {f.message()}", markup=False)
        return EXIT_OK

    guarded(body)


def intake_command(
    inbox: Annotated[Path, typer.Argument(help="Directory where incoming files arrive.")],
    archive: Annotated[Path, typer.Option(help="Archive root: every accepted file is kept.")],
    quarantine: Annotated[
        Path | None, typer.Option(help="Where unusable files go (default ARCHIVE/quarantine).")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="The data directory the next run reads.")
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="Operations database (default ARCHIVE/ops.duckdb).")
    ] = None,
) -> None:
    """Validate incoming files, archive them (timestamp + hash), and load them for the next run."""
    from engine.cli import EXIT_FINDINGS, EXIT_OK, EXIT_UNUSABLE, guarded

    def body() -> int:
        from engine.cli import _table, err, out
        from engine.errors import EngineError, Reason
        from engine.ops.intake import intake

        if not inbox.is_dir():
            raise EngineError.single(Reason.FILE_MISSING, "no such inbox", file=str(inbox))
        result = intake(
            inbox, archive, db or archive / "ops.duckdb", quarantine=quarantine, data_dir=data
        )
        if not result.records:
            out.print("inbox empty: nothing to do")
            return EXIT_OK
        import polars as pl

        shown = pl.DataFrame(
            [
                {
                    "file": r.original_name,
                    "table": r.table or "",
                    "status": r.status,
                    "read": r.rows_read,
                    "accepted": r.rows_accepted,
                    "rejected": r.rows_rejected,
                    "archived as": r.archived_name or "",
                }
                for r in result.records
            ]
        )
        out.print(_table(shown, "Intake"))
        if result.findings.height:
            cols = result.findings.select("file", "line", "column", "reason", "message")
            out.print(_table(cols, f"Findings ({cols.height})", limit=50))
        if result.quarantined:
            err.print(f"{result.quarantined} file(s) quarantined (see their .reasons.csv)")
            return EXIT_UNUSABLE
        if result.rows_rejected:
            out.print(f"{result.rows_rejected} row(s) rejected; valid rows were loaded")
            return EXIT_FINDINGS
        return EXIT_OK

    guarded(body)
