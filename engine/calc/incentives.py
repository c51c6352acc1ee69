"""Incentives: measures turned into earnings per participant, period, plan and component.

For every plan segment (a participant on a plan in a period) and every component of the plan:

1. **Bases**: the paid measure (``measure``), the tier base (``tier_measure``, default the paid
   measure), the matrix column base, as exact natural values (:func:`measure_values`).
2. **Gates**: every gate must pass (``measure >= threshold``, or ``>`` when not inclusive,
   compared exactly by cross-multiplication); a failed gate pays nothing. A gate with
   ``pay: above_threshold`` on the paid measure lowers the paid amount by the threshold.
3. **Rating** through the rate table's registered function (:mod:`engine.calc.rating`), exact at
   10**-8 of the pay currency.
4. **Linked modifier**: the earnings times the factor looked up on another measure (one
   rounding to 10**-8 with the rounding mode).
5. **Plan change**: when the participant is on more than one plan in the period, each plan's
   earnings times ``plan_days / active_days`` (one rounding to 10**-8).
6. **Rounding to cents** at the rule set's rounding point: ``line`` (each credit line's earnings
   rounded, then summed; for kinds that rate lines), ``component`` (once per component), or
   ``total`` (once per plan total; the cents are spread over the components by largest
   remainder so that they add up).

SPIFs: ``per: unit`` pays the amount times the SPIF measure's natural value (per deal for a
count), counting only credits dated within ``from_date .. to_date``; ``per: period`` pays the
amount once when the measure reaches ``at_least``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

import polars as pl

from engine.calc.exact import round_div_expr
from engine.calc.lines import Lines
from engine.calc.measures import (
    E2_UNITS,
    AnyMeasure,
    measure_lines,
)
from engine.calc.quotas import FINDING_COLUMNS
from engine.calc.rating import KEYS, RateJob, factor_ppm, rate
from engine.calc.segments import tier_exprs
from engine.calc.windows import window_map
from engine.errors import EngineError, Reason
from engine.kernels import EXACT_PER_CENT, round_to_cents
from engine.money import RoundingMode
from engine.rules.plan_schema import (
    AttainmentMeasure,
    Component,
    CountMeasure,
    CurveTable,
    MatrixTable,
    Plan,
    Spif,
    SumMeasure,
    TieredTable,
)

__all__ = [
    "INCENTIVE_SCHEMA",
    "IncentiveResult",
    "Settings",
    "compute_incentives",
    "measure_values",
]

INCENTIVE_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.Utf8(),
    "period": pl.Utf8(),
    "plan_id": pl.Utf8(),
    "component": pl.Utf8(),
    "line": pl.Utf8(),
    "rate_table": pl.Utf8(),
    "kind": pl.Utf8(),
    "measure": pl.Utf8(),
    "pay_e2": pl.Int64(),
    "tier_measure": pl.Utf8(),
    "tier_num": pl.Int64(),
    "tier_den": pl.Int64(),
    "tier": pl.Int32(),
    "tier_from": pl.Utf8(),
    "tier_to": pl.Utf8(),
    "tier_rate": pl.Utf8(),
    "gate_passed": pl.Boolean(),
    "modifier_ppm": pl.Int64(),
    "plan_days": pl.Int64(),
    "active_days": pl.Int64(),
    "earned_e8": pl.Int64(),
    "rated_cents": pl.Int64(),
}
"""One row per participant, period, plan and component (or SPIF).

