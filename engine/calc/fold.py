"""The pay fold: pay mechanics applied period by period, carrying state.

For each period in calendar order, and each plan the participants are on in it, with the state
left by the previous period (:mod:`engine.calc.state`):

1. **Component earned**: the rated amount (:mod:`engine.calc.incentives`). For a cumulative
   component (``true_up: true``) the period's earned is the year-to-date rated amount minus what
   was recognised for it earlier this year.
2. **Prior-period true-up** (plan ``true_up``): the component's earned of the earlier periods of
   the year, recomputed now, minus what was recognised for them; posted now as an adjustment.
3. **Component cap**: excess carried in from earlier periods is added, then the amount is
   limited to the cap's room (per period, or the year-to-date cap minus what was recognised
   after the cap this year); the excess is lost or carried forward.
4. **Component floor**: a top-up to the floor.
5. **Clawbacks**: reversals of returned deals, after the cap (never more than was paid on the
   deal: :mod:`engine.calc.mechanics.clawbacks`).
6. **SPIFs** are added as their own lines.
7. **Plan caps** (in order, on the plan total), **plan floors**, then the **guarantee** top-up.
8. **Draw**: the advance when the total falls short, and recovery of a recoverable balance
   (:mod:`engine.calc.mechanics.draws`).

Amounts given as a multiple of the target incentive use the period's target incentive
(prorated by plan days when the plan prorates it); amounts given as money are prorated by plan
days when ``proration.caps`` / ``proration.draw`` say so. Every proration and multiple is one
exact product rounded once with the rule set's rounding mode.

Payout lines (:data:`PAYOUT_SCHEMA`): one per component and SPIF, plus one ``(plan)`` line per
participant, period and plan for the plan-level mechanics (plan caps, floors, guarantee, draw).
``payable = earned + adjustments + draw - recovered`` on every line.

How it runs: the inputs are indexed once (participants numbered in sorted order; rated amounts
and clawbacks split by plan, period and component; each plan's targets, year-to-date targets
and state-independent amounts computed in Polars for all its periods at once, with the exact
expressions above). The sequential part, period by period and plan by plan (plans in id
order), then works on int64 arrays, one element per participant on the plan, with the state
held as arrays per state key (:class:`engine.calc.state.StateArrays`) and updated in place. The
output is assembled and sorted once at the end.

Example:
    >>> from engine.calc.state import empty_state
    >>> from engine.rules.plan_schema import Plan
    >>> plan = Plan.model_validate({"id": "P", "components": [{"name": "c", "measure": "m",
    ...     "rate_table": "t", "cap": {"amount": "1000", "excess": "carry_forward"}}]})
    >>> cal = pl.DataFrame({"period": ["2026-01", "2026-02"], "seq": [0, 1],
    ...     "year": ["2026", "2026"], "days": [31, 28]})
    >>> segments = cal.select(pl.lit("A").alias("participant_id"), "period", "seq", "year",
    ...     pl.lit("P").alias("plan_id"), pl.col("days").alias("plan_days"), "days",
    ...     pl.lit(None, pl.Int64).alias("target_incentive_cents"),
    ...     pl.lit(None, pl.Int64).alias("hire_seq"), pl.lit("USD").alias("pay_currency"))
    >>> rated = pl.DataFrame({"participant_id": ["A", "A"], "period": ["2026-01", "2026-02"],
    ...     "plan_id": ["P", "P"], "component": ["c", "c"], "rated_cents": [150_000, 20_000],
    ...     "seq": [0, 1], "year": ["2026", "2026"]})
    >>> claws = pl.DataFrame(schema={"participant_id": pl.Utf8, "period": pl.Utf8,
    ...     "plan_id": pl.Utf8, "component": pl.Utf8, "clawback_cents": pl.Int64})
    >>> out = fold(PayInputs(segments, rated, claws, {"P": plan}, ["2026-01", "2026-02"], cal,
    ...     RoundingMode.HALF_UP), empty_state())
    >>> out.payouts.filter(line="component").select("earned_cents", "payable_cents",
    ...     "carried_forward_cents").rows()
    [(150000, 100000, 50000), (20000, 70000, 0)]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

from engine.calc.exact import round_div_expr
from engine.calc.mechanics.caps import cap, floor
from engine.calc.mechanics.draws import draw
from engine.calc.state import DRAW_KEY, Codes, StateArrays, nullable, plan_cap_key
from engine.money import RoundingMode
from engine.rules.plan_schema import Cap, Component, Draw, Floor, Guarantee, Plan

__all__ = [
    "ADJUSTMENT_SCHEMA",
    "PAYOUT_SCHEMA",
    "PLAN_LINE",
    "FoldResult",
    "PayInputs",
    "fold",
]

PLAN_LINE = "(plan)"
"""``component`` of the plan-level payout line."""

PAYOUT_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.Utf8(),
    "period": pl.Utf8(),
    "plan_id": pl.Utf8(),
    "component": pl.Utf8(),
    "line": pl.Utf8(),
    "earned_cents": pl.Int64(),
    "adjustments_cents": pl.Int64(),
    "draw_cents": pl.Int64(),
    "recovered_cents": pl.Int64(),
    "payable_cents": pl.Int64(),
    "currency": pl.Utf8(),
    "target_incentive_cents": pl.Int64(),
    "carried_forward_cents": pl.Int64(),
    "draw_balance_cents": pl.Int64(),
    "draw_forgiven_cents": pl.Int64(),
}
"""One row per participant, period, plan and line (``line``: component, spif or plan).

