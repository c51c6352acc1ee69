"""Explain one payout: its lineage as a tree in which every level adds up to its parent.

A node holds an exact integer ``value`` in a ``unit`` (``cents``, ``e8`` = 10**-8 of the
currency unit, ``e2`` = hundredths of a count or quantity, or ``ratio`` with ``num / den`` in
``data``) and an ``op`` saying how it relates to its children:

* ``sum``: the children's values add up to the node's value exactly (same unit);
* ``round``: the node (cents) is its first child (``e8``) rounded once, with the rule set's mode;
* ``lines`` (rounding point ``line``): the node is its first child, the ``sum`` of each line's
  earnings rounded to the cent;
* ``share`` (rounding point ``total``): the plan's total was rounded once and its cents given to
  components by largest remainder: the node is its exact earnings (first child) floored or
  raised by one cent;
* ``ratio``: an attainment, ``num / den`` of its children (the measure over its quota);
* ``leaf``: no children that add up (descriptive children may still follow).

The payout's own amount is the root: ``payable`` of every line of the participant's plan(s) in
the period; its ``sum`` descendants end in money leaves (earned per component, adjustments by
kind, draw, recovery) that add up to it to the cent.

Example:
    >>> n = Node("x", 5, "cents", "sum", "x = 2 + 3",
    ...          [Node("a", 2, "cents"), Node("b", 3, "cents")])
    >>> n.check()
    []
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import polars as pl
from rich.markup import escape
from rich.tree import Tree

from engine.money import RoundingMode, format_cents, format_scaled, round_div

if TYPE_CHECKING:
    from engine.audit.lineage import Lineage

__all__ = ["Node", "explain", "money", "render"]

E8_PER_CENT = 1_000_000
MAX_TERMS = 12
"""Terms written out in a measure's arithmetic; every credit line is still a child node."""


def money(cents: int) -> str:
    """Cents as text with thousands separators.

    Example:
        >>> money(4300000), money(-5)
        ('43,000.00', '-0.05')
    """
    text = format_cents(cents)
    sign = "-" if text.startswith("-") else ""
    whole, frac = text.lstrip("-").split(".")
    return f"{sign}{int(whole):,}.{frac}"


def _e8(value: int) -> str:
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10**8)
    return f"{sign}{whole:,}.{frac:08d}"


def _pct(num: int, den: int) -> str:
    """An exact ratio as a percentage (up to 4 decimals, marked ~ when cut).

    Example:
        >>> _pct(5550000, 4000000), _pct(1, 3)
        ('138.75%', '~33.3333%')
    """
    scaled, rest = divmod(abs(num) * 1_000_000, abs(den))
    sign = "-" if (num < 0) != (den < 0) and num != 0 else ""
    return f"{'~' if rest else ''}{sign}{format_scaled(scaled, 4)}%"


def _rate(rate: str | None) -> str:
    """A rate as written in the rule set, as a percentage.

    Example:
        >>> _rate("0.08"), _rate("1"), _rate(None)
        ('8%', '100%', '?')
    """
    if rate is None:
        return "?"
    try:
        return f"{(Decimal(rate) * 100).normalize():f}%"
    except ArithmeticError:  # pragma: no cover - a rate is always a decimal string
        return rate