``pay_e2`` is the paid measure at scale 2; ``tier_num / tier_den`` the tier base's exact
natural value; ``tier`` (1-based), ``tier_from``, ``tier_to``, ``tier_rate``: the highest tier
the base reached, for retroactive and incremental tables (:mod:`engine.calc.segments`);
``modifier_ppm`` the linked modifier's factor (null when none); ``earned_e8`` the exact
earnings after gates, modifier and plan-change proration; ``rated_cents`` the same rounded at
the rounding point."""

LINE_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.Utf8(),
    "period": pl.Utf8(),
    "plan_id": pl.Utf8(),
    "component": pl.Utf8(),
    "transaction_id": pl.Utf8(),
    "line_e8": pl.Int64(),
}
"""Per-line earnings of components whose kind rates credit lines (the audit's lowest grain)."""


@dataclass(frozen=True)
class Settings:
    """The rule-set settings the calculation reads.

    Attributes:
        rounding_mode: half_up or half_even.
        rounding_point: ``line``, ``component`` or ``total``.
        boundary: the default tier boundary inclusivity.
    """

    rounding_mode: RoundingMode = RoundingMode.HALF_UP
    rounding_point: str = "component"
    boundary: str = "lower_inclusive"


@dataclass(frozen=True)
class _Ctx:
    measures: pl.DataFrame
    lines: Lines
    measure_defs: Mapping[str, AnyMeasure]
    tables: Mapping[str, TieredTable | CurveTable | MatrixTable]
    calendar: pl.DataFrame
    settings: Settings
    cache: dict[str, pl.DataFrame] = field(default_factory=dict)

    def values(self, name: str, prefix: str) -> pl.DataFrame:
        """:func:`measure_values` of one measure, computed once per name.

        Reads only the columns it needs of the measure's rows (the measures frame is not
        copied whole).
        """
        if name not in self.cache:
            part = (
                self.measures.lazy()
                .filter(pl.col("measure") == name)
                .select("participant_id", "period", "unit", "num", "den")
                .collect()
            )
            self.cache[name] = _values(part, self.settings.rounding_mode)
        return self.cache[name].rename(
            {"v_n": f"{prefix}_n", "v_d": f"{prefix}_d", "v_e2": f"{prefix}_e2"}
        )

    def plan_base(self, seg: pl.DataFrame, names: Sequence[str]) -> pl.DataFrame:
        """A plan's segments with the values of ``names`` as ``_m<i>_n/_d/_e2`` (one join each).

        The measures frame has one row per participant, period and measure
        (:func:`engine.calc.measures.compute_measures`), so one join per measure gives each
        component's roles (paid, tier, column, gates, modifier, SPIF) the rows that one join
        per role gave.
        """
        base = seg.select(
            "participant_id", "period", "plan_id", "plan_days", "active_days", "target_cents"
        )
        for i, name in enumerate(names):
            base = base.join(
                self.values(name, f"_m{i}"), on=["participant_id", "period"], how="left"
            )
        return base


_I64_SAFE = 2**61
"""Bound under which the ``_e2`` rounding is exact in 64-bit arithmetic."""


def _values(part: pl.DataFrame, mode: RoundingMode) -> pl.DataFrame:
    """:func:`measure_values` of one measure's rows (``v_n``, ``v_d``, ``v_e2``).

    The same values: when every ``num x 100`` and ``den x 100`` is far inside 64 bits the
    rounding runs in Int64 (as :func:`engine.calc.exact.round_div_expr` does in Int128).
    """
    scale = pl.when(pl.col("unit").is_in(list(E2_UNITS))).then(100).otherwise(1)
    num, den = pl.col("num"), pl.col("den") * scale
    top = part.select(num.abs().max().alias("n"), pl.col("den").abs().max().alias("d")).row(0)
    if all(v is None or v * 100 < _I64_SAFE for v in top):
        e2 = _round_div_i64(num * 100, den, mode)
    else:
        e2 = round_div_expr(num.cast(pl.Int128) * 100, den, mode).cast(pl.Int64)
    return part.select(
        "participant_id",
        "period",
        num.alias("v_n"),
        den.alias("v_d"),
        e2.alias("v_e2"),
    )


def _round_div_i64(num: pl.Expr, den: pl.Expr, mode: RoundingMode) -> pl.Expr:
    """:func:`engine.calc.exact.round_div_expr` in Int64, for operands far inside its range."""
    num = num.cast(pl.Int64)
    den = den.cast(pl.Int64)
    den = pl.when(den == 0).then(None).otherwise(den)
    q = num // den
    twice_r = (num - q * den) * 2
    if mode is RoundingMode.HALF_UP:
        up = (twice_r > den) | ((twice_r == den) & (num >= 0))
    else:
        up = (twice_r > den) | ((twice_r == den) & ((q % 2) == 1))
    return pl.when(up).then(q + 1).otherwise(q)


@dataclass(frozen=True)
class IncentiveResult:
    """Incentive rows (:data:`INCENTIVE_SCHEMA`), per-line earnings and findings."""

    frame: pl.DataFrame
    lines: pl.DataFrame
    findings: pl.DataFrame


def measure_values(
    measures: pl.DataFrame, name: str, prefix: str, mode: RoundingMode
) -> pl.DataFrame:
    """One measure's values as ``<prefix>_n``, ``<prefix>_d`` (natural) and ``<prefix>_e2``.

    ``_e2`` is the value at scale 2 (exact for sums and counts; rounded once otherwise).

    Example:
        >>> m = pl.DataFrame({"participant_id": ["A"], "period": ["P"], "measure": ["rev"],
        ...     "unit": ["money"], "num": [12345], "den": [1]})
        >>> measure_values(m, "rev", "pay", RoundingMode.HALF_UP).row(0)
        ('A', 'P', 12345, 100, 12345)
    """
    scale = pl.when(pl.col("unit").is_in(list(E2_UNITS))).then(100).otherwise(1)
    return measures.filter(pl.col("measure") == name).select(
        "participant_id",
        "period",
        pl.col("num").alias(f"{prefix}_n"),
        (pl.col("den") * scale).alias(f"{prefix}_d"),
        round_div_expr(pl.col("num").cast(pl.Int128) * 100, pl.col("den") * scale, mode)
        .cast(pl.Int64)
        .alias(f"{prefix}_e2"),
    )


def _decimal_ratio(value: Decimal) -> tuple[int, int]:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    places = max(-exponent, 0)
    return int(value.scaleb(places)), 10**places


def _lines_for(
    measure: SumMeasure | CountMeasure,
    lines: Lines,
    rows: pl.DataFrame,
    calendar: pl.DataFrame,
    component: str,
) -> pl.DataFrame:
    """The measure's lines over each row's window, keyed by the row.

    Only the rows' participants' lines are read (the measure's filter is per line, so
    selecting them first gives the same lines in the same order, without copying the others).
    """
    who = rows["participant_id"].unique()
    mine = replace(lines, frame=lines.frame.filter(pl.col("participant_id").is_in(who)))
    chosen = measure_lines(measure, mine).rename({"period": "_source"})
    windows = window_map(calendar, measure.window).rename({"source": "_source"})
    keyed = rows.select("participant_id", "period", "plan_id").join(windows, on="period")
    return (
        chosen.join(keyed, on=["participant_id", "_source"], how="inner")
        .with_columns(pl.lit(component).alias("component"))
        .drop("_source")
    )


def compute_incentives(
    *,
    measures: pl.DataFrame,
    lines: Lines,
    measure_defs: Mapping[str, AnyMeasure],
    tables: Mapping[str, TieredTable | CurveTable | MatrixTable],
    plans: Sequence[Plan],
    segments: pl.DataFrame,
    calendar: pl.DataFrame,
    settings: Settings,
) -> IncentiveResult:
    """Rate every component and SPIF of every plan segment.

    Args:
        measures: the measures frame (:data:`engine.calc.measures.MEASURE_SCHEMA`).
        lines: the credit lines.
        measure_defs: measures by name.
        tables: rate tables by name.
        plans: the plans.
        segments: plan segments with ``target_cents`` (the period's target incentive, prorated
            per the plan) for the periods to rate.
        calendar: the calendar table.
        settings: rounding and boundary settings.

    Returns:
        Incentive rows sorted by participant, period, plan, line and component.
    """
    mode = settings.rounding_mode
    ctx = _Ctx(measures, lines, measure_defs, tables, calendar, settings)
    frames: list[pl.DataFrame] = []
    line_frames: list[pl.DataFrame] = []
    findings: list[pl.DataFrame] = []
    for plan in plans:
        seg = segments.filter(pl.col("plan_id") == plan.id)
        if seg.height == 0:
            continue
        names = _plan_measures(plan)
        index = {name: i for i, name in enumerate(names)}
        base = ctx.plan_base(seg, names)
        for comp in plan.components:
            frame, rated_lines = _component(ctx, comp, plan, base, index)
            frames.append(frame)
            if rated_lines is not None:
                line_frames.append(rated_lines)
        for spif in plan.spifs:
            frames.append(_spif(ctx, spif, base, index))
    if frames:
        out = pl.concat([f.select(list(INCENTIVE_SCHEMA)).cast(INCENTIVE_SCHEMA) for f in frames])  # type: ignore[arg-type]
    else:
        out = pl.DataFrame(schema=INCENTIVE_SCHEMA)
    if settings.rounding_point == "total":
        out = _round_total(out, mode)
    order = calendar.select("period", "start_date")
    out = (
        out.join(order, on="period", how="left")
        .sort("participant_id", "start_date", "plan_id", "line", "component")
        .drop("start_date")
    )
    line_out = (
        pl.concat([f.select(list(LINE_SCHEMA)).cast(LINE_SCHEMA) for f in line_frames])  # type: ignore[arg-type]
        if line_frames
        else pl.DataFrame(schema=LINE_SCHEMA)
    ).sort([*KEYS, "transaction_id"])
    found = pl.concat(findings) if findings else pl.DataFrame(schema=FINDING_COLUMNS)
    return IncentiveResult(out, line_out, found)


def _plan_measures(plan: Plan) -> list[str]:
    """The measures a plan's components and SPIFs read, each once, in first-use order."""
    names: list[str] = []
    for comp in plan.components:
        names += [comp.measure, comp.tier_measure or comp.measure]
        names += [n for n in (comp.column_measure,) if n is not None]
        names += [g.measure for g in comp.gates]
        names += [comp.modifier.measure] if comp.modifier is not None else []
    names += [s.measure for s in plan.spifs]
    return list(dict.fromkeys(names))


def _take(index: Mapping[str, int], name: str, prefix: str) -> list[pl.Expr]:
    """The plan base's columns of measure ``name`` renamed ``<prefix>_n/_d/_e2``."""
    i = index[name]
    return [pl.col(f"_m{i}_{part}").alias(f"{prefix}_{part}") for part in ("n", "d", "e2")]


def _component(
    ctx: _Ctx, comp: Component, plan: Plan, base: pl.DataFrame, index: Mapping[str, int]
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    settings, lines, tables = ctx.settings, ctx.lines, ctx.tables
    measure_defs, calendar = ctx.measure_defs, ctx.calendar
    mode = settings.rounding_mode
    table = tables[comp.rate_table]
    tier_name = comp.tier_measure or comp.measure
    rows = base.select(
        "participant_id",
        "period",
        "plan_id",
        "plan_days",
        "active_days",
        "target_cents",
        pl.lit(comp.name).alias("component"),
        *_take(index, comp.measure, "pay"),
        *_take(index, tier_name, "tier"),
        *[c for i, g in enumerate(comp.gates) for c in _take(index, g.measure, f"g{i}")],
        *(_take(index, comp.modifier.measure, "m") if comp.modifier is not None else []),
        *(_take(index, comp.column_measure, "col") if comp.column_measure is not None else []),
    )
    if comp.column_measure is None:
        rows = rows.with_columns(
            pl.lit(1, pl.Int64).alias("col_n"), pl.lit(1, pl.Int64).alias("col_d")
        )
    rows = rows.with_columns(
        pl.col("pay_e2").fill_null(0),
        pl.col("tier_n").alias("tier_n"),
        pl.col("tier_d").alias("tier_d"),
        pl.col("target_cents").fill_null(0),
    )
    # gates
    passed = pl.lit(value=True)
    for i, gate in enumerate(comp.gates):
        tn, td = _decimal_ratio(gate.threshold)
        lhs = pl.col(f"g{i}_n").cast(pl.Int128) * td
        rhs = pl.col(f"g{i}_d").cast(pl.Int128) * tn
        ok = (lhs >= rhs) if gate.inclusive else (lhs > rhs)
        passed = passed & ok.fill_null(value=False)
        if gate.pay == "above_threshold":
            if not isinstance(table, TieredTable | MatrixTable) or (
                isinstance(table, TieredTable) and table.kind != "retroactive"
            ):
                raise EngineError.single(
                    Reason.RULE_BAD_VALUE,
                    f"component {comp.name!r}: pay above_threshold works with retroactive and "
                    "matrix tables",
                    column=f"plans.{plan.id}.components.{comp.name}.gates",
                )
            cut = round_div_expr(pl.lit(tn, pl.Int128) * 100, td, mode).cast(pl.Int64)
            rows = rows.with_columns(
                pl.max_horizontal(pl.col("pay_e2") - cut, pl.lit(0)).alias("pay_e2")
            )
    rows = rows.with_columns(passed.alias("gate_passed"))
    measure_def = measure_defs[comp.measure]
    tier_def = measure_defs[tier_name]
    tier_is_paid = tier_name == comp.measure or (
        isinstance(tier_def, AttainmentMeasure) and tier_def.measure == comp.measure
    )
    above = any(g.pay == "above_threshold" for g in comp.gates)
    paid_rows = rows.filter(pl.col("gate_passed"))
    clawed = plan.clawback is not None and (
        plan.clawback.components is None or comp.name in plan.clawback.components
    )
    needs_lines = (
        clawed
        or settings.rounding_point == "line"
        or table.kind in ("per_transaction", "per_transaction_marginal")
        or (isinstance(table, TieredTable) and bool(table.by))
    )
    job_lines = None
    if isinstance(measure_def, SumMeasure | CountMeasure) and not above and needs_lines:
        job_lines = _lines_for(measure_def, lines, paid_rows, calendar, comp.name)
    job = RateJob(
        table=table,
        rows=paid_rows,
        lines=job_lines,
        by_line=settings.rounding_point == "line",
        tier_is_paid=tier_is_paid and not above,
        mode=mode,
        default_boundary=table.boundary or settings.boundary,
        component=comp.name,
    )
    rated = rate(job)
    rows = rows.join(rated.rows.select(*KEYS, "earned_e8"), on=KEYS, how="left").with_columns(
        pl.col("earned_e8").fill_null(0)
    )
    line_e8 = rated.lines
    if line_e8 is None and job_lines is not None and clawed:
        line_e8 = _attribute(rated.rows, job_lines, mode)
    # linked modifier
    factor: pl.Expr = pl.lit(None, pl.Int64)
    if comp.modifier is not None:
        valid = rows.filter(pl.col("m_d").is_not_null() & (pl.col("m_d") > 0))
        ppm = factor_ppm(
            tables[comp.modifier.rate_table],
            valid["m_n"].to_numpy(),
            valid["m_d"].to_numpy(),
            mode=mode,
            default_boundary=settings.boundary,
        )
        rows = rows.join(
            valid.select(*KEYS).with_columns(pl.Series("modifier_ppm", ppm, dtype=pl.Int64)),
            on=KEYS,
            how="left",
        ).with_columns(pl.col("modifier_ppm").fill_null(0))
        factor = pl.col("modifier_ppm")
    else:
        rows = rows.with_columns(pl.lit(None, pl.Int64).alias("modifier_ppm"))
    scale = _scale_exprs(factor, comp.modifier is not None, mode)
    rows = rows.with_columns(scale("earned_e8").alias("earned_e8"))
    if line_e8 is not None:
        line_e8 = line_e8.join(
            rows.select(*KEYS, "modifier_ppm", "plan_days", "active_days"), on=KEYS, how="inner"
        ).with_columns(scale("line_e8").alias("line_e8"))
        if (
            comp.modifier is not None
            or rows.filter(pl.col("plan_days") < pl.col("active_days")).height
        ):
            # scaled lines no longer add up exactly to the scaled total: the total follows them
            summed = line_e8.group_by(KEYS).agg(pl.col("line_e8").sum().alias("_sum"))
            rows = rows.join(summed, on=KEYS, how="left").with_columns(
                pl.coalesce("_sum", "earned_e8").alias("earned_e8")
            )
    rows = rows.with_columns(pl.when(pl.col("gate_passed")).then(pl.col("earned_e8")).otherwise(0))
    if settings.rounding_point == "line" and line_e8 is not None:
        cents = line_e8.with_columns(
            pl.Series("_c", round_to_cents(line_e8["line_e8"].to_numpy(), mode), dtype=pl.Int64)
        )
        per_row = cents.group_by(KEYS).agg(pl.col("_c").sum().alias("rated_cents"))
        rows = rows.join(per_row, on=KEYS, how="left").with_columns(
            pl.col("rated_cents").fill_null(0)
        )
    else:
        rows = rows.with_columns(
            pl.Series(
                "rated_cents", round_to_cents(rows["earned_e8"].to_numpy(), mode), dtype=pl.Int64
            )
        )
    if isinstance(table, TieredTable) and table.kind in ("retroactive", "incremental"):
        rows = rows.with_columns(**tier_exprs(table, settings.boundary))
    else:
        none = pl.lit(None, pl.Utf8)
        rows = rows.with_columns(
            pl.lit(None, pl.Int32).alias("tier"),
            none.alias("tier_from"),
            none.alias("tier_to"),
            none.alias("tier_rate"),
        )
    out = rows.select(
        *KEYS,
        pl.lit("component").alias("line"),
        pl.lit(table.name).alias("rate_table"),
        pl.lit(table.kind).alias("kind"),
        pl.lit(comp.measure).alias("measure"),
        "pay_e2",
        pl.lit(tier_name).alias("tier_measure"),
        pl.col("tier_n").alias("tier_num"),
        pl.col("tier_d").alias("tier_den"),
        "tier",
        "tier_from",
        "tier_to",
        "tier_rate",
        "gate_passed",
        "modifier_ppm",
        "plan_days",
        "active_days",
        "earned_e8",
        "rated_cents",
    )
    if line_e8 is not None:
        line_e8 = line_e8.join(rows.filter(pl.col("gate_passed")).select(KEYS), on=KEYS, how="semi")
    return out, line_e8


def _attribute(rows: pl.DataFrame, lines: pl.DataFrame, mode: RoundingMode) -> pl.DataFrame:
    """Spread each row's earnings over its lines pro rata to their values.

    For clawbacks of kinds that rate totals (a deal's "original rate"); rounded once per line
    at 10**-8, so the lines may differ from the total by a few 10**-8.
    """
    totals = (
        lines.group_by(KEYS)
        .agg(pl.col("value").sum().alias("_total"))
        .join(rows.select(*KEYS, "earned_e8"), on=KEYS, how="inner")
    )
    share = round_div_expr(
        pl.col("earned_e8").cast(pl.Int128) * pl.col("value"), pl.col("_total"), mode
    )
    return (
        lines.select(*KEYS, "transaction_id", "value")
        .join(totals, on=KEYS, how="inner")
        .with_columns(
            pl.when(pl.col("_total") == 0).then(0).otherwise(share).cast(pl.Int64).alias("line_e8")
        )
        .select(*KEYS, "transaction_id", "line_e8")
    )


def _scale_exprs(factor: pl.Expr, has_modifier: bool, mode: RoundingMode):  # type: ignore[no-untyped-def]
    """A function column -> expression applying the modifier and plan-change proration."""

    def apply(column: str) -> pl.Expr:
        value = pl.col(column).cast(pl.Int128)
        if has_modifier:
            value = round_div_expr(value * factor, 1_000_000, mode)
        changed = pl.col("plan_days") < pl.col("active_days")
        prorated = round_div_expr(value * pl.col("plan_days"), pl.col("active_days"), mode)
        return pl.when(changed).then(prorated).otherwise(value).cast(pl.Int64)

    return apply


def _spif(ctx: _Ctx, spif: Spif, base: pl.DataFrame, index: Mapping[str, int]) -> pl.DataFrame:
    lines, calendar = ctx.lines, ctx.calendar
    measure_defs, mode = ctx.measure_defs, ctx.settings.rounding_mode
    keys = ["participant_id", "period"]
    amount = int(spif.amount.scaleb(2))
    m = measure_defs[spif.measure]
    lo = date.fromisoformat(spif.from_date) if spif.from_date else None
    hi = date.fromisoformat(spif.to_date) if spif.to_date else None
    dated = spif.per == "unit" and isinstance(m, SumMeasure | CountMeasure) and (lo or hi)
    rows = base.select(
        "participant_id",
        "period",
        "plan_id",
        "plan_days",
        "active_days",
        pl.lit(spif.name).alias("component"),
        *([] if dated else _take(index, spif.measure, "s")[:2]),
    )
    if dated:
        assert isinstance(m, SumMeasure | CountMeasure)
        chosen = _lines_for(m, lines, rows, calendar, spif.name)
        if lo is not None:
            chosen = chosen.filter(pl.col("credit_date") >= lo)
        if hi is not None:
            chosen = chosen.filter(pl.col("credit_date") <= hi)
        vals = (
            chosen.group_by(keys)
            .agg(pl.col("value").sum().alias("s_n"))
            .with_columns(pl.lit(100, pl.Int64).alias("s_d"))
        )
        rows = rows.join(vals.select(*keys, "s_n", "s_d"), on=keys, how="left")
    rows = rows.with_columns(pl.col("s_n").fill_null(0), pl.col("s_d").fill_null(1))
    if spif.per == "unit":
        cents = round_div_expr(pl.col("s_n").cast(pl.Int128) * amount, pl.col("s_d"), mode)
        passed = pl.lit(value=True)
    else:
        tn, td = _decimal_ratio(spif.at_least)
        passed = pl.col("s_n").cast(pl.Int128) * td >= pl.col("s_d").cast(pl.Int128) * tn
        if lo is not None or hi is not None:
            bounds = calendar.select("period", "start_date", "end_date")
            rows = rows.join(bounds, on="period", how="left")
            if lo is not None:
                passed = passed & (pl.col("end_date") >= lo)
            if hi is not None:
                passed = passed & (pl.col("start_date") <= hi)
        cents = pl.when(passed).then(pl.lit(amount, pl.Int64)).otherwise(0)
    return rows.select(
        *KEYS,
        pl.lit("spif").alias("line"),
        pl.lit(None, pl.Utf8).alias("rate_table"),
        pl.lit("spif").alias("kind"),
        pl.lit(spif.measure).alias("measure"),
        pl.lit(None, pl.Int64).alias("pay_e2"),
        pl.lit(spif.measure).alias("tier_measure"),
        pl.col("s_n").alias("tier_num"),
        pl.col("s_d").alias("tier_den"),
        pl.lit(None, pl.Int32).alias("tier"),
        pl.lit(None, pl.Utf8).alias("tier_from"),
        pl.lit(None, pl.Utf8).alias("tier_to"),
        pl.lit(None, pl.Utf8).alias("tier_rate"),
        passed.alias("gate_passed"),
        pl.lit(None, pl.Int64).alias("modifier_ppm"),
        "plan_days",
        "active_days",
        (cents.cast(pl.Int64) * EXACT_PER_CENT).alias("earned_e8"),
        cents.cast(pl.Int64).alias("rated_cents"),
    )


def _round_total(frame: pl.DataFrame, mode: RoundingMode) -> pl.DataFrame:
    """Round each plan total once; spread the cents over its components by largest remainder."""
    group = ["participant_id", "period", "plan_id"]
    comps = frame.filter(pl.col("line") == "component")
    others = frame.filter(pl.col("line") != "component")
    unit = EXACT_PER_CENT
    comps = comps.with_columns(
        (pl.col("earned_e8") // unit).alias("_floor"),
        (pl.col("earned_e8") % unit).alias("_rem"),
        round_div_expr(pl.col("earned_e8").sum().over(group), unit, mode)
        .cast(pl.Int64)
        .alias("_total"),
    )
    comps = comps.with_columns(
        (pl.col("_total") - pl.col("_floor").sum().over(group)).alias("_left"),
        pl.struct(-pl.col("_rem"), "component").rank("ordinal").over(group).alias("_rank"),
    ).with_columns(
        (pl.col("_floor") + (pl.col("_rank") <= pl.col("_left")).cast(pl.Int64)).alias(
            "rated_cents"
        )
    )
    return pl.concat([comps.select(frame.columns), others])
