"""The ``icm reconcile`` command (see ``engine.cli``).

Heavy modules are imported inside the command body so that ``icm --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def _reconcile(  # noqa: PLR0917
    data: Annotated[Path, typer.Option("--data", help="Directory of input files.")],
    rules: Annotated[Path, typer.Option(help="The rule-set YAML file.")],
    vendor: Annotated[Path, typer.Option(help="The vendor export: a file or a directory.")],
    mapping: Annotated[
        str,
        typer.Option(
            help="The vendor column mapping YAML, or a shipped one: sap_commissions, xactly, "
            "varicent."
        ),
    ],
    out_dir: Annotated[
        Path, typer.Option("--out", help="Where to write breaks, summary and report.")
    ] = Path("out/reconcile"),
    tolerance: Annotated[
        str, typer.Option(help="Absolute tolerance per line, e.g. 0.01 (default exact).")
    ] = "0",
    rounding_unit: Annotated[
        str, typer.Option(help="A difference up to this per line is probably rounding.")
    ] = "0.01",
    period: Annotated[
        list[str] | None, typer.Option(help="A period to pay (repeatable); default all.")
    ] = None,
    data_mapping: Annotated[
        Path | None, typer.Option(help="Column mapping of the input data files.")
    ] = None,
) -> None:
    """Run the engine and reconcile its results with a vendor's export (shadow calculation).

    Exit 1 when any break is over the tolerance, 0 otherwise.
    """
    from engine.cli import EXIT_FINDINGS, EXIT_OK, guarded, out  # noqa: PLC0415

    def body() -> int:
        from engine.errors import EngineError, Reason  # noqa: PLC0415
        from engine.money import format_cents, parse_decimal  # noqa: PLC0415
        from engine.pipeline import run  # noqa: PLC0415
        from engine.reconcile.compare import Tolerance, compare  # noqa: PLC0415
        from engine.reconcile.mapping import SHIPPED, load_vendor_mapping  # noqa: PLC0415
        from engine.reconcile.ours import run_grains  # noqa: PLC0415
        from engine.reconcile.report import ReportInfo, write_report  # noqa: PLC0415
        from engine.reconcile.vendor import read_vendor  # noqa: PLC0415

        def cents(text: str, option: str) -> int:
            try:
                value = parse_decimal(text, 2)
            except ValueError:
                value = -1
            if value < 0:
                raise EngineError.single(
                    Reason.USAGE,
                    f"{option} must be a non-negative amount such as 0.01, not {text!r}",
                )
            return value

        tol = Tolerance(cents(tolerance, "--tolerance"), cents(rounding_unit, "--rounding-unit"))
        map_path = Path(mapping)
        if not map_path.exists() and (SHIPPED / f"{mapping}.yaml").is_file():
            map_path = SHIPPED / f"{mapping}.yaml"
        vendor_map = load_vendor_mapping(map_path)
        theirs = read_vendor(vendor, vendor_map)
        result = run(data, rules, periods=period, mapping=data_mapping)
        ours = run_grains(result)
        wanted = set(result.periods)
        theirs = {g: f.filter(f["period"].is_in(wanted)) for g, f in theirs.items()}
        comparison = compare(ours, theirs, tol)
        info = ReportInfo(
            vendor=vendor_map.vendor,
            run_id=result.run_id,
            rules=f"{result.ruleset.name} ({result.ruleset.content_hash[:12]})",
            periods=", ".join(result.periods),
        )
        files = write_report(comparison, out_dir, info)
        summary = comparison.summary()
        out.print(f"reconciled with {vendor_map.vendor}: grains {', '.join(comparison.grains)}")
        for r in summary.iter_rows(named=True):
            out.print(
                f"  {r['grain']:<9} {r['class']:<16} {r['cause']:<9} {r['breaks']:>7} breaks"
                f"  net {format_cents(r['net_difference_cents'])}"
                f"  abs {format_cents(r['abs_difference_cents'])}",
                markup=False,
            )
        n_over = int(comparison.broken["over"].sum())
        out.print(f"{comparison.breaks.height} breaks, {n_over} over tolerance", markup=False)
        out.print(f"written: {files['report.html'].parent}", markup=False)
        return EXIT_FINDINGS if comparison.failed else EXIT_OK

    guarded(body)


def register(app: typer.Typer) -> None:
    """Add ``icm reconcile`` to the application."""
    app.command("reconcile")(_reconcile)
