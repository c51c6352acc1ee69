"""The vector path of a sweep: every variant rated and folded in one pass over shared measures.

What is computed once (:class:`Shared`, from one full calculation of the base rule set with
:func:`engine.calc.payouts.calculate`): credit lines, measures, quotas and attainments, the
base incentive rows (tier bases, paid measures, gates, modifiers, plan-change days) and the
plan segments. Then, for all the variants together (:func:`evaluate`):

1. **Rating**: each component whose rating a variant changes (its rate table, or its
   attainment under ``quota_scale``) is rated again through :func:`engine.calc.rating.rate`
   (the engine's own kernels) once per distinct (table, quota scale): 100 variants that move
   a cap and a draw but share 5 accelerators rate 5 times. Modifier, plan-change proration,
   gate and the rounding to cents are applied as :mod:`engine.calc.incentives` does.
2. **Pay fold**: :func:`engine.kernels.sweep.fold_variants` folds every variant over every
   affected participant's segments in one Numba pass (two threads), with the mechanics of
   :mod:`engine.calc.fold`.

A variant outside the supported subset (``docs/whatif.md``) is reported with the reason and
calculated by the caller through the full calculation. As a guard, the base rule set is
folded with the variants: unless it reproduces the base calculation's payables to the cent,
no variant takes the vector path.

Only participants on a plan the variant can change are folded (:mod:`engine.whatif.scope`);
the others keep the base payouts.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import polars as pl

from engine.calc.exact import round_div_expr
from engine.calc.incentives import measure_values
from engine.calc.measures import measures_by_name
from engine.calc.payouts import CalcResult, plan_measures, segments_with_targets, settings_of
from engine.calc.quotas import period_quotas
from engine.calc.rating import KEYS, RateJob, rate
from engine.calc.windows import calendar_frame, window_map
from engine.kernels import round_to_cents
from engine.kernels.sweep import (
    CAP_FIELDS,
    DRAW_FIELDS,
    FLOOR_FIELDS,
    MAX_PLAN_MECHANICS,
    fold_variants,
)
from engine.money import RoundingMode
from engine.rules.load import canonical_json
from engine.rules.plan_schema import (
    AttainmentMeasure,
    Cap,
    Component,
    CurveTable,
    Draw,
    Floor,
    FormulaMeasure,
    Guarantee,
    MatrixTable,
    Plan,
    TieredTable,
)
from engine.whatif.scope import affected_plans

if TYPE_CHECKING:
    from engine.loading import Dataset
    from engine.rules import RuleSet

__all__ = ["Shared", "VectorResult", "VectorVariant", "evaluate", "prepare", "unsupported"]

IntArray = npt.NDArray[np.int64]
Table = TieredTable | CurveTable | MatrixTable

RATED_KINDS = ("retroactive", "incremental", "interpolated", "payout_curve")
"""Rate-table kinds the vector path rates again (from the shared measures, without lines)."""

_ONE = 1_000_000
_SEG = ["participant_id", "seq", "plan_id"]


@dataclass(frozen=True)
class VectorVariant:
    """What :func:`evaluate` needs of a variant: its number, rules, data and quota scale."""

    number: int
    ruleset: RuleSet
    data: dict[str, Any]
    quota_scale_ppm: int


@dataclass
class Shared:
    """The variant-independent work, computed once from the base rule set.

    Attributes:
        base: the base variant.
        dataset: the loaded data.
        calc: the base calculation (measures, incentives, payouts).
        segments: one row per participant, period and plan (every calendar period) with the
            fold's ``target`` and ``target_ytd``, ``plan_days``, ``days``, ``hire_seq``,
            ``currency``, ``seq``, ``year``.
    """

    base: VectorVariant
    dataset: Dataset
    calc: CalcResult
    segments: pl.DataFrame
    _scaled: dict[int, pl.DataFrame] = field(default_factory=dict)
    _tables: dict[tuple[int, str], str | None] = field(default_factory=dict)
    _signatures: dict[str, str] = field(default_factory=dict)
    _checked: dict[int, tuple[str | None, set[str]]] = field(default_factory=dict)
    _reach: dict[frozenset[str], tuple[set[str], bool]] = field(default_factory=dict)

    def signature(self, plan: Plan) -> str:
        """:func:`_signature` of a base plan (computed once)."""
        found = self._signatures.get(plan.id)
        if found is None:
            found = self._signatures[plan.id] = _signature(plan)
        return found

    def table_json(self, v: VectorVariant, name: str) -> str | None:
        """The variant's validated rate table ``name`` as canonical JSON (None: no such table)."""
        key = (v.number, name)
        if key not in self._tables:
            found = [t for t in v.ruleset.rate_tables if t.name == name]
            dumped = canonical_json(found[0].model_dump(mode="json")) if found else None
            self._tables[key] = dumped
        return self._tables[key]

    def reach(self, plans: set[str]) -> tuple[set[str], bool]:
        """Every plan of the participants on ``plans``; whether one is on a plan twice a period."""
        key = frozenset(plans)
        found = self._reach.get(key)
        if found is None:
            seg = self.segments
            who = seg.filter(pl.col("plan_id").is_in(sorted(plans))).select("participant_id")
            theirs = seg.join(who.unique(), on="participant_id", how="semi")
            twice = bool(theirs.select(_SEG).is_duplicated().any())
            found = self._reach[key] = (set(theirs["plan_id"].unique().to_list()), twice)
        return found


