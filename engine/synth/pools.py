"""Who can be named on a deal, and on which days: the seller pools of each deal kind.

A pool lists participants with the first and last day (offsets, inside the plan year) on which
they can be named on a deal in that role: from hire (or promotion, for AEs) to termination
(or the day before promotion, for SDRs). Named deals are always dated inside the seller's window.

Example:
    >>> from engine.synth.config import Params, stream
    >>> from engine.synth.people import build_org
    >>> from engine.synth.year import PlanYear
    >>> org = build_org(300, Params(), PlanYear(2026), stream(1, 1))
    >>> pools = seller_pools(org)
    >>> bool((pools.ae.start <= pools.ae.end).all())
    True
    >>> kind_shares(pools, Params()).round(3).tolist()
    [0.596, 0.184, 0.14, 0.08]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.synth.config import Params
from engine.synth.people import Org
from engine.synth.year import OPEN

TERRITORY, SPLIT, RENEWAL, MEETING = 0, 1, 2, 3
"""Deal kinds, in the order of :attr:`Params.kind_shares`."""

MIN_SPLIT_POOL = 3
"""Fewest staying AEs for split deals (a primary and two distinct co-sellers)."""


@dataclass(frozen=True)
class Pool:
    """Participants who can be named in one role, with their first and last possible day."""

    members: np.ndarray
    start: np.ndarray
    end: np.ndarray

    @property
    def size(self) -> int:
        """Number of members."""
        return int(self.members.shape[0])

    def years(self, days: int) -> float:
        """Total time in the role, in years (a full-year member counts 1)."""
        return float((self.end - self.start + 1).sum()) / days


@dataclass(frozen=True)
class SellerPools:
    """The seller pools of one organisation.

    Attributes:
        ae: AEs (the primary seller of split deals).
        am: account managers (renewals).
        sdr: SDRs (meetings).
        partner: partner managers (credited by overlay rules, never named).
        stable_ae: AEs employed all year in that role (co-sellers of split deals).
    """

    ae: Pool
    am: Pool
    sdr: Pool
    partner: Pool
    stable_ae: np.ndarray


def _pool(org: Org, members: np.ndarray, start: np.ndarray, end: np.ndarray) -> Pool:
    start = np.maximum(start, 0).astype(np.int32)
    end = np.minimum(end, org.year.days - 1).astype(np.int32)
    keep = start <= end
    return Pool(members[keep].astype(np.int32), start[keep], end[keep])


def seller_pools(org: Org) -> SellerPools:
    """The seller pools of ``org``."""
    ae, sdr = org.code("AE"), org.code("SDR")
    promoted = org.promo != OPEN
    aes = np.flatnonzero(org.role == ae)
    sdrs = np.flatnonzero((org.role == sdr) | promoted)

    def by_role(role: str) -> Pool:
        who = np.flatnonzero(org.role == org.code(role))
        return _pool(org, who, org.hire[who], org.term[who])

    return SellerPools(
        ae=_pool(org, aes, np.where(promoted[aes], org.promo[aes], org.hire[aes]), org.term[aes]),
        am=by_role("AM"),
        sdr=_pool(
            org, sdrs, org.hire[sdrs], np.where(promoted[sdrs], org.promo[sdrs] - 1, org.term[sdrs])
        ),
        partner=by_role("PARTNER_MANAGER"),
        stable_ae=np.flatnonzero((org.role == ae) & org.is_stable()).astype(np.int32),
    )


def kind_shares(pools: SellerPools, params: Params) -> np.ndarray:
    """Shares of the deal kinds; a kind whose pool is empty becomes territory deals."""
    shares = np.array(params.kind_shares, dtype=np.float64)
    shares = shares / shares.sum()
    empty = {
        SPLIT: pools.ae.size == 0 or pools.stable_ae.size < MIN_SPLIT_POOL,
        RENEWAL: pools.am.size == 0,
        MEETING: pools.sdr.size == 0,
    }
    for kind, none in empty.items():
        if none:
            shares[TERRITORY] += shares[kind]
            shares[kind] = 0.0
    return np.asarray(shares, dtype=np.float64)
