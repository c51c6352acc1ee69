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
from typing import TYPE_CHECKING, Annotated, TypeVar

import polars as pl
import typer
from rich.console import Console
from rich.table import Table

from engine import __version__
from engine.errors import EngineError, Reason

if TYPE_CHECKING:
    from engine.pipeline import RunResult

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


def _money(cents: int | None) -> str:
    from engine.money import format_cents

    return "" if cents is None else f"{format_cents(int(cents)):>12}"


_MAX_ROWS = 40
"""Participants printed in the payout table; larger runs show the largest payees."""


def _print_run(result: RunResult, out_path: Path | None) -> int:
    ds = result.dataset
    acc = ds.accounting
    out.print(
        f"[bold]Run[/bold] {result.run_id[:12]}  rules {result.ruleset.name} "
        f"({result.ruleset.content_hash[:12]})  periods {', '.join(result.periods)}"
    )
    out.print(
        f"Input: {int(acc['rows_read'].sum())} rows read, {int(acc['rows_accepted'].sum())} "
        f"accepted, {int(acc['rows_rejected'].sum())} rejected"
    )
    counts = result.credits.counts
    unrouted = ", ".join(f"{k} {v}" for k, v in counts.unrouted.items()) or "none"
    out.print(
        f"Crediting: {counts.transactions} transactions, {counts.credited} credited, "
        f"{counts.excluded} excluded, unrouted: {unrouted}; "
        f"{counts.credit_rows} direct/split/overlay credits, {counts.rollup_rows} roll-up credits"
    )
    pay = result.calc.payouts
    participants = ds.tables["participants"].select("participant_id", "name")
    per = (
        pay.group_by("participant_id", "period", "plan_id", "currency")
        .agg(pl.col("payable_cents").sum())
        .sort("participant_id", "period")
    )
    wide = per.pivot(
        on="period", index=["participant_id", "plan_id", "currency"], values="payable_cents"
    )
    wide = wide.join(participants, on="participant_id", how="left").sort("participant_id")
    title = "Payable by participant and period"
    if wide.height > _MAX_ROWS:
        total = pl.sum_horizontal(
            pl.col(p).fill_null(0) for p in result.periods if p in wide.columns
        )
        title += f" (the {_MAX_ROWS} largest of {wide.height}; all are in the published payouts)"
        wide = wide.sort(total, "participant_id", descending=[True, False]).head(_MAX_ROWS)
    table = Table(title=title, title_justify="left")
    for col in ("participant", "name", "plan", "ccy"):
        table.add_column(col)
    for period in result.periods:
        table.add_column(period, justify="right")
    table.add_column("total", justify="right")
    for row in wide.iter_rows(named=True):
        values = [row.get(p) for p in result.periods]
        total = sum(v for v in values if v is not None)
        table.add_row(
            row["participant_id"],
            row["name"] or "",
            row["plan_id"],
            row["currency"],
            *[_money(v) for v in values],
            _money(total),
        )
    out.print(table)
    by_ccy = per.group_by("currency").agg(pl.col("payable_cents").sum()).sort("currency")
    for ccy, cents in by_ccy.iter_rows():
        out.print(f"Total payable: {_money(cents).strip()} {ccy}")
    findings = result.calc.findings
    if findings.height:
        summary = findings.group_by("reason").len().sort("reason")
        out.print("Calculation findings: " + ", ".join(f"{r} {n}" for r, n in summary.iter_rows()))
    timing = ", ".join(f"{s.name} {s.seconds:.2f}s" for s in result.steps)
    out.print(f"Steps: {timing}")
    if out_path is not None:
        out.print(f"Results written to {out_path}")
    problems = ds.rejects.height + sum(counts.unrouted.values())
    return EXIT_FINDINGS if problems else EXIT_OK


@app.command("run")
def run_command(
    data_dir: Annotated[Path, typer.Argument(help="Directory of input files.")],
    rules: Annotated[Path, typer.Option(help="The rule-set YAML file.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Publish results under this directory.")
    ] = None,
    period: Annotated[
        list[str] | None, typer.Option(help="A period to pay (repeatable); default all.")
    ] = None,
    mapping: Annotated[Path | None, typer.Option(help="Column mapping file.")] = None,
    runlog: Annotated[
        Path | None,
        typer.Option(
            "--runlog",
            "--db",
            envvar="ICM_RUNLOG",
            help="Operations database: the run log and closed periods (default OUT/ops.duckdb).",
        ),
    ] = None,
    log_format: Annotated[
        str,
        typer.Option("--log-format", help="text, or json: one JSON object per event on stderr."),
    ] = "text",
) -> None:
    """Load, credit and calculate; print payouts; publish; record every step in the run log."""

    def body() -> int:
        from engine.ops.commands import execute_run

        return execute_run(
            data_dir, rules, out_dir=out_dir, periods=period, mapping=mapping, runlog=runlog,
            log_format=log_format,
        )  # fmt: skip

    guarded(body)


app.command("run-logged", help="The same as `icm run` (its former name).")(run_command)


@app.command()
def demo(
    data_dir: Annotated[Path, typer.Argument(help="The sample company.")] = Path("fixtures/sample"),
    rules: Annotated[Path, typer.Option(help="Its rule set.")] = Path("rules/sample.yaml"),
    out_dir: Annotated[Path, typer.Option("--out", help="Where to publish.")] = Path("out/sample"),
) -> None:
    """Run the bundled sample company end to end and print the result."""

    def body() -> int:
        from engine.pipeline import run, write

        result = run(data_dir, rules)
        return _print_run(result, write(result, out_dir))

    guarded(body)


@app.command("test")
def golden_command(
    paths: Annotated[
        list[Path] | None, typer.Argument(help="Case files or directories (default tests/golden).")
    ] = None,
) -> None:
    """Run golden YAML cases (the same files pytest collects) and report each."""

    def body() -> int:
        from engine.golden import run_case

        files: list[Path] = []
        for p in paths or [Path("tests/golden")]:
            if p.is_dir():
                files.extend(
                    f
                    for f in sorted(p.rglob("*.yaml"))
                    if not f.name.startswith("_") and "rules" not in f.relative_to(p).parts[:-1]
                )
            elif p.exists():
                files.append(p)
            else:
                raise EngineError.single(Reason.FILE_MISSING, "no such case file", file=str(p))
        failed = 0
        for f in files:
            result = run_case(f)
            failed += not result.passed
            out.print(result.report(), markup=False)
        out.print(f"{len(files) - failed} passed, {failed} failed")
        return EXIT_FINDINGS if failed else EXIT_OK

    guarded(body)


def _register_plugins() -> None:
    """Add the commands that live beside their stage (each module's ``register(app)``).

    Those modules import their heavy dependencies inside the command bodies, so that
    ``icm --help`` stays fast.
    """
    import importlib

    for name in (
        "engine.ops.commands",
        "engine.audit.commands",
        "engine.reconcile.commands",
        "engine.whatif.commands",
    ):
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise
            continue
        module.register(app)


_register_plugins()


def main() -> None:
    """Entry point of the ``icm`` script."""
    try:
        app()
    except SystemExit as exc:
        sys.exit(exc.code)


if __name__ == "__main__":  # pragma: no cover
    main()
