"""The pipeline: the stages of a run, in order, each a function from frames to frames.

=====  ===========  ==================================  ==============================
 step  stage        function                            output
=====  ===========  ==================================  ==============================
 1     load         :func:`engine.loading.load_dataset`  typed tables, rejects, accounting
 2     rules        :func:`engine.rules.load_ruleset`    the rule set and its content hash
 3     credit       :func:`engine.crediting.credit`      credits, unrouted, excluded
 3b    roll-ups     :meth:`CreditResult.rollup_totals`   roll-up totals per manager
 4-6   calculate    :func:`engine.calc.payouts.calculate`  measures, incentives, payouts
 6b    closed       :func:`engine.ops.prior_period.post_closed`  closed periods frozen,
                                                         their differences posted
 7     publish      :func:`engine.publish.publish`       Parquet files and a manifest
=====  ===========  ==================================  ==============================

Step 6b (``closed_periods``) runs only when the run pays a period closed with ``icm close``
(``docs/operations.md``).

Roll-ups are never materialised by the run (``credit(..., rollups="aggregate")``): the
``credits`` output holds the level-0 credits (direct, split, overlay), ``rollup_totals`` the
managers' roll-up totals, and the calculation reads managers' measures from aggregated level-0
credits (:mod:`engine.calc.rollup_lines`), with results identical to a materialised run. A
manager's roll-up rows (their lineage down to transactions) are derived on demand:
``result.credits.rollup_credits(manager_id)``, or ``result.credits.all_credits()``.

Every step is timed and its row counts recorded in :attr:`RunResult.steps` (the credit step
counts roll-up credits too, materialised or not). An ``on_step`` hook is told when each step
starts and when it ends, ok or failed with its error: the operations run log
(:mod:`engine.ops.runlog`), progress display and JSON logs (:mod:`engine.ops.progress`) listen
there.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import polars as pl

from engine import __version__
from engine.calc.payouts import CalcResult, calculate
from engine.crediting import CreditResult, credit
from engine.errors import EngineError
from engine.loading import Dataset, load_dataset
from engine.ops.prior_period import ClosedPeriod, post_closed
from engine.publish import fingerprint, library_versions, publish
from engine.rules import RuleSet, load_ruleset

T = TypeVar("T")


@dataclass(frozen=True)
class Step:
    """One step of a run: name, start time (ISO, UTC), elapsed seconds, rows in and out, status.

    ``status`` is ``ok`` or ``failed`` (then ``error`` says why) once the step has ended, and
    ``started`` in the event a hook receives when it begins (``seconds`` and ``rows_out`` 0).
    """

    name: str
    started: str
    seconds: float
    rows_in: int
    rows_out: int
    status: str = "ok"
    error: str | None = None


StepHook = Callable[[Step], None]
"""Called with a ``started`` step when a step begins, then with the ``ok`` or ``failed`` step."""


def error_text(exc: BaseException) -> str:
    """A one-paragraph description of an error, without a traceback.

    Example:
        >>> error_text(ValueError("boom"))
        'ValueError: boom'
    """
    if isinstance(exc, EngineError):
        return "; ".join(f.render() for f in exc.findings)
    return f"{type(exc).__name__}: {exc}"


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
    prior_period_adjustments: pl.DataFrame | None = None
    closed_periods: dict[str, str] = field(default_factory=dict)
    """When the run pays a closed period: every closed period -> its frozen payouts' sha256."""

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

        ``credits`` is published sorted by participant (a stable sort: by the credit sort key
        within one participant), like the calculation's frames, so that reading one
        participant's credits from the file decodes the row groups holding them only.
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
            "credits": self.credits.credits.sort("participant_id", maintain_order=True),
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

    def outputs(self) -> dict[str, pl.DataFrame]:
        """What is published: :meth:`frames`, plus the prior-period adjustments if any.

        ``prior_period_adjustments`` is there when the run pays a closed period
        (:mod:`engine.ops.prior_period`).
        """
        frames = self.frames()
        if self.prior_period_adjustments is not None:
            frames["prior_period_adjustments"] = self.prior_period_adjustments
        return frames

    def manifest(self, outputs: Mapping[str, pl.DataFrame] | None = None) -> dict[str, object]:
        """Run metadata, without the outputs' hashes (publishing adds those).

        Engine and library versions, rule-set hash, input hashes, periods, row counts of
        ``outputs`` (default :meth:`outputs`) and, when the run pays a closed period, the closed
        periods' hashes.
        """
        if outputs is None:
            outputs = self.outputs()
        document: dict[str, object] = {
            "engine_version": __version__,
            "libraries": library_versions(),
            "ruleset": {"name": self.ruleset.name, "content_hash": self.ruleset.content_hash},
            "inputs": dict(sorted(self.dataset.file_hashes.items())),
            "periods": self.periods,
            "rows": {name: frame.height for name, frame in sorted(outputs.items())},
        }
        if self.closed_periods:
            document["closed_periods"] = self.closed_periods
        return document


