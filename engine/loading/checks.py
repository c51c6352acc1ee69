"""Row-level checks across a table or between tables.

Each check takes the typed rows still accepted and returns findings (one per rejected row). The
loader runs them in a fixed order, removing rejected rows after each, so a row is reported for
its first problem of this kind and later checks see only clean rows.

Choices (see ``docs/data-contract.md``):

* Duplicate keys: identical duplicates keep the first row; conflicting duplicates are all
  rejected, since the engine cannot know which one is right.
* Overlapping effective-dated rows for one key: the row that starts later (or, on the same
  start date, appears later in the file) is rejected; the earlier one is kept.
* Shares that do not sum to 1 on some date: every row active on that date is rejected.
* A reporting cycle: every row forming the cycle is rejected, with the path in the message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

import polars as pl

from engine.contract import Table
from engine.errors import Reason
from engine.loading.columns import FINDING_SCHEMA, empty_findings
from engine.loading.read import LINE
from engine.money import PPM

FAR_FUTURE = dt.date(9999, 12, 31)

Check = Callable[[pl.DataFrame, Table, str, dict[str, pl.DataFrame]], pl.DataFrame]


def findings(
    rows: pl.DataFrame, file: str, column: str, reason: Reason, message: pl.Expr | str
) -> pl.DataFrame:
    """Findings for ``rows`` (which carry ``source_line``) with one reason and message."""
    if rows.height == 0:
        return empty_findings()
    msg = pl.lit(message) if isinstance(message, str) else message
    value = pl.col(column).cast(pl.Utf8) if column in rows.columns else pl.lit(None, pl.Utf8)
    return rows.select(
        pl.lit(file).alias("file"),
        pl.col(LINE).alias("line"),
        pl.lit(column).alias("column"),
        pl.lit(reason.value).alias("reason"),
        msg.cast(pl.Utf8).alias("message"),
        value.alias("value"),
        pl.lit(None, dtype=pl.Utf8).alias("hint"),
    ).cast(FINDING_SCHEMA)  # type: ignore[arg-type]


def _ppm_text(ppm: pl.Expr) -> pl.Expr:
    """A non-negative count of millionths as exact decimal text (899_999 -> ``0.899999``).

    Never through a float: ``899_999 / 10**6`` prints as ``0.8999990000000001`` or worse.
    """
    fraction = (ppm % PPM).cast(pl.Utf8).str.zfill(6).str.strip_chars_end("0")
    whole = (ppm // PPM).cast(pl.Utf8)
    return pl.when(fraction == "").then(whole).otherwise(whole + pl.lit(".") + fraction)


def duplicate_keys(
    rows: pl.DataFrame, table: Table, file: str, _done: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """Duplicate keys in a table that is not effective-dated."""
    if table.effective_dated or rows.height == 0:
        return empty_findings()
    key = list(table.key)
    dup = rows.filter(pl.len().over(key) > 1)
    if dup.height == 0:
        return empty_findings()
    content = [c for c in dup.columns if c != LINE]
    dup = dup.with_columns(
        pl.col(LINE).min().over(key).alias("_first"),
        pl.struct(content).n_unique().over(key).alias("_variants"),
        pl.col(LINE).cast(pl.Utf8).str.join(", ").over(key).alias("_lines"),
    )
    identical = dup.filter((pl.col("_variants") == 1) & (pl.col(LINE) != pl.col("_first")))
    conflicting = dup.filter(pl.col("_variants") > 1)
    key_text = key[0]
    return pl.concat(
        [
            findings(
                identical,
                file,
                key_text,
                Reason.DUPLICATE_KEY,
                pl.lit("repeats line ") + pl.col("_first").cast(pl.Utf8),
            ),
            findings(
                conflicting,
                file,
                key_text,
                Reason.DUPLICATE_KEY,
                pl.lit("conflicting rows with the same key at lines ") + pl.col("_lines"),
            ),
        ]
    )


def date_ranges(
    rows: pl.DataFrame, table: Table, file: str, _done: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """``valid_to`` before ``valid_from``, ``end_date`` before ``start_date``."""
    pairs = {
        "calendar": ("start_date", "end_date"),
        "participants": ("hire_date", "termination_date"),
    }
    start, end = pairs.get(table.name, ("valid_from", "valid_to"))
    if not (table.effective_dated or table.name in pairs):
        return empty_findings()
    bad = rows.filter(pl.col(end) < pl.col(start))
    return findings(bad, file, end, Reason.BAD_DATE_RANGE, f"{end} is before {start}")


def overlaps(
    rows: pl.DataFrame, table: Table, file: str, _done: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """Effective-dated rows of one key that overlap; calendar periods that overlap."""
    if table.name == "calendar":
        key: list[str] = []
        start, end = "start_date", "end_date"
    elif table.effective_dated:
        key, start, end = list(table.key), "valid_from", "valid_to"
    else:
        return empty_findings()
    if rows.height == 0:
        return empty_findings()
    ordered = rows.sort([*key, start, LINE])
    prev_end = pl.col(end).fill_null(FAR_FUTURE).cum_max().shift(1)
    prev_line = pl.col(LINE).shift(1)
    if key:
        prev_end, prev_line = prev_end.over(key), prev_line.over(key)
    ordered = ordered.with_columns(prev_end.alias("_prev_end"), prev_line.alias("_prev_line"))
    bad = ordered.filter(pl.col("_prev_end") >= pl.col(start))
    what = "period" if table.name == "calendar" else " / ".join(key)
    message = (
        pl.lit(f"overlaps an earlier row for the same {what} (line ")
        + pl.col("_prev_line").cast(pl.Utf8)
        + pl.lit(")")
    )
    return findings(bad, file, start, Reason.OVERLAPPING_EFFECTIVE_DATES, message)


def references(
    rows: pl.DataFrame, table: Table, file: str, done: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """Foreign keys that point at no accepted row of the target table."""
    out = [empty_findings()]
    for ref in table.references:
        if ref.target == table.name:
            continue  # self-references run after the table's own checks
        target = done[ref.target].select(
            [pl.col(t).alias(c) for c, t in zip(ref.columns, ref.target_columns, strict=True)]
        )
        present = rows.filter(pl.all_horizontal([pl.col(c).is_not_null() for c in ref.columns]))
        missing = present.join(target.unique(), on=list(ref.columns), how="anti")
        out.append(
            findings(
                missing,
                file,
                ref.columns[0],
                Reason.UNKNOWN_REFERENCE,
                pl.lit(f"no {ref.target} row with {ref.target_columns[0]} ")
                + pl.lit("'")
                + pl.col(ref.columns[0])
                + pl.lit("'"),
            )
        )
    return pl.concat(out)


def self_references(rows: pl.DataFrame, table: Table, file: str) -> pl.DataFrame:
    """References from a table to its own accepted rows (a return to its original sale)."""
    out = [empty_findings()]
    for ref in table.references:
        if ref.target != table.name:
            continue
        target = rows.select(
            [pl.col(t).alias(c) for c, t in zip(ref.columns, ref.target_columns, strict=True)]
        ).unique()
        present = rows.filter(pl.col(ref.columns[0]).is_not_null())
        missing = present.join(target, on=list(ref.columns), how="anti")
        out.append(
            findings(
                missing,
                file,
                ref.columns[0],
                Reason.UNKNOWN_REFERENCE,
                pl.lit(f"no accepted {table.name} row with {ref.target_columns[0]} '")
                + pl.col(ref.columns[0])
                + pl.lit("'"),
            )
        )
    return pl.concat(out)


def table_rules(
    rows: pl.DataFrame, table: Table, file: str, _done: dict[str, pl.DataFrame]
) -> pl.DataFrame:
    """The table's own named checks (``Table.checks``) that are not generic."""
    out = [empty_findings()]
    if "no_self_manager" in table.checks:
        selfish = rows.filter(pl.col("participant_id") == pl.col("manager_id"))
        out.append(
            findings(
                selfish,
                file,
                "manager_id",
                Reason.SELF_MANAGER,
                pl.lit("'") + pl.col("participant_id") + pl.lit("' is their own manager"),
            )
        )
    if "return_is_negative" in table.checks:
        positive = rows.filter(
            pl.col("original_transaction_id").is_not_null() & (pl.col("amount_cents") > 0)
        )
        out.append(
            findings(
                positive,
                file,
                "amount",
                Reason.BAD_VALUE,
                "a return (original_transaction_id set) must have a negative amount",
            )
        )
    if "shares_sum_to_one" in table.checks and table.name == "transaction_sellers":
        sums = rows.with_columns(pl.col("share_ppm").sum().over("transaction_id").alias("_sum"))
        bad = sums.filter(pl.col("_sum") != PPM)
        out.append(
            findings(
                bad,
                file,
                "share",
                Reason.SHARES_NOT_100,
                pl.lit("shares of transaction '")
                + pl.col("transaction_id")
                + pl.lit("' sum to ")
                + _ppm_text(pl.col("_sum")),
            )
        )
    return pl.concat(out)


