"""Operations commands: ``icm intake``, ``icm run-logged``, ``icm runs``.

Registered by :func:`engine.cli._register_plugins`. Heavy modules are imported inside the command
bodies so that ``icm --help`` stays fast.
"""

# ruff: noqa: PLC0415

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    """Add the operations commands to ``app``."""
    app.command("intake")(intake_command)


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
