"""Every payout's explanation at once, as rows: the nodes of :func:`engine.audit.explain.explain`.

:func:`derivation` turns a :class:`~engine.audit.lineage.Lineage` (of a whole run, or of a few
participants) into one frame whose rows are the valued nodes of every payout's explanation tree
(``participant_id, period`` and a node ``id``, its ``parent``, ``kind``, exact integer ``value``,
``unit`` and ``op``, as in :mod:`engine.audit.explain`). It is the same derivation as the tree,
computed with Polars over all payouts instead of node by node: :meth:`Node.flatten
<engine.audit.explain.Node.flatten>` of one participant's tree gives exactly that participant's
rows (the tests check it on the sample company and on a synth S run), so a test can check every
payout of a large run level by level in seconds.

A node id is its path: ``payable`` (the root: one per participant and period), then
``payable/line:<plan>|<component>|<line>`` (a payout line), ``.../earned``, ``.../adjustments``,
``.../draw``, ``.../recovered``, ``.../earned/incentive:<n>`` (the n-th incentive row of the
component), ``.../adjustments/adjustment:<n>:<type>``, and below an incentive ``exact``
(earnings, ``e8``), ``exact/e8:<n>`` (the n-th line by transaction id), ``exact/tier:<t>`` or
``by_tier/tier:<t>`` (tier slices), ``per_line/round:<n>`` and ``.../round:<n>/e8`` (rounding
point ``line``), ``measure:<name>`` (``.../quota``, ``.../measure:<base>`` of an attainment)
and ``measure:<name>/credit:<n>`` (the n-th credit line counted). Descriptive nodes without a
value (a credit's transaction, a clawback's return) are not rows.

:func:`problems` lists the nodes whose children do not add up (the columnar
:meth:`Node.check <engine.audit.explain.Node.check>`); :func:`money_leaves` the nodes that end
the root's chain of ``sum`` levels (they add up to the payout to the cent).

Example:
    >>> from pathlib import Path
    >>> from engine.audit.lineage import build_lineage
    >>> from engine.pipeline import run
    >>> rows = derivation(build_lineage(run(Path("fixtures/sample"), Path("rules/sample.yaml"))))
    >>> problems(rows).height
    0
    >>> leaves = money_leaves(rows).filter(pl.col("participant_id") == "P021")
    >>> leaves.filter(pl.col("period") == "2026-02")["value"].sum()
    424000
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from engine.calc.exact import round_div_expr
from engine.money import RoundingMode

if TYPE_CHECKING:
    from engine.audit.lineage import Lineage

__all__ = ["NODE_SCHEMA", "derivation", "money_leaves", "problems"]

E8_PER_CENT = 1_000_000

NODE_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.Utf8(),
    "period": pl.Utf8(),
    "id": pl.Utf8(),
    "parent": pl.Utf8(),
    "kind": pl.Utf8(),
    "value": pl.Int64(),
    "unit": pl.Utf8(),
    "op": pl.Utf8(),
    "basis": pl.Utf8(),
}
"""One row per valued node. ``basis``: the child a ``round``, ``share`` or ``lines`` node is
checked against (its first child in the tree)."""

_WHO = ["participant_id", "period"]
_COMP = ["participant_id", "period", "plan_id", "component"]
_MONEY = ("earned_cents", "adjustments_cents", "draw_cents", "recovered_cents", "payable_cents")


def _nodes(frame: pl.DataFrame, **columns: pl.Expr | str | None) -> pl.DataFrame:
    """Select the node columns of ``frame`` (a string is a literal, None a null)."""
    exprs = []
    for name, dtype in NODE_SCHEMA.items():
        if name in _WHO:
            exprs.append(pl.col(name))
            continue
        given = columns.get(name)
        expr = pl.lit(given, dtype) if given is None or isinstance(given, str) else given
        exprs.append(expr.cast(dtype).alias(name))
    return frame.select(exprs)


def _ordinal(keys: list[str]) -> pl.Expr:
    """The row's rank (0-based) among the rows of its ``keys`` group, in frame order."""
    return pl.int_range(pl.len(), dtype=pl.Int64).over(keys).cast(pl.Utf8)