def territory_shares(rows: pl.DataFrame, file: str) -> pl.DataFrame:
    """Owners' shares active on each day of a territory must sum to exactly 1."""
    if rows.height == 0:
        return empty_findings()
    starts = rows.select("territory_id", pl.col("valid_from").alias("_day"))
    after = rows.filter(pl.col("valid_to").is_not_null()).select(
        "territory_id", (pl.col("valid_to") + pl.duration(days=1)).cast(pl.Date).alias("_day")
    )
    days = pl.concat([starts, after]).unique()
    active = days.join(rows, on="territory_id").filter(
        (pl.col("valid_from") <= pl.col("_day"))
        & (pl.col("valid_to").fill_null(FAR_FUTURE) >= pl.col("_day"))
    )
    sums = active.group_by("territory_id", "_day").agg(
        pl.col("share_ppm").sum().alias("_sum"), pl.col(LINE)
    )
    bad_days = sums.filter(pl.col("_sum") != PPM).sort("territory_id", "_day")
    if bad_days.height == 0:
        return empty_findings()
    first_bad = (
        bad_days.explode(LINE)
        .group_by(LINE)
        .agg(pl.col("_day").first(), pl.col("_sum").first(), pl.col("territory_id").first())
    )
    bad_rows = rows.join(first_bad.select(LINE, "_day", "_sum"), on=LINE)
    return findings(
        bad_rows,
        file,
        "share",
        Reason.SHARES_NOT_100,
        pl.lit("owners' shares of territory '")
        + pl.col("territory_id")
        + pl.lit("' sum to ")
        + _ppm_text(pl.col("_sum"))
        + pl.lit(" on ")
        + pl.col("_day").cast(pl.Utf8),
    )