``carried_forward_cents`` is cap excess carried to later periods (after this period);
``draw_balance_cents`` the recoverable balance owed after this period (plan line);
``draw_forgiven_cents`` a balance forgiven at the end of the draw term (not pay)."""

ADJUSTMENT_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.Utf8(),
    "period": pl.Utf8(),
    "plan_id": pl.Utf8(),
    "component": pl.Utf8(),
    "type": pl.Utf8(),
    "amount_cents": pl.Int64(),
}
"""The adjustments of each payout line, one row per kind: ``prior_period``, ``cap_carry_in``,
``cap_excess``, ``floor``, ``clawback``, ``plan_cap_carry_in``, ``plan_cap_excess``,
``plan_floor``, ``guarantee``. They add up to the line's ``adjustments_cents``."""

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_Sparse = tuple[IntArray, IntArray]
"""Participant indices and their values."""
_Table = dict[tuple[str, ...], _Sparse]
"""Sparse values by key."""

_LINES = ("component", "plan", "spif")
"""The ``line`` kinds, coded by position."""
_COMPONENT, _PLAN, _SPIF = range(3)


@dataclass(frozen=True)
class PayInputs:
    """Everything the fold reads.

    Attributes:
        segments: plan segments for every calendar period (:func:`plan_segments`) with
            ``pay_currency`` and ``hire_seq`` (the calendar index of the hire period; null when
            hired before the calendar starts).
        rated: ``participant_id, period, plan_id, component, line, rated_cents``: the rated
            amount per component (year-to-date for cumulative components) and SPIF, for the
            periods paid and, when a plan trues up, the earlier periods of their years.
        clawbacks: ``participant_id, period, plan_id, component, clawback_cents`` (<= 0).
        plans: the rule set's plans by id.
        periods: the periods to pay, in calendar order.
        calendar: :func:`engine.calc.windows.calendar_frame` of the calendar.
        mode: the rounding mode.
    """

    segments: pl.DataFrame
    rated: pl.DataFrame
    clawbacks: pl.DataFrame
    plans: Mapping[str, Plan]
    periods: Sequence[str]
    calendar: pl.DataFrame
    mode: RoundingMode


@dataclass(frozen=True)
class FoldResult:
    """Payout lines, their adjustment detail and the state after the last period."""

    payouts: pl.DataFrame
    adjustments: pl.DataFrame
    state: pl.DataFrame


def _dec_ratio(value: Decimal) -> tuple[int, int]:
    """``value`` as ``(numerator, 10**k)``."""
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)  # finite by schema
    places = max(-exponent, 0)
    return int(value.scaleb(places)), 10**places


def _amount(
    spec: Cap | Floor | Draw | Guarantee, target: pl.Expr, *, prorate: bool, mode: RoundingMode
) -> pl.Expr:
    """The spec's amount in cents for this period's row (Int64)."""
    if spec.amount is not None:
        cents = int(spec.amount.scaleb(2))
        if prorate:
            return round_div_expr(
                pl.lit(cents, pl.Int64).cast(pl.Int128) * pl.col("plan_days"),
                pl.col("days"),
                mode,
            ).cast(pl.Int64)
        return pl.lit(cents, pl.Int64)
    assert spec.multiple_of_target is not None  # exactly one of the two, by schema
    num, den = _dec_ratio(spec.multiple_of_target)
    return round_div_expr(target.cast(pl.Int128) * num, den, mode).cast(pl.Int64)