def _payout_nodes(lin: Lineage) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Root and line nodes, and the shown lines with their node id (``_line``)."""
    pays = lin["payouts"]
    shown = pays.filter(
        (pl.col("line") != "plan") | pl.any_horizontal(pl.col(c) != 0 for c in _MONEY)
    ).with_columns(
        pl.concat_str(
            pl.lit("payable/line:"),
            pl.col("plan_id"),
            pl.lit("|"),
            pl.col("component"),
            pl.lit("|"),
            pl.col("line"),
        ).alias("_line")
    )
    totals = shown.group_by(_WHO).agg(pl.col("payable_cents").sum().alias("_total"))
    roots = (
        pays.select(_WHO)
        .unique(maintain_order=True)
        .join(totals, on=_WHO, how="left")
        .with_columns(pl.col("_total").fill_null(0))
    )
    root_rows = _nodes(
        roots, id="payable", kind="payout", value=pl.col("_total"), unit="cents", op="sum"
    )
    line_rows = _nodes(
        shown,
        id=pl.col("_line"),
        parent="payable",
        kind="line",
        value=pl.col("payable_cents"),
        unit="cents",
        op="sum",
    )
    return pl.concat([root_rows, line_rows]), shown


def _line_parts(
    shown: pl.DataFrame, incentives: pl.DataFrame, adjustments: pl.DataFrame
) -> pl.DataFrame:
    """earned, adjustments (and their kinds), draw and recovered under each line."""
    has_inc = incentives.select(_COMP).unique().with_columns(pl.lit(True).alias("_inc"))
    has_adj = adjustments.select(_COMP).unique().with_columns(pl.lit(True).alias("_adj"))
    lines = shown.join(has_inc, on=_COMP, how="left").join(has_adj, on=_COMP, how="left")
    parent = pl.col("_line")

    def part(name: str, value: pl.Expr, op: pl.Expr | str) -> pl.DataFrame:
        return _nodes(
            lines,
            id=pl.concat_str(parent, pl.lit(f"/{name}")),
            parent=parent,
            kind=name,
            value=value,
            unit="cents",
            op=op,
        )

    def summed(flag: str) -> pl.Expr:
        return pl.when(pl.col(flag).fill_null(False)).then(pl.lit("sum")).otherwise(pl.lit("leaf"))

    adj = adjustments.sort([*_COMP, "type"], maintain_order=True).with_columns(
        _ordinal(_COMP).alias("_n")
    )
    kinds = shown.select(*_COMP, "_line").join(adj, on=_COMP)
    kind_rows = _nodes(
        kinds,
        id=pl.concat_str(
            pl.col("_line"),
            pl.lit("/adjustments/adjustment:"),
            pl.col("_n"),
            pl.lit(":"),
            pl.col("type"),
        ),
        parent=pl.concat_str(pl.col("_line"), pl.lit("/adjustments")),
        kind="adjustment",
        value=pl.col("amount_cents"),
        unit="cents",
        op="leaf",
    )
    return pl.concat(
        [
            part("earned", pl.col("earned_cents"), summed("_inc")),
            part("adjustments", pl.col("adjustments_cents"), summed("_adj")),
            part("draw", pl.col("draw_cents"), "leaf"),
            part("recovered", -pl.col("recovered_cents"), "leaf"),
            kind_rows,
        ]
    )


def _incentive_nodes(lin: Lineage, shown: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Incentive nodes and what lies below them except measures; and the incentives (``_inc``)."""
    lines = lin["incentive_lines"]
    slices = lin["tier_slices"]
    has_lines = lines.select(_COMP).unique().with_columns(pl.lit(True).alias("_has_lines"))
    sliced = slices.group_by(_COMP).agg(pl.col("matches").all().alias("_sliced"))
    incs = (
        lin["incentives"]
        .with_columns(_ordinal(_COMP).alias("_n"))
        .join(shown.select(*_COMP, "_line"), on=_COMP)
        .join(has_lines, on=_COMP, how="left")
        .join(sliced, on=_COMP, how="left")
        .with_columns(
            pl.col("_has_lines").fill_null(False),
            pl.col("_sliced").fill_null(False),
            pl.concat_str(pl.col("_line"), pl.lit("/earned/incentive:"), pl.col("_n")).alias(
                "_inc"
            ),
            pl.col("rounding_point").fill_null("component").alias("_point"),
        )
    )
    inc = pl.col("_inc")
    by_line = (pl.col("_point") == "line") & pl.col("_has_lines")
    op = (
        pl.when(by_line)
        .then(pl.lit("lines"))
        .when(pl.col("_point") == "total")
        .then(pl.lit("share"))
        .otherwise(pl.lit("round"))
    )
    basis = pl.concat_str(
        inc, pl.when(by_line).then(pl.lit("/per_line")).otherwise(pl.lit("/exact"))
    )
    inc_rows = _nodes(
        incs,
        id=inc,
        parent=pl.concat_str(pl.col("_line"), pl.lit("/earned")),
        kind="incentive",
        value=pl.col("rated_cents"),
        unit="cents",
        op=op,
        basis=basis,
    )
    exact_op = pl.when(pl.col("_has_lines") | pl.col("_sliced")).then(pl.lit("sum"))
    exact_rows = _nodes(
        incs,
        id=pl.concat_str(inc, pl.lit("/exact")),
        parent=inc,
        kind="exact",
        value=pl.col("earned_e8"),
        unit="e8",
        op=exact_op.otherwise(pl.lit("leaf")),
    )
    ordered = lines.sort([*_COMP, "transaction_id"], maintain_order=True).with_columns(
        _ordinal(_COMP).alias("_k")
    )
    keys = incs.select(*_COMP, "_inc", "_point", "rounding_mode")
    per = ordered.join(keys, on=_COMP)
    e8_rows = _nodes(
        per,
        id=pl.concat_str(inc, pl.lit("/exact/e8:"), pl.col("_k")),
        parent=pl.concat_str(inc, pl.lit("/exact")),
        kind="e8",
        value=pl.col("line_e8"),
        unit="e8",
        op="leaf",
    )
    parts = [inc_rows, exact_rows, e8_rows, *_rounded_lines(incs, per), _slice_nodes(incs, slices)]
    return pl.concat(parts), incs


