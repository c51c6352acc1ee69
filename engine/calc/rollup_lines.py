"""Credit lines from a crediting result whose roll-ups were not materialised.

With ``credit(..., rollups="aggregate")`` the credits frame holds the level-0 credits only; the
roll-up credits (one per level-0 credit per manager above) are derivable from
:attr:`engine.crediting.CreditResult.basis`. :func:`result_lines` builds the
:class:`~engine.calc.lines.Lines` the calculation reads so that every measure, incentive and
payout is the same, to the cent and the byte, as if the roll-up rows had been materialised:

* level-0 credits go through :func:`engine.calc.lines.prepare_lines` as always;
* managers' measures over roll-up credits come from *aggregated* level-0 credits
  (:class:`~engine.calc.lines.RollupTotals`): each level-0 credit that a roll-up rule rolls is
  turned into the roll-up line it would give at each distinct override share (same amount
  rounding as crediting), converted to each (pay currency, rate date) a manager uses (one
  rounding per line, as the line path does), and tested against each measure's condition;
  the per-line values are then summed per chain segment and period, and only those sums are
  joined to the managers of the chain;
* a manager whose plan reads roll-up credit *lines* one by one (per-transaction rating,
  rounding point ``line``, dimension overrides, a clawback plan, a dated per-unit SPIF) gets
  their roll-up rows materialised into the line frame (:func:`line_level_participants`); a
  distinct-transaction count over roll-up credits, or a condition naming ``participant_id``
  of a roll-up line, cannot be aggregated exactly: then every roll-up row is materialised;
* credits without an exchange rate give the same ``NO_EXCHANGE_RATE`` findings, in the same
  order: the roll-up rows of the (few) level-0 credits with a missing rate are materialised
  to find them.

Why not :meth:`~engine.crediting.CreditResult.rollup_totals`: it sums amounts in the
transaction currency, but the line path converts each roll-up line to the manager's pay
currency and rounds it on its own, so a sum converted once can differ by cents. The values here
are converted per line before they are summed, which keeps the per-line rounding exact.

Only the text transaction columns the calculation reads by name are carried on the lines
(:func:`line_columns`: measures' conditions and values, rate tables' dimensions, ``order_by``
and ``attribute``, clawbacks); the condition vocabulary is built from every column.

Roll-up lineage is never lost: the rows stay derivable on demand from the same basis
(:meth:`~engine.crediting.CreditResult.rollup_credits`).

Cost: one pass over the rolled level-0 credits per (override share, pay currency, rate date)
that some manager of the credit's chain uses, only the lines not already in that currency
being looked up; then a join of (chain segment, period) sums to the chain's managers. Nothing
grows with the number of levels times the number of transactions.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace

import polars as pl

from engine.calc.exact import round_div_expr
from engine.calc.fx import convert
from engine.calc.lines import (
    Lines,
    RollupTotals,
    condition_columns,
    prepare_lines,
    rate_findings,
)
from engine.calc.measures import AnyMeasure, measure_filter, measure_value
from engine.crediting import CreditResult
from engine.crediting.arith import apply_ppm, unit_expr
from engine.crediting.frames import CREDIT_SORT
from engine.crediting.holds import held_expr
from engine.crediting.rollup import SEG, RollupBasis, materialise, roll_column
from engine.errors import EngineError
from engine.money import PPM, RoundingMode
from engine.rules.plan_schema import (
    CountMeasure,
    CurveTable,
    MatrixTable,
    Plan,
    SumMeasure,
    TieredTable,
)

__all__ = ["line_columns", "line_level_participants", "may_roll", "result_lines", "rolled_types"]

_LINE_KINDS = ("per_transaction", "per_transaction_marginal")
"""Rate-table kinds that rate each credit line on its own."""

_MANAGER_ONLY = frozenset({"participant_id"})
"""Line columns whose value on a roll-up line depends on the manager (not aggregable)."""


def rolled_types(basis: RollupBasis) -> frozenset[str]:
    """The credit types of the roll-up credits the basis derives.

    Example:
        >>> from engine.crediting.hierarchy import Chains
        >>> from engine.rules.crediting_schema import RollupRule
        >>> rule = RollupRule(name="managers", credit_types=("direct",))
        >>> chains = Chains(pl.DataFrame(), pl.DataFrame(), 0)
        >>> rolled_types(RollupBasis(pl.DataFrame(), chains, (rule,), (), RoundingMode.HALF_UP))
        frozenset({'rollup'})
    """
    return frozenset(rule.credit_type for rule in basis.rollups)


def may_roll(measure: AnyMeasure, types: Collection[str]) -> bool:
    """Whether a sum or count measure may count credits of the roll-up ``types``.

    Example:
        >>> from engine.rules.plan_schema import MEASURE_ADAPTER as A
        >>> may_roll(A.validate_python({"name": "a", "kind": "sum"}), {"rollup"})
        True
        >>> may_roll(A.validate_python({"name": "a", "kind": "sum", "credit_types": ["direct"]}),
        ...          {"rollup"})
        False
    """
    if not isinstance(measure, SumMeasure | CountMeasure) or not types:
        return False
    return measure.credit_types is None or bool(set(measure.credit_types) & set(types))


def _refs(measure: SumMeasure | CountMeasure, lines: Lines) -> set[str]:
    """Stored columns a measure's filter and value read."""
    names = set(measure_filter(measure, lines).meta.root_names())
    return names | set(measure_value(measure, lines).meta.root_names())


