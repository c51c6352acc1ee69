"""Schema of the ``measures``, ``rate_tables`` and ``plans`` sections of a rule set (pydantic v2).

What each section says (full reference in ``docs/plans.md``):

* ``measures``: named aggregates of credits per participant and period: ``sum`` and ``count``
  with a filter and a window (``period``, ``quarter_to_date``, ``year_to_date``), ``attainment``
  (a measure over its quota, kept as an exact ratio) and ``formula`` (arithmetic over other
  measures).
* ``rate_tables``: named rating primitives. Each ``kind`` is one entry of
  :data:`RATE_TABLE_KINDS` (the registry: vocabulary, docs and error text come from there).
* ``plans``: components (a measure rated through a rate table, with gates, a linked modifier,
  caps and floors) and pay mechanics (plan caps and floors, guarantee, draw, SPIFs, clawback,
  true-up, proration, currency).

Numbers are written as exact decimals (``"0.05"``, ``0.05``, ``5%`` or ``"1250.00"``); YAML floats
are read back from their text, never used as binary floats. Money is in the participant's pay
currency unless said otherwise; attainment and factors are plain ratios (``1`` = 100%).

Example:
    >>> m = MEASURE_ADAPTER.validate_python(
    ...     {"name": "revenue", "kind": "sum", "when": "product = 'PLATFORM'"})
    >>> m.window, m.of
    ('period', 'amount')
    >>> t = RATE_TABLE_ADAPTER.validate_python({
    ...     "name": "ae", "kind": "retroactive", "base": "amount",
    ...     "tiers": [{"from": 0, "to": 100000, "rate": "5%"}, {"from": 100000, "rate": 0.08}]})
    >>> [str(x.rate) for x in t.tiers]
    ['0.05', '0.08']
    >>> p = Plan.model_validate({"id": "AE", "components": [
    ...     {"name": "commission", "measure": "revenue", "rate_table": "ae"}]})
    >>> p.components[0].rate_table, p.draw is None
    ('ae', True)
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)

__all__ = [
    "GATE_PAY",
    "MEASURE_ADAPTER",
    "RATE_TABLE_ADAPTER",
    "RATE_TABLE_KINDS",
    "AttainmentMeasure",
    "AxisBand",
    "Boundary",
    "Cap",
    "Clawback",
    "Component",
    "CountMeasure",
    "CurrencyOptions",
    "CurvePoint",
    "CurveTable",
    "Draw",
    "Floor",
    "FormulaMeasure",
    "Gate",
    "Guarantee",
    "MatrixTable",
    "Measure",
    "Modifier",
    "Plan",
    "Proration",
    "QuotaSpec",
    "RateTable",
    "Spif",
    "SumMeasure",
    "Tier",
    "TierOverride",
    "TieredTable",
    "TrueUp",
    "Window",
    "cross_reference_errors",
]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
"""Names of measures, tables, plans and components: a letter or digit, then ``A-Za-z0-9_.-``."""

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=100)]

MAX_DECIMALS = 10
"""Most decimals a number in these sections may carry."""

MAX_WHOLE_DIGITS = 18
"""Most digits before the point: beyond 10**18 no amount, rate or bound fits the exact range."""


def _to_decimal(value: object) -> object:
    """Read a YAML number or text as an exact Decimal; ``"5%"`` is 0.05.

    Integers and floats are read back through their text (``0.1`` stays ``0.1``). Booleans,
    NaN, infinities and more than :data:`MAX_DECIMALS` decimals are refused.
    """
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, Decimal):
        text = str(value)
    elif isinstance(value, int | float):
        text = repr(value) if isinstance(value, float) else str(value)
    elif isinstance(value, str):
        text = value.strip().replace("_", "")
    else:
        raise ValueError(f"expected a number, got {type(value).__name__}")
    percent = text.endswith("%")
    if percent:
        text = text[:-1].strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a decimal number such as 0.05, 5% or 1250.00") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    if number and number.adjusted() >= MAX_WHOLE_DIGITS:
        raise ValueError(f"{text[:30]!r} is too large: at most {MAX_WHOLE_DIGITS} whole digits")
    if percent:
        number = number.scaleb(-2)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > MAX_DECIMALS:
        raise ValueError(f"{value!r} has more than {MAX_DECIMALS} decimals")
    if number == number.to_integral_value():
        return number.quantize(Decimal(1))
    return number.normalize()


Dec = Annotated[Decimal, BeforeValidator(_to_decimal)]
"""An exact decimal (rates, bounds, factors, weights)."""


def _money(value: object) -> object:
    number = _to_decimal(value)
    assert isinstance(number, Decimal)
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2:
        raise ValueError(f"{value!r}: a money amount has at most 2 decimals")
    return number


Money = Annotated[Decimal, BeforeValidator(_money)]
"""A money amount: an exact decimal with at most 2 places, in the pay currency."""

Window = Literal["period", "quarter_to_date", "year_to_date"]
"""Which credits a measure covers for a period: the period alone, the quarter up to and
including it, or the plan year up to and including it."""

Boundary = Literal["lower_inclusive", "upper_inclusive", "both_inclusive"]
"""Tier boundary inclusivity:

* ``lower_inclusive``: ``[from, to)``; a value equal to a boundary belongs to the higher tier.
* ``upper_inclusive``: ``(from, to]``; a value equal to a boundary belongs to the lower tier.
* ``both_inclusive``: ``[from, to]``; tiers may leave gaps and a value outside every tier pays
  nothing; tiers may not share a boundary value.
"""

RateType = Literal["percent", "per_unit", "fixed", "factor"]
"""What a tier's ``rate`` is: a fraction of the base (``percent``: 0.05 or 5%), an amount of
money per unit of the base (``per_unit``), a fixed amount of money (``fixed``), or a pure
multiplier (``factor``: for modifiers and payout curves, 1 = 100%)."""

GATE_PAY: dict[str, str] = {
    "from_first_dollar": "once the gate passes, the whole base is rated",
    "above_threshold": "once the gate passes, only the base above the threshold is rated",
}
"""How a passing gate pays (registry of the ``pay`` values of :class:`Gate`)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------------- measures


class QuotaSpec(_Strict):
    """Where an attainment measure's quota comes from.

    Example:
        >>> QuotaSpec(basis="annual", weights=("1", "1", "2")).weights
        (Decimal('1'), Decimal('1'), Decimal('2'))
    """

    measure: Name | None = Field(
        default=None,
        description="the `measure` key in quotas.csv; absent = the attained measure's name",
    )
    basis: Literal["period", "annual"] = Field(
        default="period",
        description="period: one quotas row per period; annual: one row per plan year (in any "
        "of its periods) spread over the year's periods by `weights`",
    )
    weights: tuple[Dec, ...] | None = Field(
        default=None,
        min_length=1,
        description="seasonality: one non-negative weight per period of the year, in calendar "
        "order; absent = equal weights. Only with basis: annual",
    )
    prorate: bool = Field(
        default=True,
        description="scale the quota by days employed (and on the plan) in each period",
    )

    @model_validator(mode="after")
    def _check(self) -> QuotaSpec:
        if self.weights is not None:
            if self.basis != "annual":
                raise ValueError("weights are only allowed with basis: annual")
            if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
                raise ValueError("weights must be non-negative and not all zero")
        return self


class _MeasureBase(_Strict):
    name: Name = Field(description="the measure's name, unique across measures")
    description: str | None = Field(default=None, description="free text for people")


class SumMeasure(_MeasureBase):
    """Sum of a credit column per participant and period.

    ``of: amount`` sums the credit amounts converted to the participant's pay currency (cents);
    ``of: quantity`` (or another decimal transaction column) sums that column times the credit
    share, in hundredths.

    Example:
        >>> SumMeasure(name="rev", kind="sum", window="year_to_date").credit_types is None
        True
    """

    kind: Literal["sum"] = Field(description="sum of `of` over matching credits")
    of: Name = Field(default="amount", description="the column summed: amount, quantity...")
    when: str | None = Field(
        default=None, description="condition on credit and transaction columns; absent = all"
    )
    credit_types: tuple[Name, ...] | None = Field(
        default=None, min_length=1, description="credit types counted; absent = all"
    )
    window: Window = Field(default="period", description="period, quarter_to_date, year_to_date")
    include_returns: bool = Field(
        default=True,
        description="count negative credits (returns, credit notes) in the sum; a plan with a "
        "clawback rates returns through the clawback instead (see docs/plans.md)",
    )


class CountMeasure(_MeasureBase):
    """Number of matching credit rows per participant and period (in hundredths: 1 = 100).

    Example:
        >>> CountMeasure(name="deals", kind="count", when="amount > 0").window
        'period'
    """

    kind: Literal["count"] = Field(description="count of matching credits")
    when: str | None = Field(default=None, description="condition on credits; absent = all")
    credit_types: tuple[Name, ...] | None = Field(
        default=None, min_length=1, description="credit types counted; absent = all"
    )
    distinct: Literal["credit", "transaction"] = Field(
        default="credit",
        description="count credit rows, or distinct transactions among them",
    )
    window: Window = Field(default="period", description="period, quarter_to_date, year_to_date")