def _rounded_lines(incs: pl.DataFrame, per: pl.DataFrame) -> list[pl.DataFrame]:
    """Rounding point ``line``: ``per_line`` (a sum of ``round`` nodes, each over its ``e8``)."""
    inc = pl.col("_inc")
    line_incs = incs.filter((pl.col("_point") == "line") & pl.col("_has_lines"))
    rows = [
        _nodes(
            line_incs,
            id=pl.concat_str(inc, pl.lit("/per_line")),
            parent=inc,
            kind="per_line",
            value=pl.col("rated_cents"),
            unit="cents",
            op="sum",
        )
    ]
    lines = per.filter(pl.col("_point") == "line")
    for mode in RoundingMode:
        these = lines.filter(pl.col("rounding_mode").fill_null("half_up") == str(mode))
        here = pl.concat_str(inc, pl.lit("/per_line/round:"), pl.col("_k"))
        rounded = round_div_expr(pl.col("line_e8"), E8_PER_CENT, mode)
        rows.append(
            _nodes(
                these,
                id=here,
                parent=pl.concat_str(inc, pl.lit("/per_line")),
                kind="round",
                value=rounded,
                unit="cents",
                op="round",
                basis=pl.concat_str(here, pl.lit("/e8")),
            )
        )
        rows.append(
            _nodes(
                these,
                id=pl.concat_str(here, pl.lit("/e8")),
                parent=here,
                kind="e8",
                value=pl.col("line_e8"),
                unit="e8",
                op="leaf",
            )
        )
    return rows


def _slice_nodes(incs: pl.DataFrame, slices: pl.DataFrame) -> pl.DataFrame:
    """Tier slices: under ``exact`` (no lines), or under ``by_tier`` (incremental with lines)."""
    inc = pl.col("_inc")
    ok = incs.filter(pl.col("_sliced"))
    by_tier = ok.filter(pl.col("_has_lines") & (pl.col("kind") != "retroactive"))
    under = ok.filter(~pl.col("_has_lines")).with_columns(
        pl.concat_str(inc, pl.lit("/exact")).alias("_at")
    )
    beside = by_tier.with_columns(pl.concat_str(inc, pl.lit("/by_tier")).alias("_at"))
    by_tier_rows = _nodes(
        beside, id=pl.col("_at"), parent=inc, kind="by_tier", value=pl.col("earned_e8"),
        unit="e8", op="sum",
    )  # fmt: skip
    at = pl.concat([under.select(*_COMP, "_at"), beside.select(*_COMP, "_at")])
    tiers = slices.join(at, on=_COMP)
    tier_rows = _nodes(
        tiers,
        id=pl.concat_str(pl.col("_at"), pl.lit("/tier:"), pl.col("tier").cast(pl.Utf8)),
        parent=pl.col("_at"),
        kind="tier",
        value=pl.col("slice_e8"),
        unit="e8",
        op="leaf",
    )
    return pl.concat([by_tier_rows, tier_rows])


