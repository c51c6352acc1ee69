"""The pay fold as it was before it moved to arrays: the slow, obviously-correct reference.

A copy of ``engine/calc/fold.py`` (and of the Polars expressions of ``engine/calc/mechanics``
it used) as of commit b380b77, kept only for tests that compare the engine's fold with it
(``tests/calc/test_fold_reference.py``). Not part of the engine.
"""

# ruff: noqa
# mypy: ignore-errors

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import polars as pl

from engine.calc.exact import round_div_expr
from engine.calc.fold import ADJUSTMENT_SCHEMA, PAYOUT_SCHEMA, PLAN_LINE, FoldResult, PayInputs
from engine.calc.state import DRAW_KEY, STATE_KEYS, STATE_SCHEMA, plan_cap_key
from engine.money import RoundingMode
from engine.rules.plan_schema import Cap, Draw, Floor, Guarantee, Plan

_KEYS = ["participant_id", "plan_id", "component"]


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


def cap_exprs(
    earned: str, carry_in: str, room: str, *, carry_forward: bool | pl.Expr
) -> dict[str, pl.Expr]:
    """Expressions ``capped``, ``cap_adjustment`` (capped - earned) and ``carry_out``.

    Args:
        earned: column of the period's earnings before the cap.
        carry_in: column of excess carried from earlier periods (0 when none).
        room: column of the most that may be recognised now; null = no cap.
        carry_forward: keep the excess for later periods (True) or lose it (False); a Boolean
            expression chooses per row.

    Example:
        >>> df = pl.DataFrame({"e": [300], "c": [0], "r": [None]}, schema_overrides={"r": pl.Int64})
        >>> df.select(**cap_exprs("e", "c", "r", carry_forward=False)).row(0)
        (300, 0, 0)
    """
    total = pl.col(earned) + pl.col(carry_in)
    limit = pl.max_horizontal(pl.col(room), pl.lit(0))
    capped = pl.when(pl.col(room).is_null() | (total <= limit)).then(total).otherwise(limit)
    excess = total - capped
    keep = carry_forward if isinstance(carry_forward, pl.Expr) else pl.lit(carry_forward)
    return {
        "capped": capped,
        "cap_adjustment": capped - pl.col(earned),
        "carry_out": pl.when(keep).then(excess).otherwise(0),
    }


def floor_exprs(amount: str, minimum: str) -> dict[str, pl.Expr]:
    """Expressions ``floored`` and ``floor_adjustment`` (the top-up, >= 0).

    Args:
        amount: column of the amount so far.
        minimum: column of the floor; null = no floor.

    Example:
        >>> df = pl.DataFrame({"a": [80, 120], "m": [100, 100]})
        >>> df.select(**floor_exprs("a", "m")).rows()
        [(100, 20), (120, 0)]
    """
    top_up = (
        pl.when(pl.col(minimum).is_null())
        .then(0)
        .otherwise(pl.max_horizontal(pl.col(minimum) - pl.col(amount), pl.lit(0)))
    )
    return {"floored": pl.col(amount) + top_up, "floor_adjustment": top_up}


def draw_exprs(*, recoverable: bool | pl.Expr) -> dict[str, pl.Expr]:
    """Expressions ``draw_paid``, ``recovered`` and ``balance_out`` for one period.

    Reads columns ``total`` (earnings after other mechanics), ``draw`` (draw amount in force, 0
    when none), ``balance_in`` (owed before this period), ``limit`` (most recovered per period;
    null = no limit), ``may_recover`` (Boolean: recovery allowed this period) and
    ``above_draw`` (Boolean: recover only from earnings above the draw amount).

    Args:
        recoverable: whether the shortfall is owed back (a Boolean expression per row allowed).

    Example:
        >>> df = pl.DataFrame({"total": [120_000], "draw": [100_000], "balance_in": [50_000],
        ...     "limit": [30_000], "may_recover": [True], "above_draw": [True]})
        >>> df.select(**draw_exprs(recoverable=True)).row(0)
        (0, 20000, 30000)
    """
    rec = recoverable if isinstance(recoverable, pl.Expr) else pl.lit(recoverable)
    positive = pl.max_horizontal(pl.col("total"), pl.lit(0))
    draw_paid = pl.max_horizontal(pl.col("draw") - positive, pl.lit(0))
    keep = pl.when(pl.col("above_draw")).then(pl.col("draw")).otherwise(0)
    available = pl.max_horizontal(pl.col("total") - keep, pl.lit(0))
    cap = (
        pl.when(pl.col("limit").is_null())
        .then(available)
        .otherwise(pl.min_horizontal(available, pl.max_horizontal(pl.col("limit"), pl.lit(0))))
    )
    recovered = (
        pl.when(rec & (draw_paid == 0) & pl.col("may_recover"))
        .then(pl.min_horizontal(pl.max_horizontal(pl.col("balance_in"), pl.lit(0)), cap))
        .otherwise(0)
    )
    balance_out = (
        pl.when(rec)
        .then(pl.col("balance_in") + draw_paid - recovered)
        .otherwise(pl.col("balance_in"))
    )
    return {"draw_paid": draw_paid, "recovered": recovered, "balance_out": balance_out}
