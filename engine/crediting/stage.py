"""The crediting stage: transactions in, credits out, nothing silently dropped.

Order of work (each step in its own module):

1. classification (:mod:`.classify`) adds the rule set's derived columns;
2. periods (:mod:`.periods`): the period containing the credit date; outside the run's
   periods -> unrouted ``OUTSIDE_PERIODS``;
3. exclusions (:mod:`.exclude`): excluded, with the rule's name;
4. primary rule choice (:mod:`.select`): no rule -> unrouted ``NO_CREDIT_RULE``;
5. routing and allocation (:mod:`.direct`, :mod:`.route`, :mod:`.split`): nobody to credit ->
   unrouted ``NO_OWNER``;
6. overlays (:mod:`.overlay`), holds (:mod:`.holds`);
7. roll-ups (:mod:`.hierarchy`, :mod:`.rollup`), materialised or kept as a basis for totals.

Every transaction ends in exactly one of credited, excluded, unrouted.

Example:
    >>> from engine.loading import dataset_from_rows
    >>> from engine.rules.crediting_schema import CreditingSection
    >>> ds = dataset_from_rows({
    ...     "calendar": [{"period": "2026-01", "start_date": "2026-01-01",
    ...                   "end_date": "2026-01-31"}],
    ...     "participants": [{"participant_id": p, "role": "AE", "pay_currency": "USD",
    ...                       "hire_date": "2025-01-01"} for p in ("P1", "M1")],
    ...     "hierarchy": [{"participant_id": "P1", "manager_id": "M1",
    ...                    "valid_from": "2025-01-01"}],
    ...     "transactions": [{"transaction_id": "T1", "credit_date": "2026-01-05",
    ...                       "amount": "100.00", "currency": "USD", "seller_id": "P1"},
    ...                      {"transaction_id": "T2", "credit_date": "2026-02-05",
    ...                       "amount": "5.00", "currency": "USD", "seller_id": "P1"}],
    ... })
    >>> rules = CreditingSection.model_validate({
    ...     "rules": [{"name": "seller", "source": "seller"}],
    ...     "rollups": [{"name": "managers", "credit_types": ["direct"]}]})
    >>> result = credit(ds, rules)
    >>> result.credits.select("participant_id", "level", "amount_cents").rows()
    [('P1', 0, 10000), ('M1', 1, 10000)]
    >>> result.unrouted.select("transaction_id", "reason").rows()
    [('T2', 'OUTSIDE_PERIODS')]
    >>> result.counts.balanced
    True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Protocol

import polars as pl

from engine.contract import TABLES
from engine.crediting.classify import classify
from engine.crediting.conditions import add_split_sellers, transaction_kinds, when_expr
from engine.crediting.direct import primary_credits
from engine.crediting.exclude import apply_exclusions
from engine.crediting.frames import (
    CREDIT_SCHEMA,
    OVERLAY_MISS_SCHEMA,
    UNROUTED_SCHEMA,
    conform,
    empty,
)
from engine.crediting.hierarchy import manager_chains
from engine.crediting.holds import held_expr, hold_column, mark_holds
from engine.crediting.order import TX_KEY, number_transactions, sort_credits
from engine.crediting.overlay import overlay_credits
from engine.crediting.periods import assign_periods
from engine.crediting.result import CreditCounts, CreditResult
from engine.crediting.rollup import (
    conform_keep,
    prepare,
    roll_column,
    rollup_rows,
    totals,
)
from engine.crediting.route import Sources
from engine.crediting.select import RULE_INDEX, choose_rules
from engine.errors import EngineError
from engine.loading.dataset import empty_table
from engine.money import RoundingMode
from engine.rules.crediting_schema import CreditingSection
from engine.rules.schema import RuleSet

__all__ = ["RollupMode", "credit"]

RollupMode = Literal["materialise", "aggregate"]


class _HasTables(Protocol):
    @property
    def tables(self) -> dict[str, pl.DataFrame]: ...


def _section(ruleset: RuleSet | CreditingSection) -> tuple[CreditingSection, RoundingMode]:
    if isinstance(ruleset, CreditingSection):
        return ruleset, RoundingMode.HALF_UP
    return ruleset.crediting, RoundingMode(ruleset.settings.rounding_mode)


def _table(tables: Mapping[str, pl.DataFrame], name: str) -> pl.DataFrame:
    frame = tables.get(name)
    typed = empty_table(TABLES[name])
    if frame is None:
        return typed
    missing = [c for c in typed.columns if c not in frame.columns]
    return frame.with_columns(pl.lit(None, dtype=typed.schema[c]).alias(c) for c in missing)


def credit(
    dataset: _HasTables,
    ruleset: RuleSet | CreditingSection,
    periods: Sequence[str] | None = None,
    *,
    rollups: RollupMode = "materialise",
) -> CreditResult:
    """Credit every transaction of ``dataset`` by the rule set's crediting section.

    Args:
        dataset: the loaded dataset (:class:`engine.loading.Dataset`; only ``tables`` is read).
        ruleset: the rule set (its ``classify``, ``crediting`` and ``settings.rounding_mode``
            are used), or a bare :class:`~engine.rules.crediting_schema.CreditingSection`
            (no classification, rounding half_up).
        periods: the run's periods; None = every calendar period.
        rollups: ``materialise`` puts roll-up rows in ``credits``; ``aggregate`` leaves them
            out (use :meth:`CreditResult.rollup_totals` / :meth:`CreditResult.rollup_credits`).

    Returns:
        The credit result.

    Raises:
        EngineError: a condition does not compile, shares do not sum to 1, a period asked for
            is not in the calendar, a hierarchy cycle, or an amount too large.
    """
    section, rounding = _section(ruleset)
    tables = dataset.tables
    sellers = _table(tables, "transaction_sellers")
    classified, extra_kinds = classify(_table(tables, "transactions"), ruleset)
    kinds = transaction_kinds(add_split_sellers(classified.clear(), sellers.clear()), extra_kinds)
    # keep only the columns crediting reads: every later step copies the frame it filters
    narrow = classified.select(_needed_columns(section, kinds, classified.columns))
    del classified
    transactions = number_transactions(add_split_sellers(narrow, sellers))
    del narrow
    n_transactions = transactions.height
    inside, outside = assign_periods(transactions, _table(tables, "calendar"), periods)
    del transactions
    kept, excluded = apply_exclusions(inside, section.exclusions, kinds)
    del inside
    kept = mark_holds(kept, section.holds, kinds).with_columns(
        when_expr(rule.when, kinds).alias(roll_column(i)) for i, rule in enumerate(section.rollups)
    )
    matched, no_rule = choose_rules(kept, section.rules, kinds)
    del kept
    matched = matched.select(_routing_columns(section, kinds, matched.columns))
    sources = Sources.build(
        {name: _table(tables, name) for name in ("transaction_sellers", "territory_owners")}
    )
    primary, no_owner = primary_credits(matched, section.rules, sources)
    n_credited = primary.get_column(TX_KEY).n_unique()
    credited = (
        matched.join(primary.select(TX_KEY).unique(), on=TX_KEY, how="semi")
        if section.overlays
        else matched.clear()
    )
    del matched
    level0_parts = [primary]
    misses = [empty(OVERLAY_MISS_SCHEMA)]
    for overlay in section.overlays:
        got, lost = overlay_credits(credited, overlay, sources, kinds)
        level0_parts.append(got)
        misses.append(lost)
    del credited, primary
    flags = [roll_column(i) for i in range(len(section.rollups))]
    flags += [hold_column(i) for i in range(len(section.holds))]
    # routing columns (seller, territory, chosen rule, line) are not needed past this point
    wanted = {*CREDIT_SCHEMA, TX_KEY, *flags}
    held = held_expr(pl.col("credit_type"), section.holds).alias("held")
    parts = [p.select(c for c in p.columns if c in wanted) for p in level0_parts if p.height]
    if parts:
        # flagged part by part: adding a column to a frame of several chunks copies them all
        level0 = pl.concat([p.with_columns(held) for p in parts], how="diagonal_relaxed")
    else:
        level0 = level0_parts[0].select(c for c in level0_parts[0].columns if c in wanted)
        if "credit_type" not in level0.columns:
            level0 = empty(CREDIT_SCHEMA)
        level0 = level0.with_columns(held)
    del level0_parts, parts
    chains = (
        manager_chains(_table(tables, "hierarchy"))
        if section.rollups
        else manager_chains(empty_table(TABLES["hierarchy"]))
    )
    n_level0, n_level0_held = level0.height, int(level0.get_column("held").sum())
    if rollups == "materialise":
        basis = prepare(level0, chains, section.rollups, section.holds, rounding)
        rolled = rollup_rows(basis)
        credits = sort_credits(pl.concat([conform_keep(level0), conform_keep(rolled)]))
    else:
        # sort once, carrying the flags roll-ups read: the basis then shares the sorted
        # credits' columns instead of holding a copy of them
        rolled = None
        carried = [c for c in flags if c in level0.columns]
        ordered = sort_credits(
            pl.concat([conform_keep(level0), level0.select(carried)], how="horizontal"),
            keep=[*carried, *[c for c in (TX_KEY,) if c in level0.columns]],
        )
        del level0
        basis = prepare(ordered, chains, section.rollups, section.holds, rounding)
        credits = ordered.select(*CREDIT_SCHEMA)
        del ordered
    unrouted = pl.concat(
        [
            outside,
            no_rule,
            conform(no_owner, UNROUTED_SCHEMA) if no_owner.height else empty(UNROUTED_SCHEMA),
        ]
    ).sort("transaction_id", "source_line")
    overlay_misses = pl.concat(misses).sort("transaction_id", "rule", "source_line")
    excluded = excluded.sort("transaction_id", "source_line")
    default_totals = None
    if rolled is not None:
        n_rollup, n_held = rolled.height, int(credits["held"].sum())
    else:
        # the run asks for these totals next: computed once, the counts read from them
        default_totals = totals(basis)
        n_rollup, n_held = _rollup_counts(n_level0_held, default_totals)
    counts = CreditCounts(
        transactions=n_transactions,
        credited=n_credited,
        excluded=excluded.height,
        unrouted=dict(unrouted.group_by("reason").len().sort("reason").iter_rows()),
        credit_rows=n_level0,
        rollup_rows=n_rollup,
        held_rows=n_held,
        overlay_misses=overlay_misses.height,
    )
    return CreditResult(
        credits=credits,
        unrouted=unrouted,
        excluded=excluded,
        overlay_misses=overlay_misses,
        counts=counts,
        rollups_materialised=rolled is not None,
        basis=basis,
        default_totals=default_totals,
    )


def _rollup_counts(level0_held: int, frame: pl.DataFrame) -> tuple[int, int]:
    """Roll-up rows and held rows (level 0 and roll-up), from the roll-up totals."""
    rows = int(frame["credit_count"].sum()) if frame.height else 0
    held = frame.filter(pl.col("held"))
    return rows, level0_held + (int(held["credit_count"].sum()) if held.height else 0)


_ROUTING_COLUMNS = (
    "transaction_id",
    "credit_date",
    "amount_cents",
    "currency",
    "seller_id",
    "territory_id",
    "source_line",
)
"""Transaction columns crediting reads besides the ones conditions name."""


def _needed_columns(
    section: CreditingSection, kinds: Mapping[str, str], columns: Sequence[str]
) -> list[str]:
    """The transaction columns crediting reads: routing columns and those conditions name.

    A condition that does not compile keeps every column: the step that uses it raises the
    error, in the order it always did.
    """
    texts: list[str | None] = [rule.when for rule in section.exclusions]
    texts += [rule.when for rule in section.holds]
    texts += [rule.when for rule in section.rollups]
    texts += [rule.when for rule in section.rules]
    texts += [rule.when for rule in section.overlays]
    named = _condition_columns(texts, kinds)
    if named is None:
        return list(columns)
    return [c for c in columns if c in named or c in _ROUTING_COLUMNS]


def _routing_columns(
    section: CreditingSection, kinds: Mapping[str, str], columns: Sequence[str]
) -> list[str]:
    """The columns routing and overlays read once the primary rule is chosen.

    The columns only exclusions, holds, roll-up conditions and rule choice read have been
    turned into flags by then.
    """
    named = _condition_columns([rule.when for rule in section.overlays], kinds)
    if named is None:
        return list(columns)
    named.update(_ROUTING_COLUMNS, (TX_KEY, RULE_INDEX, "period"))
    named.update(roll_column(i) for i in range(len(section.rollups)))
    named.update(hold_column(i) for i in range(len(section.holds)))
    return [c for c in columns if c in named]


def _condition_columns(texts: Sequence[str | None], kinds: Mapping[str, str]) -> set[str] | None:
    """The columns the conditions ``texts`` read; None when one does not compile."""
    named: set[str] = set()
    try:
        for text in texts:
            named.update(when_expr(text, kinds).meta.root_names())
    except EngineError:
        return None
    return named
