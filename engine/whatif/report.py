"""The self-contained HTML report of a comparison: tables and inline SVG charts, no script.

Example:
    >>> from pathlib import Path
    >>> from engine.rules import load_ruleset
    >>> from engine.whatif.compare import compare
    >>> from engine.whatif.shared import Workbench
    >>> rs = load_ruleset(Path("rules/sample.yaml"))
    >>> html = render_comparison(compare(Workbench.load(Path("fixtures/sample")), rs, rs))
    >>> "<svg" in html and "<script" not in html and "http://" not in html.replace(
    ...     'xmlns="http://www.w3.org/2000/svg"', "")
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl
from jinja2 import Environment, select_autoescape
from markupsafe import Markup

from engine.money import format_cents
from engine.whatif.svg import bar_chart

if TYPE_CHECKING:
    from engine.whatif.compare import Comparison

__all__ = ["money", "render_comparison", "share"]

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>What-if: {{ base }} vs {{ cand }}</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1040px; }
h1 { font-size: 22px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; }
th { background: #f0f3f6; text-align: left; } td.n { text-align: right; }
.pos { color: #1e7b34; } .neg { color: #b03a2e; }
.kpi { display: inline-block; margin: 4px 16px 4px 0; padding: 8px 12px; background: #f0f3f6; }
.kpi b { display: block; font-size: 18px; }
</style></head><body>
<h1>What-if comparison</h1>
<p>Baseline <b>{{ base }}</b> vs candidate <b>{{ cand }}</b>, same data, every period.
Crediting passes: {{ passes }}.</p>
{% for row in summary %}
<div class="kpi">Total {{ row.currency }} baseline<b>{{ row.baseline }}</b></div>
<div class="kpi">candidate<b>{{ row.candidate }}</b></div>
<div class="kpi">change<b class="{{ row.cls }}">{{ row.delta }} ({{ row.pct }})</b></div>
<div class="kpi">cost of sales<b>{{ row.cos_base }} &rarr; {{ row.cos_cand }}</b></div>
{% endfor %}
<div class="kpi">winners<b class="pos">{{ winners }}</b></div>
<div class="kpi">losers<b class="neg">{{ losers }}</b></div>
<div class="kpi">unchanged<b>{{ unchanged }}</b></div>
<h2>Totals</h2>
{{ totals_chart }}
<h2>Change by role</h2>
{{ role_chart }}
{{ by_role }}
<h2>Change by region</h2>
{{ by_region }}
<h2>Top {{ top }} winners</h2>
{{ top_winners }}
<h2>Top {{ top }} losers</h2>
{{ top_losers }}
<h2>Distributions (quantiles)</h2>
{{ distributions }}
</body></html>
"""

_ENV = Environment(autoescape=select_autoescape(default=True, default_for_string=True))


def money(cents: int | None) -> str:
    """Cents as text with thousands separators.

    Example:
        >>> money(-123456), money(None)
        ('-1,234.56', '')
    """
    if cents is None:
        return ""
    text = format_cents(abs(int(cents)))
    whole, frac = text.split(".")
    return f"{'-' if cents < 0 else ''}{int(whole):,}.{frac}"


def share(ppm: int | None) -> str:
    """Parts per million as a percentage with two decimals.

    Example:
        >>> share(123456), share(None)
        ('12.35%', '')
    """
    return "" if ppm is None else f"{ppm / 10_000:.2f}%"


def _cell(name: str, value: Any) -> tuple[str, bool]:
    if name.endswith("_cents"):
        return money(value), True
    if name.endswith("_ppm") and value is not None and name != "value":
        return share(value), True
    if isinstance(value, int | float):
        return str(value), True
    return "" if value is None else str(value), False


def _table(frame: pl.DataFrame) -> Markup:
    env = _ENV.from_string(
        "<table><tr>{% for h in heads %}<th>{{ h }}</th>{% endfor %}</tr>"
        "{% for row in rows %}<tr>{% for text, num in row %}"
        '<td{% if num %} class="n"{% endif %}>{{ text }}</td>{% endfor %}</tr>{% endfor %}'
        "</table>"
    )
    rows = [
        [_cell(name, value) for name, value in zip(frame.columns, row, strict=True)]
        for row in frame.rows()
    ]
    heads = [h.removesuffix("_cents").removesuffix("_ppm").replace("_", " ") for h in frame.columns]
    return Markup(env.render(heads=heads, rows=rows))


def _distributions(frame: pl.DataFrame) -> pl.DataFrame:
    shown = frame.with_columns(
        pl.when(pl.col("series").str.ends_with("_cents"))
        .then(pl.col("value").map_elements(money, return_dtype=pl.Utf8))
        .otherwise(pl.col("value").map_elements(share, return_dtype=pl.Utf8))
        .alias("value"),
        pl.col("series").str.replace(r"_(cents|ppm)$", ""),
        (pl.col("quantile") * 100).round(0).cast(pl.Int64).cast(pl.Utf8).alias("quantile"),
    )
    return shown.pivot(on="quantile", index="series", values="value").rename(
        lambda c: c if c == "series" else f"p{c}"
    )


def render_comparison(comparison: Comparison, top: int = 10) -> str:
    """The comparison as one HTML page (escaped, no script, no external resource)."""
    summary = []
    for row in comparison.summary.iter_rows(named=True):
        base, delta = row["baseline_cents"], row["delta_cents"]
        pct = f"{delta / base * 100:+.2f}%" if base else "n/a"
        summary.append(
            {
                "currency": row["currency"],
                "baseline": money(base),
                "candidate": money(row["candidate_cents"]),
                "delta": money(delta),
                "pct": pct,
                "cls": "pos" if delta > 0 else ("neg" if delta < 0 else ""),
                "cos_base": share(row["baseline_cost_of_sales_ppm"]) or "n/a",
                "cos_cand": share(row["candidate_cost_of_sales_ppm"]) or "n/a",
            }
        )
    currencies = comparison.summary["currency"].to_list()
    unit = currencies[0] if len(currencies) == 1 else "pay currency"
    bars = []
    for row in comparison.summary.iter_rows(named=True):
        bars.append((f"baseline {row['currency']}", row["baseline_cents"] / 100))
        bars.append((f"candidate {row['currency']}", row["candidate_cents"] / 100))
    role_bars = [
        (
            f"{r['role']} {r['currency']}" if len(currencies) > 1 else r["role"],
            r["delta_cents"] / 100,
        )
        for r in comparison.by_role.iter_rows(named=True)
    ]
    cols = ["participant_id", "role", "region", "currency"]
    cols += ["baseline_cents", "candidate_cents", "delta_cents"]
    return _ENV.from_string(_TEMPLATE).render(
        base=comparison.baseline_name,
        cand=comparison.candidate_name,
        passes=comparison.credit_passes,
        summary=summary,
        winners=comparison.winners,
        losers=comparison.losers,
        unchanged=comparison.unchanged,
        top=top,
        totals_chart=Markup(bar_chart("Total payable", bars, f"payable ({unit})", "rule set")),
        role_chart=Markup(
            bar_chart("Change in payable by role", role_bars, f"change ({unit})", "role")
        ),
        by_role=_table(comparison.by_role),
        by_region=_table(comparison.by_region),
        top_winners=_table(comparison.top(top, winners=True).select(cols)),
        top_losers=_table(comparison.top(top, winners=False).select(cols)),
        distributions=_table(_distributions(comparison.distributions)),
    )
