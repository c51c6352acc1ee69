"""The plan-calculation stage: measures, incentives and payouts for the periods asked for.

:func:`calculate` is the stage function. It reads the loaded dataset, the credits frame and the
rule set, and returns a :class:`CalcResult` of frames (``docs/plans.md``):

* ``measures`` (:data:`engine.calc.measures.MEASURE_SCHEMA`) for the periods asked for;
* ``incentives`` (:data:`engine.calc.incentives.INCENTIVE_SCHEMA`) and their per-line earnings
  ``incentive_lines``;
* ``payouts`` (:data:`engine.calc.fold.PAYOUT_SCHEMA`) with ``earned``, ``adjustments``,
  ``draw``, ``recovered``, ``payable`` and ``currency``, and their ``adjustments`` detail;
* ``state``: the carry state after the last period, to pass to the next run;
* ``findings``: data problems met (no exchange rate, no quota, an unknown plan...).

:func:`calculate_rated` is the same calculation stopped after the incentives (no clawbacks, no
fold): a :class:`RatedResult` of the lines, measures, incentives, per-line earnings and plan
segments, for callers that do not need payouts (the what-if vector path). :func:`calculate` is
built on it.

Running the periods one at a time, each run given the ``state`` of the one before, gives the
same payouts as one run over all of them: measures read every credit they need from the credits
frame (windows reach back within the year), and incentives of earlier periods are recomputed
when a true-up or clawback needs them.

Example:
    >>> from engine.loading import dataset_from_rows
    >>> ds = dataset_from_rows({
    ...     "calendar": [{"period": "2026-01", "start_date": "2026-01-01",
    ...                   "end_date": "2026-01-31"}],
    ...     "participants": [{"participant_id": "P1", "role": "AE", "pay_currency": "USD",
    ...                       "hire_date": "2025-01-01"}],
    ...     "transactions": [{"transaction_id": "T1", "credit_date": "2026-01-05",
    ...                       "amount": "120000.00", "currency": "USD", "seller_id": "P1"}],
    ...     "plan_assignments": [{"participant_id": "P1", "plan_id": "AE",
    ...                           "valid_from": "2026-01-01"}]})
    >>> from engine.crediting.frames import CREDIT_SCHEMA
    >>> credits = pl.DataFrame([{"transaction_id": "T1", "participant_id": "P1",
    ...     "credit_type": "direct", "rule": "r", "level": 0, "direct_participant_id": "P1",
    ...     "share_ppm": 1_000_000, "amount_cents": 12_000_000, "currency": "USD",
    ...     "credit_date": ds.tables["transactions"]["credit_date"][0], "period": "2026-01",
    ...     "held": False, "route_table": "transactions", "route_line": 2}], schema=CREDIT_SCHEMA)
    >>> rules = Rules.model_validate({
    ...     "measures": [{"name": "revenue", "kind": "sum"}],
    ...     "rate_tables": [{"name": "ae", "kind": "retroactive", "tiers": [
    ...         {"from": 0, "to": 100000, "rate": "5%"}, {"from": 100000, "rate": "8%"}]}],
    ...     "plans": [{"id": "AE", "components": [
    ...         {"name": "commission", "measure": "revenue", "rate_table": "ae"}]}]})
    >>> result = calculate(ds, credits, rules, ["2026-01"])
    >>> result.payouts.filter(pl.col("line") == "component").select(
    ...     "component", "earned_cents", "payable_cents", "currency").rows()
    [('commission', 960000, 960000, 'USD')]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import polars as pl
from pydantic import BaseModel, ConfigDict

from engine.calc.exact import round_div_expr
from engine.calc.fold import PayInputs, fold
from engine.calc.formula import names_in, parse_formula
from engine.calc.incentives import Settings, compute_incentives
from engine.calc.lines import Lines, build_lines
from engine.calc.measures import compute_measures, measures_by_name
from engine.calc.mechanics.clawbacks import check_measures, clawbacks
from engine.calc.proration import plan_segments
from engine.calc.quotas import FINDING_COLUMNS
from engine.calc.rollup_lines import result_lines
from engine.calc.state import empty_state
from engine.calc.windows import calendar_frame, window_map
from engine.crediting import CreditResult
from engine.errors import EngineError, Reason
from engine.loading import Dataset
from engine.money import RoundingMode
from engine.publish import write_parquet
from engine.rules.plan_schema import (
    AttainmentMeasure,
    Cap,
    CountMeasure,
    CurveTable,
    Draw,
    Floor,
    FormulaMeasure,
    Guarantee,
    MatrixTable,
    Plan,
    SumMeasure,
    TieredTable,
)

__all__ = [
    "CalcResult",
    "PlanRules",
    "RatedResult",
    "Rules",
    "calculate",
    "calculate_rated",
    "plan_measures",
    "settings_of",
    "write_results",
]


class PlanRules(Protocol):
    """What :func:`calculate` reads from a rule set (``engine.rules.RuleSet`` provides it)."""

    @property
    def measures(
        self,
    ) -> Sequence[SumMeasure | CountMeasure | AttainmentMeasure | FormulaMeasure]:
        """The measures section."""
        ...

    @property
    def rate_tables(self) -> Sequence[TieredTable | CurveTable | MatrixTable]:
        """The rate_tables section."""
        ...

    @property
    def plans(self) -> Sequence[Plan]:
        """The plans section."""
        ...


class Rules(BaseModel):
    """A minimal stand-alone rule set (the three plan sections and settings), for tests/docs.

    Example:
        >>> Rules.model_validate({"settings": {"rounding_point": "line"}}).settings
        {'rounding_point': 'line'}
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    settings: dict[str, Any] = {}
    measures: tuple[SumMeasure | CountMeasure | AttainmentMeasure | FormulaMeasure, ...] = ()
    rate_tables: tuple[TieredTable | CurveTable | MatrixTable, ...] = ()
    plans: tuple[Plan, ...] = ()


