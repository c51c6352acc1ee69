"""Builders for crediting tests: typed tables by hand, and a generated-dataset strategy."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl
from hypothesis import strategies as st

from engine.contract import TABLES
from engine.loading.dataset import empty_table
from engine.rules.crediting_schema import CreditingSection

D = dt.date


@dataclass
class Tables:
    """A stand-in for engine.loading.Dataset: only ``tables`` is read by crediting."""

    tables: dict[str, pl.DataFrame] = field(default_factory=dict)


def table(name: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A typed contract table from rows of Python values (stored column names)."""
    schema = empty_table(TABLES[name]).schema
    full = [
        {c: r.get(c, i + 2 if c == "source_line" else None) for c in schema}
        for i, r in enumerate(rows)
    ]
    return pl.DataFrame(full, schema=schema, orient="row") if full else pl.DataFrame(schema=schema)


def dataset(**tables: list[dict[str, Any]]) -> Tables:
    """Every contract table (empty unless given)."""
    return Tables({name: table(name, tables.get(name, [])) for name in TABLES})


CALENDAR = [
    {"period": "2026-01", "start_date": D(2026, 1, 1), "end_date": D(2026, 1, 31)},
    {"period": "2026-02", "start_date": D(2026, 2, 1), "end_date": D(2026, 2, 28)},
    {"period": "2026-03", "start_date": D(2026, 3, 1), "end_date": D(2026, 3, 31)},
]

PEOPLE = [f"P{i:02d}" for i in range(1, 9)]
TERRITORIES = ["T1", "T2", "T3"]
FIRST = D(2025, 12, 1)
LAST = D(2026, 4, 30)


