"""Scales and parameters of the synthetic company, and its seeded random streams.

A scale fixes the two headline counts (transactions, participants); everything else (the
share of splits, returns, moves, hires...) is a :class:`Params` field with a realistic default.
Each part of the company draws from its own random stream, derived from the seed and a fixed
key, so that changing how one table is generated never shifts the numbers of another, and a
block of transactions can be generated without generating the blocks before it.

Example:
    >>> SCALES["S"].transactions, SCALES["S"].participants
    (1000000, 10000)
    >>> resolve_scale("M", transactions=5000).transactions
    5000
    >>> int(stream(42, Stream.PEOPLE).integers(0, 1000)) == int(
    ...     stream(42, Stream.PEOPLE).integers(0, 1000))
    True
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from enum import IntEnum

import numpy as np

from engine.errors import EngineError, Reason

MIN_PARTICIPANTS = 20
"""The smallest company the generator builds (a root, a few managers, a few sellers)."""


@dataclass(frozen=True)
class Scale:
    """The size of a generated company.

    Attributes:
        name: ``XS``, ``S``, ``M``, ``L`` or ``custom``.
        transactions: number of rows of ``transactions`` (sales, meetings and returns).
        participants: number of rows of ``participants`` (including the year's new hires).
    """

    name: str
    transactions: int
    participants: int


SCALES: dict[str, Scale] = {
    "XS": Scale("XS", 5_000, 200),
    "S": Scale("S", 1_000_000, 10_000),
    "M": Scale("M", 10_000_000, 100_000),
    "L": Scale("L", 100_000_000, 1_000_000),
}
"""The named scales; S, M and L are the scenarios of the performance guide."""


@dataclass(frozen=True)
class Product:
    """A product line: its deal-size distribution (lognormal, in USD) and quantity unit.

    Attributes:
        name: the ``product`` value written.
        median_usd: median deal size in USD (``exp(mu)`` of the lognormal).
        sigma: the lognormal's shape; larger means a longer tail of big deals.
        deal_type: the usual ``deal_type``.
        upsell_share: share of its deals written as ``upsell`` instead.
        quantity: ``one`` (1 unit), ``seats`` (whole seats), ``hours`` (quarter hours).
    """

    name: str
    median_usd: float
    sigma: float
    deal_type: str
    upsell_share: float
    quantity: str


@dataclass(frozen=True)
class Params:
    """Every knob of the generator; the defaults describe a plausible B2B sales company.

    Attributes:
        year: the plan year; 12 monthly periods ``YYYY-01`` ... ``YYYY-12``.
        history_start: first day of reporting lines and territory ownership (the last reorg).
        manager_tiers: manager levels above the sellers (5: every seller has 5 managers).
        min_fan_out: below this average span of control, fewer tiers are used (tiny scales).
        regions: regions given round-robin to the second tier and inherited below it.
        region_currencies: pay currency mix per region (other regions pay in USD).
        leaf_roles: roles of the sellers at the leaves, with their shares.
        hire_roles: roles of the year's new hires, with their shares.
        hire_rate: share of participants hired during the year.
        termination_rate: share of sellers employed at the start who leave during the year.
        promotion_rate: share of staying SDRs promoted to AE on the first of a month.
        team_change_rate: share of staying sellers moved to another first-line manager.
        reorg_rate: share of first-line managers moved under another manager.
        territories_per_ae: territories per AE employed at the start of the year.
        split_owned_rate: share of territories owned by two people with split shares.
        move_rate: share of territories that change owner during the year (at least).
        takeover_rate: share of new AEs who take over a territory on their first day.
        kind_shares: shares of ``territory`` deals, ``split`` deals (2-3 named sellers),
            ``renewal`` deals (named account manager) and SDR ``meeting`` rows (amount 0).
        three_way_share: share of split deals with three sellers rather than two.
        split_size_factor: split deals are bigger: their median is multiplied by this.
        territory_products: product mix of territory deals (names from ``products``).
        split_products: product mix of split deals.
        products: the product lines.
        return_rate: share of transactions that are returns.
        return_window_days: a return falls 1 to this many days after its original.
        full_return_share: share of returns that reverse the whole original amount.
        transactions_per_customer: average transactions per customer.
        block_rows: transactions generated (and written as one Parquet row group) at a time;
            each block has its own random stream.
        part_rows: rows per Parquet part file when transactions are written as parts.
        parts_above: transactions are written as ``transactions/part-*.parquet`` above this.
    """

    year: int = 2026
    history_start: dt.date = dt.date(2025, 1, 1)
    manager_tiers: int = 5
    min_fan_out: float = 4.0
    regions: tuple[str, ...] = ("NA-WEST", "EMEA", "NA-EAST", "APAC", "NA-CENTRAL", "LATAM")
    region_currencies: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = (
        ("EMEA", (("EUR", 0.55), ("GBP", 0.40), ("USD", 0.05))),
        ("APAC", (("JPY", 0.60), ("USD", 0.40))),
    )
    leaf_roles: tuple[tuple[str, float], ...] = (
        ("AE", 0.70),
        ("SDR", 0.20),
        ("AM", 0.06),
        ("PARTNER_MANAGER", 0.04),
    )
    hire_roles: tuple[tuple[str, float], ...] = (("AE", 0.70), ("SDR", 0.20), ("AM", 0.10))
    hire_rate: float = 0.06
    termination_rate: float = 0.06
    promotion_rate: float = 0.05
    team_change_rate: float = 0.03
    reorg_rate: float = 0.02
    territories_per_ae: float = 1.3
    split_owned_rate: float = 0.04
    move_rate: float = 0.10
    takeover_rate: float = 0.5
    kind_shares: tuple[float, float, float, float] = (0.596, 0.184, 0.14, 0.08)
    three_way_share: float = 0.3
    split_size_factor: float = 1.5
    territory_products: tuple[tuple[str, float], ...] = (
        ("PLATFORM", 0.45),
        ("ADDON", 0.25),
        ("SERVICES", 0.15),
        ("PARTNER-LED", 0.15),
    )
    split_products: tuple[tuple[str, float], ...] = (
        ("PLATFORM", 0.70),
        ("ADDON", 0.15),
        ("SERVICES", 0.15),
    )
    products: tuple[Product, ...] = (
        Product("PLATFORM", 25_000.0, 1.0, "new", 0.2, "one"),
        Product("ADDON", 6_000.0, 0.8, "upsell", 0.0, "seats"),
        Product("SERVICES", 4_000.0, 0.7, "new", 0.0, "hours"),
        Product("PARTNER-LED", 18_000.0, 1.0, "new", 0.1, "one"),
        Product("RENEWAL", 20_000.0, 0.9, "renewal", 0.0, "one"),
        Product("MEETING", 0.0, 0.0, "meeting", 0.0, "one"),
    )
    return_rate: float = 0.02
    return_window_days: int = 90
    full_return_share: float = 0.6
    transactions_per_customer: int = 25
    block_rows: int = 1_000_000
    part_rows: int = 5_000_000
    parts_above: int = 20_000_000

    def product(self, name: str) -> Product:
        """The product called ``name``."""
        for p in self.products:
            if p.name == name:
                return p
        raise KeyError(name)


CURRENCIES: tuple[str, ...] = ("USD", "EUR", "GBP", "JPY")
"""Pay and transaction currencies used, in code order."""

USD_PER_UNIT: tuple[float, ...] = (1.0, 1.08, 1.27, 0.0067)
"""Rough USD value of one unit of each currency at the start of the year (shape only)."""

ZERO_DECIMAL = frozenset({"JPY"})
"""Currencies without minor units: amounts are whole units."""


class Stream(IntEnum):
    """Keys of the independent random streams."""

    PEOPLE = 1
    TERRITORIES = 2
    TRANSACTIONS = 3
    QUOTAS = 4
    FX = 5
    PLANS = 6


def stream(seed: int, *key: int) -> np.random.Generator:
    """A PCG64 generator for ``seed`` and a stream key, independent of every other key.

    Example:
        >>> a = stream(7, Stream.TRANSACTIONS, 0).random()
        >>> b = stream(7, Stream.TRANSACTIONS, 1).random()
        >>> a != b
        True
    """
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def resolve_scale(
    scale: str, *, transactions: int | None = None, participants: int | None = None
) -> Scale:
    """The scale called ``scale`` (case-insensitive), with counts overridden when given.

    Raises:
        EngineError: ``USAGE`` for an unknown scale name or a count that is too small.

    Example:
        >>> resolve_scale("s", participants=50)
        Scale(name='custom', transactions=1000000, participants=50)
    """
    base = SCALES.get(scale.upper())
    if base is None:
        raise EngineError.single(
            Reason.USAGE, f"unknown scale {scale!r}; use one of {', '.join(SCALES)}"
        )
    out = base
    if transactions is not None and transactions != base.transactions:
        out = replace(out, name="custom", transactions=transactions)
    if participants is not None and participants != base.participants:
        out = replace(out, name="custom", participants=participants)
    if out.participants < MIN_PARTICIPANTS:
        raise EngineError.single(
            Reason.USAGE, f"--participants must be at least {MIN_PARTICIPANTS}"
        )
    if out.transactions < 1:
        raise EngineError.single(Reason.USAGE, "--transactions must be at least 1")
    return out


def local_units(usd: np.ndarray, currency: np.ndarray, step: int) -> np.ndarray:
    """USD values in whole units of each currency (at a rough rate), rounded to ``step`` units.

    A currency without minor units rounds to ``100 * step``; the result is at least one step.

    Example:
        >>> local_units(np.array([3000.0, 3000.0]), np.array([0, 3]), 50).tolist()
        [3000, 450000]
    """
    rate = 1.0 / np.asarray(USD_PER_UNIT)[currency]
    zero = np.isin(np.asarray(CURRENCIES)[currency], list(ZERO_DECIMAL))
    unit = np.where(zero, 100 * step, step)
    steps = np.maximum(np.rint(usd * rate / unit), 1).astype(np.int64)
    return np.asarray(steps * unit, dtype=np.int64)