def line_columns(
    *,
    measures: Sequence[AnyMeasure],
    plans: Mapping[str, Plan],
    tables: Mapping[str, TieredTable | CurveTable | MatrixTable],
    lines: Lines,
) -> frozenset[str] | None:
    """The stored line columns the calculation may read by name; None = cannot tell.

    The columns of the sum and count measures' conditions and values, of the rate tables'
    dimensions (``by``, override matches), ``order_by`` and ``attribute``, and
    ``original_transaction_id`` when a plan has a clawback. The line path carries only these
    among the transactions' text columns (:func:`engine.calc.lines.prepare_lines`).

    Args:
        measures: the rule set's measures.
        plans: plans by id.
        tables: rate tables by name.
        lines: lines with every column (may be empty): their condition columns compile the
            measures.

    Returns:
        The column names, or None when a measure does not compile (the line path reports
        the rule-set error, with every column carried as always).

    Example:
        >>> from engine.rules.plan_schema import MEASURE_ADAPTER as A
        >>> frame = pl.DataFrame(schema={"product": pl.Utf8, "credit_type": pl.Utf8,
        ...     "amount_cents": pl.Int64, "pay_cents": pl.Int64})
        >>> shape = Lines(frame, pl.DataFrame(), condition_columns(frame))
        >>> m = A.validate_python({"name": "a", "kind": "sum", "when": "product = 'X'"})
        >>> sorted(line_columns(measures=[m], plans={}, tables={}, lines=shape) or ())
        ['pay_cents', 'product']
    """
    names: set[str] = set()
    for m in measures:
        if isinstance(m, SumMeasure | CountMeasure):
            try:
                names |= _refs(m, lines)
            except EngineError:
                return None
    for table in tables.values():
        if isinstance(table, TieredTable):
            names |= {*table.by, *table.order_by}
            names |= {column for o in table.overrides for column in o.match}
            if table.attribute is not None:
                names |= {table.attribute, f"{table.attribute}_e2", f"{table.attribute}_cents"}
    if any(plan.clawback is not None for plan in plans.values()):
        names.add("original_transaction_id")
    return frozenset(names)