class _Steps:
    """Times steps, keeps the finished ones, and tells the hook when each starts and ends."""

    def __init__(self, done: list[Step], on_step: StepHook | None) -> None:
        self.done = done
        self.on_step = on_step

    def __call__(
        self, name: str, rows_in: int, body: Callable[[], T], rows: Callable[[T], int] | None = None
    ) -> T:
        started = datetime.now(UTC).isoformat(timespec="milliseconds")
        if self.on_step is not None:
            self.on_step(Step(name, started, 0.0, rows_in, 0, "started"))
        t0 = time.perf_counter()
        try:
            result = body()
        except BaseException as exc:
            if self.on_step is not None:
                seconds = time.perf_counter() - t0
                self.on_step(Step(name, started, seconds, rows_in, 0, "failed", error_text(exc)))
            raise
        rows_out = rows(result) if rows is not None else _rows(result)
        step = Step(name, started, time.perf_counter() - t0, rows_in, rows_out)
        self.done.append(step)
        if self.on_step is not None:
            self.on_step(step)
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
    closed: Sequence[ClosedPeriod] = (),
    on_step: StepHook | None = None,
) -> RunResult:
    """Load, credit and calculate.

    Args:
        data_dir: the data directory.
        rules: the rule-set file.
        periods: the periods to pay; default every calendar period.
        mapping: a column-mapping file.
        closed: the closed periods (:func:`engine.ops.close.closed_periods`); a closed period
            the run pays keeps its frozen payouts and its differences are posted in the first
            open period after it (:func:`engine.ops.prior_period.post_closed`).
        on_step: told when each step starts and ends (:data:`StepHook`).

    Returns:
        The run's result; nothing is written.

    Raises:
        EngineError: unusable input or rules (problems in rows are in ``dataset.rejects``).
    """
    steps: list[Step] = []
    timed = _Steps(steps, on_step)
    ruleset = timed("rules", 0, lambda: load_ruleset(rules))
    dataset = timed("load", 0, lambda: load_dataset(data_dir, mapping))
    calendar = dataset.tables["calendar"].sort("start_date")["period"].to_list()
    wanted = list(periods) if periods else calendar
    # windows (quarter- and year-to-date) need the credits of earlier periods too
    last = max((calendar.index(p) for p in wanted if p in calendar), default=len(calendar) - 1)
    to_credit = calendar[: last + 1]
    n_tx = dataset.tables["transactions"].height
    credited = timed(
        "credit", n_tx, lambda: credit(dataset, ruleset, to_credit, rollups="aggregate")
    )
    totals = timed("rollup_totals", credited.credits.height, credited.rollup_totals)
    calc = timed(
        "calculate",
        credited.credits.height,
        lambda: calculate(dataset, credited, ruleset, wanted),
    )
    ppa: pl.DataFrame | None = None
    hashes: dict[str, str] = {}
    if any(c.period in wanted for c in closed):
        before = calc
        calc, ppa = timed(
            "closed_periods",
            calc.payouts.height,
            lambda: post_closed(before, closed, wanted, calendar),
            rows=lambda posted: posted[1].height,
        )
        hashes = {c.period: c.sha256 for c in closed}
    run_id = fingerprint(ruleset.content_hash, dataset.file_hashes, wanted, hashes)
    return RunResult(dataset, ruleset, credited, calc, wanted, run_id, steps, totals, ppa, hashes)


def write(result: RunResult, out_dir: Path, on_step: StepHook | None = None) -> Path:
    """Publish a run's outputs atomically under ``out_dir`` (see :func:`engine.publish.publish`).

    Timed as the ``publish`` step (appended to ``result.steps``; rows in and out: the rows of
    every output).

    Returns:
        The run's directory.
    """
    frames = result.outputs()
    rows = sum(frame.height for frame in frames.values())
    return _Steps(result.steps, on_step)(
        "publish",
        rows,
        lambda: publish(out_dir, result.run_id, frames, result.manifest(frames)),
        rows=lambda _: rows,
    )
