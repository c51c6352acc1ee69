"""The rating registry: each rate-table kind is one function that calls the tier kernels.

:data:`RATERS` maps every kind of :data:`engine.rules.plan_schema.RATE_TABLE_KINDS` to the
function that rates a :class:`RateJob` through :mod:`engine.kernels` (the only place where tier
arithmetic happens). All results are exact earnings at 10**-8 of the pay currency (``*_e8``).

A job has one row per participant, period and plan for one component, with:

* ``tier_n / tier_d``: the natural value of the measure the tiers compare with (an exact
  ratio: currency units, a count, or an attainment);
* ``pay_e2``: the paid measure at scale 2 (cents, or a count/quantity x 100);
* ``col_n / col_d``: the column base of a matrix; ``target_cents``: the target incentive;

and, when the paid measure is a sum or count, its credit ``lines`` over the measure's window
(``value``: the line's contribution at scale 2). A job rates the window: a quarter- or
year-to-date measure gives cumulative earnings, which a ``true_up`` component turns into the
period's increment.

How each kind rates (``docs/plans.md`` has the full table):

* ``retroactive``: the tier reached by the tier base; its rate applies to the paid measure, or
  to each line (dimension overrides, or rounding point ``line``): a one-column matrix lookup per
  table, so a line's rate can come from its most specific override.
* ``incremental``, ``interpolated``: the kernel of the same name on the paid measure (or on its
  attainment); the tier base must be the paid measure or its attainment.
* ``per_transaction``: each line alone (retroactive or incremental), or by an attribute.
* ``per_transaction_marginal``: the window's lines in the declared order, each paying its
  slice of the running total.
* ``payout_curve``: the target incentive times the factor at attainment.
* ``matrix``: the cell of the tier base and the column base; its rate applies to the paid
  measure or to each line.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import polars as pl

from engine.calc.exact import round_div_expr
from engine.calc.specs import curve, matrix, tier_table
from engine.errors import EngineError, Reason
from engine.kernels import (
    Matrix,
    RateKind,
    TierTable,
    attainment_incremental,
    incremental,
    interpolated,
    marginal,
    matrix_lookup,
    pack_matrices,
    pack_tables,
    payout_curve,
    retroactive,
)
from engine.money import RoundingMode, parse_decimal_expr
from engine.rules.plan_schema import (
    RATE_TABLE_KINDS,
    CurveTable,
    MatrixTable,
    TieredTable,
    TierOverride,
)

__all__ = ["KEYS", "RATERS", "RateJob", "Rated", "factor_ppm", "one_column", "rate"]

IntArray = npt.NDArray[np.int64]

KEYS = ["participant_id", "period", "plan_id", "component"]
"""The key of a job row."""


@dataclass(frozen=True)
class RateJob:
    """One component's rating inputs.

    Attributes:
        table: the rate table.
        rows: one row per participant, period and plan (see the module docstring).
        lines: the paid measure's lines for these rows (``KEYS`` + ``transaction_id``,
            ``credit_date``, ``value`` and the transaction columns), or None when the paid
            measure is not a sum or count.
        by_line: apply the rate per line where the kind allows (rounding point ``line``).
        tier_is_paid: the tier base is the paid measure itself, or its attainment (the
            numerator of ``tier_n / tier_d`` is then the paid measure).
        mode: rounding mode (kernels that round at 10**-8).
        default_boundary: the rule set's boundary setting.
        component: the component's name, for messages.
    """

    table: TieredTable | CurveTable | MatrixTable
    rows: pl.DataFrame
    lines: pl.DataFrame | None
    by_line: bool
    tier_is_paid: bool
    mode: RoundingMode
    default_boundary: str
    component: str = ""


@dataclass(frozen=True)
class Rated:
    """Earnings of a job: per row, and per line when the kind rates lines.

    Attributes:
        rows: ``KEYS`` + ``earned_e8`` for every job row.
        lines: ``KEYS`` + ``transaction_id`` + ``line_e8`` when the earnings were computed per
            line (they then sum to the row's ``earned_e8``), else None.
    """

    rows: pl.DataFrame
    lines: pl.DataFrame | None


def _bad(job: RateJob, message: str) -> EngineError:
    return EngineError.single(
        Reason.RULE_BAD_VALUE,
        f"component {job.component!r} with rate table {job.table.name!r}: {message}",
        column="plans.components",
    )


def _i64(frame: pl.DataFrame, column: str) -> IntArray:
    return np.ascontiguousarray(frame[column].cast(pl.Int64).fill_null(0).to_numpy())


def _value_e2(n: pl.Expr, d: pl.Expr, mode: RoundingMode) -> pl.Expr:
    """A natural ratio at scale 2, rounded once (exact when it is a whole number of cents)."""
    return round_div_expr(n.cast(pl.Int128) * 100, d, mode).cast(pl.Int64)


def one_column(spec: TierTable) -> Matrix:
    """A tier table as a one-column matrix: the tier lookup applied to any amount.

    Example:
        >>> t = TierTable.steps([0, 100], [10, 20])
        >>> one_column(t).rates
        ((10,), (20,))
    """
    return Matrix(
        tuple((t.lower, t.upper) for t in spec.tiers),
        ((0, None),),
        tuple((t.rate,) for t in spec.tiers),
        kind=spec.kind,
        boundary=spec.boundary,
        row_attainment=spec.attainment,
        name=spec.name,
    )


def _specs(job: RateJob) -> list[TierTable]:
    """The default tiers (index 0, possibly absent) then each override's, as kernel specs."""
    table = job.table
    assert isinstance(table, TieredTable)
    default = (
        [tier_table(table, table.tiers, default_boundary=job.default_boundary)]
        if table.tiers
        else [tier_table(table, table.overrides[0].tiers, default_boundary=job.default_boundary)]
    )
    return default + [
        tier_table(table, o.tiers, default_boundary=job.default_boundary, where=f"overrides[{i}]")
        for i, o in enumerate(table.overrides)
    ]


def _match_index(table: TieredTable, lines: pl.DataFrame) -> pl.Expr:
    """Each line's spec index: the most specific matching override (+1), else 0.

    0 is the table's own tiers; -1 when it has none and no override matches. Ties between
    equally specific overrides go to the first declared.
    """
    ranked: list[tuple[int, int, TierOverride]] = sorted(
        ((len(o.match), -i, o) for i, o in enumerate(table.overrides)),
        key=lambda x: (x[0], x[1]),
        reverse=True,
    )
    expr = pl.lit(0 if table.tiers else -1, pl.Int64)
    for _, neg_i, override in reversed(ranked):
        cond = pl.lit(value=True)
        for column, wanted in override.match.items():
            if column not in lines.columns:
                raise EngineError.single(
                    Reason.RULE_UNKNOWN_COLUMN,
                    f"rate table {table.name!r} matches on {column!r}, not a transaction column",
                    column="by",
                )
            cond = cond & (pl.col(column).cast(pl.Utf8) == wanted).fill_null(value=False)
        expr = pl.when(cond).then(pl.lit(-neg_i + 1, pl.Int64)).otherwise(expr)
    return expr


def _rows_from_lines(job: RateJob, lines: pl.DataFrame) -> pl.DataFrame:
    summed = lines.group_by(KEYS).agg(pl.col("line_e8").sum().alias("earned_e8"))
    return (
        job.rows.select(KEYS)
        .join(summed, on=KEYS, how="left")
        .with_columns(pl.col("earned_e8").fill_null(0))
    )


def _tier_axis(job: RateJob, frame: pl.DataFrame, attainment: bool) -> tuple[IntArray, IntArray]:
    """Row-axis values for the kernels: |value| (scale 2) or |measure| with its quota."""
    if attainment:
        f = frame.select(pl.col("tier_n").abs().alias("v"), pl.col("tier_d").alias("q"))
        return _i64(f, "v"), _i64(f, "q")
    f = frame.select(_value_e2(pl.col("tier_n"), pl.col("tier_d"), job.mode).abs().alias("v"))
    return _i64(f, "v"), np.empty(0, dtype=np.int64)


def _retroactive(job: RateJob) -> Rated:
    table = job.table
    assert isinstance(table, TieredTable)
    specs = _specs(job)
    attainment = table.base == "attainment"
    fixed = table.rate_type == "fixed"
    if table.by and job.lines is None:
        raise _bad(
            job, "dimension overrides rate credit lines: the paid measure must be a sum or count"
        )
    use_lines = job.lines is not None and (bool(table.by) or (job.by_line and not fixed))
    if not use_lines and not table.by and job.tier_is_paid and not attainment:
        base = _i64(job.rows, "pay_e2")
        out = job.rows.select(KEYS).with_columns(
            pl.Series("earned_e8", retroactive(specs[0], base), dtype=pl.Int64)
        )
        return Rated(out, None)
    matrices = pack_matrices([one_column(s) for s in specs])
    if use_lines:
        assert job.lines is not None
        lines = job.lines.join(
            job.rows.select(*KEYS, "tier_n", "tier_d"), on=KEYS, how="inner"
        ).with_columns(_match_index(table, job.lines).alias("_t"))
        if fixed:  # a fixed amount is paid once per table, not once per line
            raise _bad(job, "fixed-amount tiers with dimension overrides are not supported yet")
        valid = lines.filter((pl.col("_t") >= 0) & pl.col("tier_d").is_not_null())
        v, q = _tier_axis(job, valid, attainment)
        e8 = matrix_lookup(
            matrices,
            v,
            np.zeros(valid.height, dtype=np.int64),
            _i64(valid, "value"),
            _i64(valid, "_t"),
            row_quota=q if attainment else None,
        )
        rated_lines = valid.select(*KEYS, "transaction_id").with_columns(
            pl.Series("line_e8", e8, dtype=pl.Int64)
        )
        rated_lines = pl.concat(
            [
                rated_lines,
                lines.filter(~((pl.col("_t") >= 0) & pl.col("tier_d").is_not_null())).select(
                    *KEYS, "transaction_id", pl.lit(0, pl.Int64).alias("line_e8")
                ),
            ]
        )
        return Rated(_rows_from_lines(job, rated_lines), rated_lines)
    rows = job.rows.filter(pl.col("tier_d").is_not_null())
    v, q = _tier_axis(job, rows, attainment)
    applied = _i64(rows, "pay_e2")
    e8 = matrix_lookup(
        matrices, v, np.zeros(rows.height, dtype=np.int64), applied,
        row_quota=q if attainment else None,
    )  # fmt: skip
    if fixed:  # a fixed amount takes the sign of the base (a negative base mirrors)
        e8 = np.where(applied < 0, -e8, e8)
    return Rated(_fill(job, rows.select(KEYS).with_columns(pl.Series("earned_e8", e8))), None)


def _fill(job: RateJob, partial: pl.DataFrame) -> pl.DataFrame:
    return (
        job.rows.select(KEYS)
        .join(partial, on=KEYS, how="left")
        .with_columns(pl.col("earned_e8").fill_null(0).cast(pl.Int64))
    )


def _need_paid_tier(job: RateJob) -> None:
    if not job.tier_is_paid:
        raise _bad(
            job,
            f"a {job.table.kind} table slices the paid measure itself: its tier base must be "
            "the component's measure or that measure's attainment",
        )


def _incremental(job: RateJob) -> Rated:
    table = job.table
    assert isinstance(table, TieredTable)
    _need_paid_tier(job)
    spec = _specs(job)[0]
    rows = job.rows.filter(pl.col("tier_d").is_not_null())
    if table.base == "attainment":
        e8 = attainment_incremental(spec, _i64(rows, "tier_n"), _i64(rows, "tier_d"), mode=job.mode)
    else:
        e8 = incremental(spec, _i64(rows, "pay_e2"))
    return Rated(_fill(job, rows.select(KEYS).with_columns(pl.Series("earned_e8", e8))), None)


def _need_lines(job: RateJob) -> pl.DataFrame:
    if job.lines is None:
        raise _bad(job, "per-transaction rating needs a sum or count measure (it rates its lines)")
    return job.lines.join(job.rows.select(KEYS), on=KEYS, how="inner")


def _per_transaction(job: RateJob) -> Rated:
    table = job.table
    assert isinstance(table, TieredTable)
    lines = _need_lines(job).with_columns(_match_index(table, job.lines).alias("_t"))  # type: ignore[arg-type]
    specs = _specs(job)
    if table.base == "attribute":
        assert table.attribute is not None
        lines = lines.with_columns(_attribute_value(table.attribute, lines).alias("_attr"))
        lines = lines.with_columns(
            pl.when(pl.col("_attr").is_null()).then(-1).otherwise(pl.col("_t")).alias("_t")
        )
        column = "_attr"
    valid = lines.filter(pl.col("_t") >= 0)
    if table.base == "attribute":
        if table.method == "incremental":
            raise _bad(job, "an attribute base rates each transaction retroactively (method)")
        e8 = matrix_lookup(
            pack_matrices([one_column(s) for s in specs]),
            np.abs(_i64(valid, column)),
            np.zeros(valid.height, dtype=np.int64),
            _i64(valid, "value"),
            _i64(valid, "_t"),
        )
        if table.rate_type == "fixed":
            e8 = np.where(_i64(valid, "value") < 0, -e8, e8)
    else:
        packed = pack_tables(specs)
        method = incremental if table.method == "incremental" else retroactive
        e8 = method(packed, _i64(valid, "value"), _i64(valid, "_t"))
    rated = pl.concat(
        [
            valid.select(*KEYS, "transaction_id").with_columns(pl.Series("line_e8", e8)),
            lines.filter(pl.col("_t") < 0).select(
                *KEYS, "transaction_id", pl.lit(0, pl.Int64).alias("line_e8")
            ),
        ]
    )
    return Rated(_rows_from_lines(job, rated), rated)


def _attribute_value(name: str, lines: pl.DataFrame) -> pl.Expr:
    """A transaction attribute at scale 2.

    A numeric contract column, or an extra text column parsed exactly (a malformed or blank
    value is null: the line is not rated).
    """
    for candidate in (f"{name}_e2", f"{name}_cents"):
        if candidate in lines.columns:
            return pl.col(candidate)
    if name in lines.columns and lines.schema[name] == pl.Utf8:
        return parse_decimal_expr(pl.col(name).str.strip_chars(), 2).value
    raise EngineError.single(
        Reason.RULE_UNKNOWN_COLUMN,
        f"attribute {name!r} is not a transaction column (quantity, amount, or an extra column)",
        column="attribute",
    )


def _marginal(job: RateJob) -> Rated:
    table = job.table
    assert isinstance(table, TieredTable)
    lines = _need_lines(job)
    order = [*KEYS, *table.order_by]
    missing = [c for c in table.order_by if c not in lines.columns]
    if missing:
        raise EngineError.single(
            Reason.RULE_UNKNOWN_COLUMN,
            f"rate table {table.name!r} orders by {missing}, not credit or transaction columns",
            column="order_by",
        )
    lines = lines.sort(order)
    groups = lines.group_by(KEYS, maintain_order=True).agg(pl.len().alias("_n"))
    offsets = np.concatenate([[0], np.cumsum(_i64(groups, "_n"))]).astype(np.int64)
    e8 = marginal(_specs(job)[0], _i64(lines, "value"), offsets)
    rated = lines.select(*KEYS, "transaction_id").with_columns(pl.Series("line_e8", e8))
    return Rated(_rows_from_lines(job, rated), rated)


def _interpolated(job: RateJob) -> Rated:
    table = job.table
    assert isinstance(table, CurveTable)
    _need_paid_tier(job)
    spec = curve(table)
    rows = job.rows.filter(pl.col("tier_d").is_not_null())
    if table.base == "attainment":
        e8 = interpolated(spec, _i64(rows, "tier_n"), _i64(rows, "tier_d"), mode=job.mode)
    else:
        e8 = interpolated(spec, _i64(rows, "pay_e2"), mode=job.mode)
    return Rated(_fill(job, rows.select(KEYS).with_columns(pl.Series("earned_e8", e8))), None)


def _payout_curve(job: RateJob) -> Rated:
    table = job.table
    assert isinstance(table, CurveTable)
    spec = curve(table)
    rows = job.rows.filter(pl.col("tier_d").is_not_null())
    e8 = payout_curve(
        spec, _i64(rows, "tier_n"), _i64(rows, "tier_d"), _i64(rows, "target_cents"), mode=job.mode
    )
    return Rated(_fill(job, rows.select(KEYS).with_columns(pl.Series("earned_e8", e8))), None)


def _matrix(job: RateJob) -> Rated:
    table = job.table
    assert isinstance(table, MatrixTable)
    spec = matrix(table, default_boundary=job.default_boundary)
    rows = job.rows.filter(pl.col("tier_d").is_not_null() & pl.col("col_d").is_not_null())

    def axis(frame: pl.DataFrame, n: str, d: str, ratio: bool) -> tuple[IntArray, IntArray | None]:
        if ratio:
            return _i64(frame, n), _i64(frame, d)
        f = frame.select(_value_e2(pl.col(n), pl.col(d), job.mode).alias("v"))
        return _i64(f, "v"), None

    use_lines = job.by_line and job.lines is not None and table.rate_type != "fixed"
    target = (
        job.lines.join(rows.select(*KEYS, "tier_n", "tier_d", "col_n", "col_d"), on=KEYS)  # type: ignore[union-attr]
        if use_lines
        else rows
    )
    rv, rq = axis(target, "tier_n", "tier_d", table.row_base == "attainment")
    cv, cq = axis(target, "col_n", "col_d", table.column_base == "attainment")
    applied = _i64(target, "value" if use_lines else "pay_e2")
    e8 = matrix_lookup(spec, rv, cv, applied, row_quota=rq, column_quota=cq)
    if use_lines:
        rated = target.select(*KEYS, "transaction_id").with_columns(pl.Series("line_e8", e8))
        return Rated(_rows_from_lines(job, rated), rated)
    return Rated(_fill(job, rows.select(KEYS).with_columns(pl.Series("earned_e8", e8))), None)


RATERS: dict[str, Callable[[RateJob], Rated]] = {
    "retroactive": _retroactive,
    "incremental": _incremental,
    "per_transaction": _per_transaction,
    "per_transaction_marginal": _marginal,
    "interpolated": _interpolated,
    "payout_curve": _payout_curve,
    "matrix": _matrix,
}
"""Rate-table kind -> rating function. Same keys as ``RATE_TABLE_KINDS``."""

assert set(RATERS) == set(RATE_TABLE_KINDS)


def rate(job: RateJob) -> Rated:
    """Rate a job with the function registered for its table's kind.

    Example:
        >>> from engine.rules.plan_schema import RATE_TABLE_ADAPTER as A
        >>> t = A.validate_python({"name": "t", "kind": "retroactive",
        ...     "tiers": [{"from": 0, "to": 100000, "rate": "5%"}, {"from": 100000, "rate": "8%"}]})
        >>> rows = pl.DataFrame({"participant_id": ["A"], "period": ["P"], "plan_id": ["X"],
        ...     "component": ["c"], "tier_n": [12_000_000], "tier_d": [100],
        ...     "pay_e2": [12_000_000]})
        >>> job = RateJob(t, rows, None, by_line=False, tier_is_paid=True,
        ...               mode=RoundingMode.HALF_UP, default_boundary="lower_inclusive")
        >>> rate(job).rows["earned_e8"].to_list()  # 120k x 8% = 9,600.00
        [960000000000]
    """
    return RATERS[job.table.kind](job)


def factor_ppm(
    table: TieredTable | CurveTable | MatrixTable,
    n: Sequence[int] | IntArray,
    d: Sequence[int] | IntArray,
    *,
    mode: RoundingMode,
    default_boundary: str,
) -> IntArray:
    """A modifier's factor in ppm for each natural value ``n / d`` (d > 0).

    A retroactive table's rate at the value (looked up as a one-column matrix applied to one
    cent, which returns the rate in ppm), or a curve's factor (rounded to a ppm with ``mode``).

    Example:
        >>> from engine.rules.plan_schema import RATE_TABLE_ADAPTER as A
        >>> t = A.validate_python({"name": "f", "kind": "retroactive", "base": "attainment",
        ...     "rate_type": "factor", "tiers": [{"from": 0, "to": 0.5, "rate": 0.5},
        ...     {"from": 0.5, "rate": 1}]})
        >>> factor_ppm(t, [1, 3], [4, 4], mode=RoundingMode.HALF_UP,
        ...            default_boundary="lower_inclusive").tolist()
        [500000, 1000000]
    """
    num = np.ascontiguousarray(np.asarray(n, dtype=np.int64))
    den = np.ascontiguousarray(np.asarray(d, dtype=np.int64))
    one = np.ones(num.shape[0], dtype=np.int64)
    if isinstance(table, CurveTable):
        curve_spec = curve(table)
        if not curve_spec.attainment:
            raise EngineError.single(
                Reason.RULE_BAD_VALUE,
                f"modifier curve {table.name!r} must be read at attainment (base: attainment)",
                column="modifier.rate_table",
            )
        return payout_curve(curve_spec, num, den, one, mode=mode)
    if not isinstance(table, TieredTable) or table.kind != "retroactive":
        raise EngineError.single(
            Reason.RULE_BAD_VALUE,
            f"modifier table {table.name!r} must be retroactive or a curve",
            column="modifier.rate_table",
        )
    spec = tier_table(table, table.tiers, default_boundary=default_boundary)
    if spec.kind is not RateKind.PERCENT:
        raise EngineError.single(
            Reason.RULE_BAD_VALUE,
            f"modifier table {table.name!r} needs rate_type factor (or percent)",
            column="modifier.rate_table",
        )
    if spec.attainment:
        return matrix_lookup(one_column(spec), np.abs(num), np.zeros_like(num), one, row_quota=den)
    values = np.abs((num * 100) // den)
    return matrix_lookup(one_column(spec), values, np.zeros_like(num), one)
