"""The peer plan hand-written in pandas (what an analyst would write), run as its own process.

The same plan as ``benchmarks/peers/plan.yaml`` and ``duckdb_peer.sql``, on the same
``icm synth`` files, with money as int64 hundredths of a currency unit (JPY in multiples of
100, like the engine). Where a product would not fit in int64 (currency conversion, attainment
comparisons on a whole company's team revenue) the arithmetic is split or done on Python
integers; nothing passes through a float.

Writes to ``--out``: ``payouts.parquet``, ``credits.parquet`` (level-0 credit rows) and
``rollup_totals.parquet`` (each manager's roll-up totals per period and transaction currency).

Usage::

    python -m benchmarks.peers.pandas_peer --data /tmp/s --out /tmp/peer_pandas
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ZERO_DIGIT = {"JPY", "KRW", "CLP", "ISK", "VND"}
PPM = 1_000_000
E10 = 10_000_000_000
FAR_DAY = 2_932_896  # 9999-12-31 as days since 1970-01-01
SELLER_PLANS = ("AE", "RENEWAL", "PARTNER")
DRAW_PERIODS = ("2026-01", "2026-02", "2026-03")

Array = np.ndarray[Any, Any]


def _read(data: Path, table: str, columns: list[str] | None = None) -> pd.DataFrame:
    """One synth table (a file, or a directory of parts) with Arrow-backed dtypes."""
    single = data / f"{table}.parquet"
    return pd.read_parquet(
        single if single.exists() else data / table, columns=columns, dtype_backend="pyarrow"
    )


def _hundredths(col: pd.Series) -> Array:
    """A decimal(18, x) column as exact int64 hundredths (arrow cast, checked)."""
    return (col * 100).astype("int64[pyarrow]").to_numpy(dtype=np.int64)


def _ppm(col: pd.Series) -> Array:
    """A share column (decimal(7, 6)) as int64 ppm; blank = 1,000,000."""
    return (col * PPM).astype("int64[pyarrow]").fillna(PPM).to_numpy(dtype=np.int64)


def _days(col: pd.Series, blank: int = FAR_DAY) -> Array:
    """A date column as int64 days since 1970-01-01 (blank = ``blank``)."""
    return col.astype("int32[pyarrow]").fillna(blank).to_numpy(dtype=np.int64)


def _text(col: pd.Series) -> Array:
    """A string column as a numpy object array (None for blanks)."""
    return col.astype(object).where(col.notna(), None).to_numpy()


def _half_up(num: Array, den: int | Array) -> Array:
    """``num / den`` rounded half away from zero (``den`` > 0), elementwise, exact."""
    sign = np.where(num < 0, -1, 1)
    return sign * ((2 * np.abs(num) + den) // (2 * den))


def _convert(amount: Array, rate_e10: Array, unit: Array) -> Array:
    """``amount x rate / 1e10`` rounded half up to a multiple of ``unit``, exact in int64.

    ``amount x rate_e10`` may not fit in int64, so the rate is split in two limbs of 10**5:
    ``a x r = (a x hi) x 1e5 + a x lo``; dividing by ``d = unit x 1e10`` gives
    ``q1 = (a x hi) // (unit x 1e5)`` plus ``rest / d`` with ``rest`` small enough to fit.
    """
    sign = np.where(amount < 0, -1, 1)
    mag = np.abs(amount)
    hi, lo = np.divmod(rate_e10, 100_000)
    q1, r1 = np.divmod(mag * hi, unit * 100_000)
    rest = r1 * 100_000 + mag * lo
    d = unit * E10
    return sign * (q1 + (2 * rest + d) // (2 * d)) * unit


class Fx:
    """Daily exchange rates as a dense array ``[from, to, day]`` of rates x 1e10 (0 = none)."""

    def __init__(self, data: Path, currencies: list[str], first_day: int, last_day: int) -> None:
        """Expand every rate row over the days it is in force within the calendar."""
        fx = _read(data, "exchange_rates")
        names = sorted(set(currencies) | set(fx["from_currency"]) | set(fx["to_currency"]))
        self.codes = {c: i for i, c in enumerate(names)}
        self.first_day = first_day
        self.units = np.array([100 if c in ZERO_DIGIT else 1 for c in names], dtype=np.int64)
        self.rates = np.zeros((len(names), len(names), last_day - first_day + 1), dtype=np.int64)
        rate = (fx["rate"] * E10).astype("int64[pyarrow]").to_numpy(dtype=np.int64)
        start = _days(fx["valid_from"])
        end = _days(fx["valid_to"])
        for f, t, r, s, e in zip(
            fx["from_currency"], fx["to_currency"], rate, start, end, strict=True
        ):
            lo, hi = max(s, first_day) - first_day, min(e, last_day) - first_day
            if lo <= hi:
                self.rates[self.codes[f], self.codes[t], lo : hi + 1] = r

    def code(self, currencies: Array) -> Array:
        """Currency codes as integers."""
        return pd.Series(currencies).map(self.codes).to_numpy(dtype=np.int64)

    def convert(self, amount: Array, cur: Array, target: Array, day: Array) -> Array:
        """Convert hundredths of ``cur`` to ``target`` on ``day`` (direct rate, else inverse)."""
        out = amount.copy()
        other = cur != target
        if not other.any():
            return out
        a, c, t, d = amount[other], cur[other], target[other], day[other] - self.first_day
        unit = self.units[t]
        direct = self.rates[c, t, d]
        value = np.zeros(len(a), dtype=np.int64)
        has = direct > 0
        value[has] = _convert(a[has], direct[has], unit[has])
        if not has.all():  # only the reverse rate: divide by it (rare; Python integers)
            inverse = self.rates[t, c, d]
            for i in np.flatnonzero(~has):
                if inverse[i] == 0:
                    raise ValueError("no exchange rate")
                num, den = int(a[i]) * E10, int(inverse[i]) * int(unit[i])
                sign = -1 if num < 0 else 1
                value[i] = sign * ((2 * abs(num) + den) // (2 * den)) * int(unit[i])
        out[other] = value
        return out


def credit(data: Path, pid: pd.Index) -> pd.DataFrame:
    """Level-0 credits: split rows, else the named seller, else the territory owners.

    Args:
        data: the synth directory.
        pid: participant ids, sorted (a code's order is the id's byte order).

    Returns:
        One row per credit: tx (row of the transaction), participant (code), rule, share_ppm,
        amount_cents (allocated by largest remainder), currency, day.
    """
    tx = _read(
        data,
        "transactions",
        ["transaction_id", "credit_date", "amount", "currency", "territory_id", "seller_id"],
    )
    sellers = _read(data, "transaction_sellers")
    owners = _read(data, "territory_owners")
    tx_index = pd.Index(tx["transaction_id"].astype(object))
    amount = _hundredths(tx["amount"])
    day = _days(tx["credit_date"])
    n = len(tx)

    s_tx = tx_index.get_indexer(sellers["transaction_id"].astype(object))
    split = np.zeros(n, dtype=bool)
    split[s_tx] = True
    parts = [
        pd.DataFrame(
            {
                "tx": s_tx,
                "participant": pid.get_indexer(sellers["participant_id"].astype(object)),
                "share_ppm": _ppm(sellers["share"]),
                "rule": "split-deal",
            }
        )
    ]
    seller = tx["seller_id"].notna().to_numpy() & ~split
    rows = np.flatnonzero(seller)
    parts.append(
        pd.DataFrame(
            {
                "tx": rows,
                "participant": pid.get_indexer(tx["seller_id"].astype(object).to_numpy()[rows]),
                "share_ppm": PPM,
                "rule": "named-seller",
            }
        )
    )
    terr = tx["territory_id"].notna().to_numpy() & ~seller & ~split
    rows = np.flatnonzero(terr)
    own = pd.DataFrame(
        {
            "territory_id": owners["territory_id"].astype(object),
            "participant": pid.get_indexer(owners["participant_id"].astype(object)),
            "share_ppm": _ppm(owners["share"]),
            "start": _days(owners["valid_from"]),
            "end": _days(owners["valid_to"]),
        }
    )
    deals = pd.DataFrame(
        {
            "tx": rows,
            "territory_id": tx["territory_id"].astype(object).to_numpy()[rows],
            "day": day[rows],
        }
    )
    m = deals.merge(own, on="territory_id")
    m = m[(m["start"] <= m["day"]) & (m["day"] <= m["end"])]
    parts.append(m[["tx", "participant", "share_ppm"]].assign(rule="by-territory"))

    cr = pd.concat(parts, ignore_index=True)
    cr["rule"] = cr["rule"].astype("category")
    t = cr["tx"].to_numpy()
    currency = tx["currency"].astype(object).to_numpy()
    cur = currency[t]
    mu = np.where(np.isin(cur, list(ZERO_DIGIT)), 100, 1)
    a = amount[t]
    ppm = cr["share_ppm"].to_numpy()
    out = a.copy()
    partial = ppm < PPM  # largest remainder where a transaction is shared
    if partial.any():
        p = pd.DataFrame(
            {
                "tx": t[partial],
                "participant": cr["participant"].to_numpy()[partial],
                "units": np.abs(a[partial]) // mu[partial],
                "ppm": ppm[partial],
                "row": np.flatnonzero(partial),
            }
        )
        scaled = p["units"] * p["ppm"]
        p["base"] = scaled // PPM
        p["rem"] = scaled % PPM
        p["left"] = p["units"] - p.groupby("tx")["base"].transform("sum")
        p = p.sort_values(["tx", "rem", "participant"], ascending=[True, False, True])
        p["rank"] = p.groupby("tx").cumcount()
        units = p["base"] + (p["rank"] < p["left"]).astype(np.int64)
        row = p["row"].to_numpy()
        out[row] = np.sign(a[row]) * units.to_numpy() * mu[row]
    cr["amount_cents"] = out
    cr["currency"] = cur
    cr["day"] = day[t]
    cr["transaction_id"] = tx_index.to_numpy()[t]
    return cr


def chains(pairs: pd.DataFrame, data: Path, pid: pd.Index) -> pd.DataFrame:
    """Every manager above each (participant, day), hierarchy as of that day.

    Returns:
        participant, day, manager (codes), level.
    """
    h = _read(data, "hierarchy")
    hier = pd.DataFrame(
        {
            "participant": pid.get_indexer(h["participant_id"].astype(object)),
            "manager": pid.get_indexer(h["manager_id"].astype(object)),
            "start": _days(h["valid_from"]),
            "end": _days(h["valid_to"]),
        }
    )
    found = []
    cur = pairs.assign(who=pairs["participant"])
    for level in range(1, len(pid) + 2):
        m = cur.merge(hier, left_on="who", right_on="participant", suffixes=("", "_h"))
        m = m[(m["start"] <= m["day"]) & (m["day"] <= m["end"])]
        if m.empty:
            break
        step = m[["participant", "day", "manager"]].assign(level=level)
        found.append(step)
        cur = step[["participant", "day"]].assign(who=step["manager"].to_numpy())
    else:  # pragma: no cover - a cycle
        raise ValueError("hierarchy cycle")
    return pd.concat(found, ignore_index=True)


def _reaches(value: Array, quota: Array, bound_ppm: int) -> Array:
    """``|value| / quota >= bound`` exactly (Python integers); no quota = attainment 0."""
    if bound_ppm == 0:
        return np.ones(len(value), dtype=bool)
    v = np.abs(value.astype(object)) * PPM
    q = quota.astype(object) * bound_ppm
    return (quota > 0) & (v >= q).astype(bool)


def _retro(value: Array, quota: Array, tiers: list[tuple[int, int]]) -> Array:
    """``value x rate`` of the attainment tier reached, rounded half up to cents."""
    rate = np.zeros(len(value), dtype=np.int64)
    for bound, r in tiers:  # ascending: a later tier overrides
        rate = np.where(_reaches(value, quota, bound), r, rate)
    return _half_up(value.astype(object) * rate, PPM).astype(np.int64)


def _incremental(value: Array, tiers: list[tuple[int, int | None, int]]) -> Array:
    """Each slice of ``|value|`` at its tier's rate, mirrored, rounded half up to cents."""
    mag = np.abs(value).astype(object)
    total = np.zeros(len(value), dtype=object)
    for lo, hi, r in tiers:
        top = mag if hi is None else np.minimum(mag, hi)
        total = total + np.maximum(top - lo, 0) * r
    return _half_up(np.where(value < 0, -total, total), PPM).astype(np.int64)