def _measure_nodes(lin: Lineage, incs: pl.DataFrame) -> pl.DataFrame:
    """The measures an incentive shows, an attainment's base and quota, and credit lines."""
    measures = lin["measures"]
    keys = [*_COMP, "measure"]
    at = incs.select(*_COMP, "_inc")
    shown = measures.filter(pl.col("role") != "base").join(at, on=_COMP)
    shown = shown.with_columns(
        pl.concat_str(pl.col("_inc"), pl.lit("/measure:"), pl.col("measure")).alias("_id"),
        pl.col("_inc").alias("_parent"),
    )
    bases = measures.filter(pl.col("role") == "base").select(
        *_COMP, pl.col("measure").alias("base_measure"), *[
            pl.col(c).alias(f"_b_{c}") for c in ("kind", "num", "den", "unit", "quota_e2")
        ]
    )  # fmt: skip
    atts = shown.filter(pl.col("kind") == "attainment")
    base = atts.join(bases, on=[*_COMP, "base_measure"]).select(
        *_COMP,
        pl.col("base_measure").alias("measure"),
        *[pl.col(f"_b_{c}").alias(c) for c in ("kind", "num", "den", "unit", "quota_e2")],
        pl.concat_str(pl.col("_id"), pl.lit("/measure:"), pl.col("base_measure")).alias("_id"),
        pl.col("_id").alias("_parent"),
    )
    cols = [*keys, "kind", "num", "den", "unit", "quota_e2", "_id", "_parent"]
    nodes = pl.concat([shown.select(cols), base.select(cols)])
    valued = pl.col("num").is_not_null() & pl.col("den").is_not_null()
    att = pl.col("kind") == "attainment"
    summed = pl.col("kind").is_in(["sum", "count"]) & (pl.col("den") == 1) & valued
    unit = pl.when(pl.col("unit") == "money").then(pl.lit("cents")).otherwise(pl.lit("e2"))
    if not lin.credit_lines:  # a measure without its lines is a value, not a sum of them
        summed = summed & pl.lit(False)
        valued_sum = pl.col("kind").is_in(["sum", "count"]) & (pl.col("den") == 1) & valued
    else:
        valued_sum = summed
    rows = _nodes(
        nodes,
        id=pl.col("_id"),
        parent=pl.col("_parent"),
        kind="measure",
        value=pl.when(valued_sum).then(pl.col("num")),
        unit=pl.when(att).then(pl.lit("ratio")).when(valued_sum).then(unit).otherwise(pl.lit("")),
        op=pl.when(att & valued)
        .then(pl.lit("ratio"))
        .when(summed)
        .then(pl.lit("sum"))
        .otherwise(pl.lit("leaf")),
    )
    quotas = nodes.filter(att & valued & pl.col("quota_e2").is_not_null())
    quota_rows = _nodes(
        quotas,
        id=pl.concat_str(pl.col("_id"), pl.lit("/quota")),
        parent=pl.col("_id"),
        kind="quota",
        value=pl.col("quota_e2"),
        unit="e2",
        op="leaf",
    )
    credits = lin["credits"].with_columns(
        _ordinal(["participant_id", "period", "measure"]).alias("_k")
    )
    counted = nodes.filter(summed).select(
        "participant_id", "period", "measure", "_id", unit.alias("_unit")
    )
    lines = credits.join(counted, on=["participant_id", "period", "measure"])
    credit_rows = _nodes(
        lines,
        id=pl.concat_str(pl.col("_id"), pl.lit("/credit:"), pl.col("_k")),
        parent=pl.col("_id"),
        kind="credit",
        value=pl.col("value"),
        unit=pl.col("_unit"),
        op="leaf",
    )
    return pl.concat([rows, quota_rows, credit_rows])