def hierarchy_cycles(rows: pl.DataFrame, file: str) -> pl.DataFrame:
    """Reporting lines that form a cycle on some day; the path is named in the message."""
    if rows.height == 0:
        return empty_findings()
    edges = rows.select("participant_id", "manager_id", "valid_from", "valid_to", LINE)
    suspects = _cyclic_nodes(edges.select("participant_id", "manager_id").rows())
    if not suspects:
        return empty_findings()
    sub = edges.filter(pl.col("participant_id").is_in(sorted(suspects))).rows(named=True)
    bad: dict[int, str] = {}
    for day in sorted({r["valid_from"] for r in sub}):
        active = {
            r["participant_id"]: r
            for r in sub
            if r["valid_from"] <= day <= (r["valid_to"] or FAR_FUTURE)
        }
        for cycle in _functional_cycles({k: v["manager_id"] for k, v in active.items()}):
            path = " -> ".join([*cycle, cycle[0]])
            for node in cycle:
                bad.setdefault(active[node][LINE], f"reporting cycle on {day}: {path}")
    flagged = rows.join(
        pl.DataFrame(
            {LINE: list(bad), "_msg": list(bad.values())}, schema_overrides={LINE: pl.Int64}
        ),
        on=LINE,
    )
    return findings(flagged, file, "manager_id", Reason.HIERARCHY_CYCLE, pl.col("_msg"))


def _cyclic_nodes(edges: Iterable[tuple[str, str]]) -> set[str]:
    """Nodes in a strongly connected component of size > 1 (iterative Tarjan)."""
    graph: dict[str, list[str]] = {}
    for child, manager in edges:
        graph.setdefault(child, []).append(manager)
        graph.setdefault(manager, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    result: set[str] = set()
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            succ = graph[node]
            if i < len(succ):
                work.append((node, i + 1))
                nxt = succ[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    result.update(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return result


def _functional_cycles(manager_of: dict[str, str]) -> list[list[str]]:
    """Cycles in a graph where each node has at most one successor, each listed once."""
    state: dict[str, int] = {}
    cycles: list[list[str]] = []
    for start in sorted(manager_of):
        path: list[str] = []
        node: str | None = start
        while node is not None and node in manager_of and state.get(node, 0) == 0:
            state[node] = 1
            path.append(node)
            node = manager_of[node]
        if node is not None and state.get(node) == 1 and node in path:
            cycle = path[path.index(node) :]
            pivot = cycle.index(min(cycle))
            cycles.append(cycle[pivot:] + cycle[:pivot])
        for n in path:
            state[n] = 2
    return cycles


GENERIC_CHECKS: tuple[Check, ...] = (date_ranges, duplicate_keys, overlaps, table_rules, references)
"""Checks run on every table, in this order."""
