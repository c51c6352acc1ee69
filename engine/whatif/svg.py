"""Small inline SVG charts (no script, no external resource), escaped text, labelled axes.

Example:
    >>> svg = bar_chart("Total", [("base", 10.0), ("cand", 12.5)], "USD", "variant")
    >>> svg.startswith("<svg") and "<title>" in svg and "USD" in svg
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

__all__ = ["bar_chart", "line_chart"]

_W, _H = 640, 300
_L, _R, _T, _B = 80, 20, 36, 56


def _step(low: float, high: float, n: int = 5) -> float:
    raw = (high - low) / n if high > low else 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    for mult in (1.0, 2.0, 2.5, 5.0, 10.0):
        if raw <= mult * power:
            return mult * power
    return 10.0 * power


def _ticks(low: float, high: float) -> list[float]:
    step = _step(low, high)
    first = math.ceil(low / step - 1e-9)
    return [k * step for k in range(first, math.floor(high / step + 1e-9) + 1)]


def _fmt(v: float) -> str:
    if abs(v) >= 1_000_000:
        return f"{v / 1_000_000:,.2f}".rstrip("0").rstrip(".") + "M"
    if abs(v) >= 10_000:
        return f"{v / 1000:,.1f}".rstrip("0").rstrip(".") + "k"
    return f"{v:,.2f}".rstrip("0").rstrip(".") if v != int(v) else f"{int(v):,}"


def _frame(title: str, y_label: str, x_label: str, low: float, high: float) -> list[str]:
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_W} {_H}" width="{_W}" '
        f'height="{_H}" role="img" font-family="sans-serif" font-size="12">',
        f"<title>{escape(title)}</title>",
        f'<text x="{_W / 2}" y="20" text-anchor="middle" font-size="15" '
        f'font-weight="bold">{escape(title)}</text>',
        f'<text x="{_L + (_W - _L - _R) / 2}" y="{_H - 8}" text-anchor="middle">'
        f"{escape(x_label)}</text>",
        f'<text transform="translate(16 {_T + (_H - _T - _B) / 2}) rotate(-90)" '
        f'text-anchor="middle">{escape(y_label)}</text>',
    ]
    for tick in _ticks(low, high):
        y = _y(tick, low, high)
        parts.append(
            f'<line x1="{_L}" x2="{_W - _R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
            f'<text x="{_L - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(_fmt(tick))}</text>'
        )
    parts.append(
        f'<line x1="{_L}" x2="{_L}" y1="{_T}" y2="{_H - _B}" stroke="#333"/>'
        f'<line x1="{_L}" x2="{_W - _R}" y1="{_H - _B}" y2="{_H - _B}" stroke="#333"/>'
    )
    return parts


def _y(v: float, low: float, high: float) -> float:
    if high <= low:
        high = low + 1.0
    return _H - _B - (v - low) / (high - low) * (_H - _T - _B)


def _range(values: Sequence[float]) -> tuple[float, float]:
    """Axis range: includes zero, widened to whole tick steps."""
    low = min([0.0, *values])
    high = max([0.0, *values])
    if high <= low:
        high = low + 1.0
    step = _step(low, high)
    return math.floor(low / step + 1e-9) * step, math.ceil(high / step - 1e-9) * step


def bar_chart(title: str, bars: Sequence[tuple[str, float]], y_label: str, x_label: str) -> str:
    """A vertical bar chart; negative bars go below the zero line.

    Example:
        >>> svg = bar_chart("t", [("a<b", -1.0)], "y", "x")
        >>> "a&lt;b" in svg, "a<b" in svg
        (True, False)
    """
    low, high = _range([v for _, v in bars])
    parts = _frame(title, y_label, x_label, low, high)
    n = max(1, len(bars))
    slot = (_W - _L - _R) / n
    zero = _y(0.0, low, high)
    for i, (label, value) in enumerate(bars):
        top = _y(value, low, high)
        x = _L + i * slot + slot * 0.15
        colour = "#c0392b" if value < 0 else "#2e86c1"
        parts.append(
            f'<rect x="{x:.1f}" y="{min(top, zero):.1f}" width="{slot * 0.7:.1f}" '
            f'height="{abs(zero - top):.1f}" fill="{colour}"><title>{escape(label)}: '
            f"{escape(_fmt(value))}</title></rect>"
            f'<text x="{x + slot * 0.35:.1f}" y="{_H - _B + 16}" text-anchor="middle" '
            f'font-size="10">{escape(label[:18])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def line_chart(title: str, points: Sequence[tuple[str, float]], y_label: str, x_label: str) -> str:
    """A line chart over labelled, evenly spaced x positions, with a marker on every point.

    Example:
        >>> line_chart("cost", [("0.05", 1.0), ("0.06", 2.0)], "USD", "rate").count("<circle")
        2
    """
    low, high = _range([v for _, v in points])
    parts = _frame(title, y_label, x_label, low, high)
    n = len(points)
    span = _W - _L - _R
    xs = [_L + span * (i + 0.5) / max(1, n) for i in range(n)]
    coords = [(x, _y(v, low, high)) for x, (_, v) in zip(xs, points, strict=True)]
    if coords:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" fill="none" stroke="#2e86c1" stroke-width="2"/>')
    for (x, y), (label, value) in zip(coords, points, strict=True):
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="#2e86c1"><title>{escape(label)}: '
            f"{escape(_fmt(value))}</title></circle>"
            f'<text x="{x:.1f}" y="{_H - _B + 16}" text-anchor="middle" font-size="11">'
            f"{escape(label[:18])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
