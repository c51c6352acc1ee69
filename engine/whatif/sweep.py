"""``icm sweep``: one rule set, plan parameters varied over a grid, a cost curve.

What is shared between the variants (``docs/whatif.md``):

* the data: loaded once;
* crediting: one pass for every variant whose crediting content (classify, crediting,
  extra_columns, rounding mode) is unchanged -- every plan parameter and ``quota_scale``;
  a variant that edits crediting is credited once per distinct crediting content;
* lines, measures, quotas and attainments: computed once (the base calculation) for every
  variant the vector path supports (:mod:`engine.whatif.vector`), which rates and folds all
  of them in one pass; any other variant runs :func:`engine.calc.payouts.calculate` (scoped to
  the participants it can change). The table's ``path`` column says which.

Example:
    >>> from pathlib import Path
    >>> from engine.whatif.shared import Workbench
    >>> bench = Workbench.load(Path("fixtures/sample"))
    >>> grid = [("rate_tables.ae-commission.tiers[0].rate", ["5%", "6%"])]
    >>> s = sweep(bench, Path("rules/sample.yaml"), grid)
    >>> s.table["delta_cents"].to_list()[:2], bench.credit_passes
    ([0, 0], 1)
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import polars as pl

from engine.calc.exact import round_div_expr
from engine.calc.payouts import CalcResult
from engine.errors import EngineError
from engine.loading import Dataset
from engine.money import RoundingMode
from engine.rules import RuleSet
from engine.rules.load import canonical_json, ruleset_from_mapping
from engine.rules.yamlload import load_yaml
from engine.whatif import metrics
from engine.whatif.params import QUOTA_SCALE, parse_value, scale_ppm, with_value
from engine.whatif.scope import affected_plans
from engine.whatif.shared import Workbench
from engine.whatif.vector import VectorResult, VectorVariant, evaluate, prepare

__all__ = ["Sweep", "Variant", "scaled_quotas", "sweep", "variants"]

Grid = Sequence[tuple[str, Sequence[str]]]


@dataclass(frozen=True)
class Variant:
    """One point of the grid: its number, its parameter values, its rule set and data."""

    number: int
    values: tuple[tuple[str, str], ...]
    ruleset: RuleSet
    data: dict[str, Any]
    quota_scale_ppm: int

    @property
    def label(self) -> str:
        """``path=value; ...``, or ``(base)``."""
        return "; ".join(f"{p}={v}" for p, v in self.values) or "(base)"


@dataclass(frozen=True)
class Sweep:
    """The cost curve: one row per variant and pay currency (variant 0 is the base).

    Attributes:
        table: variant, parameters, one column per parameter, currency, total_cents,
            delta_cents, delta_ppm (change / base total), winners, losers.
        parameters: the parameter paths, in grid order.
        credit_passes: crediting passes run for the whole sweep.
        seconds: wall time of each step: ``variants`` (built and validated), ``base`` (the base
            calculation: the shared lines and measures), ``vector`` (the vector path, and its
            own steps as ``vector.check``...), ``full`` (variants on the full path), ``table``;
            ``*_cpu``: the process's CPU time (all threads) in the same step.
    """

    table: pl.DataFrame
    parameters: list[str]
    credit_passes: int
    seconds: dict[str, float] = field(default_factory=dict)


def scaled_quotas(dataset: Dataset, ppm: int, ruleset: RuleSet) -> Dataset:
    """The dataset with every quota scaled by ``ppm`` / 1e6, rounded by the rule set's mode.

    Example:
        >>> from pathlib import Path
        >>> from engine.loading import load_dataset
        >>> from engine.rules import load_ruleset
        >>> ds = load_dataset(Path("fixtures/sample"))
        >>> rs = load_ruleset(Path("rules/sample.yaml"))
        >>> q = scaled_quotas(ds, 1_100_000, rs).tables["quotas"]["quota_e2"][0]
        >>> q == ds.tables["quotas"]["quota_e2"][0] * 11 // 10
        True
    """
    if ppm == 1_000_000:
        return dataset
    quotas = dataset.tables["quotas"]
    mode = RoundingMode(ruleset.settings.rounding_mode)
    scaled = quotas.with_columns(
        round_div_expr(pl.col("quota_e2") * ppm, 1_000_000, mode).cast(pl.Int64).alias("quota_e2")
    )
    return replace(dataset, tables={**dataset.tables, "quotas": scaled})


def _validated(data: dict[str, Any], rules: Path, label: str) -> RuleSet:
    try:
        return ruleset_from_mapping(data, f"{rules} [{label}]", base_dir=rules.parent)
    except EngineError as exc:
        raise EngineError(
            [replace(f, message=f"variant {label}: {f.message}") for f in exc.findings]
        ) from None


def variants(rules: Path, grid: Grid) -> list[Variant]:
    """The base (number 0) and every combination of the grid's values, validated.

    An axis's path may join several paths with ``+`` to set them to the same value, e.g. a
    threshold: ``rate_tables.T.tiers[0].to+rate_tables.T.tiers[1].from``.

    Raises:
        EngineError: a bad path (``RULE_BAD_VALUE``, with a did-you-mean hint) or a value the
            rule-set schema refuses (its finding, naming the variant).

    Example:
        >>> vs = variants(Path("rules/sample.yaml"), [("quota_scale", ["90%", "110%"])])
        >>> [(v.number, v.label, v.quota_scale_ppm) for v in vs]
        [(0, '(base)', 1000000), (1, 'quota_scale=90%', 900000), (2, 'quota_scale=110%', 1100000)]
    """
    doc = load_yaml(rules)
    base_data: dict[str, Any] = doc.data
    base = Variant(0, (), _validated(base_data, rules, "base"), base_data, 1_000_000)
    paths = [p for p, _ in grid]
    out = [base]
    for number, combo in enumerate(itertools.product(*(vals for _, vals in grid)), start=1):
        data = base_data
        ppm = 1_000_000
        values = tuple(zip(paths, combo, strict=True))
        for linked, raw in values:
            for path in linked.split("+"):  # "a+b": one axis setting both (a tier boundary)
                if path.strip() == QUOTA_SCALE:
                    ppm = scale_ppm(raw)
                else:
                    data = with_value(data, path.strip(), parse_value(raw))
        label = "; ".join(f"{p}={v}" for p, v in values)
        out.append(Variant(number, values, _validated(data, rules, label), data, ppm))
    return out


def _payouts(bench: Workbench, v: Variant, base: Variant, base_pay: pl.DataFrame) -> pl.DataFrame:
    """The variant's payout lines; only affected participants recalculated when it can be."""
    plans = affected_plans(base.data, v.data) if v.quota_scale_ppm == 1_000_000 else None
    if plans is None:
        dataset = scaled_quotas(bench.dataset, v.quota_scale_ppm, v.ruleset)
        return bench.calculate(v.ruleset, dataset).payouts
    assignments = bench.dataset.tables["plan_assignments"]
    who = assignments.filter(pl.col("plan_id").is_in(plans))["participant_id"].unique()
    if who.is_empty():
        return base_pay
    scoped = replace(
        bench.dataset,
        tables={
            **bench.dataset.tables,
            "plan_assignments": assignments.filter(pl.col("participant_id").is_in(who.implode())),
        },
    )
    fresh = bench.calculate(v.ruleset, scoped).payouts.filter(
        pl.col("participant_id").is_in(who.implode())
    )
    kept = base_pay.filter(~pl.col("participant_id").is_in(who.implode()))
    return pl.concat([kept, fresh])


