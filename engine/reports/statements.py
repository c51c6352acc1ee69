"""Participant statements: one self-contained HTML file per participant and period.

Rendered with Jinja2 (autoescape on: every value from the data is escaped) from
``engine/reports/templates/statement.html.j2``: inline CSS, an inline hand-written SVG chart, no
script and no external resource. Figures come from the run's payout table and its lineage
(:mod:`engine.audit.lineage`); nothing is recomputed.

Example:
    >>> attainment_svg([("2026-01", 1, 2), ("2026-02", 3, 2)]).count("<rect")
    3
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from engine.audit.explain import money
from engine.money import format_scaled

if TYPE_CHECKING:
    from engine.audit.lineage import Lineage
    from engine.pipeline import RunResult

__all__ = ["attainment_svg", "render_statement", "statement_context", "write_statements"]

TEMPLATES = Path(__file__).parent / "templates"
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"], default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _pct(num: int, den: int) -> str:
    if den == 0:
        return "-"
    return format_scaled(num * 10_000 // den, 2) + "%"


def attainment_svg(
    points: Sequence[tuple[str, int | None, int | None]], current: str | None = None
) -> Markup:
    """A bar chart of attainment per period (``period, num, den``), with a 100% line.

    Bars are cut at 200%; the label gives the exact percentage (two decimals, truncated). The
    ``current`` period's bar is outlined and its label bold.
    """
    width = max(560, min(900, 64 * len(points) + 60))
    height, top, bottom, left = 190, 18, 30, 44
    plot = height - top - bottom
    n = max(len(points), 1)
    slot = (width - left - 10) // n
    bar = max(min(slot - 14, 60), 8)

    def y(ppm: int) -> int:
        return top + plot - min(ppm, 2_000_000) * plot // 2_000_000

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="attainment by period" '
        'font-family="DejaVu Sans, Arial, sans-serif" font-size="11">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for ppm, label in ((0, "0%"), (1_000_000, "100%"), (2_000_000, "200%")):
        dash = ' stroke-dasharray="5,4"' if ppm == 1_000_000 else ""
        color = "#d64545" if ppm == 1_000_000 else "#cbd2d9"
        parts.append(
            f'<line x1="{left}" y1="{y(ppm)}" x2="{width - 6}" y2="{y(ppm)}" '
            f'stroke="{color}"{dash}/>'
            f'<text x="{left - 6}" y="{y(ppm) + 4}" text-anchor="end" fill="#52606d">{label}</text>'
        )
    for i, (period, num, den) in enumerate(points):
        x = left + i * slot + (slot - bar) // 2
        cx = x + bar // 2
        weight = ' font-weight="bold"' if period == current else ""
        parts.append(
            f'<text x="{cx}" y="{height - 10}" text-anchor="middle" fill="#323f4b"{weight}>'
            f"{escape(period)}</text>"
        )
        if num is None or den is None or den == 0:
            parts.append(
                f'<text x="{cx}" y="{y(0) - 4}" text-anchor="middle" fill="#7b8794">n/a</text>'
            )
            continue
        ppm = max(num * 1_000_000 // den, 0)
        color = "#2186eb" if ppm >= 1_000_000 else "#7cc4fa"
        outline = ' stroke="#1f2933" stroke-width="2"' if period == current else ""
        parts.append(
            f'<rect x="{x}" y="{y(ppm)}" width="{bar}" height="{y(0) - y(ppm)}" fill="{color}"'
            f"{outline}/>"
            f'<text x="{cx}" y="{y(ppm) - 4}" text-anchor="middle" fill="#1f2933">'
            f"{escape(_pct(num, den))}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _percent(value: object) -> str:
    """A decimal fraction as a percentage, exactly.

    Example:
        >>> _percent(Decimal("0")), _percent(Decimal("1")), _percent(Decimal("0.015"))
        ('0%', '100%', '1.5%')
    """
    return f"{(Decimal(str(value)) * 100).normalize():f}%"


def _tiers(result: RunResult, inc: dict[str, Any]) -> list[dict[str, Any]]:
    """The rate table's tiers (or a curve's points), the one the participant reached marked."""
    table = next((t for t in result.ruleset.rate_tables if t.name == inc["rate_table"]), None)
    if table is None:
        return []
    attainment = getattr(table, "base", "") == "attainment"
    rate_type = getattr(table, "rate_type", "factor")

    def bound(value: Decimal | None) -> str:
        if value is None:
            return "and above"
        return _percent(value) if attainment else money(int(value * 100))

    def rate(value: Decimal) -> str:
        if rate_type == "percent":
            return _percent(value)
        if rate_type == "fixed":
            return f"{money(int(value * 100))} fixed"
        if rate_type == "per_unit":
            return f"{value} per unit"
        return f"x {_percent(value)} of target" if inc["kind"] == "payout_curve" else f"x {value}"

    tiers = getattr(table, "tiers", None)
    if tiers:
        return [
            {
                "index": i,
                "lower": bound(t.lower),
                "upper": bound(t.upper),
                "rate": rate(t.rate),
                "reached": inc["tier"] == i,
            }
            for i, t in enumerate(tiers, start=1)
        ]
    points = getattr(table, "points", None) or ()
    num, den = inc["tier_num"], inc["tier_den"]
    out = []
    for i, (p0, p1) in enumerate(zip(points, [*points[1:], None], strict=True), start=1):
        reached = False
        if num is not None and den:
            at_or_above = num * 10**6 >= int(p0.at * 10**6) * den
            below_next = p1 is None or num * 10**6 < int(p1.at * 10**6) * den
            reached = at_or_above and below_next
        to = "and above" if p1 is None else bound(p1.at)
        end = "" if p1 is None else f" to {rate(p1.rate)}"
        out.append(
            {
                "index": i,
                "lower": bound(p0.at),
                "upper": to,
                "rate": f"{rate(p0.rate)}{end}",
                "reached": reached,
            }
        )
    return out


def statement_context(
    result: RunResult,
    lin: Lineage,
    participant_id: str,
    period: str,
    history: pl.DataFrame | None = None,
) -> dict[str, Any]:
    """The figures of one statement (everything the template shows), from the run.

    Args:
        result: the run.
        lin: its lineage (for all participants or at least this one).
        participant_id: the participant.
        period: the period.
        history: the participant's rows of ``result.calc.measures`` (default: filtered here).

    Returns:
        A mapping for the template; money already formatted, raw cents under ``cents``.
    """
    from engine.audit.explain import explain  # noqa: PLC0415  (cycle-free at import)

    one = lin.select(participant_id, period)
    ds = result.dataset
    people = ds.tables["participants"].filter(pl.col("participant_id") == participant_id)
    name = str(people["name"][0]) if people.height and "name" in people.columns else ""
    cal = ds.tables["calendar"].filter(pl.col("period") == period)
    pays = one["payouts"]
    cols = ("earned_cents", "adjustments_cents", "draw_cents", "recovered_cents", "payable_cents")
    cents = {c.removesuffix("_cents"): int(pays[c].sum()) for c in cols}
    labels = {
        "earned": "Earned",
        "adjustments": "Adjustments",
        "draw": "Draw",
        "recovered": "Recovered",
        "payable": "Payable",
    }
    root = explain(one, participant_id, period, name)
    components = []
    for line_node in root.children:
        pay = line_node.data
        inc_node = next(
            (
                n
                for n in line_node.children[0].children
                if n.data.get("component") == pay["component"]
            ),
            None,
        )
        inc = inc_node.data if inc_node is not None else None
        measures = []
        how = ""
        if inc_node is not None:
            how = str(inc_node.children[0].data.get("how", "")) if inc_node.children else ""
            measures = [
                {"label": m.label.split(" ")[0], "text": m.text or m.label}
                for m in inc_node.children[1:]
            ]
        components.append(
            {
                "name": pay["component"],
                "plan_id": pay["plan_id"],
                "line": pay["line"],
                "earned": money(int(pay["earned_cents"])),
                "adjustments": money(int(pay["adjustments_cents"])),
                "payable": money(int(pay["payable_cents"])),
                "measures": measures,
                "how": how,
                "tiers": _tiers(result, inc) if inc else [],
            }
        )
    credits = (
        one["credits"]
        .unique(["transaction_id", "credit_type", "level", "direct_participant_id"])
        .sort(
            "credit_date",
            "transaction_id",
            "level",
            "credit_type",
            "direct_participant_id",
            "route_table",
            "route_line",
        )
    )
    credit_rows = [
        {
            "transaction_id": r["transaction_id"],
            "credit_date": str(r["credit_date"]),
            "credit_type": r["credit_type"],
            "rule": r["rule"],
            "source": r["direct_participant_id"] if r["level"] else "",
            "share": format_scaled(int(r["share_ppm"]), 4) + "%",
            "amount": f"{money(int(r['amount_cents']))} {r['currency']}"
            + (
                ""
                if r["currency"] == r["pay_currency"]
                else f" = {money(int(r['pay_cents']))} {r['pay_currency']}"
            ),
            "route": f"{r['route_table']}:{r['route_line']}",
        }
        for r in credits.to_dicts()
    ]
    adjustments = [
        {
            "component": n.data["component"],
            "type": n.data["type"],
            "amount": money(int(n.value or 0)),
            "rule": n.text,
            "details": [c.text for c in n.children],
        }
        for line_node in root.children
        for n in line_node.children[1].children
    ]
    att_names = (
        lin["measures"]
        .filter((pl.col("participant_id") == participant_id) & (pl.col("kind") == "attainment"))
        .select("measure")
        .unique()
        .sort("measure")["measure"]
        .to_list()
    )
    chart = None
    if att_names:
        periods = ds.tables["calendar"].sort("start_date")["period"].to_list()
        if history is None:
            history = result.calc.measures.filter(pl.col("participant_id") == participant_id)
        values = history.filter(pl.col("measure") == att_names[0])
        by_period = {r["period"]: (r["num"], r["den"]) for r in values.to_dicts()}
        shown = [p for p in periods if p in by_period or p == period]
        chart = attainment_svg([(p, *by_period.get(p, (None, None))) for p in shown], period)
    man = lin.manifest()
    inputs = man["inputs"]
    assert isinstance(inputs, dict)
    return {
        "participant_id": participant_id,
        "name": name,
        "period": period,
        "period_start": str(cal["start_date"][0]) if cal.height else "",
        "period_end": str(cal["end_date"][0]) if cal.height else "",
        "plans": sorted(set(pays["plan_id"].to_list())),
        "currency": pays["currency"][0] if pays.height else "",
        "cents": cents,
        "summary": [{"key": k, "label": labels[k], "value": money(v)} for k, v in cents.items()],
        "components": components,
        "credits": credit_rows,
        "adjustments": adjustments,
        "chart": chart,
        "run_id": result.run_id,
        "ruleset_name": result.ruleset.name,
        "ruleset_hash": result.ruleset.content_hash,
        "inputs": sorted(inputs.items()),
    }


def render_statement(context: dict[str, Any]) -> str:
    """The statement's HTML (autoescaped)."""
    return _env().get_template("statement.html.j2").render(s=context)