@dataclass(frozen=True)
class CalcResult:
    """The frames of a plan calculation (see the module docstring)."""

    measures: pl.DataFrame
    incentives: pl.DataFrame
    incentive_lines: pl.DataFrame
    payouts: pl.DataFrame
    adjustments: pl.DataFrame
    state: pl.DataFrame
    findings: pl.DataFrame

    def frames(self) -> dict[str, pl.DataFrame]:
        """The result frames by output name (for :func:`engine.publish.publish`).

        Example:
            >>> sorted(CalcResult(*(pl.DataFrame() for _ in range(7))).frames())[:3]
            ['adjustments', 'calc_findings', 'carry_state']
        """
        return {
            "measures": self.measures,
            "incentives": self.incentives,
            "incentive_lines": self.incentive_lines,
            "payouts": self.payouts,
            "adjustments": self.adjustments,
            "carry_state": self.state,
            "calc_findings": self.findings,
        }


def write_results(result: CalcResult, directory: Path) -> dict[str, str]:
    """Write every result frame as ``<name>.parquet`` in ``directory``; return their sha256.

    The files are deterministic: the same result gives the same bytes.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     empty = CalcResult(*(pl.DataFrame({"x": [1]}) for _ in range(7)))
        ...     sorted(write_results(empty, Path(d)))[0]
        'adjustments.parquet'
    """
    directory.mkdir(parents=True, exist_ok=True)
    return {
        f"{name}.parquet": write_parquet(frame, directory / f"{name}.parquet")
        for name, frame in result.frames().items()
    }


def settings_of(rules: object) -> Settings:
    """Rounding mode, rounding point and default boundary from ``rules.settings``.

    Accepts a pydantic model or a mapping; absent values take the defaults (half_up, component,
    lower_inclusive).

    Example:
        >>> settings_of(Rules()).rounding_point
        'component'
    """
    raw = getattr(rules, "settings", None)
    if raw is None:
        return Settings()

    def get(name: str, default: str) -> str:
        value = raw.get(name) if isinstance(raw, dict) else getattr(raw, name, None)
        return default if value is None else str(getattr(value, "value", value))

    return Settings(
        rounding_mode=RoundingMode(get("rounding_mode", "half_up")),
        rounding_point=get("rounding_point", "component"),
        boundary=get("boundary", "lower_inclusive"),
    )


def _periods(cal: pl.DataFrame, periods: Sequence[str] | None) -> list[str]:
    known = cal["period"].to_list()
    if periods is None:
        return known
    missing = sorted(set(periods) - set(known))
    if missing:
        raise EngineError.single(
            Reason.UNKNOWN_REFERENCE,
            f"periods {missing} are not in the calendar",
            file="calendar",
            column="period",
        )
    wanted = set(periods)
    return [p for p in known if p in wanted]