def calculate(data: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Credits, roll-up totals and payouts of the peer plan."""
    people = _read(data, "participants").sort_values("participant_id")
    pid = pd.Index(people["participant_id"].astype(object))
    pay = _text(people["pay_currency"])
    cal = _read(data, "calendar")
    c_start, c_end = _days(cal["start_date"]), _days(cal["end_date"])
    periods = _text(cal["period"])
    first, last = int(c_start.min()), int(c_end.max())
    day_period = np.empty(last - first + 1, dtype=np.int64)
    for i, (s, e) in enumerate(zip(c_start, c_end, strict=True)):
        day_period[s - first : e - first + 1] = i

    cr = credit(data, pid)
    fx = Fx(data, list(set(pay)) + list(set(cr["currency"])), first, last)
    cur = fx.code(cr["currency"].to_numpy())
    pay_code = fx.code(pay)
    part = cr["participant"].to_numpy()
    day = cr["day"].to_numpy()
    cr["period"] = day_period[day - first]
    cr["pay_cents"] = fx.convert(cr["amount_cents"].to_numpy(), cur, pay_code[part], day)

    tx = _read(data, "transactions", ["product"])["product"].astype(object).to_numpy()
    product = tx[cr["tx"].to_numpy()]
    seller = (
        pd.DataFrame(
            {
                "participant": part,
                "period": cr["period"].to_numpy(),
                "revenue": cr["pay_cents"].to_numpy(),
                "platform": np.where(product == "PLATFORM", cr["pay_cents"].to_numpy(), 0),
                "meetings": (product == "MEETING").astype(np.int64),
            }
        )
        .groupby(["participant", "period"], as_index=False)
        .sum()
    )

    # roll-up: every manager above the credited participant, as of the credit date
    pairs = cr[["participant", "day"]].drop_duplicates()
    ch = chains(pairs, data, pid)
    key = part * 1_000_000 + day
    ch_key = ch["participant"].to_numpy() * 1_000_000 + ch["day"].to_numpy()
    ch_order = np.argsort(ch_key, kind="stable")
    ch_key = ch_key[ch_order]
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    lo = np.searchsorted(sorted_key, ch_key, side="left")
    hi = np.searchsorted(sorted_key, ch_key, side="right")
    counts = hi - lo
    rows = order[np.repeat(lo, counts) + _ranges(counts)]  # the credits of each chain row
    manager = np.repeat(ch["manager"].to_numpy()[ch_order], counts)
    amt = cr["amount_cents"].to_numpy()[rows]
    rl = pd.DataFrame(
        {
            "participant": manager,
            "period": cr["period"].to_numpy()[rows],
            "currency": cur[rows],
            "amount_cents": amt,
            "credit_count": np.ones(len(rows), dtype=np.int64),
            "pay_cents": fx.convert(amt, cur[rows], pay_code[manager], day[rows]),
        }
    )
    rollup = rl.groupby(["participant", "period", "currency"], as_index=False).sum()
    del rl
    team = rollup.groupby(["participant", "period"], as_index=False)["pay_cents"].sum()

    pop = population(data, people, pid, cal)
    q = _read(data, "quotas")
    q = q[q["measure"] == "revenue"]
    quotas = pd.DataFrame(
        {
            "participant": pid.get_indexer(q["participant_id"].astype(object)),
            "period": pd.Index(periods).get_indexer(q["period"].astype(object)),
            "quota": _hundredths(q["quota"]),
        }
    )
    m = (
        pop.merge(seller, on=["participant", "period"], how="left")
        .merge(team.rename(columns={"pay_cents": "team"}), on=["participant", "period"], how="left")
        .merge(quotas, on=["participant", "period"], how="left")
        .fillna(0)
    )
    payouts = pay_plans(m)
    names = pid.to_numpy()
    payouts.insert(0, "participant_id", names[payouts.pop("participant").to_numpy()])
    payouts.insert(1, "period", periods[payouts.pop("period").to_numpy()])
    payouts["currency"] = pay[pid.get_indexer(payouts["participant_id"])]
    payouts = payouts.sort_values(["participant_id", "period", "plan_id", "component"])

    code_names = np.array(sorted(fx.codes, key=fx.codes.__getitem__), dtype=object)
    rollup.insert(0, "participant_id", names[rollup.pop("participant").to_numpy()])
    rollup["period"] = periods[rollup["period"].to_numpy()]
    rollup["currency"] = code_names[rollup["currency"].to_numpy()]
    credits = pd.DataFrame(
        {
            "transaction_id": cr["transaction_id"],
            "participant_id": names[part],
            "rule": cr["rule"].astype(object),
            "share_ppm": cr["share_ppm"],
            "amount_cents": cr["amount_cents"],
            "currency": cr["currency"],
            "period": periods[cr["period"].to_numpy()],
            "pay_cents": cr["pay_cents"],
        }
    ).sort_values(["transaction_id", "participant_id"])
    return credits, rollup, payouts


def _ranges(counts: Array) -> Array:
    """``0..c-1`` for each count, concatenated."""
    ends = np.cumsum(counts)
    return np.arange(int(ends[-1]) if len(ends) else 0) - np.repeat(ends - counts, counts)


def population(data: Path, people: pd.DataFrame, pid: pd.Index, cal: pd.DataFrame) -> pd.DataFrame:
    """(participant, period, plan_id) for every day employed and assigned in a period."""
    a = _read(data, "plan_assignments")
    p = pid.get_indexer(a["participant_id"].astype(object))
    hire = _days(people["hire_date"])[p]
    term = _days(people["termination_date"])[p]
    start = np.maximum(_days(a["valid_from"]), hire)
    end = np.minimum(_days(a["valid_to"]), term)
    rows = []
    for i, (s, e) in enumerate(zip(_days(cal["start_date"]), _days(cal["end_date"]), strict=True)):
        on = np.maximum(start, s) <= np.minimum(end, e)
        rows.append(
            pd.DataFrame({"participant": p[on], "period": i, "plan_id": _text(a["plan_id"])[on]})
        )
    return pd.concat(rows, ignore_index=True)


def pay_plans(m: pd.DataFrame) -> pd.DataFrame:
    """Components, caps and draw per participant, period and plan (``m``: measures)."""
    out = []
    s = m[m["plan_id"].isin(SELLER_PLANS)]
    rev, quota = s["revenue"].to_numpy(np.int64), s["quota"].to_numpy(np.int64)
    commission = _retro(
        rev, quota, [(0, 10_000), (500_000, 20_000), (1_000_000, 30_000), (1_500_000, 40_000)]
    )
    cap = np.where(commission > 2_500_000, 2_500_000 - commission, 0)
    kicker = _incremental(
        s["platform"].to_numpy(np.int64),
        [(0, 2_000_000, 5_000), (2_000_000, 10_000_000, 10_000), (10_000_000, None, 15_000)],
    )
    keys = s[["participant", "period", "plan_id"]]
    out.append(
        keys.assign(
            component="commission", earned_cents=commission, adjustments_cents=cap, draw_cents=0
        )
    )
    out.append(
        keys.assign(
            component="platform-kicker", earned_cents=kicker, adjustments_cents=0, draw_cents=0
        )
    )
    total = commission + cap + kicker
    in_draw = np.isin(s["period"].to_numpy(), [0, 1, 2])
    draw = np.where(in_draw, np.maximum(150_000 - np.maximum(total, 0), 0), 0)
    out.append(
        keys.assign(component="(plan)", earned_cents=0, adjustments_cents=0, draw_cents=draw)
    )

    sdr = m[m["plan_id"] == "SDR"]
    n = sdr["meetings"].to_numpy(np.int64)
    out.append(
        sdr[["participant", "period", "plan_id"]].assign(
            component="meetings",
            earned_cents=n * np.where(n >= 10, 6_000, 4_000),
            adjustments_cents=0,
            draw_cents=0,
        )
    )
    out.append(
        sdr[["participant", "period", "plan_id"]].assign(
            component="(plan)", earned_cents=0, adjustments_cents=0, draw_cents=0
        )
    )

    mg = m[m["plan_id"] == "MANAGER"]
    override = _retro(
        mg["team"].to_numpy(np.int64),
        mg["quota"].to_numpy(np.int64),
        [(0, 2_000), (800_000, 3_000), (1_000_000, 5_000)],
    )
    keys = mg[["participant", "period", "plan_id"]]
    out.append(
        keys.assign(component="override", earned_cents=override, adjustments_cents=0, draw_cents=0)
    )
    out.append(
        keys.assign(
            component="(plan)",
            earned_cents=0,
            adjustments_cents=np.where(override > 4_000_000, 4_000_000 - override, 0),
            draw_cents=0,
        )
    )
    p = pd.concat(out, ignore_index=True)
    p["payable_cents"] = p["earned_cents"] + p["adjustments_cents"] + p["draw_cents"]
    return p


def main(argv: list[str] | None = None) -> None:
    """Command line: ``--data DIR --out DIR``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    credits, rollup, payouts = calculate(args.data)
    calculated = time.perf_counter()
    for name, frame in (("payouts", payouts), ("credits", credits), ("rollup_totals", rollup)):
        frame.to_parquet(args.out / f"{name}.parquet", index=False, compression="zstd")
    print(f"calculate {calculated - started:.2f}s write {time.perf_counter() - calculated:.2f}s")


if __name__ == "__main__":
    main()
