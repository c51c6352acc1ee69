"""The pipeline: the stages of a run, in order, each a function from frames to frames.

=====  ===========  ==================================  ==============================
 step  stage        function                            output
=====  ===========  ==================================  ==============================
 1     load         :func:`engine.loading.load_dataset`  typed tables, rejects, accounting
 2     rules        :func:`engine.rules.load_ruleset`    the rule set and its content hash
 3     credit       :func:`engine.crediting.credit`      credits, unrouted, excluded
 3b    roll-ups     :meth:`CreditResult.rollup_totals`   roll-up totals per manager
 4-6   calculate    :func:`engine.calc.payouts.calculate`  measures, incentives, payouts
 7     publish      :func:`engine.publish.publish`       Parquet files and a manifest
=====  ===========  ==================================  ==============================

Roll-ups are never materialised by the run (``credit(..., rollups="aggregate")``): the
``credits`` output holds the level-0 credits (direct, split, overlay), ``rollup_totals`` the
managers' roll-up totals, and the calculation reads managers' measures from aggregated level-0
credits (:mod:`engine.calc.rollup_lines`), with results identical to a materialised run. A
manager's roll-up rows (their lineage down to transactions) are derived on demand:
``result.credits.rollup_credits(manager_id)``, or ``result.credits.all_credits()``.

Every step is timed and its row counts recorded in :attr:`RunResult.steps`, the seed of the
operations run log (the credit step counts roll-up credits too, materialised or not).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import polars as pl

from engine import __version__
from engine.calc.payouts import CalcResult, calculate
from engine.crediting import CreditResult, credit
from engine.loading import Dataset, load_dataset
from engine.publish import fingerprint, publish
from engine.rules import RuleSet, load_ruleset

T = TypeVar("T")


@dataclass(frozen=True)
class Step:
    """One executed step: name, start time, elapsed seconds, rows in and out."""

    name: str
    started: str
    seconds: float
    rows_in: int
    rows_out: int


@dataclass
class RunResult:
    """Everything a run produced."""

    dataset: Dataset
    ruleset: RuleSet
    credits: CreditResult
    calc: CalcResult
    periods: list[str]
    run_id: str
    steps: list[Step] = field(default_factory=list)
    rollup_totals: pl.DataFrame | None = None

    def frames(self) -> dict[str, pl.DataFrame]:
        """The output frames by name, as published.

        ``credits`` holds the level-0 credits (plus roll-up rows only if the crediting result
        materialised them); ``rollup_totals`` the roll-up totals per manager, period, credit
        type, rule, currency and held flag (:data:`engine.crediting.frames.ROLLUP_TOTAL_KEYS`).
        Roll-up rows are derived on demand from ``credits.basis``; what they derive from is
        published too, so that ``icm explain --run`` reads a manager's roll-up lines without
        crediting again: ``rollup_chain_segments`` and ``rollup_chain_links`` (the manager
        chains by date segment, :class:`engine.crediting.hierarchy.Chains`) and
        ``rollup_flags`` (``transaction_id`` and the roll-up condition and hold flags,
        ``_roll_<i>`` / ``_hold_<i>``, for the rolled transactions whose flags are not the
        defaults, true and false: no row when the rule set has no such conditions).
        """
        totals = self.rollup_totals
        if totals is None:
            totals = self.credits.rollup_totals()
        basis = self.credits.basis
        flags = [c for c in basis.credits.columns if c.startswith(("_roll_", "_hold_"))]
        unusual = pl.lit(False)
        for c in flags:
            unusual = unusual | (~pl.col(c) if c.startswith("_roll_") else pl.col(c))
        rollup_flags = (
            basis.credits.select("transaction_id", *flags)
            .filter(unusual)
            .unique("transaction_id")
            .sort("transaction_id")
        )
        return {
            "credits": self.credits.credits,
            "rollup_totals": totals,
            "rollup_chain_segments": basis.chains.segments.sort("participant_id", "seg_start"),
            "rollup_chain_links": basis.chains.links.sort("seg_id", "level"),
            "rollup_flags": rollup_flags,
            "unrouted": self.credits.unrouted,
            "excluded": self.credits.excluded,
            "rejects": self.dataset.rejects,
            "accounting": self.dataset.accounting,
            **self.calc.frames(),
        }

    def manifest(self) -> dict[str, object]:
        """Run metadata: engine version, rule-set hash, input hashes, periods, row counts."""
        return {
            "engine_version": __version__,
            "ruleset": {"name": self.ruleset.name, "content_hash": self.ruleset.content_hash},
            "inputs": dict(sorted(self.dataset.file_hashes.items())),
            "periods": self.periods,
            "rows": {name: frame.height for name, frame in sorted(self.frames().items())},
        }


def _timed(steps: list[Step], name: str, rows_in: int, body: Callable[[], T]) -> T:
    started = datetime.now(UTC).isoformat(timespec="milliseconds")
    t0 = time.perf_counter()
    result = body()
    steps.append(Step(name, started, time.perf_counter() - t0, rows_in, _rows(result)))
    return result


def _rows(result: object) -> int:
    if isinstance(result, Dataset):
        return int(result.accounting["rows_accepted"].sum())
    if isinstance(result, CreditResult):
        return result.counts.credit_rows + result.counts.rollup_rows
    if isinstance(result, pl.DataFrame):
        return result.height
    if isinstance(result, CalcResult):
        return result.payouts.height
    return 0


def run(
    data_dir: Path,
    rules: Path,
    *,
    periods: Sequence[str] | None = None,
    mapping: Path | None = None,
) -> RunResult:
    """Load, credit and calculate.

    Args:
        data_dir: the data directory.
        rules: the rule-set file.
        periods: the periods to pay; default every calendar period.
        mapping: a column-mapping file.

    Returns:
        The run's result; nothing is written.

    Raises:
        EngineError: unusable input or rules (problems in rows are in ``dataset.rejects``).
    """
    steps: list[Step] = []
    ruleset = _timed(steps, "rules", 0, lambda: load_ruleset(rules))
    dataset = _timed(steps, "load", 0, lambda: load_dataset(data_dir, mapping))
    calendar = dataset.tables["calendar"].sort("start_date")["period"].to_list()
    wanted = list(periods) if periods else calendar
    # windows (quarter- and year-to-date) need the credits of earlier periods too
    last = max((calendar.index(p) for p in wanted if p in calendar), default=len(calendar) - 1)
    to_credit = calendar[: last + 1]
    n_tx = dataset.tables["transactions"].height
    credited = _timed(
        steps,
        "credit",
        n_tx,
        lambda: credit(dataset, ruleset, to_credit, rollups="aggregate"),
    )
    totals = _timed(steps, "rollup_totals", credited.credits.height, credited.rollup_totals)
    calc = _timed(
        steps,
        "calculate",
        credited.credits.height,
        lambda: calculate(dataset, credited, ruleset, wanted),
    )
    run_id = fingerprint(ruleset.content_hash, dataset.file_hashes, wanted)
    return RunResult(dataset, ruleset, credited, calc, wanted, run_id, steps, totals)


def write(result: RunResult, out_dir: Path) -> Path:
    """Publish a run's outputs atomically under ``out_dir`` (see :func:`engine.publish.publish`).

    Returns:
        The run's directory.
    """
    return publish(out_dir, result.run_id, result.frames(), result.manifest())
