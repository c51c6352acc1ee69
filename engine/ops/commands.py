"""Operations commands: ``icm intake``, ``icm run-logged``, ``icm runs``, ``icm close``.

Registered by :func:`engine.cli._register_plugins`. Heavy modules are imported inside the command
bodies so that ``icm --help`` stays fast.
"""

# ruff: noqa: PLC0415, PLR0917

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from engine.ops.runlog import LoggedRun

LOG_FORMATS = ("text", "json")


def register(app: typer.Typer) -> None:
    """Add the operations commands to ``app``."""
    app.command("intake")(intake_command)
    app.command("intake-history")(intake_history_command)
    app.command("run-logged")(run_logged_command)
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


def run_logged_command(
    data_dir: Annotated[Path, typer.Argument(help="Directory of input files.")],
    rules: Annotated[Path, typer.Option(help="The rule-set YAML file.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Publish results under this directory.")
    ] = None,
    db: Annotated[
        Path | None, typer.Option(help="Operations database (default OUT/ops.duckdb).")
    ] = None,
    period: Annotated[
        list[str] | None, typer.Option(help="A period to pay (repeatable); default all.")
    ] = None,
    mapping: Annotated[Path | None, typer.Option(help="Column mapping file.")] = None,
    log_format: Annotated[
        str, typer.Option("--log-format", help="text, or json: one object per line.")
    ] = "text",
) -> None:
    """Run and publish like `icm run`, recording every step in the run log and flagging outliers."""
    from engine.cli import guarded

    def body() -> int:
        import sys

        from engine.cli import out
        from engine.errors import EngineError, Reason
        from engine.ops.runlog import run_logged

        if log_format not in LOG_FORMATS:
            raise EngineError.single(Reason.USAGE, "--log-format must be text or json")
        db_path = _db_path(db, out_dir)
        if log_format == "text" and sys.stdout.isatty():
            with out.status("running the pipeline..."):
                logged = run_logged(
                    data_dir, rules, db_path, out_dir=out_dir, periods=period, mapping=mapping
                )
        else:
            logged = run_logged(
                data_dir, rules, db_path, out_dir=out_dir, periods=period, mapping=mapping
            )
        return _report(logged, log_format)

    guarded(body)


def _report(logged: LoggedRun, log_format: str) -> int:
    """Print a logged run (text or JSON lines) and return the exit code."""
    import json
    import os

    from engine.cli import (
        EXIT_FINDINGS,
        EXIT_INTERNAL,
        EXIT_OK,
        EXIT_UNUSABLE,
        _print_run,
        _table,
        err,
        out,
    )
    from engine.errors import EngineError

    if log_format == "json":
        for s in logged.steps:
            line = {"event": "step", "run_id": logged.run_id, **s.__dict__}
            typer.echo(json.dumps(line, sort_keys=True))
        for f in logged.flags:
            line = {"event": "flag", "run_id": logged.run_id, **f.__dict__}
            typer.echo(json.dumps({**line, "message": f.message()}, sort_keys=True))
        if logged.adjustments is not None:
            for row in logged.adjustments.iter_rows(named=True):
                line = {"event": "prior_period_adjustment", "run_id": logged.run_id, **row}
                typer.echo(json.dumps(line, sort_keys=True))
    code = EXIT_OK
    if logged.exception is not None:
        if isinstance(logged.exception, EngineError):
            code = EXIT_UNUSABLE
        elif os.environ.get("ICM_DEBUG"):
            raise logged.exception
        else:
            code = EXIT_INTERNAL
    elif logged.result is not None:
        ds = logged.result.dataset
        problems = ds.rejects.height + sum(logged.result.credits.counts.unrouted.values())
        code = EXIT_FINDINGS if problems else EXIT_OK
    if log_format == "json":
        summary = {
            "event": "run",
            "run_id": logged.run_id,
            "status": logged.status,
            "fingerprint": logged.fingerprint,
            "started": logged.started.isoformat() + "Z",
            "seconds": logged.seconds,
            "steps": len(logged.steps),
            "flags": len(logged.flags),
            "error": logged.error,
            "exit_code": code,
        }
        typer.echo(json.dumps(summary, sort_keys=True))
        for s in logged.steps:  # stdout stays JSON; people reading stderr see the error
            if s.status == "failed":
                err.print(f"error: step {s.step} failed: {s.error}", markup=False)
        return code
    if logged.result is not None and logged.exception is None:
        _print_run(logged.result, logged.published)
    failed = [s for s in logged.steps if s.status == "failed"]
    for s in failed:
        err.print(f"error: step {s.step} failed: {s.error}", markup=False)
    if logged.exception is not None and code == EXIT_INTERNAL:
        err.print(
            "internal error: this is a bug in the engine. "
            "Re-run with ICM_DEBUG=1 for details and report it.",
            markup=False,
        )
    for f in logged.flags:
        err.print(f"warning: unusual {f.message()}", markup=False)
    ppa = logged.adjustments
    if ppa is not None:
        out.print("Closed periods keep their paid amounts (the table above is recalculated).")
        if ppa.height:
            out.print(_table(ppa, f"Prior-period adjustments ({ppa.height})"))
        else:
            out.print("No prior-period adjustment: closed periods recalculate to what was paid.")
    out.print(f"Logged as run {logged.run_id} ({logged.status}, {logged.seconds:.2f}s)")
    return code


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
