"""Effective-dated lookups (as-of joins, segments, manager chains) against naive per-row code."""

from __future__ import annotations

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.crediting.asof import asof_lookup
from engine.crediting.hierarchy import manager_chains
from engine.crediting.segments import segment

D = dt.date
KEYS = ["A", "B", "C"]
DAY0 = D(2026, 1, 1)


@st.composite
def dated_rows(draw: st.DrawFn) -> pl.DataFrame:
    """Non-overlapping intervals per key, with gaps and open ends."""
    rows = []
    for key in KEYS:
        cuts = sorted(draw(st.lists(st.integers(0, 60), max_size=6, unique=True)))
        for i in range(0, len(cuts) - 1, 2):
            end = (
                None
                if i + 2 >= len(cuts) and draw(st.booleans())
                else DAY0 + dt.timedelta(cuts[i + 1])
            )
            rows.append(
                {
                    "k": key,
                    "start": DAY0 + dt.timedelta(cuts[i]),
                    "end": end,
                    "v": draw(st.integers(0, 99)),
                }
            )
    return pl.DataFrame(
        rows, schema={"k": pl.Utf8, "start": pl.Date, "end": pl.Date, "v": pl.Int64}
    )


lookups = st.lists(st.tuples(st.sampled_from([*KEYS, "Z"]), st.integers(-3, 70)), max_size=30)


@settings(max_examples=100, deadline=None)
@given(right=dated_rows(), wanted=lookups)
def test_asof_lookup_matches_a_naive_scan(
    right: pl.DataFrame, wanted: list[tuple[str, int]]
) -> None:
    left = pl.DataFrame(
        {
            "key": [k for k, _ in wanted],
            "d": [DAY0 + dt.timedelta(n) for _, n in wanted],
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
    ).sort("i")
    rows = right.rows(named=True)
    expected = [
        next(
            (
                r["v"]
                for r in rows
                if r["k"] == k and r["start"] <= day and (r["end"] is None or day <= r["end"])
            ),
            None,
        )
        for k, day in zip(left["key"], left["d"], strict=True)
    ]
    assert got["v"].to_list() == expected
    assert got.columns == ["key", "d", "i", "v"]


@st.composite
def multi_rows(draw: st.DrawFn) -> pl.DataFrame:
    """Several members per key, each with its own intervals (members may overlap each other)."""
    rows = []
    for key in KEYS[:2]:
        for member in ("m1", "m2", "m3"):
            cuts = sorted(draw(st.lists(st.integers(0, 40), max_size=4, unique=True)))
            for i in range(0, len(cuts) - 1, 2):
                end = (
                    None
                    if draw(st.booleans()) and i + 2 >= len(cuts)
                    else DAY0 + dt.timedelta(cuts[i + 1])
                )
                rows.append(
                    {
                        "k": key,
                        "who": member,
                        "valid_from": DAY0 + dt.timedelta(cuts[i]),
                        "valid_to": end,
                    }
                )
    return pl.DataFrame(
        rows, schema={"k": pl.Utf8, "who": pl.Utf8, "valid_from": pl.Date, "valid_to": pl.Date}
    )


@settings(max_examples=100, deadline=None)
@given(rows=multi_rows(), probes=st.lists(st.integers(-2, 45), max_size=20))
def test_segments_hold_exactly_the_rows_in_force(rows: pl.DataFrame, probes: list[int]) -> None:
    segs, members = segment(rows, key="k")
    for key in KEYS[:2]:
        for n in probes:
            day = DAY0 + dt.timedelta(n)
            naive = sorted(
                r["who"]
                for r in rows.rows(named=True)
                if r["k"] == key
                and r["valid_from"] <= day
                and (r["valid_to"] is None or day <= r["valid_to"])
            )
            hit = segs.filter(
                (pl.col("k") == key)
                & (pl.col("seg_start") <= day)
                & (pl.col("seg_end").is_null() | (pl.col("seg_end") >= day))
            )
            assert hit.height <= 1
            got = (
                sorted(members.filter(pl.col("seg_id") == hit["seg_id"].item())["who"].to_list())
                if hit.height
                else []
            )
            assert got == naive


PEOPLE = ["P1", "P2", "P3", "P4", "P5", "P6"]


@st.composite
def hierarchies(draw: st.DrawFn) -> pl.DataFrame:
    rows = []
    line = 2
    for i, p in enumerate(PEOPLE[:-1]):
        cuts = sorted(draw(st.lists(st.integers(0, 40), max_size=4, unique=True)))
        for j in range(0, len(cuts) - 1, 2):
            end = (
                None
                if draw(st.booleans()) and j + 2 >= len(cuts)
                else DAY0 + dt.timedelta(cuts[j + 1])
            )
            rows.append(
                {
                    "participant_id": p,
                    "manager_id": draw(st.sampled_from(PEOPLE[i + 1 :])),
                    "valid_from": DAY0 + dt.timedelta(cuts[j]),
                    "valid_to": end,
                    "source_line": line,
                }
            )
            line += 1
    return pl.DataFrame(
        rows,
        schema={
            "participant_id": pl.Utf8,
            "manager_id": pl.Utf8,
            "valid_from": pl.Date,
            "valid_to": pl.Date,
            "source_line": pl.Int64,
        },
    )


@settings(max_examples=100, deadline=None)
@given(h=hierarchies(), probes=st.lists(st.integers(-2, 45), min_size=1, max_size=10))
def test_manager_chains_match_walking_up_one_level_at_a_time(
    h: pl.DataFrame, probes: list[int]
) -> None:
    chains = manager_chains(h)
    rows = h.rows(named=True)
    for p in PEOPLE:
        for n in probes:
            day = DAY0 + dt.timedelta(n)
            naive = []
            who = p
            while True:
                link = next(
                    (
                        r
                        for r in rows
                        if r["participant_id"] == who
                        and r["valid_from"] <= day
                        and (r["valid_to"] is None or day <= r["valid_to"])
                    ),
                    None,
                )
                if link is None:
                    break
                naive.append((len(naive) + 1, link["manager_id"], link["source_line"]))
                who = link["manager_id"]
            seg = chains.segments.filter(
                (pl.col("participant_id") == p)
                & (pl.col("seg_start") <= day)
                & (pl.col("seg_end").is_null() | (pl.col("seg_end") >= day))
            )
            got = (
                chains.links.filter(pl.col("seg_id") == seg["seg_id"].item())
                .sort("level")
                .select("level", "manager_id", "route_line")
                .rows()
                if seg.height
                else []
            )
            assert got == naive