def _ytd_amount(spec: Cap, mode: RoundingMode) -> pl.Expr:
    if spec.amount is not None:
        return pl.lit(int(spec.amount.scaleb(2)), pl.Int64)
    assert spec.multiple_of_target is not None
    num, den = _dec_ratio(spec.multiple_of_target)
    return round_div_expr(pl.col("target_ytd").cast(pl.Int128) * num, den, mode).cast(pl.Int64)


def _in_term(first: int | None, periods: Sequence[str]) -> pl.Expr:
    """Whether the row's period is in a term given as first N periods from hire, or a list."""
    if first is not None:
        return (
            pl.col("hire_seq").is_not_null()
            & (pl.col("seq") >= pl.col("hire_seq"))
            & (pl.col("seq") < pl.col("hire_seq") + first)
        )
    if periods:
        return pl.col("period").is_in(list(periods))
    return pl.lit(value=True)


class _Chunks:
    """Output rows collected as numpy array chunks, one list per column."""

    def __init__(self, names: Sequence[str]) -> None:
        self.parts: dict[str, list[npt.NDArray[Any]]] = {n: [] for n in names}

    def add(self, **columns: npt.NDArray[Any]) -> None:
        for name, values in columns.items():
            self.parts[name].append(values)

    def column(self, name: str) -> npt.NDArray[Any]:
        return np.concatenate(self.parts[name])

    def __len__(self) -> int:
        return sum(len(p) for p in next(iter(self.parts.values())))


_PAY_CHUNKS = (
    "i", "seq", "period", "plan", "line", "component", "row", "earned", "adjustments", "draw",
    "recovered", "payable", "target", "target_valid", "carried", "balance", "forgiven",
)  # fmt: skip
_ADJ_CHUNKS = ("i", "seq", "period", "plan", "component", "type", "amount")


class _PlanRows:
    """A plan's segment rows in the periods paid, sorted by period and participant, as arrays.

    Columns: ``_i`` (participant index), ``_row`` (row of ``segments``), ``seq``, ``target``
    and every amount the plan's mechanics need (:func:`_amount_exprs`); each with a validity
    mask (False where null).
    """

    def __init__(self, frame: pl.DataFrame) -> None:
        self.values: dict[str, IntArray] = {}
        self.valid: dict[str, BoolArray] = {}
        for name in frame.columns:
            col = frame[name]
            if col.dtype == pl.Boolean:
                self.values[name] = col.fill_null(value=False).to_numpy()
            elif col.dtype.is_integer():
                self.values[name] = col.fill_null(0).cast(pl.Int64).to_numpy()
            else:
                continue
            self.valid[name] = col.is_not_null().to_numpy()
        self.seq = self.values["seq"]

    def bounds(self, seq: int) -> slice:
        """The rows of calendar period ``seq``."""
        lo, hi = np.searchsorted(self.seq, [seq, seq + 1])
        return slice(int(lo), int(hi))

    def get(self, name: str, rows: slice) -> tuple[IntArray | None, BoolArray | None]:
        """Values and validity of column ``name`` (None, None when the plan has none)."""
        if name not in self.values:
            return None, None
        return self.values[name][rows], self.valid[name][rows]


