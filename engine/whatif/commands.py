"""What-if commands: ``icm compare`` and ``icm sweep`` (``docs/whatif.md``).

Heavy modules are imported inside the command bodies so that ``icm --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

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


def register(app: typer.Typer) -> None:
    """Add the what-if commands to the ``icm`` app.

    Example:
        >>> app = typer.Typer()
        >>> register(app)
        >>> sorted(c.name or "" for c in app.registered_commands)
        ['compare']
    """
    app.command("compare")(compare_command)
