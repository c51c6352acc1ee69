"""Territories and their effective-dated owners: moves mid-year and split ownership.

Every AE employed at the start of the year owns at least one territory (there are
``territories_per_ae`` territories per such AE). During the year territories change owner:

* every territory of an AE who leaves passes, the day after the last day, to a staying AE of
  the same region;
* some new AEs (``takeover_rate`` of the hires and SDRs promoted to AE) take over one
  territory of a staying AE in the same region on their first day as AE;
* further random territories move between staying AEs of a region, until about ``move_rate``
  of all territories have moved.

A few territories (``split_owned_rate``) are owned by two staying AEs with split shares
(0.5/0.5, 0.6/0.4 or 0.7/0.3) and never move. Ownership starts at the history start (or the
owner's hire date); every territory has owners whose shares sum to exactly 1 on every day of
the plan year, and a territory moves at most once, so rows of one owner never overlap.

Example:
    >>> from engine.synth.config import Params, stream
    >>> from engine.synth.people import build_org
    >>> from engine.synth.year import PlanYear
    >>> org = build_org(500, Params(), PlanYear(2026), stream(1, 1))
    >>> terr = build_territories(org, Params(), stream(1, 2))
    >>> owners = owners_frame(org, terr)
    >>> owners.columns
    ['territory_id', 'participant_id', 'share', 'valid_from', 'valid_to']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.money import PPM
from engine.synth.config import Params
from engine.synth.labels import id_labels, take
from engine.synth.people import Org, pick_other
from engine.synth.year import OPEN, to_dates

_TWO_WAY = np.array([[500_000, 500_000], [600_000, 400_000], [700_000, 300_000]])
_TWO_WAY_P = np.array([0.5, 0.3, 0.2])
_SIZE_SIGMA = 0.6
"""Lognormal shape of territory sizes (relative deal volume)."""


@dataclass(frozen=True)
class Territories:
    """Generated territories (index order = id order) and their ownership.

    Attributes:
        owner: owner at the start of the year.
        region: region code (the first owner's).
        currency: currency code of its deals (the first owner's pay currency).
        weight: relative deal volume.
        new_owner: owner after the move (-1 when it does not move).
        move: first day of the new owner (``OPEN`` when it does not move).
        co_owner: second owner of a split-owned territory (-1 when none).
        share: the first owner's share in ppm (``PPM`` unless split-owned).
        labels: territory ids ``TR000001``...
        names: territory names, e.g. ``EMEA 0042``.
    """

    owner: np.ndarray
    region: np.ndarray
    currency: np.ndarray
    weight: np.ndarray
    new_owner: np.ndarray
    move: np.ndarray
    co_owner: np.ndarray
    share: np.ndarray
    labels: pl.Series
    names: pl.Series

    @property
    def n(self) -> int:
        """Number of territories."""
        return int(self.owner.shape[0])


def build_territories(org: Org, params: Params, rng: np.random.Generator) -> Territories:
    """Generate territories, their first owners, split owners and moves.

    Example:
        >>> from engine.synth.config import stream
        >>> from engine.synth.people import build_org
        >>> from engine.synth.year import PlanYear
        >>> org = build_org(2000, Params(), PlanYear(2026), stream(5, 1))
        >>> t = build_territories(org, Params(), stream(5, 2))
        >>> 0.08 < float((t.new_owner >= 0).mean()) < 0.13
        True
    """
    ae = org.code("AE")
    first_aes = np.flatnonzero((org.role == ae) & (org.hire < 0) & (org.promo == OPEN))
    stable = np.flatnonzero((org.role == ae) & org.is_stable())
    n = max(first_aes.size, round(first_aes.size * params.territories_per_ae))
    owner = np.concatenate(
        [rng.permutation(first_aes), first_aes[rng.integers(0, first_aes.size, n - first_aes.size)]]
    ).astype(np.int32)
    region = org.region[owner]
    currency = org.currency[owner]
    weight = rng.lognormal(0.0, _SIZE_SIGMA, n)
    owner_stable = (org.term[owner] == OPEN) & (org.promo[owner] == OPEN)

    co_owner = np.full(n, -1, dtype=np.int32)
    share = np.full(n, PPM, dtype=np.int64)
    split = np.flatnonzero(owner_stable & (rng.random(n) < params.split_owned_rate))
    co = pick_other(rng, region[split], owner[split], stable, org.region[stable])
    split = split[co >= 0]
    co_owner[split] = co[co >= 0]
    share[split] = _TWO_WAY[rng.choice(len(_TWO_WAY), split.size, p=_TWO_WAY_P), 0]

    new_owner = np.full(n, -1, dtype=np.int32)
    move = np.full(n, OPEN, dtype=np.int32)
    # 1. Territories of leavers pass to a staying AE of the region (any staying AE if none).
    left = np.flatnonzero(org.term[owner] != OPEN)
    heir = pick_other(rng, region[left], owner[left], stable, org.region[stable])
    heir = np.where(heir >= 0, heir, stable[rng.integers(0, stable.size, left.size)])
    new_owner[left] = heir
    move[left] = org.term[owner[left]] + 1
    # 2. Some new AEs take over one territory of a staying AE of the same region.
    newcomers = np.flatnonzero((org.role == ae) & ((org.hire >= 0) | (org.promo != OPEN)))
    newcomers = newcomers[rng.random(newcomers.size) < params.takeover_rate]
    free = np.flatnonzero(owner_stable & (co_owner < 0) & (new_owner < 0))
    got, given = _match_by_region(rng, org.region[newcomers], region[free])
    taken = free[given]
    new_owner[taken] = newcomers[got]
    move[taken] = np.where(org.promo != OPEN, org.promo, org.hire)[newcomers[got]]
    # 3. More moves between staying AEs until about move_rate of territories have moved.
    more = round(params.move_rate * n) - int((new_owner >= 0).sum())
    free = np.flatnonzero(owner_stable & (co_owner < 0) & (new_owner < 0))
    if more > 0 and free.size:
        pick = np.sort(rng.choice(free, min(more, free.size), replace=False))
        to = pick_other(rng, region[pick], owner[pick], stable, org.region[stable])
        days = rng.integers(31, org.year.month_starts[11], pick.size).astype(np.int32)
        new_owner[pick[to >= 0]] = to[to >= 0]
        move[pick[to >= 0]] = days[to >= 0]

    order = np.argsort(region, kind="stable")
    within = np.empty(n, dtype=np.int64)
    sorted_region = region[order]
    within[order] = np.arange(n) - np.searchsorted(sorted_region, sorted_region, side="left")
    names = pl.select(
        pl.lit(pl.Series(org.region_names).gather(region))
        + " "
        + pl.lit(pl.Series(within + 1)).cast(pl.Utf8).str.zfill(4)
    ).to_series()
    return Territories(
        owner=owner,
        region=region,
        currency=currency,
        weight=weight,
        new_owner=new_owner,
        move=move,
        co_owner=co_owner,
        share=share,
        labels=id_labels("TR", np.arange(1, n + 1), 6),
        names=names,
    )


def _match_by_region(
    rng: np.random.Generator, want: np.ndarray, have: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pair each request with a distinct random item of the same region, as far as they go.

    Returns the indices of the served requests and of the items given to them.
    """
    req = rng.permutation(want.size)
    req = req[np.argsort(want[req], kind="stable")]
    item = rng.permutation(have.size)
    item = item[np.argsort(have[item], kind="stable")]
    req_region, item_region = want[req], have[item]
    rank = np.arange(req.size) - np.searchsorted(req_region, req_region, side="left")
    lo = np.searchsorted(item_region, req_region, side="left")
    hi = np.searchsorted(item_region, req_region, side="right")
    served = rank < hi - lo
    return req[served], item[(lo + rank)[served]]


def territories_frame(org: Org, terr: Territories) -> pl.DataFrame:
    """The ``territories`` table."""
    return pl.DataFrame(
        {
            "territory_id": terr.labels,
            "name": terr.names,
            "region": pl.Series(org.region_names).gather(terr.region),
        }
    )


def owners_frame(org: Org, terr: Territories) -> pl.DataFrame:
    """The ``territory_owners`` table: ordered by territory, then first day, then owner."""
    t = np.arange(terr.n, dtype=np.int32)
    start = org.start_day()
    split = terr.co_owner >= 0
    moved = terr.new_owner >= 0
    first_from = np.where(
        split, np.maximum(start[terr.owner], start[np.maximum(terr.co_owner, 0)]), start[terr.owner]
    )
    first_to = np.where(moved, terr.move - 1, OPEN)
    tid = np.concatenate([t, t[split], t[moved]])
    pid = np.concatenate([terr.owner, terr.co_owner[split], terr.new_owner[moved]])
    share = np.concatenate([terr.share, PPM - terr.share[split], np.full(moved.sum(), PPM)])
    valid_from = np.concatenate([first_from, first_from[split], terr.move[moved]])
    valid_to = np.concatenate([first_to, np.full(split.sum(), OPEN), np.full(moved.sum(), OPEN)])
    order = np.lexsort((org.rank[pid], valid_from, tid))
    return pl.DataFrame(
        {
            "territory_id": take(terr.labels, tid[order]),
            "participant_id": take(org.labels, pid[order]),
            "share": pl.Series(share[order], dtype=pl.Int64),
            "valid_from": to_dates(org.year, valid_from[order].astype(np.int32)),
            "valid_to": to_dates(org.year, valid_to[order].astype(np.int32)),
        }
    )
