"""Quotas per participant, period and measure, calibrated so attainment centres near 100%.

Sellers on the ``AE``, ``RENEWAL`` and ``PARTNER`` plans and managers get a ``revenue`` quota
(in their pay currency); SDRs get a ``meetings`` quota (a count). A quota exists for every
monthly period that overlaps the plan assignment (a new hire gets a full quota for the month of
hire; the engine prorates). Each is the revenue a participant can expect from the generated
deals, spread over the months like the deals are (quarter ends are bigger), varied a little per
person and rounded to 1,000 currency units (100,000 yen):

* AE: territory and split deal revenue over the AE-years;
* RENEWAL: renewal revenue over the account-manager-years;
* PARTNER: partner-led revenue over the partner-manager-years (their overlay credit);
* MANAGER: 90% of the sum of the AE and renewal base quotas of everyone below them;
* SDR: meetings over the SDR-years.

Example:
    >>> from engine.synth.config import Params, stream
    >>> from engine.synth.people import build_org
    >>> from engine.synth.plans import plan_rows
    >>> from engine.synth.pools import seller_pools
    >>> from engine.synth.year import PlanYear
    >>> org = build_org(300, Params(), PlanYear(2026), stream(1, 1))
    >>> rows = plan_rows(org, stream(1, 6))
    >>> frames = quota_frames(org, rows, seller_pools(org), Params(), transactions=20_000,
    ...                       rng=stream(1, 4))
    >>> q = next(iter(frames))
    >>> q.columns
    ['participant_id', 'period', 'measure', 'quota']
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import polars as pl

from engine.synth.config import Params, local_units
from engine.synth.labels import take
from engine.synth.people import Org
from engine.synth.plans import PLANS, PlanRows
from engine.synth.pools import MEETING, RENEWAL, SPLIT, TERRITORY, SellerPools, kind_shares
from engine.synth.year import OPEN

MEASURES = ("revenue", "meetings")
_PERSON_SIGMA = 0.10
_QUOTA_STEP = 1000
_MANAGER_SHARE = 0.9
_CHUNK_ROWS = 2_000_000


def mean_usd(params: Params, mix: tuple[tuple[str, float], ...]) -> float:
    """Expected deal size (USD) of a product mix (lognormal means).

    Example:
        >>> round(mean_usd(Params(), (("ADDON", 1.0),)))
        8263
    """
    total = sum(s for _, s in mix)
    return sum(
        s / total * params.product(p).median_usd * float(np.exp(params.product(p).sigma ** 2 / 2))
        for p, s in mix
    )


def base_usd(
    org: Org, pools: SellerPools, params: Params, transactions: int
) -> tuple[np.ndarray, float]:
    """Monthly base quotas for a month of average weight.

    Returns the revenue base in USD per participant (0 for SDRs) and the meetings base of an
    SDR.
    """
    days = org.year.days
    sales = transactions * (1.0 - params.return_rate)
    kinds = kind_shares(pools, params) * sales
    months = 12.0
    territory_usd = kinds[TERRITORY] * mean_usd(params, params.territory_products)
    split_usd = kinds[SPLIT] * mean_usd(params, params.split_products) * params.split_size_factor
    renewal_usd = kinds[RENEWAL] * mean_usd(params, (("RENEWAL", 1.0),))
    partner_share = dict(params.territory_products).get("PARTNER-LED", 0.0) / sum(
        s for _, s in params.territory_products
    )
    partner_usd = kinds[TERRITORY] * partner_share * mean_usd(params, (("PARTNER-LED", 1.0),))

    def per(total: float, pool_years: float) -> float:
        return total / max(pool_years, 1.0 / days) / months

    value = np.zeros(org.n, dtype=np.float64)
    role = np.asarray(org.roles)[org.role]
    value[role == "AE"] = per(territory_usd + split_usd, pools.ae.years(days))
    value[role == "AM"] = per(renewal_usd, pools.am.years(days))
    value[role == "PARTNER_MANAGER"] = per(partner_usd, pools.partner.years(days))
    team = np.where((role == "AE") | (role == "AM"), value, 0.0)
    for t in range(org.tiers, 0, -1):
        members = np.flatnonzero(org.tier == t)
        team += np.bincount(org.manager[members], weights=team[members], minlength=org.n)
    managers = org.tier < org.tiers
    value[managers] = _MANAGER_SHARE * team[managers]
    return value, per(kinds[MEETING], pools.sdr.years(days))


def quota_frames(
    org: Org,
    rows: PlanRows,
    pools: SellerPools,
    params: Params,
    *,
    transactions: int,
    rng: np.random.Generator,
) -> Iterator[pl.DataFrame]:
    """The ``quotas`` table in chunks, ordered by participant id, period, measure."""
    value, meetings = base_usd(org, pools, params, transactions)
    person = rng.lognormal(0.0, _PERSON_SIGMA, org.n)
    year = org.year
    first = year.month_of(rows.start)
    last = year.month_of(np.where(rows.end == OPEN, year.days - 1, rows.end))
    counts = np.where(rows.end >= np.maximum(rows.start, 0), last - first + 1, 0).astype(np.int64)
    row = np.repeat(np.arange(rows.plan.size), counts)
    month = first[row] + (np.arange(row.size) - np.repeat(np.cumsum(counts) - counts, counts))
    pid = rows.participant[row]
    is_sdr = rows.plan[row] == PLANS.index("SDR")
    weight = year.month_weights()[month] * person[pid]
    revenue = local_units(value[pid] * weight, org.currency[pid], _QUOTA_STEP)
    count = np.maximum(np.rint(meetings * weight), 1).astype(np.int64)
    quota_e2 = np.where(is_sdr, count, revenue) * 100
    measure = is_sdr.astype(np.int8)
    periods = pl.Series(year.period_ids())
    for lo in range(0, max(row.size, 1), _CHUNK_ROWS):
        hi = min(lo + _CHUNK_ROWS, row.size)
        yield pl.DataFrame(
            {
                "participant_id": take(org.labels, pid[lo:hi]),
                "period": periods.gather(month[lo:hi]),
                "measure": pl.Series(MEASURES).gather(measure[lo:hi]),
                "quota": pl.Series(quota_e2[lo:hi], dtype=pl.Int64),
            }
        )