def _days(draw: st.DrawFn) -> dt.date:
    """Mostly inside the calendar (Jan-Mar 2026), sometimes just outside."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.dates(min_value=FIRST, max_value=LAST))
    return draw(st.dates(min_value=D(2026, 1, 1), max_value=D(2026, 3, 31)))


def _shares(draw: st.DrawFn, n: int) -> list[int]:
    if n == 3 and draw(st.booleans()):
        return [333_333, 333_333, 333_334]
    cuts = sorted(
        draw(st.lists(st.integers(1, 999_999), min_size=n - 1, max_size=n - 1, unique=True))
    )
    bounds = [0, *cuts, 1_000_000]
    return [b - a for a, b in itertools.pairwise(bounds)]


def _intervals(draw: st.DrawFn) -> list[tuple[dt.date, dt.date | None]]:
    """Non-overlapping intervals: always in force, a move on a date, or random with gaps."""
    shape = draw(st.sampled_from(["always", "always", "move", "move", "random"]))
    if shape == "always":
        return [(D(2025, 1, 1), None)]
    if shape == "move":
        day = draw(st.dates(D(2026, 1, 1), D(2026, 3, 31)))
        return [(D(2025, 1, 1), day - dt.timedelta(days=1)), (day, None)]
    n = draw(st.integers(0, 3))
    points = sorted(
        draw(
            st.lists(
                st.dates(D(2025, 11, 1), D(2026, 5, 1)),
                min_size=2 * n,
                max_size=2 * n,
                unique=True,
            )
        )
    )
    out: list[tuple[dt.date, dt.date | None]] = [
        (points[2 * i], points[2 * i + 1]) for i in range(n)
    ]
    if out and draw(st.booleans()):
        out[-1] = (out[-1][0], None)
    return out


@st.composite
def generated(draw: st.DrawFn) -> Tables:
    """A small random dataset: effective-dated hierarchy and owners, splits, returns, JPY."""
    hierarchy = []
    for i, p in enumerate(PEOPLE[:-1]):
        for start, end in _intervals(draw):
            manager = draw(st.sampled_from(PEOPLE[i + 1 :]))
            hierarchy.append(
                {"participant_id": p, "manager_id": manager, "valid_from": start, "valid_to": end}
            )
    owners = []
    for t in TERRITORIES:
        for start, end in _intervals(draw):
            who = draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=3, unique=True))
            for p, s in zip(who, _shares(draw, len(who)), strict=True):
                owners.append(
                    {
                        "territory_id": t,
                        "participant_id": p,
                        "share_ppm": s,
                        "valid_from": start,
                        "valid_to": end,
                    }
                )
    n = draw(st.integers(0, 12))
    transactions = []
    sellers = []
    for k in range(n):
        currency = draw(st.sampled_from(["USD", "USD", "JPY"]))
        amount = draw(st.integers(-5_000_000, 20_000_000))
        if currency == "JPY":
            amount -= amount % 100
        tid = f"X{k:03d}"
        transactions.append(
            {
                "transaction_id": tid,
                "credit_date": _days(draw),
                "amount_cents": amount,
                "currency": currency,
                "product": draw(st.sampled_from(["A", "B", "PARTNER"])),
                "customer": draw(st.sampled_from(["C1", "C2", "INTERNAL"])),
                "territory_id": draw(st.sampled_from([*TERRITORIES, None])),
                "seller_id": draw(st.sampled_from([*PEOPLE, None, None])),
            }
        )
        if draw(st.integers(0, 3)) == 0:
            who = draw(st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=3, unique=True))
            for p, s in zip(who, _shares(draw, len(who)), strict=True):
                sellers.append({"transaction_id": tid, "participant_id": p, "share_ppm": s})
    return dataset(
        calendar=CALENDAR,
        participants=[{"participant_id": p} for p in PEOPLE],
        hierarchy=hierarchy,
        territories=[{"territory_id": t} for t in TERRITORIES],
        territory_owners=owners,
        transactions=transactions,
        transaction_sellers=sellers,
    )


RULE_SETS: dict[str, Mapping[str, Any]] = {
    "full": {
        "rules": [
            {
                "name": "split",
                "when": "split_sellers > 0",
                "source": "sellers",
                "priority": 30,
                "credit_type": "split",
            },
            {"name": "named", "when": "seller_id IS NOT NULL", "source": "seller", "priority": 20},
            {
                "name": "territory",
                "when": "territory_id IS NOT NULL",
                "source": "territory",
                "priority": 10,
            },
            {
                "name": "house",
                "when": "product = 'B'",
                "source": "participant",
                "participant": "P08",
            },
        ],
        "overlays": [
            {
                "name": "partner",
                "when": "product = 'PARTNER'",
                "source": "participant",
                "participant": "P07",
            },
            {
                "name": "territory-overlay",
                "when": "customer = 'C2'",
                "source": "territory",
                "credit_type": "territory-overlay",
            },
        ],
        "holds": [
            {"name": "big", "when": "amount > 150000"},
            {"name": "jpy-rollups", "when": "currency = 'JPY'", "credit_types": ["rollup"]},
        ],
        "exclusions": [{"name": "internal", "when": "customer = 'INTERNAL'"}],
        "rollups": [
            {"name": "managers", "credit_types": ["direct", "split"]},
            {
                "name": "overrides",
                "credit_types": ["direct", "overlay"],
                "overrides": ["0.6", "0.2", "0.1"],
                "credit_type": "override",
                "when": "product <> 'B'",
            },
        ],
    },
    "simple": {
        "rules": [
            {"name": "named", "when": "seller_id IS NOT NULL", "source": "seller", "priority": 5},
            {"name": "territory", "source": "territory"},
        ],
        "rollups": [
            {
                "name": "two-levels",
                "credit_types": ["direct"],
                "levels": 2,
                "overrides": ["0.333333", "0.5"],
                "rounding_mode": "half_even",
            },
        ],
    },
}


def rule_set(name: str) -> CreditingSection:
    """One of the test rule sets."""
    return CreditingSection.model_validate(RULE_SETS[name])