def _amount_exprs(plan: Plan, calendar: pl.DataFrame, mode: RoundingMode) -> dict[str, pl.Expr]:
    """The amounts of a plan's mechanics that do not depend on the carry state, per segment."""
    target = pl.col("target")
    caps, draw_pro = plan.proration.caps, plan.proration.draw
    out: dict[str, pl.Expr] = {}

    def cap_amount(spec: Cap) -> pl.Expr:
        if spec.window == "period":
            return _amount(spec, target, prorate=caps, mode=mode)
        return _ytd_amount(spec, mode)

    for j, comp in enumerate(plan.components):
        if comp.cap is not None:
            out[f"cap{j}"] = cap_amount(comp.cap)
        if comp.floor is not None:
            out[f"floor{j}"] = _amount(comp.floor, target, prorate=caps, mode=mode)
    for k, plan_cap in enumerate(plan.caps):
        out[f"plan_cap{k}"] = cap_amount(plan_cap)
    for k, plan_floor in enumerate(plan.floors):
        out[f"plan_floor{k}"] = _amount(plan_floor, target, prorate=caps, mode=mode)
    g = plan.guarantee
    if g is not None:
        out["guarantee"] = pl.when(_in_term(g.first_periods, g.periods)).then(
            _amount(g, target, prorate=draw_pro, mode=mode)
        )
    d = plan.draw
    if d is not None:
        in_term = _in_term(d.first_periods, d.periods)
        amount = _amount(d, target, prorate=draw_pro, mode=mode)
        out["draw"] = pl.when(in_term).then(amount).otherwise(0).cast(pl.Int64)
        out["forgive"] = pl.lit(d.at_term_end == "forgive") & ~in_term
        out["may_recover"] = (
            pl.col("seq") >= pl.lit(_seq(calendar, d.recovery_starts))
            if d.recovery_starts is not None
            else pl.lit(value=True)
        )
        out["above_draw"] = pl.lit(d.recover_from == "above_draw") & in_term
    return out


def _plan_rows(
    segments: pl.DataFrame, plan: Plan, paid: Sequence[str], cal: pl.DataFrame, mode: RoundingMode
) -> _PlanRows:
    """The plan's rows in the periods paid, with the period and year-to-date targets."""
    target = pl.col("target_incentive_cents").fill_null(0)
    if plan.proration.target_incentive:
        target = round_div_expr(
            target.cast(pl.Int128) * pl.col("plan_days"), pl.col("days"), mode
        ).cast(pl.Int64)
    ytd = pl.col("target").fill_null(0).cum_sum().over("_i", "year")
    frame = (
        segments.filter(pl.col("plan_id") == plan.id)
        .with_columns(target.alias("target"))
        .sort("_i", "seq")
        .with_columns(ytd.alias("target_ytd"))
        .filter(pl.col("period").is_in(list(paid)))
        .sort("seq", "_i")
    )
    amounts = _amount_exprs(plan, cal, mode)
    return _PlanRows(frame.select("_i", "_row", "seq", "target", **amounts))


def _by_key(frame: pl.DataFrame, keys: list[str], value: str) -> _Table:
    """``(participant index, value)`` arrays per key of ``frame`` (null values as 0)."""
    return {
        tuple(str(k) for k in key): (
            part["_i"].to_numpy(),
            part[value].fill_null(0).to_numpy(),
        )
        for key, part in frame.select(*keys, "_i", value)
        .partition_by(keys, as_dict=True, include_key=False)
        .items()
    }


class _Fold:
    """The fold's working set: indexed inputs, state arrays and the output collected so far."""

    def __init__(self, inputs: PayInputs, state: pl.DataFrame) -> None:
        self.inputs = inputs
        cal = inputs.calendar
        self.seq_of = dict(zip(cal["period"], cal["seq"], strict=True))
        self.years = Codes(cal["year"].to_list())
        self.periods = Codes(cal["period"].to_list())
        self.plan_codes = Codes()
        self.components = Codes()
        self.types = Codes()
        ids = (
            pl.concat([inputs.segments["participant_id"], state["participant_id"]])
            .drop_nulls()
            .unique()
            .sort()
        )
        self.size = len(ids)
        index = pl.DataFrame({"participant_id": ids, "_i": np.arange(self.size, dtype=np.int64)})
        self.state = StateArrays.from_frame(state, ids, self.years, self.periods)
        self.segments = inputs.segments.with_row_index("_row").join(
            index, on="participant_id", how="left"
        )
        paid = list(inputs.periods)
        plans = list(inputs.plans)
        year_of = dict(zip(cal["period"], cal["year"], strict=True))
        rated = inputs.rated.select(
            "participant_id", "period", "plan_id", "component", "rated_cents", "seq", "year"
        ).join(index, on="participant_id", how="inner")
        self.rated_by_plan = rated.filter(pl.col("plan_id").is_in(plans))
        now = self.rated_by_plan.filter(
            pl.col("period").is_in(paid)
            & (pl.col("year") == pl.col("period").replace_strict(year_of, default=None))
        )
        self.rated = _by_key(now, ["plan_id", "period", "component"], "rated_cents")
        claws = (
            inputs.clawbacks.select(
                "participant_id", "period", "plan_id", "component", "clawback_cents"
            )
            .join(index, on="participant_id", how="inner")
            .filter(pl.col("period").is_in(paid))
        )
        self.claws = _by_key(claws, ["plan_id", "period", "component"], "clawback_cents")
        self.plan_rows: dict[str, _PlanRows] = {}
        self.pay = _Chunks(_PAY_CHUNKS)
        self.adj = _Chunks(_ADJ_CHUNKS)
        self.ids = ids

    def rows_of(self, plan: Plan) -> _PlanRows:
        found = self.plan_rows.get(plan.id)
        if found is None:
            inputs = self.inputs
            found = self.plan_rows[plan.id] = _plan_rows(
                self.segments, plan, inputs.periods, inputs.calendar, inputs.mode
            )
        return found

    def lookup(self, table: _Table, key: tuple[str, ...], rows: IntArray) -> IntArray:
        """The values of ``table[key]`` for participants ``rows`` (0 where none)."""
        found = table.get(key)
        if found is None:
            return np.zeros(len(rows), dtype=np.int64)
        dense = np.zeros(self.size, dtype=np.int64)
        dense[found[0]] = found[1]
        return dense[rows]