@dataclass(frozen=True)
class VectorResult:
    """Payables of the vector variants, per group.

    Attributes:
        groups: one row per group: ``participant_id, currency`` (grain ``participant``) or
            ``participant_id, period, plan_id, currency`` (grain ``segment``), for the
            participants folded (those on a plan some variant changes).
        base: the base calculation's payable per group.
        values: variant number -> payable per group (aligned with ``groups``).
        reasons: variant number -> why it is not on the vector path (the caller falls back).
        seconds: wall time of each step (``check``, ``prepare``, ``rate``, ``fold``), and the
            CPU time of the process (all threads) while rating and folding (``*_cpu``).
    """

    groups: pl.DataFrame
    base: IntArray
    values: dict[int, IntArray]
    reasons: dict[int, str]
    seconds: dict[str, float] = field(default_factory=dict)


def _segments(dataset: Dataset, ruleset: RuleSet) -> pl.DataFrame:
    """Plan segments as the fold reads them (``engine.calc.payouts`` and ``engine.calc.fold``)."""
    plans = {p.id: p for p in ruleset.plans}
    cal = calendar_frame(dataset.tables["calendar"])
    seg, _ = segments_with_targets(dataset, plans, cal, settings_of(ruleset).rounding_mode, set())
    return (
        seg.rename({"pay_currency": "currency", "target_cents": "target"})
        .with_columns(
            pl.col("target")
            .cum_sum()
            .over(["participant_id", "plan_id", "year"], order_by="seq")
            .alias("target_ytd")
        )
        .sort(_SEG)
        .select(
            "participant_id",
            "period",
            "seq",
            "year",
            "plan_id",
            "plan_days",
            "active_days",
            "days",
            "hire_seq",
            "currency",
            "target",
            "target_ytd",
        )
    )


def prepare(dataset: Dataset, base: VectorVariant, calc: CalcResult) -> Shared:
    """The shared work: the base calculation ``calc`` (of ``base`` over ``dataset``) and segments.

    Args:
        dataset: the loaded data.
        base: the base variant.
        calc: :func:`engine.calc.payouts.calculate` of the base over every period.
    """
    return Shared(base, dataset, calc, _segments(dataset, base.ruleset))


# ------------------------------------------------------------------------------ the subset


def _signature(plan: Plan) -> str:
    """The plan without the mechanic values a vector variant may change."""
    data = plan.model_dump(mode="json", by_alias=True)
    for comp in data["components"]:
        comp["cap"] = comp["floor"] = None
    data["caps"] = data["floors"] = []
    if data.get("guarantee"):
        data["guarantee"] |= {"amount": None, "multiple_of_target": None}
    if data.get("draw"):
        blank = ("amount", "multiple_of_target", "recoverable", "recovery_limit", "recover_from")
        data["draw"] |= dict.fromkeys((*blank, "at_term_end"))
    return canonical_json(data)


def _fold_reason(plan: Plan) -> str | None:
    """Why the vector fold cannot pay ``plan``, or None."""
    if plan.true_up is not None or any(c.true_up for c in plan.components):
        return f"plan {plan.id} trues up"
    if plan.clawback is not None:
        return f"plan {plan.id} claws back"
    if len(plan.caps) > MAX_PLAN_MECHANICS or len(plan.floors) > MAX_PLAN_MECHANICS:
        return f"plan {plan.id} has more than {MAX_PLAN_MECHANICS} plan caps or floors"
    return None


def _attainment_names(ruleset: RuleSet) -> set[str]:
    return {m.name for m in ruleset.measures if isinstance(m, AttainmentMeasure)}


def _reads_scaled(ruleset: RuleSet, name: str) -> bool:
    """Whether measure ``name`` is, or is computed from, an attainment."""
    defs = measures_by_name(list(ruleset.measures))
    found = defs.get(name)
    if isinstance(found, AttainmentMeasure):
        return True
    if isinstance(found, FormulaMeasure):
        probe = Plan.model_validate(
            {"id": "_", "components": [{"name": "_", "measure": name, "rate_table": "_"}]}
        )
        return bool(plan_measures(probe, list(ruleset.measures)) & _attainment_names(ruleset))
    return False


