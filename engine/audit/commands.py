"""The audit commands ``icm explain``, ``icm statements``, ``icm lineage`` (see ``engine.cli``).

Heavy modules are imported inside the command bodies so that ``icm --help`` stays fast.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

__all__ = ["register"]


def _explain(  # noqa: PLR0917
    participant: Annotated[str, typer.Argument(help="The participant id.")],
    period: Annotated[str, typer.Option(help="The period, e.g. 2026-02.")],
    data: Annotated[Path, typer.Option("--data", help="Directory of input files.")],
    rules: Annotated[Path, typer.Option(help="The rule-set YAML file.")],
    component: Annotated[
        str | None, typer.Option(help="Only this component (or SPIF) line.")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text (a tree) or json.")] = "text",
    mapping: Annotated[Path | None, typer.Option(help="Column mapping file.")] = None,
    run_dir: Annotated[
        Path | None,
        typer.Option(
            "--run",
            help="Explain this published run (an `icm run --out` directory, its `current`, or "
            "runs/<id>) instead of running again; --data and --rules must be the run's.",
        ),
    ] = None,
) -> None:
    """Explain one payout: every level of its derivation, adding up to the cent."""
    from engine.cli import EXIT_OK, guarded, out  # noqa: PLC0415

    def body() -> int:
        import json  # noqa: PLC0415

        import polars as pl  # noqa: PLC0415

        from engine.audit.explain import explain, render  # noqa: PLC0415
        from engine.audit.lineage import build_lineage  # noqa: PLC0415
        from engine.errors import EngineError, Reason  # noqa: PLC0415
        from engine.pipeline import run  # noqa: PLC0415

        if fmt not in ("text", "json"):
            raise EngineError.single(Reason.USAGE, f"--format must be text or json, not {fmt}")
        if run_dir is not None:
            from engine.audit.published import open_run, published_result  # noqa: PLC0415

            published = open_run(run_dir)
            result = published_result(
                published, data, rules, [participant], periods=[period], mapping=mapping
            )
        else:
            # every period, as `icm run` pays them: carried state (draws, caps, true-ups) and
            # the original deals of clawbacks come from earlier periods
            result = run(data, rules, mapping=mapping)
        if period not in result.periods or period not in set(
            result.dataset.tables["calendar"]["period"].to_list()
        ):
            raise EngineError.single(Reason.USAGE, f"no period {period!r} in the calendar")
        people = result.dataset.tables["participants"]
        found = people.filter(pl.col("participant_id") == participant)
        if found.height == 0:
            raise EngineError.single(Reason.USAGE, f"no participant {participant!r}")
        name = found["name"][0] if "name" in found.columns else None
        lin = build_lineage(result, [participant]).select(participant, period, component)
        if component is not None and lin["payouts"].height == 0:
            paid = result.calc.payouts.filter(
                (pl.col("participant_id") == participant) & (pl.col("period") == period)
            )["component"]
            names = ", ".join(sorted(set(paid.to_list()))) or "none"
            raise EngineError.single(
                Reason.USAGE, f"no component {component!r} paid to {participant} in {period}",
                hint=f"components paid: {names}",
            )  # fmt: skip
        root = explain(lin, participant, period, name)
        if fmt == "json":
            typer.echo(json.dumps(root.to_dict(), indent=1, default=str))
        else:
            out.print(render(root))
            man = lin.manifest()
            out.print(f"run {result.run_id[:12]}  rules {result.ruleset.name} ", end="")
            out.print(f"({result.ruleset.content_hash[:12]})  inputs: ", end="", markup=False)
            inputs = man["inputs"]
            assert isinstance(inputs, dict)
            out.print(", ".join(f"{k} {v[:12]}" for k, v in inputs.items()), markup=False)
        return EXIT_OK

    guarded(body)


def _statements(  # noqa: PLR0917
    data: Annotated[Path, typer.Option("--data", help="Directory of input files.")],
    rules: Annotated[Path, typer.Option(help="The rule-set YAML file.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where to write the HTML files.")],
    participant: Annotated[
        list[str] | None, typer.Option(help="Only this participant (repeatable).")
    ] = None,
    period: Annotated[list[str] | None, typer.Option(help="Only this period (repeatable).")] = None,
    mapping: Annotated[Path | None, typer.Option(help="Column mapping file.")] = None,
) -> None:
    """Write one self-contained HTML statement per participant and period."""
    from engine.cli import EXIT_OK, guarded, out  # noqa: PLC0415

    def body() -> int:
        from engine.pipeline import run  # noqa: PLC0415
        from engine.reports.statements import write_statements  # noqa: PLC0415

        result = run(data, rules, mapping=mapping)
        written = write_statements(result, out_dir, participants=participant, periods=period)
        out.print(f"{len(written)} statement(s) written to {out_dir}", markup=False)
        return EXIT_OK

    guarded(body)


def _lineage(  # noqa: PLR0917
    data: Annotated[Path, typer.Option("--data", help="Directory of input files.")],
    rules: Annotated[Path, typer.Option(help="The rule-set YAML file.")],
    out_dir: Annotated[Path, typer.Option("--out", help="Where to write the lineage files.")],
    participant: Annotated[
        list[str] | None, typer.Option(help="Only this participant (repeatable).")
    ] = None,
    period: Annotated[list[str] | None, typer.Option(help="Only this period (repeatable).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="parquet or csv.")] = "parquet",
    mapping: Annotated[Path | None, typer.Option(help="Column mapping file.")] = None,
) -> None:
    """Export the audit trail as data: one file per lineage level (see docs/audit.md)."""
    from engine.cli import EXIT_OK, guarded, out  # noqa: PLC0415

    def body() -> int:
        import polars as pl  # noqa: PLC0415

        from engine.audit.lineage import build_lineage  # noqa: PLC0415
        from engine.errors import EngineError, Reason  # noqa: PLC0415
        from engine.pipeline import run  # noqa: PLC0415

        if fmt not in ("parquet", "csv"):
            raise EngineError.single(Reason.USAGE, f"--format must be parquet or csv, not {fmt}")
        result = run(data, rules, mapping=mapping)
        lin = build_lineage(result, participant or None)
        if period:
            wanted = list(period)
            frames = {
                level: frame.filter(pl.col("period").is_in(wanted))
                if level != "transactions"
                else frame
                for level, frame in lin.frames.items()
            }
            ids = frames["credits"].select("transaction_id").unique()
            frames["transactions"] = frames["transactions"].join(
                ids, on="transaction_id", how="semi"
            )
            lin = replace(lin, frames=frames)
        written = lin.write(out_dir, fmt)
        rows = ", ".join(f"{k} {v.height}" for k, v in lin.frames.items())
        out.print(f"{len(written)} file(s) written to {out_dir}: {rows}", markup=False)
        return EXIT_OK

    guarded(body)


def register(app: typer.Typer) -> None:
    """Add ``explain``, ``statements`` and ``lineage`` to the ``icm`` app."""
    app.command("explain")(_explain)
    app.command("statements")(_statements)
    app.command("lineage")(_lineage)