def fold(inputs: PayInputs, state: pl.DataFrame) -> FoldResult:
    """Run the pay mechanics over ``inputs.periods``, starting from ``state``.

    Every input is indexed once (participants numbered in sorted order, rated amounts and
    clawbacks split by plan, period and component, a plan's segment amounts computed for all
    periods at once); the state is held as arrays per key and updated in place, period by period
    and plan by plan (plans in id order); the output is assembled and sorted once at the end.

    Returns:
        Payout lines and adjustment detail sorted by participant, period (calendar order),
        plan and component; and the state after the last period (sorted by its key; the state
        given, untouched, when nothing is paid).
    """
    cal = inputs.calendar
    year_of = dict(zip(cal["period"], cal["year"], strict=True))
    on_plans = dict(inputs.segments.group_by("period").agg(pl.col("plan_id").unique()).iter_rows())
    steps = [
        (period, inputs.plans[plan_id])
        for period in inputs.periods
        for plan_id in sorted(on_plans.get(period, []))
        if plan_id in inputs.plans
    ]
    if not steps:
        return FoldResult(
            pl.DataFrame(schema=PAYOUT_SCHEMA), pl.DataFrame(schema=ADJUSTMENT_SCHEMA), state
        )
    work = _Fold(inputs, state)
    for period, plan in steps:
        _pay_plan(work, plan, period=period, year=year_of[period])
    return FoldResult(
        _payouts(work), _adjustments(work), work.state.to_frame(work.years, work.periods)
    )


def _ranks(codes: Codes) -> IntArray:
    """The sort rank of every code's string (byte order, as Polars sorts strings)."""
    order = sorted(range(len(codes.strings)), key=codes.strings.__getitem__)
    ranks = np.empty(len(order), dtype=np.int64)
    ranks[order] = np.arange(len(order))
    return ranks


def _payouts(work: _Fold) -> pl.DataFrame:
    c = work.pay.column
    line = c("line")
    order = np.lexsort(
        (
            _ranks(work.components)[c("component")],
            line,  # "component" < "plan" < "spif"
            _ranks(work.plan_codes)[c("plan")],
            c("seq"),
            c("i"),
        )
    )
    is_plan = line[order] == _PLAN
    take = {name: c(name)[order] for name in _PAY_CHUNKS}
    lines = Codes(_LINES)
    frame = pl.DataFrame(
        {
            "participant_id": work.ids.gather(take["i"]),
            "period": work.periods.decode(take["period"]),
            "plan_id": work.plan_codes.decode(take["plan"]),
            "component": work.components.decode(take["component"]),
            "line": lines.decode(take["line"]),
            "earned_cents": take["earned"],
            "adjustments_cents": take["adjustments"],
            "draw_cents": take["draw"],
            "recovered_cents": take["recovered"],
            "payable_cents": take["payable"],
            "currency": work.inputs.segments["pay_currency"].gather(take["row"]),
            "target_incentive_cents": nullable(take["target"], take["target_valid"] & is_plan),
            "carried_forward_cents": take["carried"],
            "draw_balance_cents": nullable(take["balance"], is_plan),
            "draw_forgiven_cents": nullable(take["forgiven"], is_plan),
        }
    )
    return frame.cast(PAYOUT_SCHEMA)  # type: ignore[arg-type]