def _rating_reason(rs: RuleSet, plan: Plan, comp: Component, scaled: bool) -> str | None:
    """Why a component cannot be rated again from the shared measures, or None."""
    where = f"plan {plan.id} component {comp.name}"
    point = settings_of(rs).rounding_point
    if point != "component":
        return f"rounding point {point} (the vector path rounds per component)"
    table = {t.name: t for t in rs.rate_tables}[comp.rate_table]
    if table.kind not in RATED_KINDS:
        return f"{where}: rate table kind {table.kind}"
    if isinstance(table, TieredTable) and (
        table.by or table.overrides or table.base == "attribute"
    ):
        return f"{where}: rate table {table.name} has overrides or an attribute base"
    if scaled:
        if comp.modifier is not None and _reads_scaled(rs, comp.modifier.measure):
            return f"{where}: quota_scale with a modifier on an attainment"
        for name in (comp.measure, comp.tier_measure, *(g.measure for g in comp.gates)):
            if (
                name is not None
                and isinstance(measures_by_name(list(rs.measures)).get(name), FormulaMeasure)
                and _reads_scaled(rs, name)
            ):
                return f"{where}: quota_scale with a formula measure on an attainment"
    return None


def _scale_plans(rs: RuleSet) -> set[str]:
    """Plans that read an attainment (quota_scale changes them)."""
    names = _attainment_names(rs)
    return {p.id for p in rs.plans if plan_measures(p, list(rs.measures)) & names}


def _table_data(data: dict[str, Any], name: str) -> Any:
    for item in data.get("rate_tables") or []:
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return None


def _table_changed(shared: Shared, v: VectorVariant, name: str) -> bool:
    """Whether the variant's rate table ``name`` differs from the base's (validated content)."""
    if _table_data(v.data, name) is _table_data(shared.base.data, name):
        return False  # the same object: a section the variant shares with the base
    base = shared.table_json(shared.base, name)
    return base is None or base != shared.table_json(v, name)


def _check(shared: Shared, v: VectorVariant) -> tuple[str | None, set[str]]:
    """(why not supported or None, the plans whose payouts may differ from the base)."""
    found = shared._checked.get(v.number)
    if found is None:
        found = shared._checked[v.number] = _check_once(shared, v)
    return found


def _check_once(shared: Shared, v: VectorVariant) -> tuple[str | None, set[str]]:
    base = shared.base
    changed = affected_plans(base.data, v.data)
    if changed is None:
        return "the variant changes more than rate tables, plans and quota_scale", set()
    plans = set(changed)
    scaled = v.quota_scale_ppm != _ONE
    if scaled:
        plans |= _scale_plans(v.ruleset)
    base_plans = {p.id: p for p in base.ruleset.plans}
    mine = {p.id: p for p in v.ruleset.plans}
    for pid in sorted(plans):
        plan = mine.get(pid)
        if plan is None or pid not in base_plans:
            return f"plan {pid} is added or removed", plans
        if _signature(plan) != shared.signature(base_plans[pid]):
            return f"plan {pid} changes more than cap, floor, guarantee and draw amounts", plans
        reason = _fold_reason(plan)
        if reason:
            return reason, plans
        for comp in plan.components:
            if comp.modifier is not None and _table_changed(shared, v, comp.modifier.rate_table):
                return f"plan {pid} component {comp.name}: a modifier table changes", plans
            comp_scaled = scaled and any(
                _reads_scaled(v.ruleset, n)
                for n in (comp.measure, comp.tier_measure, *(g.measure for g in comp.gates))
                if n is not None
            )
            if comp_scaled or _table_changed(shared, v, comp.rate_table):
                reason = _rating_reason(v.ruleset, plan, comp, comp_scaled)
                if reason:
                    return reason, plans
        if scaled and any(_reads_scaled(v.ruleset, s.measure) for s in plan.spifs):
            return f"plan {pid}: quota_scale with a SPIF on an attainment", plans
    return None, plans


def unsupported(shared: Shared, variants: Sequence[VectorVariant]) -> dict[int, str]:
    """Variant number -> why the vector path cannot evaluate it (absent: it can).

    A variant is supported when it differs from the base only in rate tables, plan mechanic
    amounts and ``quota_scale``, and every participant it can change is on plans the vector
    fold pays (``docs/whatif.md``).
    """
    reasons: dict[int, str] = {}
    for v in variants:
        reason, plans = _check(shared, v)
        if reason is None and plans:
            reached, twice = shared.reach(plans)
            on = {p.id: p for p in v.ruleset.plans}
            for pid in sorted(reached):
                reason = _fold_reason(on[pid])
                if reason:
                    reason = f"a participant it changes is on a plan outside the subset: {reason}"
                    break
            if reason is None and twice:
                reason = "a participant is on the same plan twice in one period"
        if reason is not None:
            reasons[v.number] = reason
    return reasons


