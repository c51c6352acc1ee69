"""The ``icm`` command line.

Exit codes (documented in ``docs/cli.md``):

* 0: finished clean;
* 1: finished, with rejected rows or other findings (``--strict`` makes it a failure);
* 2: usage, configuration or unusable input (nothing usable remains);
* 3: internal error (a bug: the message says how to report it).

A user mistake never prints a traceback; set ``ICM_DEBUG=1`` to see one for internal errors.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from engine import __version__
from engine.errors import EngineError, Reason

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_UNUSABLE = 2
EXIT_INTERNAL = 3

app = typer.Typer(
    name="icm",
    help="Incentive compensation engine: exact, explainable payouts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
_WIDTH = None if sys.stdout.isatty() else 160
out = Console(highlight=False, soft_wrap=True, width=_WIDTH)
err = Console(stderr=True, highlight=False, soft_wrap=True)

T = TypeVar("T")


def guarded(body: Callable[[], int]) -> None:
    """Run a command body, turning errors into messages and exit codes.

    Raises:
        typer.Exit: always, with the command's exit code.
    """
    try:
        code = body()
    except EngineError as exc:
        for finding in exc.findings:
            err.print(f"error: {finding.render()}", markup=False)
        code = EXIT_UNUSABLE
    except typer.Exit:
        raise
    except Exception as exc:
        if os.environ.get("ICM_DEBUG"):
            raise
        err.print(
            f"internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug in the engine. Re-run with ICM_DEBUG=1 for details and report it.",
            markup=False,
        )
        code = EXIT_INTERNAL
    raise typer.Exit(code)


def _table(frame: pl.DataFrame, title: str, limit: int | None = None) -> Table:
    table = Table(title=title, title_justify="left")
    for name, dtype in frame.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left")
    rows = frame.rows() if limit is None else frame.head(limit).rows()
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    return table


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version and exit.")] = False,
) -> None:
    if version:
        out.print(f"icm {__version__}")
        raise typer.Exit(EXIT_OK)


@app.command()
def validate(
    data_dir: Annotated[Path, typer.Argument(help="Directory of input files.")],
    mapping: Annotated[
        Path | None, typer.Option(help="Column mapping file (default: DATA_DIR/mapping.yaml).")
    ] = None,
    strict: Annotated[bool, typer.Option(help="Any rejected row is a failure.")] = False,
    rejects: Annotated[
        Path | None, typer.Option(help="Write every finding to this .csv or .parquet file.")
    ] = None,
    show: Annotated[int, typer.Option(help="How many findings to print.")] = 50,
) -> None:
    """Check a data directory against the data contract and report every problem."""

    def body() -> int:
        from engine.loading import load_dataset
        from engine.reports.export import write_frame

        ds = load_dataset(data_dir, mapping)
        out.print(_table(ds.accounting, "Rows per file"))
        if ds.rejects.height:
            shown = ds.rejects.select("file", "line", "column", "reason", "message")
            out.print(_table(shown, f"Findings ({ds.rejects.height})", limit=show))
            if ds.rejects.height > show:
                out.print(f"... {ds.rejects.height - show} more (use --rejects FILE for all)")
        if rejects is not None:
            write_frame(ds.rejects, rejects)
            out.print(f"findings written to {rejects}")
        if not ds.usable:
            err.print("nothing usable: a required table has no accepted row")
            return EXIT_UNUSABLE
        if ds.rejects.height:
            out.print(f"{ds.rejects.height} finding(s); valid rows were accepted")
            return EXIT_FINDINGS if not strict else EXIT_UNUSABLE
        out.print("clean: every row accepted")
        return EXIT_OK

    guarded(body)


@app.command()
def synth(
    out_dir: Annotated[Path, typer.Argument(help="Directory to write the data into.")],
    scale: Annotated[str, typer.Option(help="S, M, L, or XS for a tiny company.")] = "S",
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same bytes.")] = 42,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    transactions: Annotated[
        int | None, typer.Option(help="Override the number of transactions.")
    ] = None,
    participants: Annotated[
        int | None, typer.Option(help="Override the number of participants.")
    ] = None,
) -> None:
    """Generate a realistic synthetic company (deterministic by seed)."""

    def body() -> int:
        from engine.synth import synthesize

        if fmt not in ("parquet", "csv"):
            raise EngineError.single(Reason.USAGE, f"--format must be parquet or csv, not {fmt}")
        summary = synthesize(
            out_dir,
            scale=scale,
            seed=seed,
            fmt=fmt,
            transactions=transactions,
            participants=participants,
        )
        out.print(str(summary))
        return EXIT_OK

    guarded(body)


def main() -> None:
    """Entry point of the ``icm`` script."""
    try:
        app()
    except SystemExit as exc:
        sys.exit(exc.code)


if __name__ == "__main__":  # pragma: no cover
    main()
