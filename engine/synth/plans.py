"""Plan assignments: which plan each participant is on, from when, with what target incentive.

Plans by role: ``AE``, ``SDR``, ``RENEWAL`` (account managers), ``PARTNER`` (partner
managers) and ``MANAGER`` (every manager tier). A row runs from the later of January 1 and the
hire date to the termination date (open-ended when staying). An SDR promoted to AE has two
rows: ``SDR`` until the day before the promotion, ``AE`` from it. The target incentive is per
monthly period, in the pay currency, varying a little around the plan's typical value and
rounded to 50 currency units (5,000 yen).

Example:
    >>> from engine.synth.config import Params, stream
    >>> from engine.synth.people import build_org
    >>> from engine.synth.year import PlanYear
    >>> org = build_org(300, Params(), PlanYear(2026), stream(1, 1))
    >>> rows = plan_rows(org, stream(1, 6))
    >>> sorted(set(PLANS[c] for c in rows.plan))
    ['AE', 'MANAGER', 'PARTNER', 'RENEWAL', 'SDR']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.synth.config import local_units
from engine.synth.labels import take
from engine.synth.people import Org
from engine.synth.year import OPEN, to_dates

PLANS = ("AE", "SDR", "RENEWAL", "PARTNER", "MANAGER")
"""Plan ids, in code order."""
PLAN_OF_ROLE = {"AE": "AE", "SDR": "SDR", "AM": "RENEWAL", "PARTNER_MANAGER": "PARTNER"}
"""The plan of each seller role; every other role is on ``MANAGER``."""
TARGET_USD = {"AE": 3000.0, "SDR": 1000.0, "RENEWAL": 2000.0, "PARTNER": 1500.0}
"""Typical monthly target incentive in USD; managers get :func:`manager_target`."""
_TARGET_SIGMA = 0.12
_TARGET_STEP = 50


def manager_target(tier: np.ndarray, tiers: int) -> np.ndarray:
    """Typical monthly target incentive (USD) of managers: 4,000 first-line, +1,500 a level.

    Example:
        >>> manager_target(np.array([0, 4]), 5).tolist()
        [10000.0, 4000.0]
    """
    return np.asarray(4000.0 + 1500.0 * (tiers - 1 - tier), dtype=np.float64)


@dataclass(frozen=True)
class PlanRows:
    """Plan assignment rows (participant index, plan code, first and last day, target cents)."""

    participant: np.ndarray
    plan: np.ndarray
    start: np.ndarray
    end: np.ndarray
    target_cents: np.ndarray


def plan_rows(org: Org, rng: np.random.Generator) -> PlanRows:
    """One row per participant and plan, ordered by participant id then first day."""
    roles = np.array(org.roles)
    plan_names = np.array([PLAN_OF_ROLE.get(r, "MANAGER") for r in roles])
    code_of_role = np.array([PLANS.index(p) for p in plan_names], dtype=np.int8)
    who = np.arange(org.n, dtype=np.int32)
    plan_now = code_of_role[org.role]
    promoted = np.flatnonzero(org.promo != OPEN).astype(np.int32)
    start = np.maximum(org.hire, 0).astype(np.int32)
    pid = np.concatenate([who, promoted])
    code = np.concatenate([plan_now, np.full(promoted.size, PLANS.index("SDR"), dtype=np.int8)])
    first = np.concatenate([np.where(org.promo != OPEN, org.promo, start), start[promoted]])
    last = np.concatenate([org.term, org.promo[promoted] - 1]).astype(np.int32)

    typical = np.array([TARGET_USD.get(p, 0.0) for p in PLANS])[code]
    managers = code == PLANS.index("MANAGER")
    typical = np.where(managers, manager_target(org.tier[pid], org.tiers), typical)
    usd = typical * rng.lognormal(0.0, _TARGET_SIGMA, pid.size)
    cents = local_units(usd, org.currency[pid], _TARGET_STEP) * 100
    order = np.lexsort((first, org.rank[pid]))
    return PlanRows(pid[order], code[order], first[order], last[order], cents[order])


def plan_assignments_frame(org: Org, rows: PlanRows) -> pl.DataFrame:
    """The ``plan_assignments`` table."""
    return pl.DataFrame(
        {
            "participant_id": take(org.labels, rows.participant),
            "plan_id": pl.Series(PLANS).gather(rows.plan),
            "valid_from": to_dates(org.year, rows.start),
            "valid_to": to_dates(org.year, rows.end),
            "target_incentive": pl.Series(rows.target_cents, dtype=pl.Int64),
        }
    )