# ---------------------------------------------------------------------------------- rating


def _scaled_measures(shared: Shared, ppm: int) -> pl.DataFrame:
    """The base measures with every attainment computed over quotas scaled by ``ppm``."""
    if ppm == _ONE:
        return shared.calc.measures
    found = shared._scaled.get(ppm)
    if found is not None:
        return found
    rs = shared.base.ruleset
    mode = settings_of(rs).rounding_mode
    tables = shared.dataset.tables
    quotas = tables["quotas"].with_columns(
        round_div_expr(pl.col("quota_e2") * ppm, _ONE, mode).cast(pl.Int64).alias("quota_e2")
    )
    frame = shared.calc.measures
    defs = measures_by_name(list(rs.measures))
    keys = ["participant_id", "period"]
    for m in rs.measures:
        if not isinstance(m, AttainmentMeasure):
            continue
        base_def = defs[m.measure]
        assert not isinstance(base_def, AttainmentMeasure | FormulaMeasure)
        per_period, _ = period_quotas(
            quotas,
            calendar=tables["calendar"],
            participants=tables["participants"],
            measure=m.measure,
            spec=m.quota,
            mode=mode,
        )
        rows = frame.filter(pl.col("measure") == m.name)
        quota = (
            rows.select(keys)
            .join(window_map(tables["calendar"], base_def.window), on="period", how="inner")
            .join(per_period.rename({"period": "source"}), on=["participant_id", "source"])
            .group_by(keys)
            .agg(pl.col("quota_e2").sum().cast(pl.Int64).alias("_q"))
        )
        attained = frame.filter(pl.col("measure") == m.measure).select(
            *keys, pl.col("num").alias("_bn")
        )
        has = pl.col("_q").is_not_null() & (pl.col("_q") > 0)
        zero = m.no_quota == "zero"
        new = (
            rows.join(quota, on=keys, how="left")
            .join(attained, on=keys, how="left")
            .with_columns(
                pl.when(has)
                .then(pl.col("_bn"))
                .otherwise(0 if zero else None)
                .cast(pl.Int64)
                .alias("num"),
                pl.when(has)
                .then(pl.col("_q"))
                .otherwise(1 if zero else None)
                .cast(pl.Int64)
                .alias("den"),
                pl.col("_q").alias("quota_e2"),
            )
            .select(frame.columns)
        )
        frame = pl.concat([frame.filter(pl.col("measure") != m.name), new])
    shared._scaled[ppm] = frame
    return frame


def _rows_for(shared: Shared, comp: Component, block: pl.DataFrame, ppm: int) -> pl.DataFrame:
    """The rating rows of a component's block (tier base, paid measure, gates) at a scale."""
    if ppm == _ONE:
        return block.select(
            *KEYS,
            pl.col("tier_num").alias("tier_n"),
            pl.col("tier_den").alias("tier_d"),
            "pay_e2",
            "gate_passed",
            "modifier_ppm",
            "plan_days",
            "active_days",
            "target_cents",
        )
    mode = settings_of(shared.base.ruleset).rounding_mode
    measures = _scaled_measures(shared, ppm)
    keys = ["participant_id", "period"]
    tier_name = comp.tier_measure or comp.measure
    rows = (
        block.select(*KEYS, "modifier_ppm", "plan_days", "active_days", "target_cents")
        .join(measure_values(measures, comp.measure, "pay", mode), on=keys, how="left")
        .join(measure_values(measures, tier_name, "tier", mode), on=keys, how="left")
        .with_columns(pl.col("pay_e2").fill_null(0))
    )
    passed = pl.lit(value=True)
    for i, gate in enumerate(comp.gates):
        rows = rows.join(measure_values(measures, gate.measure, f"g{i}", mode), on=keys, how="left")
        tn, td = _ratio(gate.threshold)
        lhs = pl.col(f"g{i}_n").cast(pl.Int128) * td
        rhs = pl.col(f"g{i}_d").cast(pl.Int128) * tn
        ok = (lhs >= rhs) if gate.inclusive else (lhs > rhs)
        passed = passed & ok.fill_null(value=False)
        if gate.pay == "above_threshold":
            cut = round_div_expr(pl.lit(tn, pl.Int128) * 100, td, mode).cast(pl.Int64)
            rows = rows.with_columns(
                pl.max_horizontal(pl.col("pay_e2") - cut, pl.lit(0)).alias("pay_e2")
            )
    return rows.with_columns(passed.alias("gate_passed"))


def _ratio(value: Any) -> tuple[int, int]:
    exponent = value.as_tuple().exponent
    places = max(-exponent, 0)
    return int(value.scaleb(places)), 10**places


