"""What-if commands: ``icm compare`` and ``icm sweep`` (``docs/whatif.md``).

Heavy modules are imported inside the command bodies so that ``icm --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import polars as pl
import typer

__all__ = ["register"]


def compare_command(  # noqa: PLR0917
    data: Annotated[Path, typer.Option(help="Directory of input files.")],
    baseline: Annotated[Path, typer.Option(help="The baseline rule-set YAML.")],
    candidate: Annotated[Path, typer.Option(help="The candidate rule-set YAML.")],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write CSV files and compare.html here.")
    ] = None,
    top: Annotated[int, typer.Option(help="How many winners and losers to list.")] = 10,
    mapping: Annotated[Path | None, typer.Option(help="Column mapping file.")] = None,
) -> None:
    """Run two rule sets over the same data and report what changes, for whom."""
    from engine.cli import EXIT_OK, guarded  # noqa: PLC0415

    def body() -> int:
        from engine.rules import load_ruleset  # noqa: PLC0415
        from engine.whatif.compare import compare, write_comparison  # noqa: PLC0415
        from engine.whatif.shared import Workbench  # noqa: PLC0415

        base_rs = load_ruleset(baseline)
        cand_rs = load_ruleset(candidate)
        bench = Workbench.load(data, mapping)
        result = compare(bench, base_rs, cand_rs)
        _print_comparison(result, top)
        if out_dir is not None:
            written = write_comparison(result, out_dir, top)
            _say(f"wrote {len(written)} files to {out_dir}")
        return EXIT_OK

    guarded(body)


def _say(text: str) -> None:
    from engine.cli import out  # noqa: PLC0415

    out.print(text, markup=False)


def _print_comparison(result: object, top: int) -> None:
    from engine.cli import _table, out  # noqa: PLC0415
    from engine.whatif.compare import Comparison  # noqa: PLC0415

    assert isinstance(result, Comparison)
    _say(f"baseline {result.baseline_name} vs candidate {result.candidate_name}")
    out.print(_table(result.summary, "Totals by currency (cents; cost of sales in ppm)"))
    _say(
        f"winners {result.winners}, losers {result.losers}, unchanged {result.unchanged}; "
        f"crediting passes {result.credit_passes}"
    )
    out.print(_table(result.by_role, "By role"))
    out.print(_table(result.top(top, winners=True), f"Top {top} winners"))
    out.print(_table(result.top(top, winners=False), f"Top {top} losers"))


def _grid(
    parameter: str | None, values: str | None, grid: list[str]
) -> list[tuple[str, list[str]]]:
    from engine.errors import EngineError, Reason  # noqa: PLC0415

    out: list[tuple[str, list[str]]] = []
    if (parameter is None) != (values is None):
        raise EngineError.single(Reason.USAGE, "--parameter and --values go together")
    if parameter is not None and values is not None:
        out.append((parameter, [v.strip() for v in values.split(",") if v.strip()]))
    for item in grid:
        path, sep, vals = item.partition("=")
        if not sep or not path.strip():
            raise EngineError.single(
                Reason.USAGE,
                f"--grid {item!r} is not PATH=v1,v2,...",
                hint="e.g. quota_scale=90%,110%",
            )
        out.append((path.strip(), [v.strip() for v in vals.split(",") if v.strip()]))
    if not out or any(not vals for _, vals in out):
        raise EngineError.single(
            Reason.USAGE, "give a parameter and its values", hint="--parameter PATH --values v1,v2"
        )
    return out


def sweep_command(  # noqa: PLR0917
    data: Annotated[Path, typer.Option(help="Directory of input files.")],
    rules: Annotated[Path, typer.Option(help="The base rule-set YAML.")],
    parameter: Annotated[
        str | None, typer.Option(help="A parameter path, e.g. rate_tables.T.tiers[1].rate.")
    ] = None,
    values: Annotated[str | None, typer.Option(help="Its values, comma-separated.")] = None,
    grid: Annotated[
        list[str] | None, typer.Option(help="PATH=v1,v2,... (repeatable): more grid axes.")
    ] = None,
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Write sweep.csv and sweep.svg here.")
    ] = None,
    mapping: Annotated[Path | None, typer.Option(help="Column mapping file.")] = None,
) -> None:
    """Vary plan parameters over a grid after one crediting pass; print the cost curve."""
    from engine.cli import EXIT_OK, _table, guarded, out  # noqa: PLC0415

    def body() -> int:
        from engine.reports.export import write_frame  # noqa: PLC0415
        from engine.whatif.shared import Workbench  # noqa: PLC0415
        from engine.whatif.sweep import sweep, sweep_chart, variants  # noqa: PLC0415

        axes = _grid(parameter, values, grid or [])
        variants(rules, axes)  # check every path and value before loading data
        bench = Workbench.load(data, mapping)
        result = sweep(bench, rules, axes)
        out.print(_table(result.table, "Cost curve (cents; change in ppm of the base)"))
        n = result.table["variant"].n_unique()
        ways = result.table.group_by("path").agg(pl.col("variant").n_unique()).sort("path")
        how = ", ".join(f"{count} {path}" for path, count in ways.iter_rows())
        _say(f"{n} variants ({how}), {result.credit_passes} crediting pass(es)")
        if out_dir is not None:
            write_frame(result.table, out_dir / "sweep.csv")
            (out_dir / "sweep.svg").write_text(sweep_chart(result), encoding="utf-8")
            _say(f"wrote sweep.csv and sweep.svg to {out_dir}")
        return EXIT_OK

    guarded(body)


def register(app: typer.Typer) -> None:
    """Add the what-if commands to the ``icm`` app.

    Example:
        >>> app = typer.Typer()
        >>> register(app)
        >>> sorted(c.name or "" for c in app.registered_commands)
        ['compare', 'sweep']
    """
    app.command("compare")(compare_command)
    app.command("sweep")(sweep_command)