def _adjustments(work: _Fold) -> pl.DataFrame:
    if not len(work.adj):
        return pl.DataFrame(schema=ADJUSTMENT_SCHEMA)
    c = work.adj.column
    order = np.lexsort(
        (
            _ranks(work.types)[c("type")],
            _ranks(work.components)[c("component")],
            _ranks(work.plan_codes)[c("plan")],
            c("seq"),
            c("i"),
        )
    )
    take = {name: c(name)[order] for name in _ADJ_CHUNKS}
    frame = pl.DataFrame(
        {
            "participant_id": work.ids.gather(take["i"]),
            "period": work.periods.decode(take["period"]),
            "plan_id": work.plan_codes.decode(take["plan"]),
            "component": work.components.decode(take["component"]),
            "type": work.types.decode(take["type"]),
            "amount_cents": take["amount"],
        }
    )
    return frame.cast(ADJUSTMENT_SCHEMA)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _Step:
    """One plan in one period: the participants on it and where their output rows go."""

    work: _Fold
    plan: Plan
    period: str
    seq: int
    year: int
    rows: IntArray
    span: slice
    plan_rows: _PlanRows

    def add_line(self, line: int, component: str, **columns: npt.NDArray[Any]) -> None:
        """Payout lines of this step (missing money columns are 0)."""
        n = len(self.rows)
        zero = np.zeros(n, dtype=np.int64)
        full = {name: columns.get(name, zero) for name in _PAY_CHUNKS[7:]}
        if full["target_valid"] is zero:
            full["target_valid"] = np.zeros(n, dtype=np.bool_)
        self.work.pay.add(
            i=self.rows,
            seq=np.full(n, self.seq, dtype=np.int64),
            period=np.full(n, self.work.periods.code(self.period), dtype=np.int64),
            plan=np.full(n, self.work.plan_codes.code(self.plan.id), dtype=np.int64),
            line=np.full(n, line, dtype=np.int64),
            component=np.full(n, self.work.components.code(component), dtype=np.int64),
            row=self.plan_rows.values["_row"][self.span],
            **full,
        )

    def add_adjustments(self, component: str, kinds: Sequence[tuple[str, IntArray]]) -> None:
        """Adjustment rows: one per participant and kind, where non-zero (``name:k`` summed)."""
        summed: dict[str, tuple[IntArray, BoolArray]] = {}
        for name, amount in kinds:
            base = name.split(":")[0]
            nonzero = amount != 0
            kept = np.where(nonzero, amount, 0)
            if base in summed:
                total, any_ = summed[base]
                summed[base] = (total + kept, any_ | nonzero)
            else:
                summed[base] = (kept, nonzero)
        work = self.work
        for base, (total, any_) in summed.items():
            at = np.flatnonzero(any_)
            if not len(at):
                continue
            n = len(at)
            work.adj.add(
                i=self.rows[at],
                seq=np.full(n, self.seq, dtype=np.int64),
                period=np.full(n, work.periods.code(self.period), dtype=np.int64),
                plan=np.full(n, work.plan_codes.code(self.plan.id), dtype=np.int64),
                component=np.full(n, work.components.code(component), dtype=np.int64),
                type=np.full(n, work.types.code(base), dtype=np.int64),
                amount=total[at],
            )

    def write(
        self,
        plan_id: str,
        component: str,
        balance_valid: BoolArray | None = None,
        **values: IntArray,
    ) -> None:
        """Set the state rows of this step's participants under ``(plan_id, component)``."""
        self.work.state.block(plan_id, component).write(
            self.rows,
            year=self.year,
            through=self.work.periods.code(self.period),
            values=values,
            balance_valid=balance_valid,
        )


def _pay_plan(work: _Fold, plan: Plan, *, period: str, year: str) -> None:
    plan_rows = work.rows_of(plan)
    seq = int(work.seq_of[period])
    span = plan_rows.bounds(seq)
    step = _Step(
        work,
        plan,
        period,
        seq,
        work.years.code(year),
        plan_rows.values["_i"][span],
        span,
        plan_rows,
    )
    totals = np.zeros(len(step.rows), dtype=np.int64)
    prior = _prior(work, plan, year, seq) if plan.true_up is not None else {}
    for j, comp in enumerate(plan.components):
        totals += _pay_component(step, j, comp, prior)
    for spif in plan.spifs:
        totals += _pay_spif(step, spif.name)
    _pay_plan_line(step, totals)


