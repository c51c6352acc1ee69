"""Participants and the reporting hierarchy: tiers, roles, regions, hires, leavers, moves.

The organisation is a tree of ``manager_tiers`` manager levels (a VP of sales at the root) with
the sellers at the leaves, built top-down with a span of control that varies around the
average fan-out (about 6 at S, 10 at M, 16 at L with 5 manager tiers). Regions are given to
the second tier and inherited below it; pay currency follows the region. During the plan year
some sellers leave, some are hired (under a random first-line manager), some SDRs are promoted
to AE on the first of a month, some sellers move to another team and some first-line
managers move under another manager (a reorg): each change is an effective-dated
``hierarchy`` row pair. Tiers strictly decrease upwards, so the hierarchy has no cycle on any
day by construction.

Everything is vectorised with numpy: no loop per participant.

Example:
    >>> from engine.synth.config import Params, stream
    >>> org = build_org(200, Params(), PlanYear(2026), stream(1, 1))
    >>> org.n, int((org.manager < 0).sum()), org.tiers
    (200, 1, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import polars as pl

from engine.synth.config import CURRENCIES, Params
from engine.synth.labels import id_labels, take
from engine.synth.year import OPEN, PlanYear, to_dates

MANAGER_ROLES = ("VP_SALES", "RVP", "DIRECTOR", "SENIOR_MANAGER", "MANAGER")
"""Roles of the manager tiers (root first; see :func:`manager_role`)."""

FIRST_NAMES = (
    "Alice", "Bruno", "Carmen", "Dana", "Eli", "Fatima", "Gus", "Hana", "Ian", "Jade", "Kai",
    "Liam", "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sam", "Tara", "Umar", "Vera",
    "Wen", "Xavier", "Yara", "Zoe", "Amir", "Bea", "Chen", "Diego", "Elif", "Farah", "Goran",
    "Hiro", "Ines", "Jonas", "Keiko", "Lena", "Marco", "Nia", "Oscar", "Priya", "Ravi", "Sofia",
    "Tomas", "Uma", "Viktor", "Wanda",
)  # fmt: skip
LAST_NAMES = (
    "Chen", "Diaz", "Fox", "Grant", "Hale", "Ortiz", "Ito", "Ivers", "Jo", "Kim", "Lin",
    "Moreno", "Nakamura", "Okafor", "Petrov", "Quispe", "Rossi", "Schmidt", "Tanaka", "Usman",
    "Varga", "Walsh", "Xu", "Yilmaz", "Zhang", "Andersen", "Brown", "Costa", "Dubois", "Evans",
    "Fischer", "Garcia", "Hughes", "Iyer", "Jensen", "Kowalski", "Lopez", "Muller", "Nguyen",
    "OBrien", "Patel", "Reyes", "Silva", "Taylor", "Weber", "Young", "Santos", "Novak",
)  # fmt: skip

_MANAGER_HIRED_FROM = (2012, 1, 1)
_MANAGER_HIRED_TO = (2024, 12, 31)
_SELLER_MEAN_TENURE_DAYS = 3 * 365
_SPAN_SHAPE_TOP = 12.0
_SPAN_SHAPE = 6.0
"""Gamma shapes of the span-of-control weights (tiers 1-2, below): larger, more even."""


@dataclass(frozen=True)
class Org:
    """The generated organisation, one entry per participant (internal index order).

    Attributes:
        year: the plan year.
        tiers: number of manager tiers; sellers are at tier ``tiers``.
        roles: role names; ``role`` holds codes into it (the role at the end of the year).
        region_names: region names; ``region`` holds codes into it.
        tier: tier of each participant (0 = root).
        role: role code.
        region: region code.
        currency: pay currency code into :data:`~engine.synth.config.CURRENCIES`.
        hire: hire date offset.
        term: termination date offset, or ``OPEN``.
        manager: manager at the start (index; -1 for the root).
        new_manager: manager after a team change or reorg (-1 when none).
        move: day of that change (``OPEN`` when none).
        promo: day an SDR became an AE (``OPEN`` when never).
        history: offset of the first day of reporting lines and ownership.
        rank: position of each participant in id order (ids are numbered by hire date).
        first_name: code into :data:`FIRST_NAMES`.
        last_name: code into :data:`LAST_NAMES`.
        labels: participant ids (``P0000001``...), numbered in order of hire date.
    """

    year: PlanYear
    tiers: int
    roles: tuple[str, ...]
    region_names: tuple[str, ...]
    tier: np.ndarray
    role: np.ndarray
    region: np.ndarray
    currency: np.ndarray
    hire: np.ndarray
    term: np.ndarray
    manager: np.ndarray
    new_manager: np.ndarray
    move: np.ndarray
    promo: np.ndarray
    history: int
    rank: np.ndarray
    first_name: np.ndarray
    last_name: np.ndarray
    labels: pl.Series

    @property
    def n(self) -> int:
        """Number of participants."""
        return int(self.tier.shape[0])

    def code(self, role: str) -> int:
        """The code of ``role`` (-1 when no participant can have it)."""
        return self.roles.index(role) if role in self.roles else -1

    def is_stable(self) -> np.ndarray:
        """Employed all year in the same role: hired before it, not leaving, not promoted."""
        return np.asarray((self.hire < 0) & (self.term == OPEN) & (self.promo == OPEN))

    def start_day(self) -> np.ndarray:
        """First day of the reporting line and ownership history of each participant."""
        return np.asarray(np.maximum(self.hire, self.history), dtype=np.int32)


def manager_role(tier: int, tiers: int) -> str:
    """Role name of manager tier ``tier`` out of ``tiers`` manager tiers.

    Example:
        >>> [manager_role(t, 5) for t in range(5)]
        ['VP_SALES', 'RVP', 'DIRECTOR', 'SENIOR_MANAGER', 'MANAGER']
        >>> [manager_role(t, 2) for t in range(2)]
        ['VP_SALES', 'MANAGER']
    """
    if tier == 0:
        return "VP_SALES"
    if tier == tiers - 1:
        return "MANAGER"
    if tier == 1:
        return "RVP"
    if tier == tiers - 2:
        return "SENIOR_MANAGER"
    return "DIRECTOR"


def tier_sizes(n: int, max_tiers: int, min_fan_out: float) -> list[int]:
    """Sizes of the manager tiers and (last) the sellers for ``n`` people.

    Uses ``max_tiers`` manager tiers unless that makes the average span of control smaller
    than ``min_fan_out``; then fewer.

    Example:
        >>> tier_sizes(100_000, 5, 4.0)
        [1, 10, 96, 937, 9174, 89782]
        >>> tier_sizes(50, 5, 4.0)
        [1, 7, 42]
    """
    for tiers in range(max_tiers, 0, -1):
        lo, hi = 1.0, float(n)
        for _ in range(200):
            mid = (lo + hi) / 2
            if sum(mid**k for k in range(tiers + 1)) > n:
                hi = mid
            else:
                lo = mid
        fan = lo
        sizes = [max(1, round(fan**k)) for k in range(tiers)]
        sellers = n - sum(sizes)
        chain = [*sizes, sellers]
        grows = all(b >= a for a, b in pairwise(chain))
        if (fan >= min_fan_out or tiers == 1) and grows:
            return chain
    return [1, n - 1]


def build_org(n: int, params: Params, year: PlanYear, rng: np.random.Generator) -> Org:
    """Generate ``n`` participants, their tiers, roles, dates and reporting changes.

    Example:
        >>> from engine.synth.config import stream
        >>> org = build_org(50, Params(), PlanYear(2026), stream(3, 1))
        >>> sorted(set(org.roles[c] for c in org.role[org.tier == 0]))
        ['VP_SALES']
    """
    hires = round(n * params.hire_rate)
    sizes = tier_sizes(n - hires, params.manager_tiers, params.min_fan_out)
    tiers = len(sizes) - 1
    leaf_names = [r for r, _ in params.leaf_roles]
    hire_names = [r for r, _ in params.hire_roles]
    roles = tuple(
        dict.fromkeys([manager_role(t, tiers) for t in range(tiers)] + leaf_names + hire_names)
    )
    region_names = ("ALL", *params.regions)

    tier = np.concatenate(
        [np.full(s, t, dtype=np.int8) for t, s in enumerate(sizes)]
        + [np.full(hires, tiers, dtype=np.int8)]
    )
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    manager = np.full(n, -1, dtype=np.int32)
    for t in range(1, tiers + 1):
        parents, children = sizes[t - 1], sizes[t]
        weights = rng.gamma(_SPAN_SHAPE_TOP if t <= 2 else _SPAN_SHAPE, size=parents)
        counts = 1 + spread(children - parents, weights)
        manager[offsets[t] : offsets[t + 1]] = offsets[t - 1] + np.repeat(
            np.arange(parents, dtype=np.int32), counts
        )
    first_line = np.arange(offsets[tiers - 1], offsets[tiers], dtype=np.int32)
    if hires:
        manager[offsets[-1] :] = first_line[rng.integers(0, first_line.size, hires)]

    # Regions: round-robin on tier 1, inherited downwards (new hires from their manager).
    region = np.zeros(n, dtype=np.int8)
    tier_one = np.arange(offsets[1], offsets[2])
    region[tier_one] = 1 + (np.arange(tier_one.size) % len(params.regions))
    for t in range(2, tiers + 1):
        members = np.arange(offsets[t], offsets[t + 1])
        region[members] = region[manager[members]]
    if hires:
        region[offsets[-1] :] = region[manager[offsets[-1] :]]

    currency = np.zeros(n, dtype=np.int8)
    for name, mix in params.region_currencies:
        if name not in region_names:
            continue
        members = np.flatnonzero(region == region_names.index(name))
        codes = np.array([CURRENCIES.index(c) for c, _ in mix], dtype=np.int8)
        shares = np.array([s for _, s in mix])
        currency[members] = codes[rng.choice(codes.size, members.size, p=shares / shares.sum())]

    role = np.zeros(n, dtype=np.int8)
    for t in range(tiers):
        role[offsets[t] : offsets[t + 1]] = roles.index(manager_role(t, tiers))
    leaves = np.arange(offsets[tiers], offsets[tiers + 1])
    leaf_codes = np.array([roles.index(r) for r in leaf_names], dtype=np.int8)
    leaf_p = np.array([s for _, s in params.leaf_roles])
    role[leaves] = leaf_codes[rng.choice(leaf_codes.size, leaves.size, p=leaf_p / leaf_p.sum())]
    role[leaves[0]] = roles.index("AE")  # at least one seller who owns territories all year
    hire_codes = np.array([roles.index(r) for r in hire_names], dtype=np.int8)
    hire_p = np.array([s for _, s in params.hire_roles])
    role[offsets[-1] :] = hire_codes[rng.choice(hire_codes.size, hires, p=hire_p / hire_p.sum())]

    hire = _hire_days(rng, year, tier, tiers, offsets)
    term = np.full(n, OPEN, dtype=np.int32)
    leaving = leaves[rng.random(leaves.size) < params.termination_rate]
    leaving = leaving[leaving != leaves[0]]
    term[leaving] = rng.integers(14, year.days - 16, leaving.size)

    promo = np.full(n, OPEN, dtype=np.int32)
    sdr = roles.index("SDR") if "SDR" in roles else -1
    staying_sdrs = leaves[(role[leaves] == sdr) & (term[leaves] == OPEN)]
    promoted = staying_sdrs[rng.random(staying_sdrs.size) < params.promotion_rate]
    promo[promoted] = year.month_starts[rng.integers(2, 10, promoted.size)]
    role[promoted] = roles.index("AE")

    new_manager = np.full(n, -1, dtype=np.int32)
    move = np.full(n, OPEN, dtype=np.int32)
    stable_leaves = leaves[(term[leaves] == OPEN) & (promo[leaves] == OPEN)]
    movers = stable_leaves[rng.random(stable_leaves.size) < params.team_change_rate]
    new_manager[movers] = pick_other(
        rng, region[movers], manager[movers], first_line, region[first_line]
    )
    move[movers] = rng.integers(31, year.month_starts[11], movers.size)
    if tiers >= 3:
        second_line = np.arange(offsets[tiers - 2], offsets[tiers - 1], dtype=np.int32)
        reorg = first_line[rng.random(first_line.size) < params.reorg_rate]
        new_manager[reorg] = pick_other(
            rng, region[reorg], manager[reorg], second_line, region[second_line]
        )
        move[reorg] = year.month_starts[rng.integers(3, 10, reorg.size)]
    move[new_manager < 0] = OPEN

    first = rng.integers(0, len(FIRST_NAMES), n)
    last = rng.integers(0, len(LAST_NAMES), n)
    rank = np.empty(n, dtype=np.int64)
    rank[np.lexsort((np.arange(n), hire))] = np.arange(n)
    labels = id_labels("P", rank + 1, 7)
    return Org(
        year=year,
        tiers=tiers,
        roles=roles,
        region_names=region_names,
        tier=tier,
        role=role,
        region=region,
        currency=currency,
        hire=hire,
        term=term,
        manager=manager,
        new_manager=new_manager,
        move=move,
        promo=promo,
        history=year.offset(params.history_start),
        rank=rank,
        first_name=first,
        last_name=last,
        labels=labels,
    )


def spread(total: int, weights: np.ndarray) -> np.ndarray:
    """Split ``total`` in proportion to ``weights`` exactly (largest remainder).

    Example:
        >>> spread(10, np.array([1.0, 1.0, 2.0])).tolist()
        [3, 2, 5]
    """
    raw = total * weights / weights.sum()
    counts = np.floor(raw).astype(np.int64)
    short = total - int(counts.sum())
    if short > 0:
        counts[np.argsort(counts - raw, kind="stable")[:short]] += 1
    return np.asarray(counts, dtype=np.int64)


def _hire_days(
    rng: np.random.Generator, year: PlanYear, tier: np.ndarray, tiers: int, offsets: np.ndarray
) -> np.ndarray:
    n = tier.size
    hire = np.empty(n, dtype=np.int32)
    lo = year.offset(year.start.replace(*_MANAGER_HIRED_FROM))
    hi = year.offset(year.start.replace(*_MANAGER_HIRED_TO))
    managers = int(offsets[tiers])
    hire[:managers] = rng.integers(lo, hi + 1, managers)
    sellers = int(offsets[tiers + 1]) - managers
    tenure = np.floor(rng.exponential(_SELLER_MEAN_TENURE_DAYS, sellers)).astype(np.int64)
    hire[managers : managers + sellers] = -1 - tenure % (-lo)
    hires = n - managers - sellers
    hire[managers + sellers :] = rng.integers(4, year.month_starts[11], hires)
    return hire


def pick_other(
    rng: np.random.Generator,
    want_region: np.ndarray,
    current: np.ndarray,
    candidates: np.ndarray,
    candidate_region: np.ndarray,
) -> np.ndarray:
    """For each request, a random candidate of the wanted region other than ``current``.

    Returns -1 where the region has no other candidate.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> pick_other(rng, np.array([1, 1, 2]), np.array([10, 11, 12]),
        ...            np.array([10, 11, 12]), np.array([1, 1, 2])).tolist()
        [11, 10, -1]
    """
    order = np.argsort(candidate_region, kind="stable")
    pool, pool_region = candidates[order], candidate_region[order]
    lo = np.searchsorted(pool_region, want_region, side="left")
    size = np.searchsorted(pool_region, want_region, side="right") - lo
    u = rng.random(want_region.size)
    has = size > 0
    offset = np.where(has, np.floor(u * np.maximum(size, 1)).astype(np.int64), 0)
    pick = np.where(has, pool[np.minimum(lo + offset, pool.size - 1)], -1)
    clash = has & (pick == current)
    offset = np.where(clash, (offset + 1) % np.maximum(size, 1), offset)
    pick = np.where(has, pool[np.minimum(lo + offset, pool.size - 1)], -1)
    return np.where(pick == current, -1, pick).astype(np.int32)


def participants_frame(org: Org) -> pl.DataFrame:
    """The ``participants`` table, in id order."""
    names = pl.select(
        pl.concat_str(
            pl.lit(pl.Series(FIRST_NAMES).gather(org.first_name)),
            pl.lit(pl.Series(LAST_NAMES).gather(org.last_name)),
            separator=" ",
        )
    ).to_series()
    frame = pl.DataFrame(
        {
            "participant_id": org.labels,
            "name": names,
            "role": pl.Series(org.roles).gather(org.role),
            "region": pl.Series(org.region_names).gather(org.region),
            "pay_currency": pl.Series(CURRENCIES).gather(org.currency),
            "hire_date": to_dates(org.year, org.hire),
            "termination_date": to_dates(org.year, org.term),
        }
    )
    return frame[np.argsort(org.rank)]


def hierarchy_frame(org: Org) -> pl.DataFrame:
    """The ``hierarchy`` table: one row per reporting line, two around a change."""
    who = np.flatnonzero(org.manager >= 0).astype(np.int32)
    start = org.start_day()[who]
    end = org.term[who]
    changed = org.new_manager[who] >= 0
    moved = who[changed]
    pid = np.concatenate([who, moved])
    mgr = np.concatenate([org.manager[who], org.new_manager[moved]])
    valid_from = np.concatenate([start, org.move[moved]])
    valid_to = np.concatenate([np.where(changed, org.move[who] - 1, end), end[changed]])
    order = np.lexsort((valid_from, org.rank[pid]))
    return pl.DataFrame(
        {
            "participant_id": take(org.labels, pid[order]),
            "manager_id": take(org.labels, mgr[order]),
            "valid_from": to_dates(org.year, valid_from[order]),
            "valid_to": to_dates(org.year, valid_to[order]),
        }
    )
