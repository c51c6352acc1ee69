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
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from engine.calc.exact import round_div_expr
from engine.calc.mechanics.caps import cap_exprs, floor_exprs
from engine.calc.mechanics.draws import draw_exprs
from engine.calc.state import DRAW_KEY, STATE_KEYS, STATE_SCHEMA, plan_cap_key
from engine.money import RoundingMode
from engine.rules.plan_schema import Cap, Draw, Floor, Guarantee, Plan

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

_KEYS = ["participant_id", "plan_id", "component"]


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


def _state_cols(state: pl.DataFrame, year: str) -> pl.DataFrame:
    """State with year-to-date columns zeroed when they belong to another year."""
    same = pl.col("year") == year
    return state.select(
        *_KEYS,
        pl.col("carry_cents").fill_null(0),
        pl.col("draw_balance_cents").fill_null(0),
        *[
            pl.when(same).then(pl.col(c)).otherwise(0).fill_null(0).alias(c)
            for c in ("capped_ytd_cents", "recognized_ytd_cents", "paid_ytd_cents")
        ],
    )


def _upsert(state: pl.DataFrame, rows: pl.DataFrame) -> pl.DataFrame:
    rows = rows.select(list(STATE_SCHEMA)).cast(STATE_SCHEMA)  # type: ignore[arg-type]
    kept = state.join(rows.select(_KEYS), on=_KEYS, how="anti")
    return pl.concat([kept, rows]).sort(list(STATE_KEYS))


def fold(inputs: PayInputs, state: pl.DataFrame) -> FoldResult:
    """Run the pay mechanics over ``inputs.periods``, starting from ``state``.

    Returns:
        Payout lines and adjustment detail sorted by participant, period (calendar order),
        plan and component; and the state after the last period.
    """
    cal = inputs.calendar
    seq_of = dict(zip(cal["period"], cal["seq"], strict=True))
    year_of = dict(zip(cal["period"], cal["year"], strict=True))
    segments = inputs.segments.with_columns(
        pl.col("target_incentive_cents").fill_null(0).alias("_target_full")
    )
    payouts: list[pl.DataFrame] = []
    adjustments: list[pl.DataFrame] = []
    for period in inputs.periods:
        year = year_of[period]
        for plan_id in sorted(
            segments.filter(pl.col("period") == period)["plan_id"].unique().to_list()
        ):
            plan = inputs.plans.get(plan_id)
            if plan is None:
                continue
            rows = _plan_rows(
                segments, plan, period=period, year=year, seq=seq_of[period], mode=inputs.mode
            )
            pay, adj, state = _pay_plan(
                inputs, plan, rows=rows, period=period, year=year, state=state
            )
            payouts.append(pay)
            adjustments.append(adj)
    pay_frame = (
        pl.concat(payouts).cast(PAYOUT_SCHEMA)  # type: ignore[arg-type]
        if payouts
        else pl.DataFrame(schema=PAYOUT_SCHEMA)
    )
    adj_frame = (
        pl.concat(adjustments).cast(ADJUSTMENT_SCHEMA)  # type: ignore[arg-type]
        if adjustments
        else pl.DataFrame(schema=ADJUSTMENT_SCHEMA)
    )
    order = cal.select("period", "seq")
    pay_frame = (
        pay_frame.join(order, on="period", how="left")
        .sort("participant_id", "seq", "plan_id", "line", "component")
        .drop("seq")
    )
    adj_frame = (
        adj_frame.join(order, on="period", how="left")
        .sort("participant_id", "seq", "plan_id", "component", "type")
        .drop("seq")
    )
    return FoldResult(pay_frame, adj_frame, state)


def _plan_rows(
    segments: pl.DataFrame, plan: Plan, *, period: str, year: str, seq: int, mode: RoundingMode
) -> pl.DataFrame:
    """One row per participant on ``plan`` in ``period``, with the period and YTD targets."""
    target = pl.col("_target_full")
    if plan.proration.target_incentive:
        target = round_div_expr(
            target.cast(pl.Int128) * pl.col("plan_days"), pl.col("days"), mode
        ).cast(pl.Int64)
    on_plan = segments.filter(pl.col("plan_id") == plan.id).with_columns(target.alias("target"))
    ytd = (
        on_plan.filter((pl.col("year") == year) & (pl.col("seq") <= seq))
        .group_by("participant_id")
        .agg(pl.col("target").sum().alias("target_ytd"))
    )
    return (
        on_plan.filter(pl.col("period") == period)
        .join(ytd, on="participant_id", how="left")
        .sort("participant_id")
    )


