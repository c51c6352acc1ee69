"""Transactions and their named split sellers, generated block by block.

Each block of ``block_rows`` transactions has its own random stream (seed, block number), so a
block never depends on another: the output is the same whatever the memory budget, and the
largest scale streams in bounded memory. A block holds:

* sales of four kinds (:mod:`engine.synth.pools`): ``territory`` deals (credited to the
  territory's owner as of the credit date), ``split`` deals with 2 or 3 named sellers in
  ``transaction_sellers`` (shares 0.5/0.5, 0.6/0.4, 0.7/0.3; 0.34/0.33/0.33, 0.5/0.25/0.25,
  0.4/0.3/0.3), ``renewal`` deals named to an account manager and SDR ``meeting`` rows
  (amount 0, quantity 1) named to an SDR;
* returns (``return_rate`` of the rows): a negative amount reversing all (60%) or part of an
  earlier sale of the same block, dated 1 to ``return_window_days`` days after it (and inside
  the year), with ``original_transaction_id`` set, the original's territory, seller, currency,
  product and customer, and for a split deal the same split rows. A sale is returned at most
  once and a return never exceeds its original.

Credit dates follow the seasonality of :meth:`PlanYear.day_weights`; a named seller's deal
always falls inside their employment in that role. Deal sizes are lognormal per product, in
USD for the *shape* only: each amount is converted to the deal's currency and rounded to
integer cents exactly once (whole units for JPY). Rows are ordered by credit date within a
block and numbered ``T000000001``... in that order, so a return always comes after its
original.

Example:
    >>> from engine.synth.config import Params, stream
    >>> from engine.synth.people import build_org
    >>> from engine.synth.pools import seller_pools
    >>> from engine.synth.territories import build_territories
    >>> from engine.synth.year import PlanYear
    >>> org = build_org(300, Params(), PlanYear(2026), stream(1, 1))
    >>> terr = build_territories(org, Params(), stream(1, 2))
    >>> ctx = TxContext.build(org, terr, seller_pools(org), Params(), transactions=5000, seed=1)
    >>> tx, sellers = generate_block(ctx, 0, 0, 5000)
    >>> tx.height, tx["original_transaction_id"].is_not_null().sum()
    (5000, 100)
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from engine.synth.config import CURRENCIES, USD_PER_UNIT, ZERO_DECIMAL, Params, Stream, stream
from engine.synth.labels import id_labels, take
from engine.synth.people import Org
from engine.synth.pools import MEETING, RENEWAL, SPLIT, TERRITORY, Pool, SellerPools, kind_shares
from engine.synth.territories import Territories
from engine.synth.year import PlanYear, to_dates

DEAL_TYPES = ("new", "upsell", "renewal", "meeting", "return")
_UPSELL, _RETURN = 1, 4
_QUANTITY_KINDS = ("one", "seats", "hours")
_TWO_WAY = np.array([[500_000, 500_000, 0], [600_000, 400_000, 0], [700_000, 300_000, 0]])
_TWO_WAY_P = np.array([0.5, 0.3, 0.2])
_THREE_WAY = np.array([[340_000, 330_000, 330_000], [500_000, 250_000, 250_000],
                       [400_000, 300_000, 300_000]])  # fmt: skip
_THREE_WAY_P = np.array([0.4, 0.3, 0.3])
_MAX_USD = 5_000_000.0
_MIN_UNITS = 1
_SEAT_P = 0.1
_MAX_SEATS = 500
_USD_PER_HOUR = 150.0
_PARTIAL_RETURN = (0.1, 0.9)
ID_WIDTH = 9


@dataclass(frozen=True)
class TxContext:
    """Everything a block needs, computed once: pools, weights and lookup tables."""

    year: PlanYear
    params: Params
    seed: int
    transactions: int
    kind_cdf: np.ndarray
    day_p: np.ndarray
    territory_cdf: np.ndarray
    territory_currency: np.ndarray
    pay_currency: np.ndarray
    pools: SellerPools
    product_names: tuple[str, ...]
    mu: np.ndarray
    sigma: np.ndarray
    deal_type: np.ndarray
    upsell: np.ndarray
    quantity_kind: np.ndarray
    territory_products: tuple[np.ndarray, np.ndarray]
    split_products: tuple[np.ndarray, np.ndarray]
    local_per_usd: np.ndarray
    zero_decimal: np.ndarray
    customers: pl.Series
    participant_labels: pl.Series
    territory_labels: pl.Series

    @classmethod
    def build(
        cls,
        org: Org,
        terr: Territories,
        pools: SellerPools,
        params: Params,
        *,
        transactions: int,
        seed: int,
    ) -> TxContext:
        """Prepare the generation of ``transactions`` rows for ``org``."""
        names = tuple(p.name for p in params.products)

        def mix(pairs: tuple[tuple[str, float], ...]) -> tuple[np.ndarray, np.ndarray]:
            codes = np.array([names.index(n) for n, _ in pairs], dtype=np.int8)
            shares = np.array([s for _, s in pairs], dtype=np.float64)
            return codes, np.cumsum(shares / shares.sum())

        n_customers = max(10, transactions // params.transactions_per_customer)
        day_w = org.year.day_weights()
        return cls(
            year=org.year,
            params=params,
            seed=seed,
            transactions=transactions,
            kind_cdf=np.cumsum(kind_shares(pools, params)),
            day_p=day_w / day_w.sum(),
            territory_cdf=np.cumsum(terr.weight / terr.weight.sum()),
            territory_currency=terr.currency,
            pay_currency=org.currency,
            pools=pools,
            product_names=names,
            mu=np.log(np.array([max(p.median_usd, 1.0) for p in params.products])),
            sigma=np.array([p.sigma for p in params.products]),
            deal_type=np.array([DEAL_TYPES.index(p.deal_type) for p in params.products]),
            upsell=np.array([p.upsell_share for p in params.products]),
            quantity_kind=np.array([_QUANTITY_KINDS.index(p.quantity) for p in params.products]),
            territory_products=mix(params.territory_products),
            split_products=mix(params.split_products),
            local_per_usd=1.0 / np.asarray(USD_PER_UNIT),
            zero_decimal=np.isin(np.asarray(CURRENCIES), list(ZERO_DECIMAL)),
            customers=id_labels("C", np.arange(1, n_customers + 1), 7),
            participant_labels=org.labels,
            territory_labels=terr.labels,
        )

    def blocks(self) -> Iterator[tuple[int, int, int]]:
        """``(block number, first row, rows)`` of every block."""
        size = self.params.block_rows
        for number, first in enumerate(range(0, self.transactions, size)):
            yield number, first, min(size, self.transactions - first)


def _pick(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.minimum(np.searchsorted(cdf, u, side="right"), cdf.size - 1)


@dataclass
class _Rows:
    """Column arrays of generated rows (before ordering)."""

    day: np.ndarray
    kind: np.ndarray
    territory: np.ndarray
    seller: np.ndarray
    product: np.ndarray
    deal_type: np.ndarray
    currency: np.ndarray
    cents: np.ndarray
    quantity: np.ndarray
    customer: np.ndarray
    split_sellers: np.ndarray
    split_shares: np.ndarray


def _named(rng: np.random.Generator, pool: Pool, day: np.ndarray) -> np.ndarray:
    """Pick pool members for rows dated ``day``; move days outside a member's window inside it."""
    j = rng.integers(0, pool.size, day.size)
    start, end = pool.start[j], pool.end[j]
    inside = start + np.floor(rng.random(day.size) * (end - start + 1)).astype(np.int32)
    day[:] = np.where((day < start) | (day > end), inside, day)
    return pool.members[j]