class AttainmentMeasure(_MeasureBase):
    """``measure / quota`` as an exact ratio; the quota follows the measure's window.

    Example:
        >>> AttainmentMeasure(name="att", kind="attainment", measure="rev").quota.basis
        'period'
    """

    kind: Literal["attainment"] = Field(description="a measure divided by its quota")
    measure: Name = Field(description="the attained measure (sum or count)")
    quota: QuotaSpec = Field(default_factory=QuotaSpec, description="where the quota comes from")
    no_quota: Literal["error", "zero"] = Field(
        default="error",
        description="a missing or zero quota: error (a NO_QUOTA finding, the row is null) or "
        "zero attainment",
    )


class FormulaMeasure(_MeasureBase):
    """Exact arithmetic over other measures: ``+ - * /``, parentheses and decimal constants.

    Example:
        >>> FormulaMeasure(name="blend", kind="formula", formula="new + 0.5 * renewal").formula
        'new + 0.5 * renewal'
    """

    kind: Literal["formula"] = Field(description="arithmetic over other measures")
    formula: str = Field(min_length=1, description="e.g. `new_revenue + 0.5 * renewals`")


Measure = Annotated[
    SumMeasure | CountMeasure | AttainmentMeasure | FormulaMeasure,
    Field(discriminator="kind"),
]
"""One entry of the ``measures`` section, told apart by ``kind``."""

MEASURE_ADAPTER: TypeAdapter[SumMeasure | CountMeasure | AttainmentMeasure | FormulaMeasure] = (
    TypeAdapter(Measure)
)
"""Validates one measure from plain data."""

# ------------------------------------------------------------------------------ rate tables

RATE_TABLE_KINDS: dict[str, str] = {
    "retroactive": "the whole base is paid at the rate of the tier the base reaches",
    "incremental": "each slice of the base is paid at its own tier's rate",
    "per_transaction": "each credit is rated on its own, from the first tier every time",
    "per_transaction_marginal": "each credit covers the slice of the running total it adds, "
    "in the declared order, paid across the tiers that slice spans",
    "interpolated": "the rate is interpolated linearly between points and applied to the base",
    "payout_curve": "a factor interpolated between points, times the target incentive",
    "matrix": "the rate is looked up by two bases (rows x columns)",
}
"""The rate-table kinds: name -> what it does. The calculation registry uses the same keys."""

TieredKind = Literal["retroactive", "incremental", "per_transaction", "per_transaction_marginal"]


class Tier(_Strict):
    """One tier ``from .. to`` of a tiered table (``to`` absent = no upper bound).

    Example:
        >>> Tier.model_validate({"from": "0.5", "to": "1", "rate": "2%"}).rate
        Decimal('0.02')
    """

    lower: Dec = Field(alias="from", description="lower bound of the tier, in the base's unit")
    upper: Dec | None = Field(
        default=None, alias="to", description="upper bound; absent = open-ended (last tier)"
    )
    rate: Dec = Field(ge=0, description="the tier's rate, read per the table's rate_type")

    @model_validator(mode="after")
    def _check(self) -> Tier:
        if self.upper is not None and self.upper <= self.lower:
            raise ValueError(f"tier 'to' ({self.upper}) must be above 'from' ({self.lower})")
        return self


def _check_tiers(tiers: tuple[Tier, ...], boundary: Boundary | None, where: str) -> None:
    for i, tier in enumerate(tiers[:-1]):
        nxt = tiers[i + 1]
        if tier.upper is None:
            raise ValueError(f"{where}: only the last tier may leave 'to' open (tier {i + 1})")
        if boundary == "both_inclusive":
            if nxt.lower <= tier.upper:
                raise ValueError(
                    f"{where}: with both_inclusive tiers may not share or overlap a bound "
                    f"(tier {i + 2} starts at {nxt.lower}, tier {i + 1} ends at {tier.upper})"
                )
        elif nxt.lower != tier.upper:
            raise ValueError(
                f"{where}: tiers must be contiguous: tier {i + 2} starts at {nxt.lower} but "
                f"tier {i + 1} ends at {tier.upper}"
            )


class TierOverride(_Strict):
    """Tiers used for credits whose dimension values match (the most specific match wins).

    Example:
        >>> TierOverride.model_validate({"match": {"product": "A"},
        ...     "tiers": [{"from": 0, "rate": 0.1}]}).match
        {'product': 'A'}
    """

    match: dict[Name, str] = Field(
        min_length=1, description="dimension -> value; every pair must match"
    )
    tiers: tuple[Tier, ...] = Field(min_length=1, description="the tiers for matching credits")


class _TableBase(_Strict):
    name: Name = Field(description="the table's name, unique across rate tables")
    description: str | None = Field(default=None, description="free text for people")
    reference: str | None = Field(
        default=None, description="where the plan document defines this table"
    )
    boundary: Boundary | None = Field(
        default=None, description="tier boundary inclusivity; absent = settings.boundary"
    )