def _pay_plan(
    inputs: PayInputs,
    plan: Plan,
    *,
    rows: pl.DataFrame,
    period: str,
    year: str,
    state: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    mode = inputs.mode
    st = _state_cols(state, year)
    people = rows.select(
        "participant_id",
        "period",
        "seq",
        "year",
        "plan_days",
        "days",
        "hire_seq",
        "target",
        "target_ytd",
        pl.col("pay_currency").alias("currency"),
    )
    rated = inputs.rated.filter((pl.col("plan_id") == plan.id) & (pl.col("year") == year))
    now = rated.filter(pl.col("period") == period)
    seq = rows["seq"][0] if rows.height else 0
    prior = (
        rated.filter(pl.col("seq") < seq)
        .group_by("participant_id", "component")
        .agg(pl.col("rated_cents").sum().alias("prior_now"))
    )
    claws = inputs.clawbacks.filter(
        (pl.col("plan_id") == plan.id) & (pl.col("period") == period)
    ).select("participant_id", "component", "clawback_cents")

    comp_frames: list[pl.DataFrame] = []
    adj_frames: list[pl.DataFrame] = []
    state_rows: list[pl.DataFrame] = []
    for comp in plan.components:
        c = (
            people.with_columns(
                pl.lit(plan.id).alias("plan_id"), pl.lit(comp.name).alias("component")
            )
            .join(
                now.select("participant_id", "component", "rated_cents"),
                on=["participant_id", "component"],
                how="left",
            )
            .join(prior, on=["participant_id", "component"], how="left")
            .join(claws, on=["participant_id", "component"], how="left")
            .join(st, on=_KEYS, how="left")
            .with_columns(
                pl.col(x).fill_null(0)
                for x in (
                    "rated_cents",
                    "prior_now",
                    "clawback_cents",
                    "carry_cents",
                    "capped_ytd_cents",
                    "recognized_ytd_cents",
                    "paid_ytd_cents",
                )
            )
        )
        if comp.true_up:
            earned = pl.col("rated_cents") - pl.col("recognized_ytd_cents")
            prior_adj = pl.lit(0, pl.Int64)
        else:
            earned = pl.col("rated_cents")
            prior_adj = (
                pl.col("prior_now") - pl.col("recognized_ytd_cents")
                if plan.true_up is not None
                else pl.lit(0, pl.Int64)
            )
        c = c.with_columns(earned.alias("earned"), prior_adj.alias("prior_adj"))
        c = c.with_columns((pl.col("earned") + pl.col("prior_adj")).alias("base"))
        cap = comp.cap
        if cap is None:
            room: pl.Expr = pl.lit(None, pl.Int64)
            carry_forward = False
        elif cap.window == "period":
            room = _amount(cap, pl.col("target"), prorate=plan.proration.caps, mode=mode)
            carry_forward = cap.excess == "carry_forward"
        else:
            room = _ytd_amount(cap, mode) - pl.col("capped_ytd_cents")
            carry_forward = cap.excess == "carry_forward"
        c = c.with_columns(room.alias("room"))
        c = c.with_columns(**cap_exprs("base", "carry_cents", "room", carry_forward=carry_forward))
        floor = (
            _amount(comp.floor, pl.col("target"), prorate=plan.proration.caps, mode=mode)
            if comp.floor is not None
            else pl.lit(None, pl.Int64)
        )
        c = c.with_columns(floor.alias("floor_min"))
        c = c.with_columns(**floor_exprs("capped", "floor_min"))
        c = c.with_columns((pl.col("floored") + pl.col("clawback_cents")).alias("payable"))
        excess = pl.col("base") + pl.col("carry_cents") - pl.col("capped")
        c = c.with_columns(excess.alias("excess"))
        comp_frames.append(
            c.select(
                "participant_id",
                "period",
                "plan_id",
                "component",
                pl.lit("component").alias("line"),
                pl.col("earned").alias("earned_cents"),
                (pl.col("payable") - pl.col("earned")).alias("adjustments_cents"),
                pl.lit(0, pl.Int64).alias("draw_cents"),
                pl.lit(0, pl.Int64).alias("recovered_cents"),
                pl.col("payable").alias("payable_cents"),
                "currency",
                pl.lit(None, pl.Int64).alias("target_incentive_cents"),
                pl.col("carry_out").alias("carried_forward_cents"),
                pl.lit(None, pl.Int64).alias("draw_balance_cents"),
                pl.lit(None, pl.Int64).alias("draw_forgiven_cents"),
            )
        )
        adj_frames.append(
            _adjustment_rows(
                c,
                [
                    ("prior_period", pl.col("prior_adj")),
                    ("cap_carry_in", pl.col("carry_cents")),
                    ("cap_excess", pl.col("excess") * -1),
                    ("floor", pl.col("floor_adjustment")),
                    ("clawback", pl.col("clawback_cents")),
                ],
            )
        )
        state_rows.append(
            c.select(
                *_KEYS,
                pl.lit(year).alias("year"),
                pl.lit(period).alias("through_period"),
                pl.col("carry_out").alias("carry_cents"),
                (pl.col("capped_ytd_cents") + pl.col("capped")).alias("capped_ytd_cents"),
                (pl.col("recognized_ytd_cents") + pl.col("base")).alias("recognized_ytd_cents"),
                (pl.col("paid_ytd_cents") + pl.col("payable")).alias("paid_ytd_cents"),
                pl.col("draw_balance_cents"),
            )
        )
    for spif in plan.spifs:
        s = (
            people.with_columns(
                pl.lit(plan.id).alias("plan_id"), pl.lit(spif.name).alias("component")
            )
            .join(
                now.select("participant_id", "component", "rated_cents"),
                on=["participant_id", "component"],
                how="left",
            )
            .with_columns(pl.col("rated_cents").fill_null(0))
            .join(st, on=_KEYS, how="left")
        )
        comp_frames.append(
            s.select(
                "participant_id",
                "period",
                "plan_id",
                "component",
                pl.lit("spif").alias("line"),
                pl.col("rated_cents").alias("earned_cents"),
                pl.lit(0, pl.Int64).alias("adjustments_cents"),
                pl.lit(0, pl.Int64).alias("draw_cents"),
                pl.lit(0, pl.Int64).alias("recovered_cents"),
                pl.col("rated_cents").alias("payable_cents"),
                "currency",
                pl.lit(None, pl.Int64).alias("target_incentive_cents"),
                pl.lit(0, pl.Int64).alias("carried_forward_cents"),
                pl.lit(None, pl.Int64).alias("draw_balance_cents"),
                pl.lit(None, pl.Int64).alias("draw_forgiven_cents"),
            )
        )
        state_rows.append(
            s.select(
                *_KEYS,
                pl.lit(year).alias("year"),
                pl.lit(period).alias("through_period"),
                pl.lit(0, pl.Int64).alias("carry_cents"),
                pl.lit(0, pl.Int64).alias("capped_ytd_cents"),
                (pl.col("recognized_ytd_cents").fill_null(0) + pl.col("rated_cents")).alias(
                    "recognized_ytd_cents"
                ),
                (pl.col("paid_ytd_cents").fill_null(0) + pl.col("rated_cents")).alias(
                    "paid_ytd_cents"
                ),
                pl.col("draw_balance_cents"),
            )
        )
    lines = pl.concat(comp_frames) if comp_frames else pl.DataFrame(schema=PAYOUT_SCHEMA)
    totals = lines.group_by("participant_id").agg(pl.col("payable_cents").sum().alias("t0"))
    p = people.join(totals, on="participant_id", how="left").with_columns(
        pl.col("t0").fill_null(0).alias("total"), pl.lit(plan.id).alias("plan_id")
    )
    plan_adj: dict[str, pl.Expr] = {}
    for k, cap in enumerate(plan.caps, start=1):
        key = plan_cap_key(k)
        cs = st.filter(pl.col("component") == key).select(
            "participant_id",
            pl.col("carry_cents").alias(f"c{k}_carry"),
            pl.col("capped_ytd_cents").alias(f"c{k}_ytd"),
            pl.col("recognized_ytd_cents").alias(f"c{k}_rec"),
            pl.col("paid_ytd_cents").alias(f"c{k}_paid"),
        )
        p = p.join(cs, on="participant_id", how="left").with_columns(
            pl.col(f"c{k}_carry").fill_null(0),
            pl.col(f"c{k}_ytd").fill_null(0),
            pl.col(f"c{k}_rec").fill_null(0),
            pl.col(f"c{k}_paid").fill_null(0),
        )
        if cap.window == "period":
            room = _amount(cap, pl.col("target"), prorate=plan.proration.caps, mode=mode)
        else:
            room = _ytd_amount(cap, mode) - pl.col(f"c{k}_ytd")
        p = p.with_columns(room.alias("_room"), pl.col("total").alias("_before"))
        p = p.with_columns(
            **cap_exprs(
                "_before", f"c{k}_carry", "_room", carry_forward=cap.excess == "carry_forward"
            )
        ).with_columns(
            pl.col("capped").alias("total"),
            pl.col("carry_out").alias(f"c{k}_out"),
            (pl.col("_before") + pl.col(f"c{k}_carry") - pl.col("capped")).alias(f"c{k}_excess"),
            (pl.col(f"c{k}_ytd") + pl.col("capped")).alias(f"c{k}_ytd_out"),
        )
        plan_adj[f"plan_cap_carry_in:{k}"] = pl.col(f"c{k}_carry")
        plan_adj[f"plan_cap_excess:{k}"] = pl.col(f"c{k}_excess") * -1
        state_rows.append(
            p.select(
                "participant_id",
                pl.lit(plan.id).alias("plan_id"),
                pl.lit(key).alias("component"),
                pl.lit(year).alias("year"),
                pl.lit(period).alias("through_period"),
                pl.col(f"c{k}_out").alias("carry_cents"),
                pl.col(f"c{k}_ytd_out").alias("capped_ytd_cents"),
                pl.lit(0, pl.Int64).alias("recognized_ytd_cents"),
                pl.lit(0, pl.Int64).alias("paid_ytd_cents"),
                pl.lit(0, pl.Int64).alias("draw_balance_cents"),
            )
        )
    for k, fl in enumerate(plan.floors, start=1):
        p = p.with_columns(
            _amount(fl, pl.col("target"), prorate=plan.proration.caps, mode=mode).alias("_min")
        ).with_columns(**floor_exprs("total", "_min"))
        p = p.with_columns(
            pl.col("floored").alias("total"), pl.col("floor_adjustment").alias(f"f{k}_top")
        )
        plan_adj[f"plan_floor:{k}"] = pl.col(f"f{k}_top")
    if plan.guarantee is not None:
        g = plan.guarantee
        minimum = pl.when(_in_term(g.first_periods, g.periods)).then(
            _amount(g, pl.col("target"), prorate=plan.proration.draw, mode=mode)
        )
        p = p.with_columns(minimum.alias("_min")).with_columns(**floor_exprs("total", "_min"))
        p = p.with_columns(
            pl.col("floored").alias("total"), pl.col("floor_adjustment").alias("g_top")
        )
        plan_adj["guarantee"] = pl.col("g_top")
    p = p.with_columns((pl.col("total") - pl.col("t0").fill_null(0)).alias("plan_adjust"))
    draw_state = st.filter(pl.col("component") == DRAW_KEY).select(
        "participant_id",
        pl.col("draw_balance_cents").alias("balance_in"),
        pl.col("paid_ytd_cents").alias("_paid_ytd"),
    )
    p = p.join(draw_state, on="participant_id", how="left").with_columns(
        pl.col("balance_in").fill_null(0), pl.col("_paid_ytd").fill_null(0)
    )
    p = _draw(p, plan, inputs, mode)
    payable = pl.col("plan_adjust") + pl.col("draw_paid") - pl.col("recovered")
    plan_line = p.select(
        "participant_id",
        "period",
        "plan_id",
        pl.lit(PLAN_LINE).alias("component"),
        pl.lit("plan").alias("line"),
        pl.lit(0, pl.Int64).alias("earned_cents"),
        pl.col("plan_adjust").alias("adjustments_cents"),
        pl.col("draw_paid").alias("draw_cents"),
        pl.col("recovered").alias("recovered_cents"),
        payable.alias("payable_cents"),
        "currency",
        pl.col("target").alias("target_incentive_cents"),
        pl.sum_horizontal(
            [pl.col(f"c{k}_out") for k in range(1, len(plan.caps) + 1)] or [pl.lit(0, pl.Int64)]
        ).alias("carried_forward_cents"),
        pl.col("balance_out").alias("draw_balance_cents"),
        pl.col("forgiven").alias("draw_forgiven_cents"),
    )
    state_rows.append(
        p.select(
            "participant_id",
            pl.lit("").alias("plan_id"),
            pl.lit(DRAW_KEY).alias("component"),
            pl.lit(year).alias("year"),
            pl.lit(period).alias("through_period"),
            pl.lit(0, pl.Int64).alias("carry_cents"),
            pl.lit(0, pl.Int64).alias("capped_ytd_cents"),
            pl.lit(0, pl.Int64).alias("recognized_ytd_cents"),
            (
                pl.col("_paid_ytd") + pl.col("total") + pl.col("draw_paid") - pl.col("recovered")
            ).alias("paid_ytd_cents"),
            pl.col("balance_out").alias("draw_balance_cents"),
        )
    )
    adj_frames.append(
        _adjustment_rows(
            p.with_columns(pl.lit(PLAN_LINE).alias("component")),
            list(plan_adj.items()),
        )
    )
    new_state = state
    for rows_ in state_rows:
        new_state = _upsert(new_state, rows_)
    payout = pl.concat([lines, plan_line.cast(PAYOUT_SCHEMA)])  # type: ignore[arg-type]
    adj = pl.concat(adj_frames) if adj_frames else pl.DataFrame(schema=ADJUSTMENT_SCHEMA)
    return payout, adj, new_state


def _draw(p: pl.DataFrame, plan: Plan, inputs: PayInputs, mode: RoundingMode) -> pl.DataFrame:
    draw = plan.draw
    if draw is None:
        return p.with_columns(
            pl.lit(0, pl.Int64).alias("draw_paid"),
            pl.lit(0, pl.Int64).alias("recovered"),
            pl.col("balance_in").alias("balance_out"),
            pl.lit(0, pl.Int64).alias("forgiven"),
        )
    in_term = _in_term(draw.first_periods, draw.periods)
    amount = _amount(draw, pl.col("target"), prorate=plan.proration.draw, mode=mode)
    starts = (
        pl.col("seq") >= pl.lit(_seq(inputs, draw.recovery_starts))
        if draw.recovery_starts is not None
        else pl.lit(value=True)
    )
    forgive = pl.lit(draw.at_term_end == "forgive") & ~in_term
    p = p.with_columns(
        pl.when(in_term).then(amount).otherwise(0).cast(pl.Int64).alias("draw"),
        pl.when(forgive).then(pl.col("balance_in")).otherwise(0).alias("forgiven"),
    ).with_columns(
        (pl.col("balance_in") - pl.col("forgiven")).alias("balance_in"),
        pl.lit(
            None if draw.recovery_limit is None else int(draw.recovery_limit.scaleb(2)), pl.Int64
        ).alias("limit"),
        starts.alias("may_recover"),
        (pl.lit(draw.recover_from == "above_draw") & in_term).alias("above_draw"),
    )
    return p.with_columns(**draw_exprs(recoverable=draw.recoverable))


def _seq(inputs: PayInputs, period: str) -> int:
    cal = inputs.calendar
    found = cal.filter(pl.col("period") == period)["seq"]
    return int(found[0]) if found.len() else 0


def _adjustment_rows(frame: pl.DataFrame, kinds: Sequence[tuple[str, pl.Expr]]) -> pl.DataFrame:
    """One row per non-zero adjustment kind (``name`` or ``name:k``, summed per name)."""
    items = list(kinds)
    parts = [
        frame.select(
            "participant_id",
            "period",
            "plan_id",
            "component",
            pl.lit(name.split(":")[0]).alias("type"),
            expr.cast(pl.Int64).alias("amount_cents"),
        )
        for name, expr in items
    ]
    if not parts:
        return pl.DataFrame(schema=ADJUSTMENT_SCHEMA)
    out = pl.concat(parts).filter(pl.col("amount_cents") != 0)
    return (
        out.group_by(
            "participant_id", "period", "plan_id", "component", "type", maintain_order=True
        )
        .agg(pl.col("amount_cents").sum())
        .cast(ADJUSTMENT_SCHEMA)  # type: ignore[arg-type]
    )