def _sales(ctx: TxContext, rng: np.random.Generator, n: int) -> _Rows:
    p = ctx.params
    kind = _pick(ctx.kind_cdf, rng.random(n)).astype(np.int8)
    # Days drawn as counts per day, so rows come out already in date order (cheap to sort).
    day = np.repeat(np.arange(ctx.day_p.size, dtype=np.int32), rng.multinomial(n, ctx.day_p))
    territory = np.full(n, -1, dtype=np.int32)
    seller = np.full(n, -1, dtype=np.int32)
    product = np.empty(n, dtype=np.int8)

    rows_t = np.flatnonzero(kind == TERRITORY)
    territory[rows_t] = _pick(ctx.territory_cdf, rng.random(rows_t.size))
    codes, cdf = ctx.territory_products
    product[rows_t] = codes[_pick(cdf, rng.random(rows_t.size))]

    split_sellers = np.full((n, 3), -1, dtype=np.int32)
    split_shares = np.zeros((n, 3), dtype=np.int64)
    rows_s = np.flatnonzero(kind == SPLIT)
    if rows_s.size:
        d = day[rows_s]
        primary = _named(rng, ctx.pools.ae, d)
        day[rows_s] = d
        seller[rows_s] = primary
        codes, cdf = ctx.split_products
        product[rows_s] = codes[_pick(cdf, rng.random(rows_s.size))]
        split_sellers[rows_s], split_shares[rows_s] = _split(ctx, rng, primary)

    for k, pool, name in ((RENEWAL, ctx.pools.am, "RENEWAL"), (MEETING, ctx.pools.sdr, "MEETING")):
        rows_k = np.flatnonzero(kind == k)
        if rows_k.size:
            d = day[rows_k]
            seller[rows_k] = _named(rng, pool, d)
            day[rows_k] = d
            product[rows_k] = ctx.product_names.index(name)

    deal_type = np.where(rng.random(n) < ctx.upsell[product], _UPSELL, ctx.deal_type[product])
    currency = np.where(
        territory >= 0,
        ctx.territory_currency[np.maximum(territory, 0)],
        ctx.pay_currency[np.maximum(seller, 0)],
    ).astype(np.int8)
    usd = np.exp(ctx.mu[product] + ctx.sigma[product] * rng.standard_normal(n))
    usd = np.minimum(np.where(kind == SPLIT, usd * p.split_size_factor, usd), _MAX_USD)
    local = usd * ctx.local_per_usd[currency]
    cents = np.where(ctx.zero_decimal[currency], np.rint(local) * 100, np.rint(local * 100))
    cents = np.maximum(cents, _MIN_UNITS * 100).astype(np.int64)
    cents[kind == MEETING] = 0

    qkind = ctx.quantity_kind[product]
    seats = np.minimum(rng.geometric(_SEAT_P, n), _MAX_SEATS) * 100
    hours = np.maximum(np.rint(usd / _USD_PER_HOUR * 4), 1).astype(np.int64) * 25
    quantity = np.select([qkind == 1, qkind == 2], [seats, hours], 100).astype(np.int64)
    seller[rows_s] = -1  # split deals name their sellers in transaction_sellers only
    customer = rng.integers(0, ctx.customers.len(), n).astype(np.int32)
    return _Rows(
        day, kind, territory, seller, product, deal_type.astype(np.int8), currency, cents,
        quantity, customer, split_sellers, split_shares,
    )  # fmt: skip