class TieredTable(_TableBase):
    """Tiers on a base, rated retroactively, incrementally, per transaction or marginally.

    ``base`` is what the tier bounds compare with: ``amount`` (money, in the pay currency),
    ``attainment`` (a ratio: ``1`` = 100%), or ``attribute`` (the numeric transaction column
    named by ``attribute``; per-transaction kinds only). ``by`` lists dimensions (transaction
    columns such as product or deal_type) and ``overrides`` gives tiers per dimension value;
    each credit uses the most specific matching override (most matched dimensions, then the
    first declared), else the table's own ``tiers``, else it is not rated.

    Example:
        >>> t = TieredTable.model_validate({"name": "x", "kind": "incremental",
        ...     "tiers": [{"from": 0, "to": 100, "rate": 0.05}, {"from": 100, "rate": 0.08}]})
        >>> t.base, t.rate_type, t.order_by
        ('amount', 'percent', ('credit_date', 'transaction_id'))
    """

    kind: TieredKind = Field(description="retroactive, incremental, per_transaction, marginal")
    base: Literal["amount", "attainment", "attribute"] = Field(
        default="amount", description="what the tier bounds compare with"
    )
    attribute: Name | None = Field(
        default=None, description="the numeric transaction column, with base: attribute"
    )
    rate_type: RateType = Field(default="percent", description="how `rate` is read")
    tiers: tuple[Tier, ...] = Field(default=(), description="tiers in ascending order")
    by: tuple[Name, ...] = Field(default=(), description="dimensions the overrides match on")
    overrides: tuple[TierOverride, ...] = Field(
        default=(), description="dimension-specific tiers; the most specific match wins"
    )
    method: Literal["retroactive", "incremental"] = Field(
        default="retroactive",
        description="per_transaction only: each transaction alone at the rate of the tier it "
        "reaches (retroactive), or sliced across the tiers (incremental)",
    )
    order_by: tuple[Name, ...] = Field(
        default=("credit_date", "transaction_id"),
        min_length=1,
        description="sort key of per_transaction_marginal (ties broken by the remaining keys)",
    )

    @model_validator(mode="after")
    def _check(self) -> TieredTable:
        if not self.tiers and not self.overrides:
            raise ValueError("give `tiers`, `overrides`, or both")
        _check_tiers(self.tiers, self.boundary, "tiers")
        for i, o in enumerate(self.overrides):
            _check_tiers(o.tiers, self.boundary, f"overrides[{i}]")
            unknown = set(o.match) - set(self.by)
            if unknown:
                raise ValueError(
                    f"overrides[{i}] matches on {sorted(unknown)}, not listed in `by` "
                    f"({list(self.by)})"
                )
        if self.overrides and not self.by:
            raise ValueError("overrides need `by`: the dimensions they match on")
        if self.by and self.kind in ("incremental", "per_transaction_marginal"):
            raise ValueError(
                f"dimension overrides (`by`) are for retroactive and per_transaction tables, "
                f"not {self.kind}"
            )
        if self.method != "retroactive" and self.kind != "per_transaction":
            raise ValueError("`method` is only for kind: per_transaction")
        if self.base == "attribute":
            if self.attribute is None:
                raise ValueError("base: attribute needs `attribute`: a numeric column name")
            if self.kind not in ("per_transaction", "per_transaction_marginal"):
                raise ValueError("base: attribute is only for per-transaction kinds")
        elif self.attribute is not None:
            raise ValueError("`attribute` is only allowed with base: attribute")
        if self.base == "attainment" and self.kind in (
            "per_transaction",
            "per_transaction_marginal",
        ):
            raise ValueError("per-transaction kinds rate amounts or attributes, not attainment")
        if self.rate_type == "factor" and self.kind != "retroactive":
            raise ValueError("rate_type factor (a modifier table) needs kind: retroactive")
        return self


class CurvePoint(_Strict):
    """One point of a curve: at base value ``at``, the rate (or factor) is ``rate``.

    Example:
        >>> CurvePoint(at="1", rate="100%").rate
        Decimal('1')
    """

    at: Dec = Field(description="the base value (attainment ratio or amount)")
    rate: Dec = Field(description="the rate (interpolated) or payout factor (payout_curve)")


