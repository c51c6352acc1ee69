"""Rule-set rate tables turned into kernel specs (:mod:`engine.kernels.tables`).

The rule set writes exact decimals; the kernels take integers at fixed scales:

* amount and attribute bounds: hundredths (cents of the pay currency, or a count/quantity x 100);
* attainment bounds and curve points: parts per million of attainment (1 = ``1_000_000``);
* rates: ``percent`` and ``factor`` in ppm of the base (5% = ``50_000``; a factor of 1.5 =
  ``1_500_000``), ``per_unit`` and ``fixed`` in cents.

A factor table (a linked modifier) is a retroactive percent table whose rate is the factor: rating
the component's earnings through it multiplies them by the factor, exactly.

A value that does not fit its scale exactly (an attainment bound with 7 decimals, a rate finer
than a ppm) is a ``RULE_BAD_VALUE`` error naming the table and the place: never rounded.

Example:
    >>> from engine.rules.plan_schema import RATE_TABLE_ADAPTER as A
    >>> t = A.validate_python({"name": "ae", "kind": "retroactive", "base": "attainment",
    ...     "tiers": [{"from": 0, "to": 1, "rate": "5%"}, {"from": 1, "rate": "8%"}]})
    >>> spec = tier_table(t, t.tiers, default_boundary="lower_inclusive")
    >>> [(x.lower, x.upper, x.rate) for x in spec.tiers], spec.attainment
    ([(0, 1000000, 50000), (1000000, None, 80000)], True)
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from engine.errors import EngineError, Reason
from engine.kernels.tables import (
    Above,
    Below,
    Boundary,
    Curve,
    Matrix,
    RateKind,
    Tier,
    TierTable,
)
from engine.rules.plan_schema import AxisBand, CurveTable, MatrixTable, TieredTable
from engine.rules.plan_schema import Tier as RuleTier

__all__ = ["curve", "matrix", "scaled", "tier_table"]

_RATE_SCALE = {"percent": 6, "factor": 6, "per_unit": 2, "fixed": 2}
_KIND = {
    "percent": RateKind.PERCENT,
    "factor": RateKind.PERCENT,
    "per_unit": RateKind.PER_UNIT,
    "fixed": RateKind.FIXED,
}


def scaled(value: Decimal, places: int, *, table: str, where: str) -> int:
    """``value`` as an integer count of ``10**-places``, exactly.

    Raises:
        EngineError: ``RULE_BAD_VALUE`` when ``value`` has more decimals than ``places``.

    Example:
        >>> scaled(Decimal("0.0425"), 6, table="t", where="rate")
        42500
        >>> scaled(Decimal("0.00000001"), 6, table="t", where="tiers[0].rate")
        Traceback (most recent call last):
        ...
        engine.errors.EngineError: <input> [tiers[0].rate] RULE_BAD_VALUE: ...
    """
    result = value.scaleb(places)
    if result != result.to_integral_value():
        raise EngineError.single(
            Reason.RULE_BAD_VALUE,
            f"rate table {table!r}: {value} has more than {places} decimals at this place",
            column=where,
            hint="attainment and percent rates take at most 6 decimals (a ppm); money 2",
        )
    return int(result)


def _bound_places(base: str) -> int:
    return 6 if base == "attainment" else 2


def tier_table(
    table: TieredTable,
    tiers: Sequence[RuleTier],
    *,
    default_boundary: str,
    where: str = "tiers",
) -> TierTable:
    """The kernel spec of a tiered table (its own tiers, or an override's).

    Example:
        >>> from engine.rules.plan_schema import RATE_TABLE_ADAPTER as A
        >>> t = A.validate_python({"name": "u", "kind": "per_transaction",
        ...     "rate_type": "per_unit", "tiers": [{"from": 0, "rate": "12.50"}]})
        >>> tier_table(t, t.tiers, default_boundary="lower_inclusive").tiers[0].rate
        1250
    """
    places = _bound_places(table.base)
    rate_places = _RATE_SCALE[table.rate_type]
    converted = tuple(
        Tier(
            scaled(t.lower, places, table=table.name, where=f"{where}[{i}].from"),
            None
            if t.upper is None
            else scaled(t.upper, places, table=table.name, where=f"{where}[{i}].to"),
            scaled(t.rate, rate_places, table=table.name, where=f"{where}[{i}].rate"),
        )
        for i, t in enumerate(tiers)
    )
    return TierTable(
        converted,
        kind=_KIND[table.rate_type],
        boundary=Boundary(table.boundary or default_boundary),
        attainment=table.base == "attainment",
        name=table.name,
    )


def curve(table: CurveTable) -> Curve:
    """The kernel spec of an interpolated table or payout curve (rates/factors in ppm).

    Example:
        >>> c = CurveTable.model_validate({"name": "c", "kind": "payout_curve",
        ...     "points": [{"at": 0.5, "rate": 0}, {"at": 1, "rate": 1}]})
        >>> curve(c).points
        ((500000, 0), (1000000, 1000000))
    """
    places = _bound_places(table.base)
    points = tuple(
        (
            scaled(p.at, places, table=table.name, where=f"points[{i}].at"),
            scaled(p.rate, 6, table=table.name, where=f"points[{i}].rate"),
        )
        for i, p in enumerate(table.points)
    )
    return Curve(
        points,
        attainment=table.base == "attainment",
        below=Below(table.below),
        above=Above(table.above),
        name=table.name,
    )


def matrix(table: MatrixTable, *, default_boundary: str) -> Matrix:
    """The kernel spec of a two-dimensional table.

    Example:
        >>> m = MatrixTable.model_validate({"name": "m", "kind": "matrix",
        ...     "rows": [{"from": 0, "to": 1}, {"from": 1}], "columns": [{"from": 0}],
        ...     "rates": [[0.02], [0.04]]})
        >>> matrix(m, default_boundary="lower_inclusive").rows
        ((0, 1000000), (1000000, None))
    """
    rp, cp = _bound_places(table.row_base), _bound_places(table.column_base)

    def band(b: AxisBand, places: int, where: str) -> tuple[int, int | None]:
        upper = None if b.upper is None else scaled(b.upper, places, table=table.name, where=where)
        return scaled(b.lower, places, table=table.name, where=f"{where}.from"), upper

    rate_places = _RATE_SCALE[table.rate_type]
    return Matrix(
        tuple(band(b, rp, f"rows[{i}]") for i, b in enumerate(table.rows)),
        tuple(band(b, cp, f"columns[{i}]") for i, b in enumerate(table.columns)),
        tuple(
            tuple(
                scaled(r, rate_places, table=table.name, where=f"rates[{i}][{j}]")
                for j, r in enumerate(row)
            )
            for i, row in enumerate(table.rates)
        ),
        kind=_KIND[table.rate_type],
        boundary=Boundary(table.boundary or default_boundary),
        row_attainment=table.row_base == "attainment",
        column_attainment=table.column_base == "attainment",
        name=table.name,
    )