def _prior(work: _Fold, plan: Plan, year: str, seq: int) -> _Table:
    """Rated amounts of the earlier periods of the year, per component (a true-up's base)."""
    earlier = (
        work.rated_by_plan.filter(
            (pl.col("plan_id") == plan.id) & (pl.col("year") == year) & (pl.col("seq") < seq)
        )
        .group_by("_i", "component")
        .agg(pl.col("rated_cents").sum())
    )
    return _by_key(earlier, ["component"], "rated_cents")


def _pay_component(step: _Step, j: int, comp: Component, prior: _Table) -> IntArray:
    """A component's payout line, adjustments and state; returns its payable."""
    work, plan, rows = step.work, step.plan, step.rows
    key = (plan.id, step.period, comp.name)
    rated = work.lookup(work.rated, key, rows)
    claw = work.lookup(work.claws, key, rows)
    block = work.state.block(plan.id, comp.name)
    present = block.present[rows]
    st = block.read(rows, step.year)
    recognized = st["recognized_ytd_cents"]
    zero = np.zeros(len(rows), dtype=np.int64)
    if comp.true_up:
        earned, prior_adj = rated - recognized, zero
    elif plan.true_up is not None:
        earned = rated
        prior_adj = work.lookup(prior, (comp.name,), rows) - recognized
    else:
        earned, prior_adj = rated, zero
    base = earned + prior_adj
    carry = st["carry_cents"]
    room, room_valid = step.plan_rows.get(f"cap{j}", step.span)
    if comp.cap is not None and comp.cap.window != "period" and room is not None:
        room = room - st["capped_ytd_cents"]
    capped = cap(
        base,
        carry,
        room,
        room_valid,
        carry_forward=comp.cap is not None and comp.cap.excess == "carry_forward",
    )
    minimum, minimum_valid = step.plan_rows.get(f"floor{j}", step.span)
    floored = floor(capped.capped, minimum, minimum_valid)
    payable = floored.floored + claw
    excess = base + carry - capped.capped
    step.add_line(
        _COMPONENT,
        comp.name,
        earned=earned,
        adjustments=payable - earned,
        payable=payable,
        carried=capped.carry_out,
    )
    step.add_adjustments(
        comp.name,
        [
            ("prior_period", prior_adj),
            ("cap_carry_in", carry),
            ("cap_excess", -excess),
            ("floor", floored.top_up),
            ("clawback", claw),
        ],
    )
    step.write(
        plan.id,
        comp.name,
        balance_valid=present,
        carry_cents=capped.carry_out,
        capped_ytd_cents=st["capped_ytd_cents"] + capped.capped,
        recognized_ytd_cents=recognized + base,
        paid_ytd_cents=st["paid_ytd_cents"] + payable,
        draw_balance_cents=st["draw_balance_cents"],
    )
    return payable


def _pay_spif(step: _Step, name: str) -> IntArray:
    """A SPIF's payout line and state; returns its payable."""
    work, rows = step.work, step.rows
    rated = work.lookup(work.rated, (step.plan.id, step.period, name), rows)
    block = work.state.block(step.plan.id, name)
    present = block.present[rows]
    st = block.read(rows, step.year)
    step.add_line(_SPIF, name, earned=rated, payable=rated)
    zero = np.zeros(len(rows), dtype=np.int64)
    step.write(
        step.plan.id,
        name,
        balance_valid=present,
        carry_cents=zero,
        capped_ytd_cents=zero,
        recognized_ytd_cents=st["recognized_ytd_cents"] + rated,
        paid_ytd_cents=st["paid_ytd_cents"] + rated,
        draw_balance_cents=st["draw_balance_cents"],
    )
    return rated