class CurveTable(_TableBase):
    """Points joined by straight lines.

    ``interpolated``: the rate at the base is applied to the paid amount. ``payout_curve``:
    the factor at attainment times the target incentive (1 = 100% of target).

    Example:
        >>> c = CurveTable.model_validate({"name": "c", "kind": "payout_curve",
        ...     "points": [{"at": 0.5, "rate": 0}, {"at": 1, "rate": 1}, {"at": 1.5, "rate": 2}]})
        >>> c.base, c.below, c.above
        ('attainment', 'zero', 'flat')
    """

    kind: Literal["interpolated", "payout_curve"] = Field(description="interpolated or payout")
    base: Literal["amount", "attainment"] = Field(
        default="attainment", description="what the points' `at` compares with"
    )
    points: tuple[CurvePoint, ...] = Field(min_length=2, description="ascending `at` values")
    below: Literal["zero", "flat"] = Field(
        default="zero", description="below the first point: pay zero, or hold its rate"
    )
    above: Literal["flat", "extrapolate"] = Field(
        default="flat", description="above the last point: hold its rate, or extend the line"
    )

    @model_validator(mode="after")
    def _check(self) -> CurveTable:
        if self.kind == "payout_curve" and self.base != "attainment":
            raise ValueError("a payout_curve is read at attainment: base must be attainment")
        for a, b in zip(self.points, self.points[1:], strict=False):
            if b.at <= a.at:
                raise ValueError(f"points must have strictly ascending `at` ({a.at}, {b.at})")
        return self


class AxisBand(_Strict):
    """One band of a matrix axis, ``from .. to`` (``to`` absent = open-ended).

    Example:
        >>> AxisBand.model_validate({"from": 0}).upper is None
        True
    """

    lower: Dec = Field(alias="from", description="lower bound of the band")
    upper: Dec | None = Field(default=None, alias="to", description="upper bound; absent = open")


class MatrixTable(_TableBase):
    """A two-dimensional table: rows banded on the first base, columns on the second.

    Example:
        >>> m = MatrixTable.model_validate({"name": "m", "kind": "matrix",
        ...     "rows": [{"from": 0, "to": 1}, {"from": 1}], "columns": [{"from": 0}],
        ...     "rates": [[0.02], [0.04]]})
        >>> m.rates[1][0], m.row_base
        (Decimal('0.04'), 'attainment')
    """

    kind: Literal["matrix"] = Field(description="two-dimensional lookup")
    row_base: Literal["amount", "attainment"] = Field(
        default="attainment", description="what the row bands compare with"
    )
    column_base: Literal["amount", "attainment"] = Field(
        default="attainment", description="what the column bands compare with"
    )
    rate_type: RateType = Field(default="percent", description="how the cell rates are read")
    rows: tuple[AxisBand, ...] = Field(min_length=1, description="row bands, ascending")
    columns: tuple[AxisBand, ...] = Field(min_length=1, description="column bands, ascending")
    rates: tuple[tuple[Dec, ...], ...] = Field(description="one list per row, one rate per column")

    @model_validator(mode="after")
    def _check(self) -> MatrixTable:
        if len(self.rates) != len(self.rows):
            raise ValueError(f"rates has {len(self.rates)} rows, `rows` has {len(self.rows)}")
        for i, row in enumerate(self.rates):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"rates row {i + 1} has {len(row)} values, `columns` has {len(self.columns)}"
                )
        for axis, bands in (("rows", self.rows), ("columns", self.columns)):
            as_tiers = tuple(Tier(lower=b.lower, upper=b.upper, rate=Decimal(0)) for b in bands)
            _check_tiers(as_tiers, self.boundary, axis)
        return self


RateTable = Annotated[TieredTable | CurveTable | MatrixTable, Field(discriminator="kind")]
"""One entry of the ``rate_tables`` section, told apart by ``kind``."""

RATE_TABLE_ADAPTER: TypeAdapter[TieredTable | CurveTable | MatrixTable] = TypeAdapter(RateTable)
"""Validates one rate table from plain data."""

# ------------------------------------------------------------------------------------ plans


class _Amount(_Strict):
    """An amount of money, or a multiple of the period's target incentive (exactly one)."""

    amount: Money | None = Field(default=None, description="an amount in the pay currency")
    multiple_of_target: Dec | None = Field(
        default=None, ge=0, description="a multiple of the target incentive (1.5 = 150%)"
    )

    @model_validator(mode="after")
    def _one_of(self) -> _Amount:
        if (self.amount is None) == (self.multiple_of_target is None):
            raise ValueError("give exactly one of `amount` or `multiple_of_target`")
        if self.amount is not None and self.amount < 0:
            raise ValueError("`amount` may not be negative")
        return self


class Cap(_Amount):
    """A maximum on earnings (component or plan), per period or cumulative over the year.

    Example:
        >>> Cap(multiple_of_target="2", excess="carry_forward").window
        'period'
    """

    window: Literal["period", "year_to_date"] = Field(
        default="period", description="cap each period, or the year-to-date total"
    )
    excess: Literal["lost", "carry_forward"] = Field(
        default="lost",
        description="earnings above the cap are lost, or carried to later periods with room",
    )


