"""Tier slices: what each tier of a rate table paid, for the audit trail.

For a ``retroactive`` table the reached tier pays the whole paid amount; for an
``incremental`` one each tier pays the part of the paid amount inside it (on an attainment
base: the part of the measure between ``lower x quota`` and ``upper x quota``, each slice
rounded to 10**-8 as the kernel does). Only percent tables whose tier base is the paid measure
itself (or its attainment) are sliced; a slice row says whether the slices add up to the
incentive's exact earnings (``matches``): they do not when a gate, modifier or proration
changed the earnings, and the explanation then shows them as information only.

Example:
    >>> from decimal import Decimal as D
    >>> slices_for("incremental", "amount", [(D(0), D(100), D("0.05")), (D(100), None, D("0.08"))],
    ...            12000, tier_num=None, tier_den=None, mode=RoundingMode.HALF_UP)
    [(1, 10000, 500000000), (2, 2000, 160000000)]
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

import polars as pl

from engine.money import RoundingMode, round_div

if TYPE_CHECKING:
    from engine.rules.schema import RuleSet

__all__ = ["SLICE_SCHEMA", "slices_for", "tier_slices"]

SLICE_SCHEMA = {
    "participant_id": pl.Utf8,
    "period": pl.Utf8,
    "plan_id": pl.Utf8,
    "component": pl.Utf8,
    "tier": pl.Int32,
    "tier_from": pl.Utf8,
    "tier_to": pl.Utf8,
    "tier_rate": pl.Utf8,
    "slice_cents": pl.Int64,
    "slice_e8": pl.Int64,
    "matches": pl.Boolean,
}

E8_PER_CENT = 1_000_000


def _e8(amount_cents: Fraction, rate: Decimal, mode: RoundingMode) -> int:
    exact = amount_cents * Fraction(rate) * E8_PER_CENT
    return round_div(exact.numerator, exact.denominator, mode)


def slices_for(
    kind: str,
    base: str,
    tiers: Sequence[tuple[Decimal, Decimal | None, Decimal]],
    pay_cents: int,
    *,
    tier_num: int | None,
    tier_den: int | None,
    mode: RoundingMode,
) -> list[tuple[int, int, int]]:
    """``(tier, slice_cents, slice_e8)`` for each tier that paid (1-based tiers).

    ``base`` is ``amount`` (bounds in currency units) or ``attainment`` (bounds as fractions of
    the quota ``pay_cents x tier_den / tier_num``). A negative amount is the mirror image.
    """
    if pay_cents < 0:
        mirror = slices_for(
            kind,
            base,
            tiers,
            -pay_cents,
            tier_num=None if tier_num is None else -tier_num,
            tier_den=tier_den,
            mode=mode,
        )
        return [(t, -c, -e) for t, c, e in mirror]
    m = Fraction(pay_cents)
    if base == "attainment":
        if not tier_num or not tier_den:
            return []
        scale = m * Fraction(tier_den, tier_num)  # the quota, in cents
    else:
        scale = Fraction(100)  # currency units -> cents
    out: list[tuple[int, int, int]] = []
    if kind == "retroactive":
        for i, (lower, upper, rate) in enumerate(tiers, start=1):
            lo = Fraction(lower) * scale
            hi = None if upper is None else Fraction(upper) * scale
            if m >= lo and (hi is None or m < hi):
                out = [(i, pay_cents, _e8(m, rate, mode))]
        return out
    for i, (lower, upper, rate) in enumerate(tiers, start=1):
        lo = Fraction(lower) * scale
        top = m if upper is None else min(m, Fraction(upper) * scale)
        inside = max(Fraction(0), top - lo)
        if inside > 0:
            cents = inside.numerator // inside.denominator
            out.append((i, cents, _e8(inside, rate, mode)))
    return out


def tier_slices(
    incentives: pl.DataFrame, ruleset: RuleSet, mode: RoundingMode, boundary: str
) -> pl.DataFrame:
    """The slices of every retroactive or incremental percent incentive (see module doc)."""
    from engine.rules.plan_schema import TieredTable  # noqa: PLC0415  (import order)

    tables = {
        t.name: t
        for t in ruleset.rate_tables
        if isinstance(t, TieredTable) and t.rate_type == "percent" and not t.overrides
    }
    rows: list[dict[str, object]] = []
    wanted = incentives.filter(
        pl.col("kind").is_in(["retroactive", "incremental"])
        & pl.col("rate_table").is_in(list(tables))
        & pl.col("pay_e2").is_not_null()
    )
    for r in wanted.iter_rows(named=True):
        table = tables[r["rate_table"]]
        if table.base == "attainment" and r["tier_num"] != r["pay_e2"]:
            continue  # the tiers compare another measure: not a slice of the paid amount
        if table.base not in ("amount", "attainment") or (table.boundary or boundary) != (
            "lower_inclusive"
        ):
            continue
        tiers = [(t.lower, t.upper, t.rate) for t in table.tiers]
        got = slices_for(
            table.kind,
            table.base,
            tiers,
            r["pay_e2"],
            tier_num=r["tier_num"],
            tier_den=r["tier_den"],
            mode=mode,
        )
        matches = sum(e for _, _, e in got) == r["earned_e8"]
        for tier, cents, e8 in got:
            t = table.tiers[tier - 1]
            rows.append(
                {
                    **{k: r[k] for k in ("participant_id", "period", "plan_id", "component")},
                    "tier": tier,
                    "tier_from": str(t.lower),
                    "tier_to": None if t.upper is None else str(t.upper),
                    "tier_rate": str(t.rate),
                    "slice_cents": cents,
                    "slice_e8": e8,
                    "matches": matches,
                }
            )
    return pl.DataFrame(rows, schema=SLICE_SCHEMA)