def segments_with_targets(
    dataset: Dataset,
    plans: dict[str, Plan],
    cal: pl.DataFrame,
    mode: RoundingMode,
    curves: set[str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Plan segments with pay currency, rate date setting, hire period and prorated target.

    Returns:
        The segments (``target_cents``, ``pay_currency``, ``hire_seq`` among the columns) and
        findings: plans assigned but not defined, targets missing where a plan (or a rate table
        of ``curves``) pays from the target incentive.
    """
    people = dataset.tables["participants"]
    seg = plan_segments(dataset.tables["plan_assignments"], people, dataset.tables["calendar"])
    unknown = seg.filter(~pl.col("plan_id").is_in(list(plans)))
    findings = (
        unknown.select("participant_id", "plan_id")
        .unique()
        .sort("participant_id", "plan_id")
        .select(
            "participant_id",
            pl.lit(None, pl.Utf8).alias("period"),
            pl.col("plan_id").alias("subject"),
            pl.lit(Reason.NO_PLAN.value).alias("reason"),
            pl.format("plan {} is assigned but not defined in the rule set", "plan_id").alias(
                "message"
            ),
        )
    )
    seg = seg.filter(pl.col("plan_id").is_in(list(plans)))
    starts = cal.select("seq", "start_date", "end_date")
    hire = people.select("participant_id", "hire_date", "pay_currency").join(starts, how="cross")
    hire_seq = hire.filter(
        (pl.col("hire_date") >= pl.col("start_date")) & (pl.col("hire_date") <= pl.col("end_date"))
    ).select("participant_id", pl.col("seq").alias("hire_seq"))
    info = pl.DataFrame(
        [
            {
                "plan_id": p.id,
                "_pay_in": p.currency.pay_in,
                "convert_at": p.currency.convert_at,
                "_prorate_target": p.proration.target_incentive,
            }
            for p in plans.values()
        ],
        schema={
            "plan_id": pl.Utf8,
            "_pay_in": pl.Utf8,
            "convert_at": pl.Utf8,
            "_prorate_target": pl.Boolean,
        },
    )
    target = pl.col("target_incentive_cents").fill_null(0)
    seg = (
        seg.join(info, on="plan_id", how="left")
        .join(people.select("participant_id", "pay_currency"), on="participant_id", how="left")
        .join(hire_seq, on="participant_id", how="left")
        .with_columns(
            pl.coalesce("_pay_in", "pay_currency").alias("pay_currency"),
            pl.when(pl.col("_prorate_target"))
            .then(
                round_div_expr(target.cast(pl.Int128) * pl.col("plan_days"), pl.col("days"), mode)
            )
            .otherwise(target)
            .cast(pl.Int64)
            .alias("target_cents"),
        )
        .drop("_pay_in", "_prorate_target")
    )
    needing = [p.id for p in plans.values() if _uses_target(p, curves)]
    no_target = seg.filter(
        pl.col("plan_id").is_in(needing) & pl.col("target_incentive_cents").is_null()
    ).select(
        "participant_id",
        "period",
        pl.col("plan_id").alias("subject"),
        pl.lit(Reason.REQUIRED_VALUE_MISSING.value).alias("reason"),
        pl.format(
            "plan {} pays from the target incentive, but plan_assignments gives none: 0 used",
            "plan_id",
        ).alias("message"),
    )
    return seg, pl.concat([findings, no_target]).cast(FINDING_COLUMNS)  # type: ignore[arg-type]


def _uses_target(plan: Plan, curves: set[str]) -> bool:
    """Whether any amount of the plan depends on the target incentive."""
    if any(c.rate_table in curves for c in plan.components):
        return True
    specs: list[Cap | Floor | Guarantee | Draw | None] = [c.cap for c in plan.components]
    specs += [c.floor for c in plan.components]
    specs += [*plan.caps, *plan.floors, plan.guarantee, plan.draw]
    return any(s is not None and s.multiple_of_target is not None for s in specs)


def _needed_periods(
    cal: pl.DataFrame,
    paid: Sequence[str],
    plans: dict[str, Plan],
    measures: Sequence[SumMeasure | CountMeasure | AttainmentMeasure | FormulaMeasure],
) -> tuple[list[str], list[str]]:
    """The periods to rate, and the periods whose credits the measures need, in calendar order.

    Rated: the paid periods; with a plan true-up, every earlier period of their plan years
    (recomputed to find prior-period differences); with a clawback, every period from the
    longest clawback window before the first paid period (the original deals). Lines: the
    source periods of every measure window of the rated periods, plus the rated periods.
    """
    if not paid:
        return [], []
    inside = cal.filter(pl.col("period").is_in(list(paid)))
    last = int(inside["seq"].max())  # type: ignore[arg-type]
    upto = cal.filter(pl.col("seq") <= last)
    wanted = set(paid)
    if any(p.true_up is not None for p in plans.values()):
        years = set(inside["year"].to_list())
        wanted |= set(upto.filter(pl.col("year").is_in(list(years)))["period"].to_list())
    windows = [p.clawback.window_days for p in plans.values() if p.clawback is not None]
    if windows:
        start = inside["start_date"].min()
        reach = pl.lit(start).cast(pl.Date) - pl.duration(days=max(windows))
        wanted |= set(upto.filter(pl.col("end_date") >= reach)["period"].to_list())
    rated = [p for p in upto["period"].to_list() if p in wanted]
    kinds = {m.window for m in measures if isinstance(m, SumMeasure | CountMeasure)} | {"period"}
    sources = set(rated)
    for window in kinds:
        mapped = window_map(cal, window)  # type: ignore[arg-type]
        sources |= set(mapped.filter(pl.col("period").is_in(rated))["source"].to_list())
    return rated, [p for p in upto["period"].to_list() if p in sources]


def plan_measures(
    plan: Plan,
    measures: Sequence[SumMeasure | CountMeasure | AttainmentMeasure | FormulaMeasure],
) -> set[str]:
    """Every measure a plan reads, directly or through attainments and formulas.

    Example:
        >>> from engine.rules.plan_schema import MEASURE_ADAPTER as A
        >>> ms = [A.validate_python({"name": "rev", "kind": "sum"}),
        ...       A.validate_python({"name": "att", "kind": "attainment", "measure": "rev"})]
        >>> p = Plan.model_validate({"id": "P", "components": [
        ...     {"name": "c", "measure": "rev", "tier_measure": "att", "rate_table": "t"}]})
        >>> sorted(plan_measures(p, ms))
        ['att', 'rev']
    """
    by_name = {m.name: m for m in measures}
    todo: list[str] = []
    for comp in plan.components:
        todo += [comp.measure, *(g.measure for g in comp.gates)]
        todo += [n for n in (comp.tier_measure, comp.column_measure) if n is not None]
        if comp.modifier is not None:
            todo.append(comp.modifier.measure)
    todo += [s.measure for s in plan.spifs]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in by_name:
            continue
        seen.add(name)
        m = by_name[name]
        if isinstance(m, AttainmentMeasure):
            todo.append(m.measure)
        elif isinstance(m, FormulaMeasure):
            todo += sorted(names_in(parse_formula(m.formula)))
    return seen


def _used_measures(
    seg: pl.DataFrame,
    plans: dict[str, Plan],
    measures: Sequence[SumMeasure | CountMeasure | AttainmentMeasure | FormulaMeasure],
) -> pl.DataFrame:
    """``participant_id, period, subject``: the measures each participant's plans read."""
    pairs = pl.DataFrame(
        [
            {"plan_id": pid, "subject": name}
            for pid, plan in plans.items()
            for name in sorted(plan_measures(plan, measures))
        ],
        schema={"plan_id": pl.Utf8, "subject": pl.Utf8},
    )
    return (
        seg.select("participant_id", "period", "plan_id")
        .join(pairs, on="plan_id")
        .select("participant_id", "period", "subject")
    )


@dataclass(frozen=True)
class RatedResult:
    """What :func:`calculate` computes before clawbacks and its fold (the what-if vector path).

    The first four frames are those :class:`CalcResult` publishes (the periods paid); the
    ``rated_*`` frames hold every rated period, which clawbacks and the fold read (earlier
    periods recomputed for a true-up or a clawback window).

    Attributes:
        lines: the credit lines of every period the measures read.
        segments: the plan segments of every calendar period, with ``target_cents``,
            ``pay_currency`` and ``hire_seq``.
        measures: the measures of the periods paid.
        incentives: the incentive rows of the periods paid.
        incentive_lines: the per-line earnings of the periods paid.
        rated_incentives: the incentive rows of every rated period.
        rated_incentive_lines: the per-line earnings of every rated period.
        findings: the findings met so far (segments, lines, measures, incentives) that concern
            the periods paid (or no period).
        periods: the periods paid, in calendar order.
    """

    lines: Lines
    segments: pl.DataFrame
    measures: pl.DataFrame
    incentives: pl.DataFrame
    incentive_lines: pl.DataFrame
    rated_incentives: pl.DataFrame
    rated_incentive_lines: pl.DataFrame
    findings: pl.DataFrame
    periods: tuple[str, ...]


def _in_periods(frame: pl.DataFrame, periods: Sequence[str]) -> pl.DataFrame:
    """The rows of ``frame`` in ``periods`` (the frame itself when they all are: no copy)."""
    inside = frame["period"].is_in(list(periods)).fill_null(value=False)
    return frame if inside.all() else frame.filter(inside)


def _pay_frame(
    seg: pl.DataFrame, participants: pl.DataFrame, line_periods: Sequence[str]
) -> pl.DataFrame:
    """Each participant's pay currency and conversion date setting in each line period.

    From the first plan (by id) of the period, else the participant's own pay currency and
    the credit date.
    """
    return pl.concat(
        [
            seg.filter(pl.col("period").is_in(list(line_periods)))
            .sort("plan_id")
            .group_by("participant_id", "period", maintain_order=True)
            .agg(pl.col("pay_currency").first(), pl.col("convert_at").first()),
            participants.select("participant_id", "pay_currency")
            .join(pl.DataFrame({"period": line_periods}, schema={"period": pl.Utf8}), how="cross")
            .select(
                "participant_id",
                "period",
                "pay_currency",
                pl.lit("credit_date").alias("convert_at"),
            ),
        ]
    ).unique(["participant_id", "period"], keep="first", maintain_order=True)


def calculate_rated(
    dataset: Dataset,
    credits: pl.DataFrame | CreditResult,
    ruleset: PlanRules,
    periods: Sequence[str] | None = None,
) -> RatedResult:
    """Lines, measures and incentives for ``periods``: :func:`calculate` up to its incentives.

    Computes no clawbacks, carries no state and folds nothing (no caps, draws, true-ups or
    payouts): for callers that only need the rated frames (the what-if vector path).
    :func:`calculate` is this function followed by clawbacks and the fold.

    Args:
        dataset: the loaded data (see :func:`calculate`).
        credits: the crediting result, or its credits frame (see :func:`calculate`).
        ruleset: the rule set (measures, rate_tables, plans, settings).
        periods: the periods to pay, default every calendar period.

    Returns:
        The rated frames (:class:`RatedResult`); ``measures``, ``incentives`` and
        ``incentive_lines`` equal :func:`calculate`'s.

    Raises:
        EngineError: as :func:`calculate`.
    """
    settings = settings_of(ruleset)
    mode = settings.rounding_mode
    calendar = dataset.tables["calendar"]
    cal = calendar_frame(calendar)
    paid = _periods(cal, periods)
    plans = {p.id: p for p in ruleset.plans}
    check_measures(plans, measures_by_name(list(ruleset.measures)))
    curves = {t.name for t in ruleset.rate_tables if t.kind == "payout_curve"}
    seg, seg_findings = segments_with_targets(dataset, plans, cal, mode, curves)
    rate_periods, line_periods = _needed_periods(cal, paid, plans, list(ruleset.measures))
    seg_rated = seg.filter(pl.col("period").is_in(rate_periods))
    pay = _pay_frame(seg, dataset.tables["participants"], line_periods)
    if isinstance(credits, CreditResult):
        lines = result_lines(
            credits,
            transactions=dataset.tables["transactions"],
            pay=pay,
            calendar=calendar,
            rates=dataset.tables["exchange_rates"],
            mode=mode,
            periods=line_periods,
            measures=list(ruleset.measures),
            plans=plans,
            tables={t.name: t for t in ruleset.rate_tables},
            rounding_point=settings.rounding_point,
            segments=seg,
        )
    else:
        lines = build_lines(
            credits.filter(pl.col("period").is_in(line_periods)),
            transactions=dataset.tables["transactions"],
            pay=pay,
            calendar=calendar,
            rates=dataset.tables["exchange_rates"],
            mode=mode,
        )
    del pay
    measures = compute_measures(
        lines,
        list(ruleset.measures),
        calendar=calendar,
        quotas=dataset.tables["quotas"],
        participants=dataset.tables["participants"],
        population=seg_rated.select("participant_id", "period", "pay_currency"),
        periods=rate_periods,
        mode=mode,
    )
    incentives = compute_incentives(
        measures=measures.frame,
        lines=lines,
        measure_defs=measures_by_name(list(ruleset.measures)),
        tables={t.name: t for t in ruleset.rate_tables},
        plans=list(plans.values()),
        segments=seg_rated,
        calendar=calendar,
        settings=settings,
    )
    used = _used_measures(seg_rated, plans, list(ruleset.measures))
    measure_findings = pl.concat(
        [
            measures.findings.filter(pl.col("participant_id").is_null()),
            measures.findings.join(used, on=["participant_id", "period", "subject"], how="semi"),
        ]
    )
    findings = pl.concat(
        [seg_findings, lines.findings, measure_findings, incentives.findings]
    ).filter(pl.col("period").is_null() | pl.col("period").is_in(paid))
    return RatedResult(
        lines=lines,
        segments=seg,
        measures=_in_periods(measures.frame, paid),
        incentives=_in_periods(incentives.frame, paid),
        incentive_lines=_in_periods(incentives.lines, paid),
        rated_incentives=incentives.frame,
        rated_incentive_lines=incentives.lines,
        findings=findings,
        periods=tuple(paid),
    )


def calculate(
    dataset: Dataset,
    credits: pl.DataFrame | CreditResult,
    ruleset: PlanRules,
    periods: Sequence[str] | None = None,
    *,
    state: pl.DataFrame | None = None,
) -> CalcResult:
    """Calculate measures, incentives and payouts for ``periods``.

    :func:`calculate_rated` (lines, measures, incentives), then clawbacks and the fold.

    Args:
        dataset: the loaded data (calendar, participants, transactions, quotas,
            plan_assignments, exchange_rates).
        credits: the crediting result (every period the windows need), or its credits frame
            with the roll-up rows materialised. A result credited with
            ``rollups="aggregate"`` is calculated without materialising roll-up rows
            (:mod:`engine.calc.rollup_lines`): the frames are identical either way.
        ruleset: the rule set (measures, rate_tables, plans, settings).
        periods: the periods to pay, default every calendar period.
        state: the carry state returned by the run of the previous periods; None = nothing
            carried (the first run).

    Returns:
        The result frames, sorted by participant, period (calendar order), plan and component.

    Raises:
        EngineError: a rule-set problem found while calculating (an unknown column in a
            condition, a table value that does not fit its scale...), or an exact value out of
            range (``OVERFLOW``).
    """
    rated = calculate_rated(dataset, credits, ruleset, periods)
    mode = settings_of(ruleset).rounding_mode
    calendar = dataset.tables["calendar"]
    cal = calendar_frame(calendar)
    paid = list(rated.periods)
    plans = {p.id: p for p in ruleset.plans}
    claws = clawbacks(
        plans=plans,
        lines=rated.lines,
        incentive_lines=rated.rated_incentive_lines,
        incentives=rated.rated_incentives,
        calendar=calendar,
        periods=paid,
        mode=mode,
    )
    result = fold(
        PayInputs(
            segments=rated.segments,
            rated=rated.rated_incentives.join(
                cal.select("period", "seq", "year"), on="period", how="left"
            ),
            clawbacks=claws.frame,
            plans=plans,
            periods=paid,
            calendar=cal,
            mode=mode,
        ),
        state if state is not None else empty_state(),
    )
    in_paid = pl.col("period").is_null() | pl.col("period").is_in(paid)
    findings = pl.concat([rated.findings, claws.findings.filter(in_paid)])
    return CalcResult(
        measures=rated.measures,
        incentives=rated.incentives,
        incentive_lines=rated.incentive_lines,
        payouts=result.payouts,
        adjustments=result.adjustments,
        state=result.state,
        findings=findings.unique(maintain_order=True),
    )