class Floor(_Amount):
    """A minimum on earnings (component or plan) per period; the top-up is an adjustment.

    Example:
        >>> Floor(amount="100").amount
        Decimal('100')
    """

    window: Literal["period"] = Field(default="period", description="floors apply per period")


class Gate(_Strict):
    """Pay nothing unless ``measure`` reaches ``threshold``.

    Example:
        >>> Gate(measure="att", threshold="0.5").pay
        'from_first_dollar'
    """

    measure: Name = Field(description="the measure tested (any kind)")
    threshold: Dec = Field(description="the value to reach, in the measure's unit")
    inclusive: bool = Field(default=True, description="True: measure >= threshold passes")
    pay: Literal["from_first_dollar", "above_threshold"] = Field(
        default="from_first_dollar",
        description="pay the whole base, or only the base above the threshold (then `measure` "
        "must be the component's own measure)",
    )


class Modifier(_Strict):
    """Multiply a component's earnings by a factor looked up on another measure.

    Example:
        >>> Modifier(measure="newlogo_att", rate_table="newlogo_factor").rate_table
        'newlogo_factor'
    """

    measure: Name = Field(description="the measure the factor is looked up on")
    rate_table: Name = Field(description="a retroactive table with rate_type: factor")


class Component(_Strict):
    """One paid element of a plan: a measure rated through a rate table.

    ``measure`` is what the rate is applied to (and, for amount-based tiers, what the tiers
    compare with); ``tier_measure`` overrides what the tiers compare with (e.g. an attainment
    measure); ``column_measure`` is the second base of a matrix table. Payout curves pay the
    target incentive times the factor and need no ``measure`` beyond the attainment.

    Example:
        >>> c = Component(name="rev", measure="revenue", rate_table="ae",
        ...               tier_measure="revenue_att")
        >>> c.tier_measure, c.gates
        ('revenue_att', ())
    """

    name: Name = Field(description="the component's name, unique within the plan")
    description: str | None = Field(default=None, description="free text for people")
    reference: str | None = Field(default=None, description="clause of the plan document")
    rate_table: Name = Field(description="the rate table that rates the measure")
    measure: Name = Field(description="the measure paid on (or the attainment of a curve)")
    tier_measure: Name | None = Field(
        default=None, description="the measure the tiers compare with; absent = `measure`"
    )
    column_measure: Name | None = Field(
        default=None, description="the column base of a matrix table"
    )
    gates: tuple[Gate, ...] = Field(default=(), description="all must pass for any pay")
    modifier: Modifier | None = Field(default=None, description="a linked factor")
    cap: Cap | None = Field(default=None, description="a maximum on this component")
    floor: Floor | None = Field(default=None, description="a minimum on this component")
    true_up: bool = Field(
        default=False,
        description="cumulative: each period pays year-to-date earned minus year-to-date paid",
    )


class Guarantee(_Amount):
    """A minimum payout for the first periods after hire (or for listed periods).

    Example:
        >>> Guarantee(amount="2000", first_periods=3).periods
        ()
    """

    first_periods: int | None = Field(
        default=None, ge=1, description="the number of periods from the hire period on"
    )
    periods: tuple[Name, ...] = Field(default=(), description="explicit periods instead")

    @model_validator(mode="after")
    def _when(self) -> Guarantee:
        if (self.first_periods is None) == (not self.periods):
            raise ValueError("give exactly one of `first_periods` or `periods`")
        return self


class Draw(_Amount):
    """An advance paid when earnings fall short of the draw amount.

    Recoverable: the shortfall becomes a balance recovered from later earnings.

    Example:
        >>> d = Draw(amount="1000", recoverable=True, recovery_limit="300")
        >>> d.recover_from, d.at_term_end
        ('any_earnings', 'carry')
    """

    recoverable: bool = Field(description="True: the shortfall is owed back from later pay")
    recovery_limit: Money | None = Field(
        default=None, ge=0, description="most recovered in one period; absent = no limit"
    )
    recover_from: Literal["any_earnings", "above_draw"] = Field(
        default="any_earnings",
        description="recover from any earnings, or only from earnings above the draw amount "
        "(pay never falls below the draw while it is in force)",
    )
    recovery_starts: Name | None = Field(
        default=None, description="the first period in which recovery may happen"
    )
    first_periods: int | None = Field(
        default=None,
        ge=1,
        description="the draw term: periods from the hire period; absent = "
        "every period on the plan (or `periods`)",
    )
    periods: tuple[Name, ...] = Field(default=(), description="explicit draw periods instead")
    at_term_end: Literal["forgive", "carry"] = Field(
        default="carry",
        description="a balance left after the term: forgiven, or still recovered later",
    )

    @model_validator(mode="after")
    def _term(self) -> Draw:
        if self.first_periods is not None and self.periods:
            raise ValueError("give at most one of `first_periods` or `periods`")
        return self


