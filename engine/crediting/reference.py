"""A slow, obviously-correct crediting reference: plain Python, one transaction at a time.

The fast stage (:func:`engine.crediting.credit`) is tested against this module on generated
data. Nothing here is vectorised or clever: periods, owners and managers are found by scanning
rows; splits use :func:`allocate_ints`; roll-ups walk up the hierarchy one level at a time.
Conditions are the one shared part: they are evaluated once with the same compiler and passed
in as sets of matching transaction ids.

Example:
    >>> allocate_ints(100, [333_334, 333_333, 333_333], ["P3", "P1", "P2"], 1)
    [34, 33, 33]
    >>> allocate_ints(-100, [500_000, 500_000], ["B", "A"], 1)
    [-50, -50]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from engine.crediting.conditions import add_split_sellers, transaction_kinds, when_expr
from engine.errors import EngineError, Reason
from engine.money import CURRENCY_DIGITS, PPM, RoundingMode, round_div
from engine.rules.crediting_schema import (
    CreditingSection,
    CreditRule,
    ExclusionRule,
    HoldRule,
    OverlayRule,
    RollupRule,
)

__all__ = ["ReferenceResult", "allocate_ints", "condition_matches", "reference_credit"]

Row = dict[str, Any]


def _unit(currency: str) -> int:
    return 100 if CURRENCY_DIGITS.get(currency, 2) == 0 else 1


def allocate_ints(amount: int, shares: Sequence[int], ties: Sequence[str], unit: int) -> list[int]:
    """Largest-remainder allocation of ``amount`` (hundredths) by ``shares`` (ppm), in order.

    Args:
        amount: the amount to split, a multiple of ``unit``.
        shares: ppm per part; must sum to 1,000,000.
        ties: per part, the key that breaks equal remainders (smallest first).
        unit: the currency's minor unit in hundredths (100 for JPY).

    Returns:
        The parts, in the order of ``shares``.
    """
    if sum(shares) != PPM:
        raise EngineError.single(Reason.SHARES_NOT_100, f"shares sum to {sum(shares)}")
    sign = -1 if amount < 0 else 1
    units = abs(amount) // unit
    base = [units * s // PPM for s in shares]
    rem = [units * s % PPM for s in shares]
    left = units - sum(base)
    order = sorted(range(len(shares)), key=lambda i: (-rem[i], ties[i]))
    for i in order[:left]:
        base[i] += 1
    return [sign * b * unit for b in base]


def condition_matches(
    transactions: pl.DataFrame,
    section: CreditingSection,
    sellers: pl.DataFrame,
    extra_kinds: Mapping[str, str] | None = None,
    calendar: pl.DataFrame | None = None,
) -> dict[str, set[str]]:
    """For every named rule with a condition, the ids of the transactions it matches.

    ``period`` is added from ``calendar`` (the same way the stage does) so that conditions
    can use it.
    """
    tx = add_split_sellers(transactions, sellers)
    if calendar is not None and calendar.height:
        rows = calendar.select("period", "start_date", "end_date").rows()
        periods = [
            next((p for p, s, e in rows if s <= d <= e), None) for d in tx["credit_date"].to_list()
        ]
        tx = tx.with_columns(pl.Series("period", periods, dtype=pl.Utf8))
    else:
        tx = tx.with_columns(pl.lit(None, dtype=pl.Utf8).alias("period"))
    kinds = transaction_kinds(tx, extra_kinds)
    out: dict[str, set[str]] = {}
    named: list[CreditRule | OverlayRule | HoldRule | ExclusionRule | RollupRule] = [
        *section.rules,
        *section.overlays,
        *section.holds,
        *section.exclusions,
        *section.rollups,
    ]
    for rule in named:
        mask = tx.select(when_expr(rule.when, kinds)).to_series()
        out[rule.name] = set(tx.filter(mask)["transaction_id"].to_list())
    return out


@dataclass
class ReferenceResult:
    """Plain-Python crediting output: lists of row dicts."""

    credits: list[Row] = field(default_factory=list)
    unrouted: list[Row] = field(default_factory=list)
    excluded: list[Row] = field(default_factory=list)
    overlay_misses: list[Row] = field(default_factory=list)


def _in_force(row: Row, day: dt.date) -> bool:
    return bool(row["valid_from"] <= day and (row["valid_to"] is None or day <= row["valid_to"]))


def _route(
    tx: Row,
    source: str,
    participant: str | None,
    sellers: list[Row],
    owners: list[Row],
) -> list[tuple[str, int, str, int]]:
    if source == "participant":
        assert participant is not None
        return [(participant, PPM, "transactions", tx["source_line"])]
    if source == "seller":
        if tx["seller_id"] is None:
            return []
        return [(tx["seller_id"], PPM, "transactions", tx["source_line"])]
    if source == "sellers":
        return [
            (r["participant_id"], r["share_ppm"], "transaction_sellers", r["source_line"])
            for r in sellers
            if r["transaction_id"] == tx["transaction_id"]
        ]
    if tx["territory_id"] is None:
        return []
    return [
        (
            r["participant_id"],
            PPM if r["share_ppm"] is None else r["share_ppm"],
            "territory_owners",
            r["source_line"],
        )
        for r in owners
        if r["territory_id"] == tx["territory_id"] and _in_force(r, tx["credit_date"])
    ]


def reference_credit(
    tables: Mapping[str, pl.DataFrame],
    section: CreditingSection,
    matches: Mapping[str, set[str]],
    periods: Sequence[str] | None = None,
    rounding: RoundingMode = RoundingMode.HALF_UP,
) -> ReferenceResult:
    """Credit transactions one at a time (see the module docstring).

    Args:
        tables: typed dataset tables.
        section: the crediting section.
        matches: rule name -> ids of matching transactions (:func:`condition_matches`).
        periods: the run's periods (None = all).
        rounding: default rounding of roll-up overrides.

    Returns:
        The reference result.
    """
    calendar = tables["calendar"].rows(named=True)
    wanted = set(periods) if periods is not None else {c["period"] for c in calendar}
    sellers = tables["transaction_sellers"].rows(named=True)
    owners = tables["territory_owners"].rows(named=True)
    hierarchy = tables["hierarchy"].rows(named=True)
    out = ReferenceResult()

    def hit(rule_name: str, tx: Row) -> bool:
        return tx["transaction_id"] in matches[rule_name]

    for tx in tables["transactions"].rows(named=True):
        tid, day, line = tx["transaction_id"], tx["credit_date"], tx["source_line"]
        period = next(
            (c["period"] for c in calendar if c["start_date"] <= day <= c["end_date"]), None
        )
        if period is None or period not in wanted:
            out.unrouted.append(
                {"transaction_id": tid, "reason": "OUTSIDE_PERIODS", "source_line": line}
            )
            continue
        exclusion = next((e.name for e in section.exclusions if hit(e.name, tx)), None)
        if exclusion is not None:
            out.excluded.append({"transaction_id": tid, "rule": exclusion, "source_line": line})
            continue
        candidates = [(i, r) for i, r in enumerate(section.rules) if hit(r.name, tx)]
        if not candidates:
            out.unrouted.append(
                {"transaction_id": tid, "reason": "NO_CREDIT_RULE", "source_line": line}
            )
            continue
        _, rule = min(candidates, key=lambda c: (-c[1].priority, c[0]))
        recipients = _route(tx, rule.source, rule.participant, sellers, owners)
        if not recipients:
            out.unrouted.append({"transaction_id": tid, "reason": "NO_OWNER", "source_line": line})
            continue
        level0: list[Row] = []
        unit = _unit(tx["currency"])
        sources = [(rule.name, rule.credit_type, recipients)]
        for overlay in section.overlays:
            if not hit(overlay.name, tx):
                continue
            found = _route(tx, overlay.source, overlay.participant, sellers, owners)
            if not found:
                out.overlay_misses.append({"transaction_id": tid, "rule": overlay.name})
                continue
            sources.append((overlay.name, overlay.credit_type, found))
        for name, credit_type, found in sources:
            parts = allocate_ints(
                tx["amount_cents"], [f[1] for f in found], [f[0] for f in found], unit
            )
            for (who, share, table, route_line), amount in zip(found, parts, strict=True):
                level0.append(
                    {
                        "transaction_id": tid,
                        "participant_id": who,
                        "credit_type": credit_type,
                        "rule": name,
                        "level": 0,
                        "direct_participant_id": who,
                        "share_ppm": share,
                        "amount_cents": amount,
                        "currency": tx["currency"],
                        "credit_date": day,
                        "period": period,
                        "held": _held(section, matches, tx, credit_type),
                        "route_table": table,
                        "route_line": route_line,
                    }
                )
        out.credits.extend(level0)
        for rollup in section.rollups:
            if not hit(rollup.name, tx):
                continue
            mode = rollup.rounding_mode or rounding
            for c in level0:
                if c["credit_type"] not in rollup.credit_types:
                    continue
                who, level = c["participant_id"], 1
                while rollup.max_levels is None or level <= rollup.max_levels:
                    link = next(
                        (h for h in hierarchy if h["participant_id"] == who and _in_force(h, day)),
                        None,
                    )
                    if link is None:
                        break
                    if level > len(hierarchy) + 1:
                        raise EngineError.single(Reason.HIERARCHY_CYCLE, "cycle")
                    ppm = rollup.level_ppm(level)
                    amount = round_div(c["amount_cents"] // unit * ppm, PPM, mode) * unit
                    out.credits.append(
                        {
                            **c,
                            "participant_id": link["manager_id"],
                            "credit_type": rollup.credit_type,
                            "rule": rollup.name,
                            "level": level,
                            "direct_participant_id": c["participant_id"],
                            "share_ppm": ppm,
                            "amount_cents": amount,
                            "held": c["held"] or _held(section, matches, tx, rollup.credit_type),
                            "route_table": "hierarchy",
                            "route_line": link["source_line"],
                        }
                    )
                    who, level = link["manager_id"], level + 1
    return out


def _held(
    section: CreditingSection, matches: Mapping[str, set[str]], tx: Row, credit_type: str
) -> bool:
    return any(
        tx["transaction_id"] in matches[h.name]
        and (h.credit_types is None or credit_type in h.credit_types)
        for h in section.holds
    )