def _by_currency(delta: pl.DataFrame) -> list[tuple[str, int, int, int, int]]:
    """(currency, base total, total, winners, losers) from a :func:`metrics.deltas` frame."""
    by_ccy = delta.group_by("currency").agg(
        pl.col("baseline_cents").sum(),
        pl.col("candidate_cents").sum(),
        (pl.col("delta_cents") > 0).sum().alias("winners"),
        (pl.col("delta_cents") < 0).sum().alias("losers"),
    )
    return [
        (
            r["currency"],
            int(r["baseline_cents"]),
            int(r["candidate_cents"]),
            r["winners"],
            r["losers"],
        )
        for r in by_ccy.sort("currency").iter_rows(named=True)
    ]


def _vector_currency(
    base_per: pl.DataFrame, result: VectorResult
) -> Callable[[int], list[tuple[str, int, int, int, int]]]:
    """:func:`_by_currency` of vector variants: the base, with the folded groups' changes."""
    totals = dict(
        base_per.group_by("currency")
        .agg(pl.col("payable_cents").sum())
        .sort("currency")
        .iter_rows()
    )
    currency = result.groups["currency"].to_numpy()
    masks = {c: currency == c for c in totals}

    def figures(number: int) -> list[tuple[str, int, int, int, int]]:
        change = result.values[number] - result.base
        out = []
        for c, base_total in totals.items():
            d = change[masks[c]]
            total = int(base_total) + int(d.sum())
            out.append((c, int(base_total), total, int((d > 0).sum()), int((d < 0).sum())))
        return out

    return figures


def _vector(bench: Workbench, points: list[Variant], base_calc: CalcResult) -> VectorResult:
    """Evaluate every point the vector path supports (:mod:`engine.whatif.vector`)."""
    as_vector = [VectorVariant(v.number, v.ruleset, v.data, v.quota_scale_ppm) for v in points]
    shared = prepare(bench.dataset, as_vector[0], base_calc)
    return evaluate(shared, as_vector)