class Spif(_Strict):
    """A fixed amount when a condition is met: per matching deal, or once per period.

    Example:
        >>> Spif(name="x-push", measure="x_deals", amount="250", per="unit").at_least
        Decimal('0')
    """

    name: Name = Field(description="the SPIF's name, unique within the plan")
    description: str | None = Field(default=None, description="free text for people")
    measure: Name = Field(description="a count (or sum) measure whose filter defines the deals")
    amount: Money = Field(description="the amount paid per unit, or once")
    per: Literal["unit", "period"] = Field(
        default="unit",
        description="unit: amount x the measure (per deal for a count); period: amount once "
        "when the measure reaches `at_least`",
    )
    at_least: Dec = Field(default=Decimal(0), description="the measure value that qualifies")
    from_date: str | None = Field(default=None, description="first day (YYYY-MM-DD) it runs")
    to_date: str | None = Field(default=None, description="last day (YYYY-MM-DD) it runs")


class Clawback(_Strict):
    """Returns within ``window_days`` of the original deal reverse its commission.

    The reversal is at the original rate, times ``percent``, never more than was paid on the
    original deal, posted in the return's period. A return never raises anyone's pay.

    Example:
        >>> Clawback(window_days=90).percent
        Decimal('1')
    """

    window_days: int = Field(ge=0, description="days from the original credit date")
    percent: Dec = Field(
        default=Decimal(1), ge=0, le=1, description="share of the original commission reversed"
    )
    components: tuple[Name, ...] | None = Field(
        default=None, description="components clawed back; absent = all per-deal components"
    )


class TrueUp(_Strict):
    """Prior-period true-up: pay earned to date minus paid to date.

    Example:
        >>> TrueUp().mode
        'year_to_date'
    """

    mode: Literal["year_to_date"] = Field(
        default="year_to_date", description="the true-up window: the plan year"
    )


class Proration(_Strict):
    """Prorate by days for hires, terminations and plan changes within a period.

    Example:
        >>> Proration().target_incentive
        True
    """

    basis: Literal["days"] = Field(default="days", description="calendar days in the period")
    target_incentive: bool = Field(default=True, description="prorate the target incentive")
    caps: bool = Field(default=True, description="prorate caps and floors given as amounts")
    draw: bool = Field(default=True, description="prorate the draw and guarantee amounts")


class CurrencyOptions(_Strict):
    """Which rate converts transaction currency to pay currency, and when.

    Example:
        >>> CurrencyOptions().convert_at
        'credit_date'
    """

    convert_at: Literal["credit_date", "period_end"] = Field(
        default="credit_date", description="the effective date of the exchange rate used"
    )
    pay_in: str | None = Field(
        default=None,
        pattern=r"^[A-Z]{3}$",
        description="pay every participant in this currency; absent = participant pay_currency",
    )


class Plan(_Strict):
    """A compensation plan: components plus pay mechanics.

    Example:
        >>> Plan(id="AE", components=()).proration.basis
        'days'
    """

    id: Name = Field(description="the plan_id used in plan_assignments.csv")
    name: str | None = Field(default=None, description="a readable name")
    reference: str | None = Field(default=None, description="the signed plan document")
    components: tuple[Component, ...] = Field(description="the paid elements, in pay order")
    caps: tuple[Cap, ...] = Field(default=(), description="caps on the plan's total earnings")
    floors: tuple[Floor, ...] = Field(default=(), description="floors on the plan's total")
    guarantee: Guarantee | None = Field(default=None, description="a minimum payout for a time")
    draw: Draw | None = Field(default=None, description="an advance against earnings")
    spifs: tuple[Spif, ...] = Field(default=(), description="fixed bonuses on conditions")
    clawback: Clawback | None = Field(default=None, description="reversal of returned deals")
    true_up: TrueUp | None = Field(default=None, description="earned to date minus paid")
    proration: Proration = Field(default_factory=Proration, description="mid-period changes")
    currency: CurrencyOptions = Field(
        default_factory=CurrencyOptions, description="currency conversion"
    )

    @model_validator(mode="after")
    def _unique(self) -> Plan:
        seen: set[str] = set()
        for name in [c.name for c in self.components] + [s.name for s in self.spifs]:
            if name in seen:
                raise ValueError(f"name {name!r} is used twice in plan {self.id!r}")
            seen.add(name)
        return self


# ------------------------------------------------------------------------- cross-references

Path = tuple[str | int, ...]