def line_level_participants(
    *,
    plans: Mapping[str, Plan],
    measures: Sequence[AnyMeasure],
    tables: Mapping[str, TieredTable | CurveTable | MatrixTable],
    rounding_point: str,
    segments: pl.DataFrame,
    types: Collection[str],
    lines: Lines,
) -> frozenset[str] | None:
    """Participants whose roll-up credits must be materialised as lines; None = everyone.

    Everyone: a distinct-transaction count may count roll-up credits, or a measure over
    roll-up credits has a condition on ``participant_id`` (the manager, on a roll-up line).
    Otherwise the participants of plans (in any period of ``segments``) that read roll-up
    lines one by one: a component over a measure that may count roll-ups whose table rates
    lines (per transaction, marginal, dimension overrides) or under rounding point ``line``; a
    per-unit SPIF with dates over such a measure; and every plan with a clawback (a clawback
    reads all of the participant's lines).

    Args:
        plans: plans by id.
        measures: the rule set's measures.
        tables: rate tables by name.
        rounding_point: ``settings.rounding_point``.
        segments: plan segments (``participant_id``, ``plan_id``...).
        types: the roll-up credit types.
        lines: level-0 lines (their condition columns compile the measures' filters).

    Returns:
        The participant ids, or None.
    """
    rolling = {m.name: m for m in measures if may_roll(m, types)}
    for m in rolling.values():
        assert isinstance(m, SumMeasure | CountMeasure)
        if isinstance(m, CountMeasure) and m.distinct == "transaction":
            return None
        try:
            refs = _refs(m, lines)
        except EngineError:
            return None  # the line path reports the rule-set error, as it always has
        if refs & _MANAGER_ONLY:
            return None
    needing: set[str] = set()
    for plan in plans.values():
        if plan.clawback is not None:
            needing.add(plan.id)
        for comp in plan.components:
            table = tables.get(comp.rate_table)
            by_line = rounding_point == "line" or (
                table is not None
                and (
                    table.kind in _LINE_KINDS or (isinstance(table, TieredTable) and bool(table.by))
                )
            )
            if by_line and comp.measure in rolling:
                needing.add(plan.id)
        for spif in plan.spifs:
            dated = spif.from_date is not None or spif.to_date is not None
            if spif.per == "unit" and dated and spif.measure in rolling:
                needing.add(plan.id)
    chosen = segments.filter(pl.col("plan_id").is_in(sorted(needing)))["participant_id"]
    return frozenset(chosen.unique().to_list())


