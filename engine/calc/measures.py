"""Measures: credits aggregated per participant and period, over windows, and derived values.

Every measure value is an exact ratio ``num / den`` (``den > 0``) of ``Int64`` integers in
hundredths of the measure's unit:

* ``sum`` of ``amount``: cents of the pay currency (credits converted per line, see
  :mod:`engine.calc.lines`); ``sum`` of ``quantity``: hundredths of a unit, the transaction
  quantity times the credit share; ``den = 1``.
* ``count``: the number of matching credit rows (or distinct transactions) times 100, so that a
  count compares with a quota written as a plain number; ``den = 1``.
* ``attainment``: the window value of the attained measure over the sum of its period quotas
  over the same window (``quota_e2``); both are hundredths, so ``num / den`` is the plain ratio
  (1 = 100%). Never a float.
* ``formula``: exact ``+ - * /`` over other measures (:mod:`engine.calc.formula`), in natural
  units: a money measure enters as currency units (``num / (den x 100)``), a ratio as itself,
  so ``a / b`` of two money measures is a plain ratio and ``a * 2`` is currency units. The
  result's unit is ``number`` (natural: ``num / den``).

Windows: ``period``, ``quarter_to_date``, ``year_to_date`` (:mod:`engine.calc.windows`).
Held credits are not in the lines, so they count only once released.

The output frame (:data:`MEASURE_SCHEMA`) has one row per participant, period and measure for
every participant in the population (those on a plan in the period, and those with credits),
zero when nothing matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter

import polars as pl

from engine.calc.exact import I128, round_div_expr, to_int64
from engine.calc.formula import FormulaError, evaluate, names_in, parse_formula
from engine.calc.lines import Lines
from engine.calc.quotas import FINDING_COLUMNS, period_quotas
from engine.calc.windows import calendar_frame, window_map
from engine.errors import EngineError, Reason
from engine.money import PPM, RoundingMode, parse_decimal_expr
from engine.rules.expr import compile_condition
from engine.rules.plan_schema import (
    AttainmentMeasure,
    CountMeasure,
    FormulaMeasure,
    QuotaSpec,
    SumMeasure,
)

__all__ = [
    "E2_UNITS",
    "MEASURE_SCHEMA",
    "AnyMeasure",
    "MeasureResult",
    "compute_measures",
    "measure_filter",
    "measure_lines",
    "measure_order",
    "measure_value",
    "natural_expr",
]

AnyMeasure = SumMeasure | CountMeasure | AttainmentMeasure | FormulaMeasure

MEASURE_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.Utf8(),
    "period": pl.Utf8(),
    "measure": pl.Utf8(),
    "kind": pl.Utf8(),
    "window": pl.Utf8(),
    "unit": pl.Utf8(),
    "currency": pl.Utf8(),
    "num": pl.Int64(),
    "den": pl.Int64(),
    "quota_e2": pl.Int64(),
}
"""One row per participant, period and measure. ``num / den`` is the exact value in hundredths
of ``unit`` (``money``: cents of ``currency``; ``quantity``, ``count``: hundredths; ``ratio``:
a plain ratio, 1 = 100%; ``number``: a formula's value, natural units, not hundredths).
``quota_e2`` is the window quota of an attainment. A null ``num`` means the value is undefined
(see the findings)."""

E2_UNITS = frozenset({"money", "count", "quantity"})
"""Units whose ``num / den`` is in hundredths: the natural value is ``num / (den x 100)``."""

SUMMABLE = ("amount", "quantity")
"""Columns a ``sum`` measure may sum."""


@dataclass(frozen=True)
class MeasureResult:
    """Measures and the findings made computing them."""

    frame: pl.DataFrame
    findings: pl.DataFrame

    def wide(self) -> pl.DataFrame:
        """One row per participant and period, with ``<measure>__n`` / ``<measure>__d`` columns.

        Example:
            >>> r = MeasureResult(pl.DataFrame({"participant_id": ["A"], "period": ["P"],
            ...     "measure": ["rev"], "num": [5], "den": [1]}), pl.DataFrame())
            >>> r.wide().columns
            ['participant_id', 'period', 'rev__n', 'rev__d']
        """
        return to_wide(self.frame)


def to_wide(frame: pl.DataFrame) -> pl.DataFrame:
    """Pivot long measure rows into ``<measure>__n`` / ``<measure>__d`` columns.

    Example:
        >>> to_wide(pl.DataFrame({"participant_id": ["A"], "period": ["P"], "measure": ["m"],
        ...     "num": [3], "den": [2]})).row(0)
        ('A', 'P', 3, 2)
    """
    keys = ["participant_id", "period"]
    if frame.height == 0:
        return pl.DataFrame(schema={"participant_id": pl.Utf8, "period": pl.Utf8})
    names = frame["measure"].unique(maintain_order=True).to_list()
    out = frame.select(keys).unique(maintain_order=True)
    for name in names:
        part = frame.filter(pl.col("measure") == name).select(
            *keys, pl.col("num").alias(f"{name}__n"), pl.col("den").alias(f"{name}__d")
        )
        out = out.join(part, on=keys, how="left", maintain_order="left")
    return out


def measure_order(measures: Sequence[AnyMeasure]) -> list[AnyMeasure]:
    """Measures in dependency order (attainments and formulas after what they use).

    Raises:
        EngineError: ``RULE_DANGLING_REFERENCE`` for an unknown name in a formula or
            attainment, ``RULE_BAD_EXPRESSION`` for a formula that does not parse,
            ``RULE_BAD_VALUE`` for a cycle.

    Example:
        >>> from engine.rules.plan_schema import MEASURE_ADAPTER as A
        >>> ms = [A.validate_python({"name": "f", "kind": "formula", "formula": "a * 2"}),
        ...       A.validate_python({"name": "a", "kind": "sum"})]
        >>> [m.name for m in measure_order(ms)]
        ['a', 'f']
    """
    by_name = {m.name: m for m in measures}
    graph: dict[str, set[str]] = {}
    for i, m in enumerate(measures):
        deps: set[str] = set()
        if isinstance(m, AttainmentMeasure):
            deps = {m.measure}
        elif isinstance(m, FormulaMeasure):
            try:
                deps = names_in(parse_formula(m.formula))
            except FormulaError as exc:
                raise EngineError.single(
                    Reason.RULE_BAD_EXPRESSION,
                    f"measure {m.name!r}: {exc}",
                    column=f"measures[{i}].formula",
                    hint="write a formula such as: new_revenue + 0.5 * renewals",
                ) from None
        unknown = sorted(deps - set(by_name))
        if unknown:
            raise EngineError.single(
                Reason.RULE_DANGLING_REFERENCE,
                f"measure {m.name!r} uses unknown measure(s) {unknown} (known: {sorted(by_name)})",
                column=f"measures[{i}]",
            )
        graph[m.name] = deps
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise EngineError.single(
            Reason.RULE_BAD_VALUE,
            f"measures refer to each other in a cycle: {exc.args[1]}",
            column="measures",
        ) from None
    return [by_name[name] for name in order]


def measure_filter(measure: SumMeasure | CountMeasure, lines: Lines) -> pl.Expr:
    """The Boolean expression selecting the lines a sum or count measure counts.

    Raises:
        EngineError: the measure's condition does not compile (``RULE_BAD_EXPRESSION`` or
            ``RULE_UNKNOWN_COLUMN``).
    """
    cond = pl.lit(value=True)
    if measure.when is not None:
        cond = compile_condition(measure.when, lines.columns)
    if measure.credit_types is not None:
        cond = cond & pl.col("credit_type").is_in(list(measure.credit_types))
    if isinstance(measure, SumMeasure) and not measure.include_returns:
        cond = cond & (pl.col("amount_cents") >= 0)
    return cond


def measure_value(measure: SumMeasure | CountMeasure, lines: Lines) -> pl.Expr:
    """A line's contribution to a sum or count measure, in hundredths (``100`` for a count).

    Example:
        >>> from engine.rules.plan_schema import MEASURE_ADAPTER as A
        >>> lines = Lines(pl.DataFrame({"pay_cents": [5]}), pl.DataFrame(), {})
        >>> m = A.validate_python({"name": "a", "kind": "sum"})
        >>> lines.frame.select(measure_value(m, lines)).item()
        5
    """
    if isinstance(measure, CountMeasure):
        return pl.lit(100, pl.Int64)
    return _value_expr(measure, lines).cast(pl.Int64)


def _value_expr(measure: SumMeasure, lines: Lines) -> pl.Expr:
    """A line's contribution at scale 2.

    The converted amount, the quantity share, or an extra numeric column times the credit share
    (exact parse; one rounding with the rule set's mode).
    """
    if measure.of == "amount":
        return pl.col("pay_cents")
    if measure.of == "quantity":
        return pl.col("quantity_credit_e2").fill_null(0)
    if measure.of in lines.frame.columns and lines.frame.schema[measure.of] == pl.Utf8:
        parsed = parse_decimal_expr(pl.col(measure.of).str.strip_chars(), 2).value
        shared = round_div_expr(parsed.cast(pl.Int128) * pl.col("share_ppm"), PPM, lines.mode)
        return shared.cast(pl.Int64).fill_null(0)
    raise EngineError.single(
        Reason.RULE_BAD_VALUE,
        f"measure {measure.name!r} sums {measure.of!r}: a sum may sum {list(SUMMABLE)} or a "
        "numeric extra transaction column",
        column="of",
    )


def measure_lines(measure: SumMeasure | CountMeasure, lines: Lines) -> pl.DataFrame:
    """The lines a sum or count measure counts, with its per-line ``value`` (hundredths).

    Example:
        >>> from engine.rules.plan_schema import MEASURE_ADAPTER as A
        >>> df = pl.DataFrame({"pay_cents": [5, 7], "amount_cents": [5, 7],
        ...                    "product": ["A", "B"], "credit_type": ["direct"] * 2})
        >>> lines = Lines(df, pl.DataFrame(), {"product": "text", "amount": "money"})
        >>> m = A.validate_python({"name": "a", "kind": "sum", "when": "product = 'B'"})
        >>> measure_lines(m, lines)["value"].to_list()
        [7]
    """
    return lines.frame.filter(measure_filter(measure, lines)).with_columns(
        measure_value(measure, lines).alias("value")
    )


def compute_measures(
    lines: Lines,
    measures: Sequence[AnyMeasure],
    *,
    calendar: pl.DataFrame,
    quotas: pl.DataFrame,
    participants: pl.DataFrame,
    population: pl.DataFrame,
    periods: Sequence[str],
    mode: RoundingMode,
) -> MeasureResult:
    """Every measure for every participant of the population and every period asked for.

    Args:
        lines: the prepared credit lines (:func:`engine.calc.lines.build_lines`).
        measures: the rule set's measures.
        calendar: the calendar table.
        quotas: the quotas table.
        participants: the participants table (quota proration).
        population: ``participant_id, period, pay_currency``: who must get a row (those on
            a plan) and the currency of their money measures.
        periods: the periods to compute.
        mode: rounding mode (quota proration).

    Returns:
        The measures (:data:`MEASURE_SCHEMA`), sorted by participant, period (calendar order)
        and measure, and findings (``NO_QUOTA``...).
    """
    cal = calendar_frame(calendar)
    wanted = pl.DataFrame({"period": list(periods)}, schema={"period": pl.Utf8})
    grouped = _per_period(lines, measures)
    # who has lines: the line frame, plus roll-up lines given as totals (lines.rollups)
    with_lines = [grouped.select("participant_id", "period", "pay_currency")]
    if lines.rollups is not None:
        with_lines.append(
            lines.rollups.population.select("participant_id", "period", "pay_currency")
        )
    pop = pl.concat(
        [
            population.select("participant_id", "period"),
            *(frame.select("participant_id", "period") for frame in with_lines),
        ]
    ).join(wanted, on="period", how="semi")
    pop = pop.unique().join(cal.select("period", "seq"), on="period").sort("participant_id", "seq")
    currency = (
        pl.concat(
            [
                population.select("participant_id", "period", "pay_currency"),
                *with_lines,
            ]
        )
        .group_by("participant_id", "period")
        .agg(pl.col("pay_currency").drop_nulls().first())
        .rename({"pay_currency": "currency"})
    )
    findings: list[pl.DataFrame] = []
    values: dict[str, pl.DataFrame] = {}
    meta: dict[str, tuple[str, str, str]] = {}
    quota_cache: dict[tuple[str, QuotaSpec], tuple[pl.DataFrame, pl.DataFrame]] = {}
    for m in measure_order(measures):
        if isinstance(m, SumMeasure | CountMeasure):
            values[m.name] = _aggregate(m, lines, pop, calendar, grouped)
            unit = (
                "count"
                if isinstance(m, CountMeasure)
                else ("money" if m.of == "amount" else "quantity")
            )
            meta[m.name] = (m.kind, m.window, unit)
        elif isinstance(m, AttainmentMeasure):
            base = measures_by_name(measures)[m.measure]
            assert isinstance(base, SumMeasure | CountMeasure)
            frame, found = _attainment(
                m,
                window=base.window,
                base=values[m.measure],
                calendar=calendar,
                quotas=quotas,
                participants=participants,
                mode=mode,
                cache=quota_cache,
            )
            values[m.name] = frame
            findings.append(found)
            meta[m.name] = (m.kind, base.window, "ratio")
        else:
            hundredths = {n for n, (_, _, unit) in meta.items() if unit in E2_UNITS}
            values[m.name] = _formula(m, values, pop, hundredths)
            meta[m.name] = (m.kind, "period", "number")
    parts = []
    for name, frame in values.items():
        kind, window, unit = meta[name]
        parts.append(
            frame.select(
                "participant_id",
                "period",
                pl.lit(name).alias("measure"),
                pl.lit(kind).alias("kind"),
                pl.lit(window).alias("window"),
                pl.lit(unit).alias("unit"),
                "num",
                "den",
                (pl.col("quota_e2") if "quota_e2" in frame.columns else pl.lit(None, pl.Int64))
                .cast(pl.Int64)
                .alias("quota_e2"),
            )
        )
    if parts:
        out = pl.concat(parts)
    else:
        out = pl.DataFrame(schema={k: v for k, v in MEASURE_SCHEMA.items() if k != "currency"})
    # every row's participant and period is one of pop's, which is sorted by participant and
    # calendar order: its position and the measure's rank by name give the order in integers
    order = (
        pop.select("participant_id", "period")
        .with_row_index("_i")
        .join(currency, on=["participant_id", "period"], how="left")
    )
    rank = {name: r for r, name in enumerate(sorted(values))}
    out = (
        out.join(order, on=["participant_id", "period"], how="left")
        .with_columns(pl.when(pl.col("unit") == "money").then(pl.col("currency")).otherwise(None))
        .sort(pl.col("_i").cast(pl.Int64) * len(rank) + pl.col("measure").replace_strict(rank))
        .select(list(MEASURE_SCHEMA))
        .cast(MEASURE_SCHEMA)  # type: ignore[arg-type]
    )
    found = (
        pl.concat(findings).cast(FINDING_COLUMNS)  # type: ignore[arg-type]
        if findings
        else pl.DataFrame(schema=FINDING_COLUMNS)
    )
    return MeasureResult(out, found)


def measures_by_name(measures: Sequence[AnyMeasure]) -> dict[str, AnyMeasure]:
    """Measures keyed by name.

    Example:
        >>> from engine.rules.plan_schema import MEASURE_ADAPTER as A
        >>> list(measures_by_name([A.validate_python({"name": "a", "kind": "sum"})]))
        ['a']
    """
    return {m.name: m for m in measures}


def _one_pass(measure: AnyMeasure) -> bool:
    """Whether a measure's per-period sums come from :func:`_per_period`'s single pass.

    Sums of the amount or the quantity and row counts; not distinct-transaction counts, nor
    sums of an extra column (their per-line parse is made on the counted lines only).
    """
    if isinstance(measure, CountMeasure):
        return measure.distinct != "transaction"
    return isinstance(measure, SumMeasure) and measure.of in ("amount", "quantity")


def _per_period(lines: Lines, measures: Sequence[AnyMeasure]) -> pl.DataFrame:
    """One row per participant and period of the line frame, in one pass over the lines.

    Columns: ``pay_currency`` (the first non-null one of the lines, in line order) and, per
    measure of :func:`_one_pass`, its Int128 sum over the lines it counts (0: none).
    When a measure's condition does not compile, no measure is summed here: each is then
    summed on its own, in measure order, so the same error is raised at the same point.
    """
    try:
        values = {
            f"_m:{m.name}": pl.when(measure_filter(m, lines)).then(
                measure_value(m, lines).cast(I128)
            )
            for m in measures
            if isinstance(m, SumMeasure | CountMeasure) and _one_pass(m)
        }
    except EngineError:
        values = {}
    # per-line values first (a count's literal 100 is broadcast to every line), then summed
    return (
        lines.frame.lazy()
        .select("participant_id", "period", "pay_currency", **values)
        .group_by("participant_id", "period")
        .agg(pl.col("pay_currency").drop_nulls().first(), *[pl.col(n).sum() for n in values])
        .collect()
    )


def _aggregate(
    m: SumMeasure | CountMeasure,
    lines: Lines,
    pop: pl.DataFrame,
    calendar: pl.DataFrame,
    grouped: pl.DataFrame,
) -> pl.DataFrame:
    if f"_m:{m.name}" in grouped.columns:
        per_period = grouped.select("participant_id", "period", pl.col(f"_m:{m.name}").alias("num"))
    elif isinstance(m, CountMeasure) and m.distinct == "transaction":
        chosen = measure_lines(m, lines)
        per_period = chosen.group_by("participant_id", "period").agg(
            (pl.col("transaction_id").n_unique() * 100).cast(pl.Int64).alias("num")
        )
    else:
        # summed in Int128 and checked at the end: a total past 2**63 is OVERFLOW, never wrapped
        per_period = (
            measure_lines(m, lines)
            .group_by("participant_id", "period")
            .agg(pl.col("value").cast(I128).sum().alias("num"))
        )
    rolled = lines.rollups.totals.get(m.name) if lines.rollups is not None else None
    if rolled is not None:
        # roll-up lines given as totals (never a distinct count: those are materialised)
        assert not (isinstance(m, CountMeasure) and m.distinct == "transaction")
        per_period = (
            pl.concat([per_period, rolled.select(per_period.columns).cast(per_period.schema)])
            .group_by("participant_id", "period")
            .agg(pl.col("num").sum())
        )
    if m.window == "period":
        # each period's window is the period itself: its sum, no window join
        own = pop.select("participant_id", "period").join(
            per_period, on=["participant_id", "period"], how="left", maintain_order="left"
        )
        own = to_int64(own.with_columns(pl.col("num").fill_null(0)), ["num"], f"measure {m.name!r}")
        return own.with_columns(pl.lit(1, pl.Int64).alias("den"))
    windows = window_map(calendar, m.window)
    windowed = (
        pop.select("participant_id", "period")
        .join(windows, on="period", how="inner")
        .join(
            per_period.rename({"period": "source"}),
            on=["participant_id", "source"],
            how="left",
        )
        .group_by("participant_id", "period")
        .agg(pl.col("num").cast(I128).sum())
    )
    windowed = to_int64(windowed, ["num"], f"measure {m.name!r}")
    return (
        pop.select("participant_id", "period")
        .join(windowed, on=["participant_id", "period"], how="left")
        .with_columns(pl.col("num").fill_null(0), pl.lit(1, pl.Int64).alias("den"))
    )


def _attainment(
    m: AttainmentMeasure,
    *,
    window: str,
    base: pl.DataFrame,
    calendar: pl.DataFrame,
    quotas: pl.DataFrame,
    participants: pl.DataFrame,
    mode: RoundingMode,
    cache: dict[tuple[str, QuotaSpec], tuple[pl.DataFrame, pl.DataFrame]],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    # the quotas depend on the quota key and spec only: attainments sharing them share one
    key = (m.quota.measure or m.measure, m.quota)
    if key not in cache:
        cache[key] = period_quotas(
            quotas,
            calendar=calendar,
            participants=participants,
            measure=m.measure,
            spec=m.quota,
            mode=mode,
        )
    per_period, found = cache[key]
    windows = window_map(calendar, window)  # type: ignore[arg-type]
    quota = (
        base.select("participant_id", "period")
        .join(windows, on="period", how="inner")
        .join(
            per_period.rename({"period": "source"}),
            on=["participant_id", "source"],
            how="inner",
        )
        .group_by("participant_id", "period")
        .agg(pl.col("quota_e2").sum().cast(pl.Int64))
    )
    joined = base.join(quota, on=["participant_id", "period"], how="left")
    has_quota = pl.col("quota_e2").is_not_null() & (pl.col("quota_e2") > 0)
    if m.no_quota == "zero":
        num = pl.when(has_quota).then(pl.col("num")).otherwise(0)
        den = pl.when(has_quota).then(pl.col("quota_e2")).otherwise(1)
    else:
        num = pl.when(has_quota).then(pl.col("num")).otherwise(None)
        den = pl.when(has_quota).then(pl.col("quota_e2")).otherwise(None)
    missing = joined.filter(~has_quota).select(
        "participant_id",
        "period",
        pl.lit(m.name).alias("subject"),
        pl.lit(Reason.NO_QUOTA.value).alias("reason"),
        pl.format(
            "no positive quota for {} in this window; attainment is {}",
            pl.lit(m.quota.measure or m.measure),
            pl.lit("zero" if m.no_quota == "zero" else "undefined"),
        ).alias("message"),
    )
    frame = joined.with_columns(num.cast(pl.Int64).alias("num"), den.cast(pl.Int64).alias("den"))
    return frame, pl.concat([found, missing.cast(FINDING_COLUMNS)])  # type: ignore[arg-type]


def _formula(
    m: FormulaMeasure, values: dict[str, pl.DataFrame], pop: pl.DataFrame, hundredths: set[str]
) -> pl.DataFrame:
    ast = parse_formula(m.formula)
    wide = pop.select("participant_id", "period")
    for name in sorted(names_in(ast)):
        wide = wide.join(
            values[name].select(
                "participant_id",
                "period",
                pl.col("num").alias(f"{name}__n"),
                (pl.col("den") * (100 if name in hundredths else 1)).alias(f"{name}__d"),
            ),
            on=["participant_id", "period"],
            how="left",
        )
    n, d = evaluate(ast)
    out = wide.select("participant_id", "period", n.alias("num"), d.alias("den"))
    return to_int64(out, ["num", "den"], f"formula measure {m.name!r}")


def natural_expr(unit: pl.Expr) -> tuple[pl.Expr, pl.Expr]:
    """``(num, den)`` of a measure row in natural units (currency units, counts, a ratio).

    Reads the ``num``, ``den`` columns and the given ``unit`` expression.

    Example:
        >>> df = pl.DataFrame({"num": [150, 3], "den": [1, 4], "unit": ["money", "ratio"]})
        >>> n, d = natural_expr(pl.col("unit"))
        >>> df.select(n.alias("n"), d.alias("d")).rows()
        [(150, 100), (3, 4)]
    """
    scale = pl.when(unit.is_in(list(E2_UNITS))).then(100).otherwise(1)
    return pl.col("num"), pl.col("den") * scale