def write_statements(
    result: RunResult,
    out_dir: Path,
    *,
    participants: Sequence[str] | None = None,
    periods: Sequence[str] | None = None,
) -> list[Path]:
    """Write one statement per participant and period paid (optionally some only).

    Returns:
        The files written, named ``<participant>_<period>.html`` (unsafe characters as ``_``).
    """
    from engine.audit.lineage import build_lineage  # noqa: PLC0415  (cycle-free at import)

    pays = result.calc.payouts.select("participant_id", "period").unique()
    if participants:
        pays = pays.filter(pl.col("participant_id").is_in(list(participants)))
    if periods:
        pays = pays.filter(pl.col("period").is_in(list(periods)))
    pays = pays.sort("participant_id", "period")
    who = sorted(set(pays["participant_id"].to_list())) if participants else None
    lin = build_lineage(result, who)
    # one participant's frames at a time: each statement then filters a small frame
    parts = {
        level: frame.partition_by("participant_id", as_dict=True)
        for level, frame in lin.frames.items()
        if level != "transactions"
    }
    empty = {level: frame.head(0) for level, frame in lin.frames.items()}

    def of(pid: str) -> Lineage:
        frames = {level: parts[level].get((pid,), empty[level]) for level in parts}
        frames["transactions"] = lin.frames["transactions"]
        return replace(lin, frames=frames)

    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    history = result.calc.measures.partition_by("participant_id", as_dict=True)
    no_history = result.calc.measures.head(0)
    current: tuple[str, Lineage] | None = None
    for pid, period in pays.iter_rows():
        if current is None or current[0] != pid:
            current = (pid, of(pid))
        mine = history.get((pid,), no_history)
        html = render_statement(statement_context(result, current[1], pid, period, mine))
        path = out_dir / f"{_SAFE_NAME.sub('_', pid)}_{_SAFE_NAME.sub('_', period)}.html"
        path.write_text(html, encoding="utf-8")
        written.append(path)
    return written