def result_lines(
    result: CreditResult,
    *,
    transactions: pl.DataFrame,
    pay: pl.DataFrame,
    calendar: pl.DataFrame,
    rates: pl.DataFrame,
    mode: RoundingMode,
    periods: Sequence[str],
    measures: Sequence[AnyMeasure],
    plans: Mapping[str, Plan],
    tables: Mapping[str, TieredTable | CurveTable | MatrixTable],
    rounding_point: str,
    segments: pl.DataFrame,
) -> Lines:
    """The credit lines of a crediting result, roll-ups aggregated where that is exact.

    Args:
        result: the crediting result (either roll-up mode).
        transactions: the transactions table.
        pay: ``participant_id, period, pay_currency, convert_at`` for the line periods.
        calendar: the calendar table.
        rates: the exchange_rates table.
        mode: the rounding mode.
        periods: the periods whose credits the measures read.
        measures: the rule set's measures.
        plans: plans by id.
        tables: rate tables by name.
        rounding_point: ``settings.rounding_point``.
        segments: plan segments.

    Returns:
        Lines equal in effect to :func:`engine.calc.lines.build_lines` over every credit
        (materialised or not).
    """
    keep: frozenset[str] | None = None

    def prepare(credits: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        return prepare_lines(
            credits,
            transactions=transactions,
            pay=pay,
            calendar=calendar,
            rates=rates,
            mode=mode,
            keep=keep,
        )

    def every_line(credits: pl.DataFrame) -> Lines:
        frame, missing = prepare(credits.filter(in_periods))
        return Lines(frame, rate_findings(missing), shape.columns, mode)

    in_periods = pl.col("period").is_in(list(periods))
    basis = result.basis
    # condition columns do not depend on the rows, nor on which text columns are carried
    empty = prepare(result.credits.clear())[0]
    shape = Lines(empty, pl.DataFrame(), condition_columns(empty), mode)
    keep = line_columns(measures=measures, plans=plans, tables=tables, lines=shape)
    if result.rollups_materialised or not basis.rollups:
        return every_line(result.credits)
    level0 = result.credits.filter(in_periods)
    types = rolled_types(basis)
    chosen = line_level_participants(
        plans=plans,
        measures=measures,
        tables=tables,
        rounding_point=rounding_point,
        segments=segments,
        types=types,
        lines=shape,
    )
    links = basis.chains.links
    managers = links["manager_id"].unique()
    unpaid = managers.filter(~managers.is_in(pay["participant_id"].unique().implode()))
    if chosen is None or unpaid.len():
        # not aggregable exactly (or a manager without a pay row): materialise every roll-up
        return every_line(result.all_credits())
    basis = replace(basis, credits=basis.credits.filter(in_periods))
    line_level = pl.col("manager_id").is_in(sorted(chosen))
    credits = level0
    materialised = links.filter(line_level)
    if materialised.height:
        rows = materialise(replace(basis, chains=replace(basis.chains, links=materialised)))
        if rows.height:
            credits = pl.concat([level0, rows]).sort(CREDIT_SORT)
    frame, missing = prepare(credits)
    lines = Lines(frame, pl.DataFrame(), shape.columns, mode)
    aggregated = replace(basis, chains=replace(basis.chains, links=links.filter(~line_level)))
    rolling = [
        m for m in measures if isinstance(m, SumMeasure | CountMeasure) and may_roll(m, types)
    ]
    totals, population, suspects = _aggregate(
        aggregated,
        rolling,
        lines,
        transactions=transactions,
        pay=pay,
        calendar=calendar,
        rates=rates,
        mode=mode,
    )
    if suspects.height:
        _, more = prepare(materialise(replace(aggregated, credits=suspects)))
        if more.height:
            missing = pl.concat([missing, more.select(missing.columns)]).sort(CREDIT_SORT)
    return Lines(
        frame, rate_findings(missing), shape.columns, mode, RollupTotals(totals, population)
    )


def _view(
    basis: RollupBasis, transactions: pl.DataFrame, calendar: pl.DataFrame, refs: set[str]
) -> pl.DataFrame:
    """The rolled level-0 credits, their period end, and the transaction columns read.

    ``_row`` is the credit's position in ``basis.credits``; transaction columns are named as on
    a line (``transaction_amount_cents``...).
    """
    dropped = {"amount_cents", "currency", "credit_date", "source_line", "transaction_id"}
    source = {"transaction_amount_cents": "amount_cents"}
    source |= {c: c for c in transactions.columns if c not in dropped}
    wanted = refs | ({"quantity_e2"} if "quantity_credit_e2" in refs else set())
    names = sorted(c for c in wanted if c in source and c not in basis.credits.columns)
    ends = dict(zip(calendar["period"], calendar["end_date"], strict=True))
    view = basis.credits.with_row_index("_row").with_columns(
        pl.col("period")
        .replace_strict(ends, default=None, return_dtype=pl.Date)
        .alias("_period_end")
    )
    if names:
        tx = transactions.select("transaction_id", *[pl.col(source[n]).alias(n) for n in names])
        view = view.join(tx, on="transaction_id", how="left", maintain_order="left")
    return view


def _aggregate(
    basis: RollupBasis,
    measures: Sequence[SumMeasure | CountMeasure],
    lines: Lines,
    *,
    transactions: pl.DataFrame,
    pay: pl.DataFrame,
    calendar: pl.DataFrame,
    rates: pl.DataFrame,
    mode: RoundingMode,
) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, pl.DataFrame]:
    """Per-manager totals of each measure over the roll-up lines of ``basis``.

    Returns:
        ``(totals, population, suspects)``: measure name -> ``participant_id, period, num``;
        ``participant_id, period, pay_currency`` of the managers with roll-up lines; the
        level-0 credits of ``basis`` with a roll-up line that could not be converted.
    """
    filters = [measure_filter(m, lines) for m in measures]
    values = [measure_value(m, lines) for m in measures]
    refs: set[str] = set()
    for expr in (*filters, *values):
        refs |= set(expr.meta.root_names())
    view = _view(basis, transactions, calendar, refs)
    # the columns the roll-up lines are converted, keyed and tested with; no other is copied
    carried = refs | {SEG, "_row", "period", "amount_cents", "currency", "credit_date"}
    carried |= {"_period_end", "quantity_e2"}
    links = basis.chains.links
    manager_pay = pay.join(
        links.select(pl.col("manager_id").alias("participant_id")).unique(),
        on="participant_id",
        how="semi",
    ).select(
        pl.col("participant_id").alias("manager_id"),
        "period",
        pl.col("pay_currency").alias("_T"),
        pl.when(pl.col("convert_at") == "period_end")
        .then(pl.lit("period_end"))
        .otherwise(pl.lit("credit_date"))
        .alias("_c"),
    )
    variants: list[tuple[str, str]] = (
        manager_pay.select("_T", "_c").unique().sort("_T", "_c").rows()
    )
    sums = [f"_m{j}" for j in range(len(measures))]
    per_rule: list[pl.DataFrame] = []
    lost: list[pl.Series] = []
    for index, rule in enumerate(basis.rollups):
        top = basis.max_level(rule)
        if top < 1 or not variants:
            continue
        level_ppm = {level: rule.level_ppm(level) for level in range(1, top + 1)}
        held = pl.col("held") | held_expr(pl.lit(rule.credit_type), basis.holds)
        # filtered lazily: only the carried columns of the rolled credits are gathered
        rows = (
            view.lazy()
            .filter(
                pl.col("credit_type").is_in(list(rule.credit_types))
                & pl.col(roll_column(index))
                & ~held
            )
            .with_columns(
                pl.col("participant_id").alias("direct_participant_id"),
                pl.lit(rule.credit_type).alias("credit_type"),
                pl.lit(rule.name).alias("rule"),
                pl.lit("hierarchy").alias("route_table"),
            )
            .select([c for c in view.columns if c in carried])
            .collect()
        )
        if rows.height == 0:
            continue
        counted = [
            f
            if m.credit_types is None or rule.credit_type in m.credit_types
            else pl.lit(value=False)
            for m, f in zip(measures, filters, strict=True)
        ]
        chain = (
            links.filter(pl.col("level") <= top)
            .select(
                pl.col("seg_id").alias(SEG),
                "manager_id",
                pl.col("level").replace_strict(level_ppm, return_dtype=pl.Int64).alias("_p"),
            )
            .join(manager_pay, on="manager_id")
        )
        keys = [SEG, "period", "_p", "_T", "_c"]
        wanted = chain.select(keys).unique()
        groups: list[pl.DataFrame] = []
        for ppm in sorted(set(level_ppm.values())):
            shared = _shared(rows, ppm, basis.mode(rule), lines.mode)
            for target, at in variants:
                # only the level-0 credits whose chain has a manager paid this way
                want = wanted.filter(
                    (pl.col("_p") == ppm) & (pl.col("_T") == target) & (pl.col("_c") == at)
                ).select(SEG, "period")
                if want.height == 0:
                    continue
                variant = _converted(
                    shared.join(want, on=[SEG, "period"], how="semi"), target, at, rates, mode
                )
                present = pl.col("pay_cents").is_not_null()
                missing = variant.filter(~present)["_row"]
                if missing.len():
                    lost.append(missing)
                groups.append(
                    variant.group_by(SEG, "period")
                    .agg(
                        present.sum().cast(pl.Int64).alias("_lines"),
                        *[
                            pl.when(present & f).then(v).otherwise(0).sum().cast(pl.Int64).alias(n)
                            for f, v, n in zip(counted, values, sums, strict=True)
                        ],
                    )
                    .with_columns(
                        pl.lit(ppm, pl.Int64).alias("_p"),
                        pl.lit(target, pl.Utf8).alias("_T"),
                        pl.lit(at, pl.Utf8).alias("_c"),
                    )
                )
        if groups:
            per_rule.append(
                chain.join(pl.concat(groups), on=keys).select(
                    "manager_id", "period", "_lines", *sums
                )
            )
    if per_rule:
        combined = (
            pl.concat(per_rule)
            .group_by("manager_id", "period")
            .agg(pl.col("_lines").sum(), *[pl.col(n).sum() for n in sums])
            .rename({"manager_id": "participant_id"})
        )
    else:
        combined = pl.DataFrame(
            schema={
                "participant_id": pl.Utf8,
                "period": pl.Utf8,
                "_lines": pl.Int64,
                **dict.fromkeys(sums, pl.Int64),
            }
        )
    totals = {
        m.name: combined.filter(pl.col("_lines") > 0).select(
            "participant_id", "period", pl.col(n).cast(pl.Int64).alias("num")
        )
        for m, n in zip(measures, sums, strict=True)
    }
    population = (
        combined.filter(pl.col("_lines") > 0)
        .select("participant_id", "period")
        .join(
            pay.select("participant_id", "period", "pay_currency"),
            on=["participant_id", "period"],
            how="left",
        )
    )
    suspects = basis.credits.clear()
    if lost:
        rows_lost = pl.concat(lost).unique()
        suspects = (
            basis.credits.with_row_index("_row")
            .filter(pl.col("_row").is_in(rows_lost.implode()))
            .drop("_row")
        )
    return totals, population, suspects