def derivation(lin: Lineage) -> pl.DataFrame:
    """The valued nodes of every payout's explanation (see the module docstring).

    Args:
        lin: a lineage (:func:`engine.audit.lineage.build_lineage`), of a whole run or of a
            few participants.

    Returns:
        :data:`NODE_SCHEMA` rows, sorted by participant, period and node id.
    """
    heads, shown = _payout_nodes(lin)
    parts = _line_parts(shown, lin["incentives"], lin["adjustments"])
    below, incs = _incentive_nodes(lin, shown)
    measures = _measure_nodes(lin, incs)
    return pl.concat([heads, parts, below, measures]).sort("participant_id", "period", "id")


def problems(rows: pl.DataFrame) -> pl.DataFrame:
    """The nodes whose level does not add up (empty when every payout is exact).

    ``sum``: the children's values add up to the node's, in its unit; ``round``: the node
    (cents) is its basis (``e8``) rounded, off by at most half a cent; ``share``: the basis is
    strictly within a cent of the node; ``lines``: the basis (``per_line``) has the node's
    value. Returns the failing nodes with ``children`` (their sum or basis value) and ``why``.
    """
    kids = rows.filter(pl.col("parent").is_not_null()).group_by(
        "participant_id", "period", pl.col("parent").alias("id")
    ).agg(
        pl.col("value").fill_null(0).sum().alias("children"),
        pl.col("unit").unique().alias("_units"),
    )  # fmt: skip
    sums = (
        rows.filter(pl.col("op") == "sum")
        .join(kids, on=["participant_id", "period", "id"], how="left")
        .with_columns(pl.col("children").fill_null(0))
        .filter(
            (pl.col("children") != pl.col("value"))
            | (pl.col("_units").list.set_difference(pl.concat_list(pl.col("unit"))).list.len() > 0)
        )
        .with_columns(pl.lit("children do not add up").alias("why"))
    )
    basis = rows.select(
        "participant_id", "period", pl.col("id").alias("basis"),
        pl.col("value").alias("children"), pl.col("op").alias("_basis_op"),
    )  # fmt: skip
    based = rows.filter(pl.col("op").is_in(["round", "share", "lines"])).join(
        basis, on=["participant_id", "period", "basis"], how="left"
    )
    v = pl.col("value").cast(pl.Int128) * E8_PER_CENT
    exact = pl.col("children").cast(pl.Int128)
    half = E8_PER_CENT // 2
    ok = (
        pl.when(pl.col("op") == "round")
        .then((v - exact).abs() <= half)
        .when(pl.col("op") == "share")
        .then((exact > v - E8_PER_CENT) & (exact < v + E8_PER_CENT))
        .otherwise((pl.col("_basis_op") == "sum") & (pl.col("children") == pl.col("value")))
    )
    wrong = based.filter(~ok.fill_null(False)).with_columns(
        pl.lit("not its basis rounded").alias("why")
    )
    cols = ["participant_id", "period", "id", "op", "value", "children", "why"]
    return pl.concat([sums.select(cols), wrong.select(cols)], how="vertical_relaxed").sort(
        "participant_id", "period", "id"
    )


def money_leaves(rows: pl.DataFrame) -> pl.DataFrame:
    """The nodes that end the root's chain of ``sum`` levels, one row each.

    They add up to the root (the payout) when :func:`problems` is empty: ``earned`` per
    incentive (or the earned amount when no incentive row), each adjustment kind (or the
    adjustments when none), draw and recovered.
    """
    chain = rows.filter(pl.col("op") == "sum").select("participant_id", "period", "id")
    # a node is on the chain when every ancestor is a sum: walk down level by level
    on_chain = chain.filter(pl.col("id") == "payable")
    leaves: list[pl.DataFrame] = []
    frontier = on_chain
    while frontier.height:
        children = rows.join(
            frontier.rename({"id": "parent"}), on=["participant_id", "period", "parent"]
        )
        leaves.append(children.filter(pl.col("op") != "sum"))
        frontier = children.filter(pl.col("op") == "sum").select("participant_id", "period", "id")
    return pl.concat(leaves).sort("participant_id", "period", "id")