def _plan_cap_state(step: _Step, key: str) -> dict[str, IntArray]:
    """The plan cap's state as the fold reads it.

    The row of the participant's ``key`` under this plan; when there is none and exactly one
    other plan has a row under ``key`` for the participant, that row (as the fold always did).
    """
    rows, work = step.rows, step.work
    own = work.state.block(step.plan.id, key)
    others = [b for (p, c), b in work.state.blocks.items() if c == key and p != step.plan.id]
    st = own.read(rows, step.year)
    if not others:
        return st
    own_present = own.present[rows]
    count = own_present.astype(np.int64)
    for other in others:
        count += other.present[rows]
    for other in others:
        use = other.present[rows] & ~own_present & (count == 1)
        if use.any():
            theirs = other.read(rows, step.year)
            st = {c: np.where(use, theirs[c], st[c]) for c in st}
    return st


def _pay_plan_line(step: _Step, totals: IntArray) -> None:
    """Plan caps, plan floors, guarantee and draw: the ``(plan)`` line, adjustments, state."""
    plan, rows, work = step.plan, step.rows, step.work
    zero = np.zeros(len(rows), dtype=np.int64)
    total = totals
    kinds: list[tuple[str, IntArray]] = []
    carried = zero
    for k, plan_cap in enumerate(plan.caps):
        key = plan_cap_key(k + 1)
        st = _plan_cap_state(step, key)
        room, room_valid = step.plan_rows.get(f"plan_cap{k}", step.span)
        if plan_cap.window != "period" and room is not None:
            room = room - st["capped_ytd_cents"]
        capped = cap(
            total,
            st["carry_cents"],
            room,
            room_valid,
            carry_forward=plan_cap.excess == "carry_forward",
        )
        excess = total + st["carry_cents"] - capped.capped
        kinds += [
            (f"plan_cap_carry_in:{k + 1}", st["carry_cents"]),
            (f"plan_cap_excess:{k + 1}", -excess),
        ]
        total = capped.capped
        carried = carried + capped.carry_out
        step.write(
            plan.id,
            key,
            carry_cents=capped.carry_out,
            capped_ytd_cents=st["capped_ytd_cents"] + capped.capped,
            recognized_ytd_cents=zero,
            paid_ytd_cents=zero,
            draw_balance_cents=zero,
        )
    for k in range(len(plan.floors)):
        minimum, valid = step.plan_rows.get(f"plan_floor{k}", step.span)
        floored = floor(total, minimum, valid)
        kinds.append((f"plan_floor:{k + 1}", floored.top_up))
        total = floored.floored
    if plan.guarantee is not None:
        minimum, valid = step.plan_rows.get("guarantee", step.span)
        floored = floor(total, minimum, valid)
        kinds.append(("guarantee", floored.top_up))
        total = floored.floored
    plan_adjust = total - totals
    st = work.state.block("", DRAW_KEY).read(rows, step.year)
    balance_in = st["draw_balance_cents"]
    d = plan.draw
    if d is None:
        draw_paid, recovered, balance_out, forgiven = zero, zero, balance_in, zero
    else:
        get = step.plan_rows.values
        forgiven = np.where(get["forgive"][step.span], balance_in, 0)
        drawn = draw(
            total,
            get["draw"][step.span],
            balance_in - forgiven,
            limit=None if d.recovery_limit is None else int(d.recovery_limit.scaleb(2)),
            may_recover=get["may_recover"][step.span].astype(np.bool_),
            above_draw=get["above_draw"][step.span].astype(np.bool_),
            recoverable=d.recoverable,
        )
        draw_paid, recovered, balance_out = drawn
    target = step.plan_rows.values["target"][step.span]
    target_valid = step.plan_rows.valid["target"][step.span]
    step.add_line(
        _PLAN,
        PLAN_LINE,
        adjustments=plan_adjust,
        draw=draw_paid,
        recovered=recovered,
        payable=plan_adjust + draw_paid - recovered,
        target=target,
        target_valid=target_valid,
        carried=carried,
        balance=balance_out,
        forgiven=forgiven,
    )
    step.add_adjustments(PLAN_LINE, kinds)
    step.write(
        "",
        DRAW_KEY,
        carry_cents=zero,
        capped_ytd_cents=zero,
        recognized_ytd_cents=zero,
        paid_ytd_cents=st["paid_ytd_cents"] + total + draw_paid - recovered,
        draw_balance_cents=balance_out,
    )


def _seq(calendar: pl.DataFrame, period: str) -> int:
    found = calendar.filter(pl.col("period") == period)["seq"]
    return int(found[0]) if found.len() else 0