def cross_reference_errors(
    measures: tuple[SumMeasure | CountMeasure | AttainmentMeasure | FormulaMeasure, ...],
    rate_tables: tuple[TieredTable | CurveTable | MatrixTable, ...],
    plans: tuple[Plan, ...],
) -> list[tuple[Path, str]]:
    """References between the three sections that do not resolve, with their YAML paths.

    Checks unique names, measures named by measures, components, gates, modifiers and SPIFs,
    rate tables named by components and modifiers, and table kinds that fit their use. Formula
    text is checked for names by :mod:`engine.calc.measures` (it needs the parser).

    Returns:
        ``(path, message)`` pairs; empty when everything resolves.

    Example:
        >>> m = (MEASURE_ADAPTER.validate_python({"name": "rev", "kind": "sum"}),)
        >>> p = (Plan.model_validate({"id": "AE", "components": [
        ...     {"name": "c", "measure": "rev", "rate_table": "nope"}]}),)
        >>> cross_reference_errors(m, (), p)
        [(('plans', 0, 'components', 0, 'rate_table'), "unknown rate table 'nope' (known: [])")]
    """
    errors: list[tuple[Path, str]] = []
    names: dict[str, SumMeasure | CountMeasure | AttainmentMeasure | FormulaMeasure] = {}
    for i, m in enumerate(measures):
        if m.name in names:
            errors.append((("measures", i, "name"), f"measure {m.name!r} is defined twice"))
        names[m.name] = m
    tables: dict[str, TieredTable | CurveTable | MatrixTable] = {}
    for i, t in enumerate(rate_tables):
        if t.name in tables:
            errors.append((("rate_tables", i, "name"), f"rate table {t.name!r} is defined twice"))
        tables[t.name] = t

    def measure_ref(path: Path, name: str | None) -> None:
        if name is not None and name not in names:
            errors.append((path, f"unknown measure {name!r} (known: {sorted(names)})"))

    def table_ref(path: Path, name: str) -> TieredTable | CurveTable | MatrixTable | None:
        if name not in tables:
            errors.append((path, f"unknown rate table {name!r} (known: {sorted(tables)})"))
            return None
        return tables[name]

    for i, m in enumerate(measures):
        if isinstance(m, AttainmentMeasure):
            measure_ref(("measures", i, "measure"), m.measure)
            target = names.get(m.measure)
            if target is not None and not isinstance(target, SumMeasure | CountMeasure):
                errors.append(
                    (("measures", i, "measure"), f"attainment of {m.measure!r}: not a sum/count")
                )
    plan_ids: set[str] = set()
    for p_i, plan in enumerate(plans):
        if plan.id in plan_ids:
            errors.append((("plans", p_i, "id"), f"plan {plan.id!r} is defined twice"))
        plan_ids.add(plan.id)
        for c_i, comp in enumerate(plan.components):
            at: Path = ("plans", p_i, "components", c_i)
            measure_ref((*at, "measure"), comp.measure)
            measure_ref((*at, "tier_measure"), comp.tier_measure)
            measure_ref((*at, "column_measure"), comp.column_measure)
            table = table_ref((*at, "rate_table"), comp.rate_table)
            if isinstance(table, MatrixTable) and comp.column_measure is None:
                errors.append(((*at, "column_measure"), "a matrix table needs column_measure"))
            if not isinstance(table, MatrixTable) and comp.column_measure is not None:
                errors.append(((*at, "column_measure"), "column_measure is only for matrix"))
            for g_i, gate in enumerate(comp.gates):
                measure_ref((*at, "gates", g_i, "measure"), gate.measure)
                if gate.pay == "above_threshold" and gate.measure != comp.measure:
                    errors.append(
                        (
                            (*at, "gates", g_i, "pay"),
                            "above_threshold needs the gate on the component's own measure",
                        )
                    )
            if comp.modifier is not None:
                measure_ref((*at, "modifier", "measure"), comp.modifier.measure)
                mod = table_ref((*at, "modifier", "rate_table"), comp.modifier.rate_table)
                if mod is not None and not (
                    (isinstance(mod, TieredTable) and mod.kind == "retroactive")
                    or isinstance(mod, CurveTable)
                ):
                    errors.append(
                        (
                            (*at, "modifier", "rate_table"),
                            "a modifier table must be retroactive or a curve",
                        )
                    )
        for s_i, spif in enumerate(plan.spifs):
            measure_ref(("plans", p_i, "spifs", s_i, "measure"), spif.measure)
        if plan.clawback is not None and plan.clawback.components is not None:
            comp_names = {c.name for c in plan.components}
            for k, name in enumerate(plan.clawback.components):
                if name not in comp_names:
                    errors.append(
                        (
                            ("plans", p_i, "clawback", "components", k),
                            f"unknown component {name!r} (known: {sorted(comp_names)})",
                        )
                    )
    return errors
