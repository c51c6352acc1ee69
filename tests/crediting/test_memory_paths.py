"""The memory-saving paths of crediting against naive per-row code.

As-of lookups answer on a narrow frame and put the answers back in row order; periods are found
per distinct credit date and mapped back; credits are sorted by gathering the columns once. Each
must give what a per-row scan gives, with the left frame's rows in their order.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.crediting.asof import asof_lookup
from engine.crediting.frames import CREDIT_SCHEMA, CREDIT_SORT
from engine.crediting.order import TX_KEY, sort_credits
from engine.crediting.periods import assign_periods

D = dt.date
DAY0 = D(2026, 1, 1)


@settings(max_examples=60, deadline=None)
@given(
    wanted=st.lists(
        st.tuples(st.sampled_from(["A", "B", None]), st.one_of(st.none(), st.integers(-5, 40))),
        max_size=25,
    )
)
def test_asof_lookup_keeps_left_rows_in_order(wanted: list[tuple[str | None, int | None]]) -> None:
    right = pl.DataFrame(
        {
            "k": ["A", "A", "B"],
            "start": [DAY0, DAY0 + dt.timedelta(10), DAY0 + dt.timedelta(5)],
            "end": [DAY0 + dt.timedelta(9), None, DAY0 + dt.timedelta(20)],
            "v": [1, 2, 3],
        }
    )
    left = pl.DataFrame(
        {
            "key": [k for k, _ in wanted],
            "d": [None if n is None else DAY0 + dt.timedelta(n) for _, n in wanted],
            "i": list(range(len(wanted))),
        },
        schema={"key": pl.Utf8, "d": pl.Date, "i": pl.Int64},
    )
    got = asof_lookup(
        left,
        right,
        left_key="key",
        left_date="d",
        right_key="k",
        right_start="start",
        right_end="end",
        take=["v"],
    )
    rows = right.rows(named=True)
    expected = [
        next(
            (
                r["v"]
                for r in rows
                if day is not None
                and r["k"] == k
                and r["start"] <= day
                and (r["end"] is None or day <= r["end"])
            ),
            None,
        )
        for k, day in zip(left["key"], left["d"], strict=True)
    ]
    assert got["i"].to_list() == list(range(len(wanted)))
    assert got["v"].to_list() == expected


@settings(max_examples=60, deadline=None)
@given(days=st.lists(st.one_of(st.none(), st.integers(-40, 100)), max_size=25))
def test_periods_match_a_naive_scan(days: list[int | None]) -> None:
    calendar = pl.DataFrame(
        {
            "period": ["2026-01", "2026-02", "2026-03"],
            "start_date": [D(2026, 1, 1), D(2026, 2, 1), D(2026, 3, 1)],
            "end_date": [D(2026, 1, 31), D(2026, 2, 28), D(2026, 3, 31)],
        }
    )
    dates = [None if n is None else DAY0 + dt.timedelta(n) for n in days]
    tx = pl.DataFrame(
        {
            "transaction_id": [f"T{i}" for i in range(len(days))],
            "credit_date": dates,
            "source_line": list(range(2, len(days) + 2)),
        },
        schema={"transaction_id": pl.Utf8, "credit_date": pl.Date, "source_line": pl.Int64},
    )
    inside, outside = assign_periods(tx, calendar, ["2026-01", "2026-03"])

    def period_of(day: dt.date | None) -> str | None:
        for p, start, end in calendar.iter_rows():
            if day is not None and start <= day <= end:
                return str(p)
        return None

    want_in = [
        (f"T{i}", period_of(d))
        for i, d in enumerate(dates)
        if period_of(d) in ("2026-01", "2026-03")
    ]
    assert inside.select("transaction_id", "period").rows() == want_in
    assert sorted(outside["transaction_id"].to_list()) == sorted(
        f"T{i}" for i, d in enumerate(dates) if period_of(d) not in ("2026-01", "2026-03")
    )


def test_sort_credits_carries_extra_columns_in_the_same_order() -> None:
    n = 40
    frame = pl.DataFrame(
        {
            "transaction_id": [f"T{(i * 7) % 13:02d}" for i in range(n)],
            "participant_id": [f"P{(i * 5) % 4}" for i in range(n)],
            "credit_type": ["direct"] * n,
            "rule": [["b", "a"][i % 2] for i in range(n)],
            "level": [0] * n,
            "direct_participant_id": [f"P{(i * 5) % 4}" for i in range(n)],
            "share_ppm": [1_000_000] * n,
            "amount_cents": [(i * 31) % 17 for i in range(n)],
            "currency": ["USD"] * n,
            "credit_date": [DAY0] * n,
            "period": ["2026-01"] * n,
            "held": [i % 3 == 0 for i in range(n)],
            "route_table": ["transactions"] * n,
            "route_line": [i + 2 for i in range(n)],
            "flag": list(range(n)),
        },
        schema_overrides={"level": pl.Int32},
    )
    frame = frame.with_columns(
        pl.col("transaction_id").rank("dense").cast(pl.Int64).sub(1).alias(TX_KEY)
    )
    got = sort_credits(frame, keep=["flag"])
    assert got.columns == [*CREDIT_SCHEMA, "flag"]
    assert got.drop("flag").rows() == frame.select(*CREDIT_SCHEMA).sort(CREDIT_SORT).rows()
    by_flag = {r[-1]: r[:-1] for r in frame.select(*CREDIT_SCHEMA, "flag").rows()}
    assert all(by_flag[r[-1]] == r[:-1] for r in got.rows())


def test_cached_rollup_totals_equal_fresh_ones() -> None:
    from engine.crediting import credit
    from engine.crediting.rollup import totals
    from engine.loading import dataset_from_rows
    from engine.rules.crediting_schema import CreditingSection

    ds = dataset_from_rows(
        {
            "calendar": [
                {"period": "2026-01", "start_date": "2026-01-01", "end_date": "2026-01-31"}
            ],
            "participants": [
                {
                    "participant_id": p,
                    "role": "AE",
                    "pay_currency": "USD",
                    "hire_date": "2025-01-01",
                }
                for p in ("P1", "P2", "M1", "M2")
            ],
            "hierarchy": [
                {"participant_id": "P1", "manager_id": "M1", "valid_from": "2025-01-01"},
                {"participant_id": "P2", "manager_id": "M1", "valid_from": "2025-01-01"},
                {"participant_id": "M1", "manager_id": "M2", "valid_from": "2025-01-01"},
            ],
            "transactions": [
                {
                    "transaction_id": f"T{i}",
                    "credit_date": f"2026-01-{i + 1:02d}",
                    "amount": f"{100 + i}.{i:02d}",
                    "currency": "USD",
                    "seller_id": ("P1", "P2")[i % 2],
                }
                for i in range(9)
            ],
        }
    )
    rules = CreditingSection.model_validate(
        {
            "rules": [{"name": "seller", "source": "seller"}],
            "rollups": [
                {"name": "managers", "credit_types": ["direct"], "overrides": ["0.5", "0.3"]}
            ],
            "holds": [{"name": "big", "when": "amount > 105"}],
        }
    )
    result = credit(ds, rules, rollups="aggregate")
    fresh = totals(result.basis)
    assert result.rollup_totals().equals(fresh)
    assert result.counts.rollup_rows == int(fresh["credit_count"].sum()) > 0
    materialised = credit(ds, rules, rollups="materialise")
    assert result.counts.held_rows == materialised.counts.held_rows > 0
