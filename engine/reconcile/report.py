"""Write a comparison: breaks (Parquet and CSV), a summary, and a self-contained HTML report.

The HTML is rendered by Jinja2 with autoescape on (every value from the data is escaped), with
inline CSS and no external resource. It lists the breaks and, per participant with a break,
the drill-down: every compared key of that participant, ours against theirs, grain by grain.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from jinja2 import Environment, FileSystemLoader, select_autoescape

from engine.money import format_cents
from engine.reconcile.compare import Comparison
from engine.reports.export import write_frame

HTML_BREAKS = 5000
"""At most this many breaks are listed in the HTML (the files hold them all)."""
HTML_PEOPLE = 500
"""At most this many participants get a drill-down in the HTML."""


@dataclass(frozen=True)
class ReportInfo:
    """What the report says about the run and the vendor."""

    vendor: str
    run_id: str = ""
    rules: str = ""
    periods: str = ""


def _money(cents: int | None) -> str:
    return "" if cents is None else format_cents(cents)


def _anchor(participant: str) -> str:
    return hashlib.sha256(participant.encode()).hexdigest()[:12]


def _row(r: dict[str, Any]) -> dict[str, Any]:
    return {
        **r,
        "ours": _money(r["ours_cents"]),
        "theirs": _money(r["theirs_cents"]),
        "difference": _money(r["difference_cents"]),
        "anchor": _anchor(r["participant_id"] or ""),
        "cause": r["cause"] or "",
        "detail": r["detail"] or "",
    }


def render_html(comparison: Comparison, info: ReportInfo) -> str:
    """The report's HTML.

    Example:
        >>> from engine.reconcile.compare import Tolerance, compare
        >>> a = {"payment": pl.DataFrame({"participant_id": ["<b>"], "period": ["p"],
        ...      "amount_cents": [5]})}
        >>> html = render_html(compare(a, {"payment": a["payment"].clear()}, Tolerance()),
        ...                    ReportInfo("V"))
        >>> "&lt;b&gt;" in html and "<b>" not in html
        True
    """
    tol = comparison.tolerance
    breaks = comparison.breaks
    summary = [
        {**r, "net": _money(r["net_difference_cents"]), "abs": _money(r["abs_difference_cents"])}
        for r in comparison.summary().iter_rows(named=True)
    ]
    people_ids = breaks["participant_id"].unique(maintain_order=True).sort().to_list()
    shown = people_ids[:HTML_PEOPLE]
    mine = comparison.participant_rows(shown)
    people = []
    by_person = {k[0]: f for k, f in mine.partition_by("participant_id", as_dict=True).items()}
    n_by_person = dict(breaks.group_by("participant_id").len().iter_rows())
    for pid in shown:
        frame = by_person[pid]
        grains = [
            {
                "grain": g,
                "rows": [_row(r) for r in frame.filter(pl.col("grain") == g).iter_rows(named=True)],
            }
            for g in comparison.grains
            if frame.filter(pl.col("grain") == g).height
        ]
        people.append({"participant": pid, "anchor": _anchor(pid), "grains": grains,
                       "n_breaks": n_by_person[pid]})  # fmt: skip
    env = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        autoescape=select_autoescape(["html", "j2"], default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("template.html.j2").render(
        vendor=info.vendor,
        run_id=info.run_id,
        rules=info.rules,
        periods=info.periods,
        tolerance=_money(tol.tolerance_cents),
        rounding_unit=_money(tol.rounding_unit_cents),
        grains=", ".join(comparison.grains) or "none",
        failed=comparison.failed,
        n_over=int(comparison.broken["over"].sum()),
        summary=summary,
        breaks=[_row(r) for r in breaks.head(HTML_BREAKS).iter_rows(named=True)],
        breaks_cut=breaks.height > HTML_BREAKS,
        n_breaks=breaks.height,
        people=people,
        people_cut=len(people_ids) > HTML_PEOPLE,
    )


def write_report(comparison: Comparison, out_dir: Path, info: ReportInfo) -> dict[str, Path]:
    """Write the breaks, their summary and the HTML report under ``out_dir``.

    ``breaks.parquet``, ``breaks.csv`` (formulas neutralised), ``summary.csv``, ``report.html``.

    Returns:
        The files written, by name.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "breaks.parquet": out_dir / "breaks.parquet",
        "breaks.csv": out_dir / "breaks.csv",
        "summary.csv": out_dir / "summary.csv",
        "report.html": out_dir / "report.html",
    }
    breaks = comparison.breaks
    write_frame(breaks, files["breaks.parquet"])
    write_frame(breaks, files["breaks.csv"])
    write_frame(comparison.summary(), files["summary.csv"])
    files["report.html"].write_text(render_html(comparison, info), encoding="utf-8")
    return files