def sweep(
    bench: Workbench,
    rules: Path,
    grid: Grid,
    *,
    scoped: bool = True,
    vector: bool = True,
) -> Sweep:
    """Evaluate every variant of the grid over the workbench's data.

    Args:
        bench: the loaded data (and its crediting cache).
        rules: the base rule-set file.
        grid: (parameter path, values) pairs; every combination is a variant.
        scoped: recalculate only the participants a variant can change
            (:mod:`engine.whatif.scope`); False recalculates everyone for every variant.
        vector: evaluate the variants the vector path supports in one pass
            (:mod:`engine.whatif.vector`); the others (and all, when False) run the full
            calculation. The table's ``path`` column says which path each variant took.
    """
    before = bench.credit_passes
    clock, cpu = time.perf_counter(), time.process_time()
    seconds: dict[str, float] = {"full": 0.0}
    points = variants(rules, grid)
    paths = [p for p, _ in grid]
    seconds["variants"] = time.perf_counter() - clock
    seconds["variants_cpu"] = time.process_time() - cpu
    clock, cpu = time.perf_counter(), time.process_time()
    base_calc = bench.calculate(points[0].ruleset)
    base_pay = base_calc.payouts
    base_per = metrics.per_payouts(base_pay, bench.dataset)
    seconds["base"] = time.perf_counter() - clock
    seconds["base_cpu"] = time.process_time() - cpu
    clock, cpu = time.perf_counter(), time.process_time()
    fast = _vector(bench, points, base_calc) if vector and len(points) > 1 else None
    seconds["vector"] = time.perf_counter() - clock
    seconds["vector_cpu"] = time.process_time() - cpu
    if fast is not None:
        seconds |= {f"vector.{k}": t for k, t in fast.seconds.items()}
    clock, cpu = time.perf_counter(), time.process_time()
    fast_figures = _vector_currency(base_per, fast) if fast is not None else None
    rows: list[dict[str, Any]] = []
    seen: dict[tuple[str, int], pl.DataFrame] = {}
    for v in points:
        path, reason = "full", ""
        if v.number == 0:
            seen[(canonical_json(v.data), v.quota_scale_ppm)] = base_pay
            figures = _by_currency(metrics.deltas(base_per, base_per))
            path = "base"
        elif fast is not None and fast_figures is not None and v.number in fast.values:
            figures = fast_figures(v.number)
            path = "vector"
        else:
            if fast is not None:
                reason = fast.reasons.get(v.number, "")
            started = time.perf_counter()
            same = (canonical_json(v.data), v.quota_scale_ppm)  # "8%" twice: calculated once
            if same in seen:
                pay = seen[same]
            elif not scoped:
                dataset = scaled_quotas(bench.dataset, v.quota_scale_ppm, v.ruleset)
                pay = bench.calculate(v.ruleset, dataset).payouts
            else:
                pay = _payouts(bench, v, points[0], base_pay)
            seen[same] = pay
            seconds["full"] += time.perf_counter() - started
            figures = _by_currency(
                metrics.deltas(base_per, metrics.per_payouts(pay, bench.dataset))
            )
        shown = dict(v.values)
        for currency, base_total, total, winners, losers in figures:
            change = total - base_total
            rows.append(
                {
                    "variant": v.number,
                    "parameters": v.label,
                    **{p: shown.get(p, "") for p in paths},
                    "currency": currency,
                    "total_cents": total,
                    "delta_cents": change,
                    "delta_ppm": (change * 1_000_000 + base_total // 2) // base_total
                    if base_total > 0
                    else None,
                    "winners": winners,
                    "losers": losers,
                    "path": path,
                    "fallback_reason": reason,
                }
            )
    schema: dict[str, Any] = {"variant": pl.Int64, "parameters": pl.Utf8}
    schema |= dict.fromkeys(paths, pl.Utf8)
    schema |= {"currency": pl.Utf8, "total_cents": pl.Int64, "delta_cents": pl.Int64}
    schema |= {"delta_ppm": pl.Int64, "winners": pl.Int64, "losers": pl.Int64}
    schema |= {"path": pl.Utf8, "fallback_reason": pl.Utf8}
    table = pl.DataFrame(rows, schema=schema, orient="row")
    seconds["table"] = time.perf_counter() - clock - seconds["full"]
    seconds["table_cpu"] = time.process_time() - cpu
    return Sweep(table, paths, bench.credit_passes - before, seconds)


def sweep_chart(result: Sweep) -> str:
    """The cost curve as an SVG line chart (first currency), one point per variant.

    Example:
        >>> t = pl.DataFrame({"variant": [0, 1], "parameters": ["(base)", "q=2"],
        ...     "q": ["", "2"], "currency": ["USD", "USD"], "total_cents": [100, 250]})
        >>> "<polyline" in sweep_chart(Sweep(t, ["q"], 1))
        True
    """
    from engine.whatif.svg import line_chart  # noqa: PLC0415

    table = result.table
    if table.is_empty():
        return line_chart("Cost curve", [], "total payable", "variant")
    ccy = table["currency"][0]
    rows = table.filter(pl.col("currency") == ccy).sort("variant")
    one = len(result.parameters) == 1
    points = [
        (
            "base"
            if r["variant"] == 0
            else (r[result.parameters[0]] if one else str(r["variant"])),
            r["total_cents"] / 100,
        )
        for r in rows.iter_rows(named=True)
    ]
    x_label = result.parameters[0] if one else "variant (see table)"
    return line_chart(f"Cost curve ({ccy})", points, f"total payable ({ccy})", x_label)