def _rated_cents(v: VectorVariant, comp: Component, rows: pl.DataFrame) -> IntArray:
    """A component's rated cents per row (in ``rows`` order), as the incentive stage rates."""
    rs = v.ruleset
    settings = settings_of(rs)
    mode = settings.rounding_mode
    table = {t.name: t for t in rs.rate_tables}[comp.rate_table]
    defs = measures_by_name(list(rs.measures))
    tier_name = comp.tier_measure or comp.measure
    tier_def = defs[tier_name]
    tier_is_paid = tier_name == comp.measure or (
        isinstance(tier_def, AttainmentMeasure) and tier_def.measure == comp.measure
    )
    above = any(g.pay == "above_threshold" for g in comp.gates)
    paid = rows.filter(pl.col("gate_passed"))
    job = RateJob(
        table=table,
        rows=paid,
        lines=None,
        by_line=False,
        tier_is_paid=tier_is_paid and not above,
        mode=mode,
        default_boundary=table.boundary or settings.boundary,
        component=comp.name,
    )
    rated = rate(job).rows
    if rated.height != paid.height or not all(rated[k].equals(paid[k]) for k in KEYS):
        rated = paid.select(KEYS).join(rated, on=KEYS, how="left", maintain_order="left")
    earned = np.zeros(rows.height, dtype=np.int64)
    earned[rows["gate_passed"].to_numpy()] = rated["earned_e8"].fill_null(0).to_numpy()
    value = pl.col("_e").cast(pl.Int128)
    if comp.modifier is not None:
        value = round_div_expr(value * pl.col("modifier_ppm"), _ONE, mode)
    changed = pl.col("plan_days") < pl.col("active_days")
    value = (
        pl.when(changed)
        .then(round_div_expr(value * pl.col("plan_days"), pl.col("active_days"), mode))
        .otherwise(value)
    )
    scaled = rows.select(
        "modifier_ppm", "plan_days", "active_days", pl.Series("_e", earned, dtype=pl.Int64)
    ).select(value.cast(pl.Int64).alias("e"))
    return round_to_cents(scaled["e"].to_numpy(), mode).astype(np.int64)


# ------------------------------------------------------------------------------ mechanics


def _amount_fields(spec: Cap | Floor | Guarantee | Draw | None) -> list[int]:
    """kind, amount (cents), num, den of a mechanic (kind 0: none)."""
    if spec is None:
        return [0, 0, 0, 1]
    if spec.amount is not None:
        return [1, int(spec.amount.scaleb(2)), 0, 1]
    assert spec.multiple_of_target is not None
    num, den = _ratio(spec.multiple_of_target)
    return [2, 0, num, den]


def _cap_fields(cap: Cap | None) -> list[int]:
    if cap is None:
        return [0, 0, 0, 1, 0, 0]
    fields = _amount_fields(cap)
    return [*fields, int(cap.window == "year_to_date"), int(cap.excess == "carry_forward")]