def _split(
    ctx: TxContext, rng: np.random.Generator, primary: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Two distinct co-sellers (staying AEs) per deal; the second used on three-way deals."""
    stable = ctx.pools.stable_ae
    k = primary.size
    three = rng.random(k) < ctx.params.three_way_share
    co = stable[rng.integers(0, stable.size, (k, 2))]
    bad = (co[:, 0] == primary) | (co[:, 1] == primary) | (co[:, 0] == co[:, 1])
    while bad.any():
        co[bad] = stable[rng.integers(0, stable.size, (int(bad.sum()), 2))]
        bad = (co[:, 0] == primary) | (co[:, 1] == primary) | (co[:, 0] == co[:, 1])
    sellers = np.column_stack([primary, co[:, 0], np.where(three, co[:, 1], -1)])
    two = _TWO_WAY[rng.choice(len(_TWO_WAY), k, p=_TWO_WAY_P)]
    shares = np.where(
        three[:, None], _THREE_WAY[rng.choice(len(_THREE_WAY), k, p=_THREE_WAY_P)], two
    )
    return sellers.astype(np.int32), shares.astype(np.int64)


def _concat(parts: list[_Rows]) -> _Rows:
    return _Rows(
        *[np.concatenate([getattr(r, f) for r in parts]) for f in _Rows.__dataclass_fields__]
    )


def generate_block(
    ctx: TxContext, number: int, first: int, rows: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Generate block ``number``: rows ``first`` to ``first + rows - 1`` of ``transactions``.

    Returns the block's ``transactions`` and ``transaction_sellers`` frames (money, quantity
    and share as ``Int64`` at their contract scale; dates as ``Date``).
    """
    p = ctx.params
    rng = stream(ctx.seed, Stream.TRANSACTIONS, number)
    want_returns = round((first + rows) * p.return_rate) - round(first * p.return_rate)
    sales = _sales(ctx, rng, rows - want_returns)
    last_day = ctx.year.days - 1
    eligible = np.flatnonzero((sales.kind != MEETING) & (sales.day < last_day))
    if eligible.size < want_returns:  # tiny blocks: top up with sales instead
        sales = _concat([sales, _sales(ctx, rng, want_returns - eligible.size)])
        want_returns = eligible.size
    orig = np.sort(rng.choice(eligible, want_returns, replace=False))
    lag = rng.integers(1, p.return_window_days + 1, orig.size)
    full = rng.random(orig.size) < p.full_return_share
    frac = rng.uniform(*_PARTIAL_RETURN, orig.size)
    amount = sales.cents[orig]
    zero = ctx.zero_decimal[sales.currency[orig]]
    part = np.where(
        zero,
        np.maximum(np.rint(amount / 100 * frac), 1) * 100,
        np.maximum(np.rint(amount * frac), 1),
    ).astype(np.int64)
    returns = _Rows(
        day=np.minimum(sales.day[orig] + lag, last_day).astype(np.int32),
        kind=sales.kind[orig],
        territory=sales.territory[orig],
        seller=sales.seller[orig],
        product=sales.product[orig],
        deal_type=np.full(orig.size, _RETURN, dtype=np.int8),
        currency=sales.currency[orig],
        cents=-np.where(full, amount, np.minimum(part, amount)),
        quantity=np.full(orig.size, -1, dtype=np.int64),
        customer=sales.customer[orig],
        split_sellers=sales.split_sellers[orig],
        split_shares=sales.split_shares[orig],
    )
    rows_all = _concat([sales, returns])
    n = rows_all.day.size
    reference = np.concatenate([np.full(sales.day.size, -1), orig])
    order = np.argsort(rows_all.day.astype(np.int16), kind="stable")  # radix sort
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    ref = reference[order]
    numbers = first + 1 + np.arange(n, dtype=np.int64)
    original = np.where(ref >= 0, first + 1 + rank[np.maximum(ref, 0)], -1)
    ids = id_labels("T", numbers, ID_WIDTH, "transaction_id")
    quantity = pl.Series("quantity", rows_all.quantity[order], dtype=pl.Int64)
    quantity = quantity.set(pl.Series(rows_all.quantity[order] < 0), None)
    tx = pl.DataFrame(
        [
            ids,
            to_dates(ctx.year, rows_all.day[order], "credit_date"),
            pl.Series("amount", rows_all.cents[order], dtype=pl.Int64),
            pl.Series("currency", CURRENCIES).gather(rows_all.currency[order]),
            pl.Series("product", ctx.product_names).gather(rows_all.product[order]),
            ctx.customers.gather(rows_all.customer[order]).alias("customer"),
            take(ctx.territory_labels, rows_all.territory[order], "territory_id"),
            take(ctx.participant_labels, rows_all.seller[order], "seller_id"),
            pl.Series("deal_type", DEAL_TYPES).gather(rows_all.deal_type[order]),
            quantity,
            id_labels("T", original, ID_WIDTH, "original_transaction_id"),
        ]
    )
    named = rows_all.split_sellers[order]
    tx_pos, slot = np.nonzero(named >= 0)
    sellers = pl.DataFrame(
        [
            ids.gather(tx_pos),
            take(ctx.participant_labels, named[tx_pos, slot], "participant_id"),
            pl.Series("share", rows_all.split_shares[order][tx_pos, slot], dtype=pl.Int64),
        ]
    )
    return tx, sellers