def _shared(
    rows: pl.DataFrame, ppm: int, rounding: RoundingMode, mode: RoundingMode
) -> pl.DataFrame:
    """The roll-up lines at override share ``ppm``.

    The amount is rounded per line as crediting does (the roll-up rule's ``rounding``), the
    quantity share as the line path does (``mode``).
    """
    shared = rows.with_columns(
        apply_ppm(pl.col("amount_cents"), ppm, unit_expr(pl.col("currency")), rounding).alias(
            "amount_cents"
        ),
        pl.lit(ppm, pl.Int64).alias("share_ppm"),
    )
    if "quantity_e2" in shared.columns:
        qty = pl.col("quantity_e2").cast(pl.Int128) * pl.col("share_ppm")
        shared = shared.with_columns(
            round_div_expr(qty, PPM, mode).cast(pl.Int64).alias("quantity_credit_e2")
        )
    return shared


def _converted(
    shared: pl.DataFrame, target: str, at: str, rates: pl.DataFrame, mode: RoundingMode
) -> pl.DataFrame:
    """Lines with ``pay_currency`` = ``target`` and ``pay_cents`` converted per line.

    The rate of the credit date (``at`` = ``credit_date``) or of the period end, rounded once
    per line exactly as :func:`engine.calc.lines.prepare_lines` does (null: no rate). Lines
    already in ``target`` are not looked up (:func:`engine.calc.fx.convert`).
    """
    date = "_period_end" if at == "period_end" else "credit_date"
    converted, _ = convert(
        shared.with_columns(
            pl.lit(target, pl.Utf8).alias("pay_currency"), pl.col(date).alias("_rate_date")
        ),
        amount="amount_cents",
        currency="currency",
        target="pay_currency",
        on="_rate_date",
        rates=rates,
        mode=mode,
        out="pay_cents",
    )
    return converted.drop("_rate_date")