def _draw_fields(draw: Draw | None, seq_of: dict[str, int]) -> list[int]:
    if draw is None:
        return [0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    limit = draw.recovery_limit
    start = seq_of.get(draw.recovery_starts, 0) if draw.recovery_starts is not None else 0
    return [
        *_amount_fields(draw),
        int(draw.recoverable),
        int(limit is not None),
        int(limit.scaleb(2)) if limit is not None else 0,
        int(draw.recover_from == "above_draw"),
        int(draw.at_term_end == "forgive"),
        start,
    ]


def _in_term(first: int | None, periods: Sequence[str]) -> pl.Expr:
    """The fold's ``_in_term``."""
    if first is not None:
        return (
            pl.col("hire_seq").is_not_null()
            & (pl.col("seq") >= pl.col("hire_seq"))
            & (pl.col("seq") < pl.col("hire_seq") + first)
        ).fill_null(value=False)
    if periods:
        return pl.col("period").is_in(list(periods))
    return pl.lit(value=True)


# ------------------------------------------------------------------------------- evaluate


def _terms(seg: pl.DataFrame, plans: dict[str, Plan]) -> pl.DataFrame:
    """Per segment: guarantee and draw in term (0/1), from the base plans."""
    g_expr: pl.Expr = pl.lit(0, pl.Int64)
    d_expr: pl.Expr = pl.lit(0, pl.Int64)
    for pid, plan in plans.items():
        on = pl.col("plan_id") == pid
        if plan.guarantee is not None:
            g = _in_term(plan.guarantee.first_periods, plan.guarantee.periods)
            g_expr = pl.when(on).then(g.cast(pl.Int64)).otherwise(g_expr)
        if plan.draw is not None:
            d = _in_term(plan.draw.first_periods, plan.draw.periods)
            d_expr = pl.when(on).then(d.cast(pl.Int64)).otherwise(d_expr)
    return seg.with_columns(g_expr.alias("_g_term"), d_expr.alias("_d_term"))


@dataclass(frozen=True)
class _Batch:
    """The segments folded (sorted in fold order) and their output groups."""

    seg: pl.DataFrame
    groups: pl.DataFrame
    base: IntArray
    incentives: pl.DataFrame


def _batch(shared: Shared, plans: set[str], grain: str) -> _Batch:
    """Every segment of the participants on ``plans``, with groups and base payables."""
    seg_all = shared.segments
    who = seg_all.filter(pl.col("plan_id").is_in(sorted(plans))).select("participant_id").unique()
    seg = seg_all.join(who, on="participant_id", how="semi").sort(_SEG)
    base_plans = {p.id: p for p in shared.base.ruleset.plans}
    seg = _terms(seg.with_row_index("_r"), base_plans)
    keys = ["participant_id", "currency"]
    if grain == "segment":
        keys = ["participant_id", "period", "plan_id", "currency"]
    groups = seg.select(keys).unique().sort(keys).with_row_index("_gi")
    seg = seg.join(groups, on=keys, how="left", maintain_order="left")
    payouts = shared.calc.payouts.join(who, on="participant_id", how="semi")
    paid = payouts.group_by(keys).agg(pl.col("payable_cents").sum().alias("_b"))
    base = groups.join(paid, on=keys, how="left").sort("_gi")["_b"].fill_null(0).to_numpy()
    incentives = shared.calc.incentives.join(who, on="participant_id", how="semi")
    spif = (
        incentives.filter(pl.col("line") == "spif")
        .group_by("participant_id", "period", "plan_id")
        .agg(pl.col("rated_cents").sum().alias("_spif"))
    )
    seg = seg.join(
        spif, on=["participant_id", "period", "plan_id"], how="left", maintain_order="left"
    )
    return _Batch(seg, groups.drop("_gi"), base.astype(np.int64), incentives)


@dataclass(frozen=True)
class _Rated:
    """Rated cents of every component block and each variant's column in it."""

    comps: list[tuple[Plan, Component]]
    rated: IntArray
    block_off: IntArray
    block_rows: IntArray
    column: IntArray
    comp_rows: pl.DataFrame


def _scaled_component(v: VectorVariant, plans: set[str], plan: Plan, comp: Component) -> bool:
    return (
        v.quota_scale_ppm != _ONE
        and plan.id in plans
        and any(
            _reads_scaled(v.ruleset, n)
            for n in (comp.measure, comp.tier_measure, *(x.measure for x in comp.gates))
            if n is not None
        )
    )


def _rate_all(
    shared: Shared, batch: _Batch, chosen: list[VectorVariant], plans_of: dict[int, set[str]]
) -> _Rated:
    """Rate each component once per distinct (table, quota scale) among the variants."""
    base_plans = {p.id: p for p in shared.base.ruleset.plans}
    plan_ids = sorted(batch.seg["plan_id"].unique().to_list())
    comps = [(base_plans[pid], c) for pid in plan_ids for c in base_plans[pid].components]
    targets = batch.seg.select(
        "participant_id", "period", "plan_id", pl.col("target").alias("target_cents")
    )
    by_number = {v.number: {p.id: p for p in v.ruleset.plans} for v in chosen}
    column = np.zeros((len(comps), len(chosen)), dtype=np.int64)
    block_off = np.zeros(len(comps), dtype=np.int64)
    block_rows = np.zeros(len(comps), dtype=np.int64)
    flat: list[IntArray] = []
    comp_rows: list[pl.DataFrame] = []
    offset = 0
    for g, (plan, comp) in enumerate(comps):
        block = (
            batch.incentives.filter(
                (pl.col("plan_id") == plan.id)
                & (pl.col("component") == comp.name)
                & (pl.col("line") == "component")
            )
            .join(targets, on=["participant_id", "period", "plan_id"], how="left")
            .with_row_index("_local")
        )
        comp_rows.append(
            block.select(
                "participant_id", "period", "plan_id", "_local", pl.lit(g, pl.Int64).alias("_g")
            )
        )
        block_off[g] = offset
        block_rows[g] = block.height
        keys: dict[tuple[str, int], int] = {("", _ONE): 0}
        flat.append(block["rated_cents"].to_numpy().astype(np.int64))
        offset += block.height
        for j, v in enumerate(chosen):
            vcomp = next(c for c in by_number[v.number][plan.id].components if c.name == comp.name)
            changed = _table_changed(shared, v, vcomp.rate_table)
            scaled = _scaled_component(v, plans_of[v.number], plan, comp)
            key = (
                (shared.table_json(v, vcomp.rate_table) or "") if changed else "",
                v.quota_scale_ppm if scaled else _ONE,
            )
            if key not in keys:
                rows = _rows_for(shared, vcomp, block, key[1])
                flat.append(_rated_cents(v, vcomp, rows))
                offset += block.height
                keys[key] = len(keys)
            column[g, j] = keys[key]
    rated = np.ascontiguousarray(np.concatenate(flat)) if flat else np.zeros(0, np.int64)
    rows_frame = (
        pl.concat(comp_rows)
        if comp_rows
        else pl.DataFrame(
            schema={
                "participant_id": pl.Utf8,
                "period": pl.Utf8,
                "plan_id": pl.Utf8,
                "_local": pl.UInt32,
                "_g": pl.Int64,
            }
        )
    )
    return _Rated(comps, rated, block_off, block_rows, column, rows_frame)


@dataclass(frozen=True)
class _Mechanics:
    """The kernel's mechanic arrays (see :func:`engine.kernels.sweep.fold_variants`)."""

    comp: IntArray
    plan_caps: IntArray
    plan_floors: IntArray
    guarantee: IntArray
    draw: IntArray
    flags: IntArray


def _mechanics(
    shared: Shared,
    comps: list[tuple[Plan, Component]],
    plan_ids: list[str],
    chosen: list[VectorVariant],
) -> _Mechanics:
    n_v, n_p = len(chosen), len(plan_ids)
    comp = np.zeros((len(comps), len(CAP_FIELDS) + len(FLOOR_FIELDS), n_v), dtype=np.int64)
    caps = np.zeros((n_p, MAX_PLAN_MECHANICS, len(CAP_FIELDS), n_v), dtype=np.int64)
    floors = np.zeros((n_p, MAX_PLAN_MECHANICS, len(FLOOR_FIELDS), n_v), dtype=np.int64)
    guarantee = np.zeros((n_p, len(FLOOR_FIELDS), n_v), dtype=np.int64)
    draw = np.zeros((n_p, len(DRAW_FIELDS), n_v), dtype=np.int64)
    cal = calendar_frame(shared.dataset.tables["calendar"])
    seq_of = dict(zip(cal["period"].to_list(), cal["seq"].to_list(), strict=True))
    base_plans = {p.id: p for p in shared.base.ruleset.plans}
    flags = np.zeros((n_p, 6), dtype=np.int64)
    for i, pid in enumerate(plan_ids):
        flags[i, :2] = [int(base_plans[pid].proration.caps), int(base_plans[pid].proration.draw)]
    for j, v in enumerate(chosen):
        mine = {p.id: p for p in v.ruleset.plans}
        for g, (plan, c) in enumerate(comps):
            vcomp = next(x for x in mine[plan.id].components if x.name == c.name)
            comp[g, :, j] = [*_cap_fields(vcomp.cap), *_amount_fields(vcomp.floor)]
        for i, pid in enumerate(plan_ids):
            vplan = mine[pid]
            for k, cap in enumerate(vplan.caps):
                caps[i, k, :, j] = _cap_fields(cap)
            for k, fl in enumerate(vplan.floors):
                floors[i, k, :, j] = _amount_fields(fl)
            guarantee[i, :, j] = _amount_fields(vplan.guarantee)
            draw[i, :, j] = _draw_fields(vplan.draw, seq_of)
            flags[i, 2] = max(flags[i, 2], len(vplan.caps))
            flags[i, 3] = max(flags[i, 3], len(vplan.floors))
            flags[i, 4] |= int(vplan.guarantee is not None)
            flags[i, 5] |= int(vplan.draw is not None)
    return _Mechanics(comp, caps, floors, guarantee, draw, flags)


def _fold(
    batch: _Batch,
    rated: _Rated,
    *,
    mech: _Mechanics,
    plan_ids: list[str],
    half_even: bool,
    threads: int,
) -> tuple[IntArray, int]:
    """Run the kernel over the batch; ``(payables (groups x variants), overflow count)``."""
    seg = batch.seg
    crs = rated.comp_rows.join(
        seg.select("participant_id", "period", "plan_id", "_r"),
        on=["participant_id", "period", "plan_id"],
    ).sort("_r", "_g")
    counts = crs.group_by("_r").agg(pl.len().alias("_n"))
    per_seg = seg.select("_r").join(counts, on="_r", how="left").sort("_r")["_n"].fill_null(0)
    comp_start = np.zeros(seg.height + 1, dtype=np.int64)
    comp_start[1:] = np.cumsum(per_seg.to_numpy())
    years = {y: i for i, y in enumerate(sorted(seg["year"].unique().to_list()))}
    index = {pid: i for i, pid in enumerate(plan_ids)}
    seg_arr = np.ascontiguousarray(
        seg.select(
            pl.col("plan_id").replace_strict(index, return_dtype=pl.Int64),
            pl.col("seq").cast(pl.Int64),
            pl.col("year").replace_strict(years, return_dtype=pl.Int64),
            pl.col("target").cast(pl.Int64),
            pl.col("target_ytd").cast(pl.Int64),
            pl.col("plan_days").cast(pl.Int64),
            pl.col("days").cast(pl.Int64),
            pl.col("_g_term").cast(pl.Int64),
            pl.col("_d_term").cast(pl.Int64),
            pl.col("_spif").fill_null(0).cast(pl.Int64),
            pl.col("_gi").cast(pl.Int64),
        ).to_numpy(),
        dtype=np.int64,
    )
    sizes = seg.group_by("participant_id", maintain_order=True).agg(pl.len().alias("_n"))
    part_start = np.zeros(sizes.height + 1, dtype=np.int64)
    part_start[1:] = np.cumsum(sizes["_n"].to_numpy())
    out = np.zeros((batch.groups.height, rated.column.shape[1]), dtype=np.int64)
    n_parts = sizes.height
    edges = np.linspace(0, n_parts, max(1, min(threads, n_parts)) + 1).astype(np.int64)
    bads = [np.zeros(1, dtype=np.int64) for _ in range(len(edges) - 1)]
    comp_of = np.ascontiguousarray(crs["_g"].to_numpy(), dtype=np.int64)
    comp_local = np.ascontiguousarray(crs["_local"].to_numpy(), dtype=np.int64)

    def run(t: int) -> None:
        fold_variants(
            int(edges[t]),
            int(edges[t + 1]),
            part_start,
            seg_arr,
            comp_start,
            comp_of,
            comp_local,
            rated.rated,
            rated.block_off,
            rated.block_rows,
            rated.column,
            mech.comp,
            mech.plan_caps,
            mech.plan_floors,
            mech.guarantee,
            mech.draw,
            mech.flags,
            half_even,
            out,
            bads[t],
        )

    with ThreadPoolExecutor(max_workers=max(1, len(edges) - 1)) as pool:
        list(pool.map(run, range(len(edges) - 1)))
    return out, sum(int(b[0]) for b in bads)


def evaluate(
    shared: Shared,
    variants: Sequence[VectorVariant],
    *,
    grain: str = "participant",
    threads: int = 2,
) -> VectorResult:
    """Payables of every supported variant, per group, in one rating and fold pass.

    Args:
        shared: the shared work (:func:`prepare`).
        variants: the variants (the base may be among them).
        grain: ``participant`` (per participant and currency) or ``segment`` (per
            participant, period and plan).
        threads: threads the fold runs in (participants split between them).

    Returns:
        The payables, and the reason for each variant left to the caller.
    """
    clock = time.perf_counter()
    seconds: dict[str, float] = {}
    reasons = unsupported(shared, variants)
    seconds["check"] = time.perf_counter() - clock
    clock = time.perf_counter()
    chosen = [v for v in variants if v.number not in reasons]
    if chosen and all(v.number != shared.base.number for v in chosen):
        chosen = [shared.base, *chosen]  # folded too: the guard below
    plans_of = {v.number: _check(shared, v)[1] for v in chosen}
    touched = set().union(*plans_of.values()) if plans_of else set()
    batch = _batch(shared, touched, grain)
    seconds["prepare"] = time.perf_counter() - clock
    if not chosen or batch.seg.height == 0:
        values = {v.number: batch.base.copy() for v in chosen}
        return VectorResult(batch.groups, batch.base, values, reasons, seconds)
    clock, cpu = time.perf_counter(), time.process_time()
    rated = _rate_all(shared, batch, chosen, plans_of)
    seconds["rate"] = time.perf_counter() - clock
    seconds["rate_cpu"] = time.process_time() - cpu
    clock = time.perf_counter()
    plan_ids = sorted(batch.seg["plan_id"].unique().to_list())
    mech = _mechanics(shared, rated.comps, plan_ids, chosen)
    half_even = settings_of(shared.base.ruleset).rounding_mode is RoundingMode.HALF_EVEN
    seconds["prepare"] += time.perf_counter() - clock
    clock, cpu = time.perf_counter(), time.process_time()
    out, overflow = _fold(
        batch, rated, mech=mech, plan_ids=plan_ids, half_even=half_even, threads=threads
    )
    seconds["fold"] = time.perf_counter() - clock
    seconds["fold_cpu"] = time.process_time() - cpu
    base_j = next(j for j, v in enumerate(chosen) if v.number == shared.base.number)
    why = ""
    if overflow:
        why = "an amount passed the exact 64-bit range in the vector fold"
    elif not np.array_equal(out[:, base_j], batch.base):
        why = "the vector fold did not reproduce the base calculation (guard)"
    if why:
        failed = {**reasons, **{v.number: why for v in chosen if v.number != shared.base.number}}
        return VectorResult(batch.groups, batch.base, {}, failed, seconds)
    values = {v.number: np.ascontiguousarray(out[:, j]) for j, v in enumerate(chosen)}
    return VectorResult(batch.groups, batch.base, values, reasons, seconds)