@dataclass
class Node:
    """One step of a derivation (see the module docstring)."""

    label: str
    value: int | None = None
    unit: str = "cents"
    op: str = "leaf"
    text: str = ""
    children: list[Node] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    key: str = ""
    """The node's step in its id (:mod:`engine.audit.derivation`); empty for a descriptive node."""

    def to_dict(self) -> dict[str, Any]:
        """The node and its subtree as JSON-ready data."""
        return {
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "op": self.op,
            "text": self.text,
            "data": self.data,
            "children": [c.to_dict() for c in self.children],
        }

    def flatten(self, parent: str | None = None) -> list[dict[str, Any]]:
        """The valued nodes as rows ``id, parent, value, unit, op`` (ids as in ``derivation``).

        Descriptive nodes (no ``key``) and what lies below them are left out.

        Example:
            >>> root = Node("r", 1, key="payable", op="sum", children=[Node("x", 1, key="x")])
            >>> [r["id"] for r in root.flatten()]
            ['payable', 'payable/x']
        """
        if not self.key:
            return []
        here = self.key if parent is None else f"{parent}/{self.key}"
        rows = [{"id": here, "parent": parent, "value": self.value, "unit": self.unit,
                 "op": self.op}]  # fmt: skip
        for child in self.children:
            rows.extend(child.flatten(here))
        return rows

    def check(self, path: str = "") -> list[str]:
        """Every place where a level does not add up to its parent (empty when exact)."""
        here = f"{path}/{self.label}"
        problems: list[str] = []
        if self.op == "sum":
            total = sum(c.value or 0 for c in self.children)
            if total != self.value or any(c.unit != self.unit for c in self.children):
                problems.append(f"{here}: children sum to {total}, not {self.value}")
        elif self.op == "round":
            exact = self.children[0].value if self.children else None
            if (
                exact is None
                or self.value is None
                or abs(self.value * E8_PER_CENT - exact) > (E8_PER_CENT // 2)
            ):
                problems.append(f"{here}: {self.value} is not {exact} rounded")
        elif self.op == "lines":
            first = self.children[0] if self.children else None
            if first is None or first.op != "sum" or first.value != self.value:
                problems.append(f"{here}: not the sum of its rounded lines")
        elif self.op == "share":
            exact = self.children[0].value if self.children else None
            if (
                exact is None
                or self.value is None
                or not (
                    self.value * E8_PER_CENT - E8_PER_CENT
                    < exact
                    < self.value * E8_PER_CENT + E8_PER_CENT
                )
            ):
                problems.append(f"{here}: {self.value} is not {exact} floored or raised a cent")
        for child in self.children:
            problems.extend(child.check(here))
        return problems

    def money_leaves(self) -> list[Node]:
        """The nodes that end the root's chain of ``sum`` levels (they add up to the root)."""
        if self.op != "sum":
            return [self]
        return [leaf for c in self.children for leaf in c.money_leaves()]


def _credit_node(row: dict[str, Any], tx: dict[str, dict[str, Any]], unit: str, index: int) -> Node:
    t = tx.get(row["transaction_id"], {})
    value = int(row["value"])
    share = int(row["share_ppm"])
    parts = [f"{row['credit_type']} credit by rule {row['rule']}"]
    if share != 1_000_000 and t:
        parts.append(f"{format_scaled(share, 4)}% of {money(int(t['amount_cents']))}")
    if row["pay_currency"] != row["currency"]:
        parts.append(f"{money(int(row['amount_cents']))} {row['currency']} converted")
    route = f"routed by {row['route_table']} line {row['route_line']}"
    if int(row["level"]) > 0:
        route += f"; roll-up level {row['level']} from {row['direct_participant_id']}"
    parts.append(route)
    shown = money(value) if unit == "cents" else format_scaled(value, 2)
    info = [
        f"transaction {row['transaction_id']} dated {t.get('credit_date', row['credit_date'])}",
        f"amount {money(int(t['amount_cents']))} {t['currency']}" if t else "",
        f"transactions line {t['source_line']}" if t else "",
    ]
    leaf = Node(
        f"transaction {row['transaction_id']}",
        None,
        "",
        text=", ".join(i for i in info if i),
        data={k: t[k] for k in ("transaction_id", "source_line", "amount_cents") if k in t},
    )
    data = {k: (str(v) if k == "credit_date" else v) for k, v in row.items()}
    return Node(
        f"{row['transaction_id']} {shown}",
        value,
        unit,
        "leaf",
        "; ".join(parts),
        [leaf],
        data,
        key=f"credit:{index}",
    )


def _measure_node(
    name: str,
    measures: dict[str, dict[str, Any]],
    lin: Lineage,
    tx: dict[str, dict[str, Any]],
) -> Node:
    m = measures[name]
    key = f"measure:{name}"
    num, den = m["num"], m["den"]
    data = {k: m[k] for k in ("measure", "kind", "window", "unit", "num", "den", "quota_e2")}
    if m["kind"] == "attainment":
        base = m.get("base_measure")
        children: list[Node] = []
        if base in measures and measures[base]["role"] == "base":
            children.append(_measure_node(base, measures, lin, tx))
        elif base in measures:
            children.append(Node(f"{base}: as above", None, ""))
        if num is None or den is None:
            return Node(f"{name}: no attainment (no quota)", None, "ratio", data=data, key=key)
        quota = m["quota_e2"]
        text = f"{name} = {money(num)} / quota {money(den)} = {_pct(num, den)}"
        if quota is not None:
            children.append(Node(f"quota {money(int(quota))}", int(quota), "e2", key="quota"))
        return Node(
            f"{name} {_pct(num, den)}", None, "ratio", "ratio", text, children, data, key=key
        )
    if num is None or den is None:
        return Node(f"{name}: no value", None, "", data=data, key=key)
    if m["kind"] not in ("sum", "count") or den != 1:
        label = f"{name} {format_scaled(num * 100 // den, 2)}"
        return Node(label, None, "", text=m["kind"], key=key)
    unit = "cents" if m["unit"] == "money" else "e2"
    rows = lin["credits"].filter(pl.col("measure") == name).to_dicts()
    kids = [_credit_node(r, tx, unit, i) for i, r in enumerate(rows)]
    fmt = money if unit == "cents" else (lambda v: format_scaled(v, 2))
    shown = [f"{k.data['transaction_id']} {fmt(int(k.value or 0))}" for k in kids[:MAX_TERMS]]
    if len(kids) > MAX_TERMS:
        shown.append(f"... ({len(kids) - MAX_TERMS} more credit lines below)")
    terms = " + ".join(shown)
    text = f"{name} {fmt(num)} = {terms or '0 (no credit counted)'}"
    return Node(f"{name} {fmt(num)}", num, unit, "sum", text, kids, data, key=key)


def _tier_rate(inc: dict[str, Any]) -> str:
    """The reached tier's rate, read by the table's rate type."""
    rate, rate_type = inc["tier_rate"], inc.get("rate_type")
    if rate is None or rate_type in (None, "percent"):
        return _rate(rate)
    if rate_type == "fixed":
        return f"{money(int(Decimal(rate) * 100))} fixed"
    if rate_type == "per_unit":
        return f"{rate} per unit"
    return f"factor {rate}"


def _how_paid(inc: dict[str, Any], earned_e8: int) -> str:
    """The rate applied, in words, by the table's rate type."""
    rate, rate_type, pay = inc["tier_rate"], inc.get("rate_type"), inc["pay_e2"]
    if inc["kind"] == "payout_curve":
        target = inc.get("target_incentive_cents")
        if not target:
            return ""
        factor = _pct(earned_e8, int(target) * E8_PER_CENT).rstrip("%")
        return f": target incentive {money(int(target))} x factor {factor}% of target"
    if inc["kind"] != "retroactive" or rate is None or pay is None:
        return ""
    if rate_type == "fixed":
        return ""  # the tier's fixed amount is the earnings
    if rate_type == "per_unit":
        return f": {inc['measure']} {format_scaled(int(pay), 2)} x {rate} per unit"
    return f": {inc['measure']} {money(int(pay))} x {_rate(rate)}"


def _incentive_node(
    inc: dict[str, Any], lin: Lineage, tx: dict[str, dict[str, Any]], index: int
) -> Node:
    comp = (pl.col("plan_id") == inc["plan_id"]) & (pl.col("component") == inc["component"])
    key = f"incentive:{index}"
    mrows = lin["measures"].filter(comp).to_dicts()
    measures = {r["measure"]: r for r in mrows}
    earned_e8 = int(inc["earned_e8"])
    rated = int(inc["rated_cents"])
    lines = (
        lin["incentive_lines"].filter(comp).sort("transaction_id", maintain_order=True).to_dicts()
    )
    if lines:
        line_nodes = [
            Node(
                f"{r['transaction_id']} {_e8(int(r['line_e8']))}",
                int(r["line_e8"]),
                "e8",
                key=f"e8:{k}",
            )
            for k, r in enumerate(lines)
        ]
        terms = " + ".join(n.label for n in line_nodes)
        exact = Node(
            f"exact earnings {_e8(earned_e8)}",
            earned_e8,
            "e8",
            "sum",
            f"{_e8(earned_e8)} = {terms}",
            line_nodes,
            key="exact",
        )
    else:
        exact = Node(f"exact earnings {_e8(earned_e8)}", earned_e8, "e8", key="exact")
    tier = inc["tier"]
    how = f"{inc['kind']} table {inc['rate_table'] or '-'}"
    if tier is not None:
        upper = inc["tier_to"] if inc["tier_to"] is not None else "open"
        reach = "pays every tier up to" if inc["kind"] == "incremental" else "reaches"
        how += f": {reach} tier {tier} [{inc['tier_from']}, {upper}) at {_tier_rate(inc)}"
    how += _how_paid(inc, earned_e8)
    if inc["gate_passed"] is False:
        how += "; a gate failed: nothing paid"
    if inc["modifier_ppm"] is not None:
        how += f"; modifier x {format_scaled(int(inc['modifier_ppm']), 6)}"
    if inc["plan_days"] is not None and inc["plan_days"] != inc["active_days"]:
        how += f"; prorated {inc['plan_days']}/{inc['active_days']} days"
    exact.text = how + ("; " + exact.text if exact.text else "")
    exact.data["how"] = how
    slices = lin["tier_slices"].filter(comp).sort("tier").to_dicts()
    by_tier: list[Node] = []
    if slices and all(r["matches"] for r in slices):
        kids = []
        for r in slices:
            upper = r["tier_to"] if r["tier_to"] is not None else "open"
            kids.append(
                Node(
                    f"tier {r['tier']} [{r['tier_from']}, {upper}): "
                    f"{money(int(r['slice_cents']))} x {_rate(r['tier_rate'])} = "
                    f"{_e8(int(r['slice_e8']))}",
                    int(r["slice_e8"]),
                    "e8",
                    data=r,
                    key=f"tier:{r['tier']}",
                )
            )
        terms = " + ".join(_e8(int(k.value or 0)) for k in kids)
        by_tier = [
            Node(
                f"by tier {_e8(earned_e8)}", earned_e8, "e8", "sum", f"= {terms}", kids,
                key="by_tier",
            )
        ]  # fmt: skip
        if not lines:
            exact = by_tier.pop()
            exact.key = "exact"
            exact.label = f"exact earnings {_e8(earned_e8)}"
            exact.text = f"{how}; {_e8(earned_e8)} {exact.text}"
            exact.data["how"] = how
        elif inc["kind"] == "retroactive":
            by_tier = []  # one tier paid everything: the lines already show it
    order = {"paid": 0, "tier": 1, "base": 2}
    shown = sorted((r for r in mrows if r["role"] != "base"), key=lambda r: order[r["role"]])
    measure_nodes = [_measure_node(r["measure"], measures, lin, tx) for r in shown]
    diff = rated * E8_PER_CENT - earned_e8
    sign = "+" if diff >= 0 else ""
    label = f"{inc['line']} {inc['component']}: {money(rated)}"
    data = {k: v for k, v in inc.items() if k not in ("participant_id", "period")}
    point = inc.get("rounding_point") or "component"
    if point == "line" and lines:
        mode = RoundingMode(inc.get("rounding_mode") or "half_up")
        rounded = [
            Node(
                f"{r['transaction_id']} {money(round_div(int(r['line_e8']), E8_PER_CENT, mode))}",
                round_div(int(r["line_e8"]), E8_PER_CENT, mode),
                "cents",
                "round",
                f"{_e8(int(r['line_e8']))} rounded",
                [Node(r["transaction_id"], int(r["line_e8"]), "e8", key="e8")],
                key=f"round:{k}",
            )
            for k, r in enumerate(lines)
        ]
        terms = " + ".join(money(int(n.value or 0)) for n in rounded)
        per_line = Node(
            f"rounded per line {money(rated)}", rated, "cents", "sum", f"= {terms}", rounded,
            key="per_line",
        )  # fmt: skip
        text = f"{money(rated)}: each line rounded to the cent, then added"
        kids = [per_line, exact, *by_tier, *measure_nodes]
        return Node(label, rated, "cents", "lines", text, kids, data, key=key)
    if point == "total":
        text = (
            f"{money(rated)} = {_e8(earned_e8)} ({sign}{_e8(diff)}): the plan's total rounded "
            "once, its cents given to components by largest remainder"
        )
        kids = [exact, *by_tier, *measure_nodes]
        return Node(label, rated, "cents", "share", text, kids, data, key=key)
    text = f"{money(rated)} = {_e8(earned_e8)} rounded ({sign}{_e8(diff)})"
    kids = [exact, *by_tier, *measure_nodes]
    return Node(label, rated, "cents", "round", text, kids, data, key=key)


def _adjustment_node(adj: dict[str, Any], lin: Lineage, index: int) -> Node:
    amount = int(adj["amount_cents"])
    key = f"adjustment:{index}:{adj['type']}"
    node = Node(
        f"{adj['type']} {money(amount)}", amount, text=adj.get("rule") or "", data=adj, key=key
    )
    if adj["type"] != "clawback":
        return node
    comp = (pl.col("plan_id") == adj["plan_id"]) & (pl.col("component") == adj["component"])
    for r in lin["clawbacks"].filter(comp).to_dicts():
        ret, orig = int(r["return_cents"]), r["original_cents"]
        text = f"return {r['transaction_id']} {money(ret)} of {r['original_transaction_id']}"
        if orig is not None and r["original_line_e8"] is not None:
            text += (
                f" {money(int(orig))} ({r['original_period']}, earned "
                f"{_e8(int(r['original_line_e8']))}): {money(ret)} / {money(int(orig))} x "
                f"{_e8(int(r['original_line_e8']))} x {_rate(r['percent'])}"
            )
        else:
            text += ": the original earned nothing on this component (nothing to claw back)"
        node.children.append(Node(f"return {r['transaction_id']}", None, "", text=text, data=r))
    return node


def _line_node(pay: dict[str, Any], lin: Lineage, tx: dict[str, dict[str, Any]]) -> Node:
    comp = (pl.col("plan_id") == pay["plan_id"]) & (pl.col("component") == pay["component"])
    incs = lin["incentives"].filter(comp).to_dicts()
    inc_nodes = [_incentive_node(inc, lin, tx, i) for i, inc in enumerate(incs)]
    earned = int(pay["earned_cents"])
    if inc_nodes:
        terms = " + ".join(money(int(n.value or 0)) for n in inc_nodes)
        earned_node = Node(
            f"earned {money(earned)}", earned, "cents", "sum", f"= {terms}", inc_nodes,
            key="earned",
        )  # fmt: skip
    else:
        earned_node = Node(f"earned {money(earned)}", earned, key="earned")
    adjs = lin["adjustments"].filter(comp).sort("type", maintain_order=True).to_dicts()
    adj_nodes = [_adjustment_node(a, lin, i) for i, a in enumerate(adjs)]
    adj = int(pay["adjustments_cents"])
    adj_node = (
        Node(
            f"adjustments {money(adj)}",
            adj,
            "cents",
            "sum",
            "= " + " + ".join(n.label for n in adj_nodes),
            adj_nodes,
            key="adjustments",
        )
        if adj_nodes
        else Node(f"adjustments {money(adj)}", adj, key="adjustments")
    )
    draw, rec = int(pay["draw_cents"]), int(pay["recovered_cents"])
    payable = int(pay["payable_cents"])
    kids = [earned_node, adj_node, Node(f"draw {money(draw)}", draw, key="draw")]
    kids.append(Node(f"recovered {money(-rec)}", -rec, text="draw recovered", key="recovered"))
    text = (
        f"payable {money(payable)} = earned {money(earned)} + adjustments {money(adj)} "
        f"+ draw {money(draw)} - recovered {money(rec)}"
    )
    label = f"{pay['plan_id']} {pay['component']} ({pay['line']}): {money(payable)}"
    data = {k: v for k, v in pay.items() if k not in ("participant_id", "period")}
    key = f"line:{pay['plan_id']}|{pay['component']}|{pay['line']}"
    return Node(label, payable, "cents", "sum", text, kids, data, key=key)


def explain(lin: Lineage, participant_id: str, period: str, name: str | None = None) -> Node:
    """The derivation of one participant's payout in one period, from its lineage.

    Args:
        lin: the lineage, already selected to this participant and period
            (:meth:`Lineage.select`).
        participant_id: the participant.
        period: the period.
        name: the participant's name, for the label.

    Returns:
        The root node: payable, summed over the payout lines shown.

    Example:
        >>> from pathlib import Path
        >>> from engine.audit.lineage import build_lineage
        >>> from engine.pipeline import run
        >>> r = run(Path("fixtures/sample"), Path("rules/sample.yaml"))
        >>> root = explain(build_lineage(r, ["P021"]).select("P021", "2026-01"), "P021", "2026-01")
        >>> root.value, root.check()
        (137500, [])
    """
    tx = {r["transaction_id"]: r for r in lin["transactions"].to_dicts()}
    money_cols = ("earned_cents", "adjustments_cents", "draw_cents", "recovered_cents")
    pays = [
        p
        for p in lin["payouts"].to_dicts()
        if p["line"] != "plan" or any(p[c] for c in (*money_cols, "payable_cents"))
    ]
    lines = [_line_node(p, lin, tx) for p in pays]
    total = sum(int(p["payable_cents"]) for p in pays)
    currency = pays[0]["currency"] if pays else ""
    who = f"{participant_id} {name}" if name else participant_id
    terms = " + ".join(money(int(n.value or 0)) for n in lines)
    text = f"{money(total)} = {terms}" if lines else "no payout"
    data = {"participant_id": participant_id, "period": period, "currency": currency}
    data.update(lin.manifest())
    return Node(
        f"{who} {period}: payable {money(total)} {currency}",
        total,
        "cents",
        "sum",
        text,
        lines,
        data,
        key="payable",
    )


def render(node: Node, tree: Tree | None = None) -> Tree:
    """The node as a rich Tree (label in bold, the arithmetic after it)."""
    label = f"[bold]{escape(node.label)}[/bold]"
    if node.text:
        label += f"  [dim]{escape(node.text)}[/dim]"
    branch = Tree(label) if tree is None else tree.add(label)
    for child in node.children:
        render(child, branch)
    return branch
