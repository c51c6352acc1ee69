"""Lineage: the derivation of payouts as data, one frame per level with parent keys.

Levels, top down (keys in brackets; each level carries its parent's keys):

1. ``payouts`` [participant_id, period, plan_id, component, line]: earned, adjustments, draw,
   recovered, payable (``payable = earned + adjustments + draw - recovered``).
2. ``adjustments`` [+ type]: the kinds that add up to a line's adjustments, with ``rule``: the
   plan rule behind the kind (cap, floor, clawback...) in words.
3. ``incentives`` [participant_id, period, plan_id, component]: rate table, kind, tier reached,
   its bounds and rate, exact earnings ``earned_e8`` (10**-8 of the currency unit), the rounded
   ``rated_cents`` and ``rounding_e8 = rated_cents * 10**6 - earned_e8``; ``rate_type`` of the
   table (percent, per_unit, fixed, factor), the plan's ``target_incentive_cents``, and the rule
   set's ``rounding_point`` (line, component, total) and ``rounding_mode``.
3b. ``tier_slices`` [+ tier]: what each tier paid (``slice_cents`` of the paid amount in it,
   ``slice_e8`` earned), for retroactive and incremental percent tables; ``matches`` when they
   add up to ``earned_e8`` (see :mod:`engine.audit.slices`).
4. ``incentive_lines`` [+ transaction_id]: per-line earnings, for kinds that rate lines.
4b. ``clawbacks`` [participant_id, period, plan_id, component, transaction_id]: the returns
   behind a clawback adjustment, with the original deal (``original_transaction_id``, its
   credited ``original_cents``, ``original_period`` and ``original_line_e8`` earned) and the
   plan's clawback ``percent``.
5. ``measures`` [participant_id, period, plan_id, component, measure]: every measure a
   component reads, with its ``role`` (``paid``, ``tier``, ``base`` of an attainment), value as
   the exact ratio ``num / den``, quota and unit; ``base_measure`` names what an attainment
   divides by its quota.
6. ``credits`` [participant_id, period, measure, transaction_id, ...]: the credit lines a sum or
   count measure counted, with credit type, rule, level, direct seller, share, amount, the
   converted ``pay_cents``, the line's ``value`` (hundredths) and the routing row
   (``route_table``, ``route_line``).
7. ``transactions`` [transaction_id]: the credited transactions as loaded (with ``source_line``).

Plus the run's identity: rule-set name and content hash, input file hashes, run id.

Example:
    >>> from engine.audit.lineage import LEVELS
    >>> LEVELS[0], LEVELS[-1]
    ('payouts', 'transactions')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:
    from engine.pipeline import RunResult

__all__ = ["CREDIT_LINE_SCHEMA", "LEVELS", "Lineage", "build_lineage", "window_periods"]

LEVELS = (
    "payouts",
    "adjustments",
    "incentives",
    "tier_slices",
    "incentive_lines",
    "clawbacks",
    "measures",
    "credits",
    "transactions",
)

_PAYOUT_KEY = ["participant_id", "period", "plan_id", "component"]
CREDIT_LINE_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.Utf8(),
    "period": pl.Utf8(),
    "measure": pl.Utf8(),
    "transaction_id": pl.Utf8(),
    "credit_type": pl.Utf8(),
    "rule": pl.Utf8(),
    "level": pl.Int32(),
    "direct_participant_id": pl.Utf8(),
    "share_ppm": pl.Int64(),
    "amount_cents": pl.Int64(),
    "currency": pl.Utf8(),
    "pay_cents": pl.Int64(),
    "pay_currency": pl.Utf8(),
    "value": pl.Int64(),
    "credit_date": pl.Date(),
    "route_table": pl.Utf8(),
    "route_line": pl.Int64(),
}
"""The ``credits`` level: one row per credit line a sum or count measure counted."""
_CREDIT_COLUMNS = list(CREDIT_LINE_SCHEMA)


@dataclass(frozen=True)
class Lineage:
    """The lineage frames of a run (or of a slice of it) and the run's identity.

    Attributes:
        frames: level name (:data:`LEVELS`) -> frame.
        run_id: the run's content fingerprint.
        ruleset_name: the rule set's name.
        ruleset_hash: the rule set's content hash.
        input_hashes: input file name -> sha256.
        unreconciled: ``participant_id, period, measure, num, den, lines_e2``: sum or count
            measures whose credit lines (``value``, hundredths: a count line is 100) did not
            add up to the published value ``num / den`` (should be empty).
        credit_lines: False when the lineage was built without its credit lines (the
            ``credits`` and ``transactions`` levels are then empty).
    """

    frames: dict[str, pl.DataFrame]
    run_id: str
    ruleset_name: str
    ruleset_hash: str
    input_hashes: dict[str, str] = field(default_factory=dict)
    unreconciled: pl.DataFrame = field(default_factory=pl.DataFrame)
    credit_lines: bool = True

    def __getitem__(self, level: str) -> pl.DataFrame:
        """The frame of one level."""
        return self.frames[level]

    def select(self, participant_id: str, period: str, component: str | None = None) -> Lineage:
        """The lineage of one participant's payout in one period (optionally one component).

        Example:
            >>> empty = {lvl: pl.DataFrame({"participant_id": ["A"], "period": ["p"],
            ...          "component": ["c"], "transaction_id": ["T"]}) for lvl in LEVELS}
            >>> Lineage(empty, "r", "n", "h").select("B", "p")["payouts"].height
            0
        """

        def keep(frame: pl.DataFrame) -> pl.DataFrame:
            cond = (pl.col("participant_id") == participant_id) & (pl.col("period") == period)
            if component is not None and "component" in frame.columns:
                cond = cond & (pl.col("component") == component)
            return frame.filter(cond)

        out = {lvl: keep(f) for lvl, f in self.frames.items() if lvl != "transactions"}
        if component is not None:
            used = out["measures"].select("measure").unique()
            out["credits"] = out["credits"].join(used, on="measure", how="semi")
        ids = out["credits"].select("transaction_id").unique()
        out["transactions"] = self.frames["transactions"].join(ids, on="transaction_id", how="semi")
        return replace(self, frames=out)

    def write(self, directory: Path, fmt: str = "parquet") -> list[Path]:
        """Write every level, and ``lineage.json`` (the run's identity), under ``directory``.

        Each level is ``<level>.parquet`` (or ``.csv``, formulas neutralised).

        Returns:
            The files written.
        """
        import json  # noqa: PLC0415

        from engine.reports.export import write_frame  # noqa: PLC0415

        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for level in LEVELS:
            path = directory / f"{level}.{fmt}"
            write_frame(self.frames[level], path)
            written.append(path)
        meta = {**self.manifest(), "levels": list(LEVELS)}
        info = directory / "lineage.json"
        info.write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        return [*written, info]

    def manifest(self) -> dict[str, object]:
        """The run's identity, as in the published manifest."""
        return {
            "run_id": self.run_id,
            "ruleset": {"name": self.ruleset_name, "content_hash": self.ruleset_hash},
            "inputs": dict(sorted(self.input_hashes.items())),
        }


def _credits_for(result: RunResult, participants: Sequence[str] | None) -> pl.DataFrame:
    cr = result.credits
    if participants is None:
        return cr.all_credits()
    wanted = list(participants)
    own = cr.credits.filter(pl.col("participant_id").is_in(wanted))
    if cr.rollups_materialised:
        return own
    rolled = [cr.rollup_credits(p) for p in wanted]
    return pl.concat([own, *rolled], how="vertical_relaxed")


def _measure_rows(result: RunResult, incentives: pl.DataFrame) -> pl.DataFrame:
    """Every measure each incentive reads, with its role."""
    from engine.rules.plan_schema import AttainmentMeasure  # noqa: PLC0415

    by_name = {m.name: m for m in result.ruleset.measures}
    keys = [*_PAYOUT_KEY]
    paid = incentives.select(*keys, pl.col("measure"), pl.lit("paid").alias("role"))
    tier = incentives.select(
        *keys, pl.col("tier_measure").alias("measure"), pl.lit("tier").alias("role")
    )
    uses = pl.concat([paid, tier]).drop_nulls("measure")
    bases = [(name, m.measure) for name, m in by_name.items() if isinstance(m, AttainmentMeasure)]
    if bases:
        base_map = pl.DataFrame(
            {"measure": [b[0] for b in bases], "_base": [b[1] for b in bases]},
            schema={"measure": pl.Utf8, "_base": pl.Utf8},
        )
        base = (
            uses.join(base_map, on="measure")
            .select(*keys, pl.col("_base").alias("measure"), pl.lit("base").alias("role"))
            .join(uses.select(*keys, "measure"), on=[*keys, "measure"], how="anti")
        )
        uses = pl.concat([uses, base])
    uses = uses.unique([*keys, "measure"], keep="first", maintain_order=True)
    base_of = dict(bases)
    uses = uses.with_columns(
        pl.col("measure")
        .replace_strict(base_of, default=None, return_dtype=pl.Utf8)
        .alias("base_measure")
    )
    return uses.join(
        result.calc.measures, on=["participant_id", "period", "measure"], how="left"
    ).sort([*keys, "measure"])


def window_periods(calendar: pl.DataFrame, window: str) -> pl.DataFrame:
    """``period, credit_period``: which credit periods a measure of ``window`` reads.

    Example:
        >>> from datetime import date
        >>> cal = pl.DataFrame({"period": ["a", "b"], "start_date": [date(2026, 1, 1),
        ...     date(2026, 2, 1)], "quarter": ["q1", "q1"], "year": ["y", "y"]})
        >>> window_periods(cal, "quarter_to_date").sort("*").rows()
        [('a', 'a'), ('b', 'a'), ('b', 'b')]
    """
    cal = calendar.sort("start_date").with_row_index("_i")
    if window == "period":
        return cal.select("period", pl.col("period").alias("credit_period"))
    group = "quarter" if window == "quarter_to_date" else "year"
    pairs = cal.select("period", "_i", group).join(
        cal.select(pl.col("period").alias("credit_period"), pl.col("_i").alias("_j"), group),
        on=group,
    )
    return pairs.filter(pl.col("_j") <= pl.col("_i")).select("period", "credit_period")


def _credit_lines(
    result: RunResult, measures: pl.DataFrame, participants: Sequence[str] | None
) -> pl.DataFrame:
    """The credit lines of every sum or count measure in ``measures``."""
    from engine.calc.lines import build_lines  # noqa: PLC0415
    from engine.calc.measures import measure_lines  # noqa: PLC0415
    from engine.calc.payouts import settings_of  # noqa: PLC0415
    from engine.rules.plan_schema import CountMeasure, SumMeasure  # noqa: PLC0415

    ds = result.dataset
    settings = settings_of(result.ruleset)
    convert_at = {p.id: p.currency.convert_at for p in result.ruleset.plans}
    pay = (
        result.calc.payouts.select(
            "participant_id",
            "period",
            pl.col("currency").alias("pay_currency"),
            pl.col("plan_id")
            .replace_strict(convert_at, default="credit_date", return_dtype=pl.Utf8)
            .alias("convert_at"),
        )
        .unique(["participant_id", "period"], keep="first", maintain_order=True)
        .sort("participant_id", "period")
    )
    credits = _credits_for(result, participants)
    lines = build_lines(
        credits,
        transactions=ds.tables["transactions"],
        pay=pay,
        calendar=ds.tables["calendar"],
        rates=ds.tables["exchange_rates"],
        mode=settings.rounding_mode,
    )
    by_name = {m.name: m for m in result.ruleset.measures}
    wanted = (
        measures.filter(pl.col("kind").is_in(["sum", "count"]))
        .select("participant_id", "period", "measure")
        .unique()
    )
    parts: list[pl.DataFrame] = []
    for name in sorted(set(wanted["measure"].to_list())):
        m = by_name.get(name)
        if not isinstance(m, SumMeasure | CountMeasure):
            continue
        rows = wanted.filter(pl.col("measure") == name)
        window = window_periods(ds.tables["calendar"], m.window)
        need = rows.join(window, on="period")
        got = measure_lines(m, lines).rename({"period": "credit_period"})
        got = got.join(need, on=["participant_id", "credit_period"]).with_columns(
            pl.lit(name).alias("measure")
        )
        parts.append(got.select(_CREDIT_COLUMNS))
    if not parts:
        empty = lines.frame.head(0).with_columns(
            pl.lit(None, pl.Utf8).alias("measure"), pl.lit(None, pl.Int64).alias("value")
        )
        return empty.select(_CREDIT_COLUMNS)
    return pl.concat(parts, how="vertical_relaxed").sort(
        "participant_id",
        "period",
        "measure",
        "transaction_id",
        "level",
        "credit_type",
        "direct_participant_id",
        "route_table",
        "route_line",
    )


def build_lineage(
    result: RunResult, participants: Sequence[str] | None = None, *, credit_lines: bool = True
) -> Lineage:
    """The lineage frames of a run, for every payout or for some participants' only.

    Args:
        result: a pipeline run.
        participants: limit to these participants (default: all).
        credit_lines: False leaves out the credit lines behind measures and their transactions
            (the costly levels: one row per credit line and measure, roll-up lines derived);
            every other level is built as usual.

    Returns:
        The lineage (see the module docstring for the levels).

    Example:
        >>> from pathlib import Path
        >>> from engine.pipeline import run
        >>> r = run(Path("fixtures/sample"), Path("rules/sample.yaml"))
        >>> lin = build_lineage(r, ["P021"]).select("P021", "2026-01")
        >>> lin["credits"].filter(pl.col("measure") == "revenue")["value"].sum()
        2750000
    """
    calc = result.calc

    def mine(frame: pl.DataFrame) -> pl.DataFrame:
        if participants is None:
            return frame
        return frame.filter(pl.col("participant_id").is_in(list(participants)))

    from engine.calc.payouts import settings_of  # noqa: PLC0415

    settings = settings_of(result.ruleset)
    rate_types = {
        t.name: str(getattr(t, "rate_type", "factor")) for t in result.ruleset.rate_tables
    }
    targets = (
        calc.payouts.filter(pl.col("line") == "plan")
        .select("participant_id", "period", "plan_id", "target_incentive_cents")
        .unique(["participant_id", "period", "plan_id"], keep="first")
    )
    incentives = (
        mine(calc.incentives)
        .with_columns(
            (pl.col("rated_cents") * 1_000_000 - pl.col("earned_e8")).alias("rounding_e8"),
            pl.col("rate_table")
            .replace_strict(rate_types, default=None, return_dtype=pl.Utf8)
            .alias("rate_type"),
            pl.lit(settings.rounding_point, pl.Utf8).alias("rounding_point"),
            pl.lit(str(settings.rounding_mode), pl.Utf8).alias("rounding_mode"),
        )
        .join(
            targets,
            on=["participant_id", "period", "plan_id"],
            how="left",
            maintain_order="left",
        )
    )
    from engine.audit.slices import tier_slices  # noqa: PLC0415

    slices = tier_slices(incentives, result.ruleset, settings.rounding_mode, settings.boundary)
    from engine.audit.adjust import adjustment_rules, clawback_deals  # noqa: PLC0415

    adjustments = mine(calc.adjustments).join(
        adjustment_rules(result),
        on=["plan_id", "component", "type"],
        how="left",
        maintain_order="left",
    )
    measures = _measure_rows(result, incentives)
    if not credit_lines:
        return Lineage(
            {
                "payouts": mine(calc.payouts),
                "adjustments": adjustments,
                "incentives": incentives,
                "tier_slices": slices,
                "incentive_lines": mine(calc.incentive_lines),
                "clawbacks": clawback_deals(result, adjustments),
                "measures": measures,
                "credits": pl.DataFrame(schema=CREDIT_LINE_SCHEMA),
                "transactions": result.dataset.tables["transactions"].head(0),
            },
            result.run_id,
            result.ruleset.name,
            result.ruleset.content_hash,
            dict(result.dataset.file_hashes),
            credit_lines=False,
        )
    credits = _credit_lines(result, measures, participants)
    check = (
        measures.filter(pl.col("kind").is_in(["sum", "count"]))
        .join(
            credits.group_by("participant_id", "period", "measure").agg(
                pl.col("value").sum().alias("lines_e2")
            ),
            on=["participant_id", "period", "measure"],
            how="left",
        )
        .with_columns(pl.col("lines_e2").fill_null(0))
        .unique(["participant_id", "period", "measure"])
    )
    unreconciled = check.filter((pl.col("lines_e2") * pl.col("den")) != pl.col("num")).select(
        "participant_id", "period", "measure", "num", "den", "lines_e2"
    )
    tx = result.dataset.tables["transactions"]
    transactions = tx.join(
        credits.select("transaction_id").unique(), on="transaction_id", how="semi"
    )
    frames = {
        "payouts": mine(calc.payouts),
        "adjustments": adjustments,
        "incentives": incentives,
        "tier_slices": slices,
        "incentive_lines": mine(calc.incentive_lines),
        "clawbacks": clawback_deals(result, adjustments),
        "measures": measures,
        "credits": credits,
        "transactions": transactions.sort("transaction_id"),
    }
    return Lineage(
        frames,
        result.run_id,
        result.ruleset.name,
        result.ruleset.content_hash,
        dict(result.dataset.file_hashes),
        unreconciled,
    )
