"""``icm compare``: two rule sets over the same data, what changes and for whom.

The data is loaded once; crediting runs once when both rule sets have the same crediting
content (:func:`engine.whatif.shared.crediting_key`), twice otherwise; each rule set's plan
calculation runs once.

Example:
    >>> from pathlib import Path
    >>> from engine.rules import load_ruleset
    >>> from engine.whatif.shared import Workbench
    >>> bench = Workbench.load(Path("fixtures/sample"))
    >>> rs = load_ruleset(Path("rules/sample.yaml"))
    >>> c = compare(bench, rs, rs)
    >>> c.winners, c.losers, bench.credit_passes
    (0, 0, 1)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from engine.reports.export import write_frame
from engine.whatif import metrics
from engine.whatif.report import render_comparison

if TYPE_CHECKING:
    from engine.rules import RuleSet
    from engine.whatif.shared import Workbench

__all__ = ["Comparison", "compare", "write_comparison"]


@dataclass(frozen=True)
class Comparison:
    """The figures of a comparison (money in cents, shares in ppm).

    Attributes:
        baseline_name, candidate_name: the rule sets' names.
        summary: per currency: baseline and candidate totals, change, credited revenue and
            both costs of sales.
        participants: per participant and currency: role, region, baseline, candidate, delta.
        by_role, by_region: :func:`engine.whatif.metrics.by_group` of ``participants``.
        distributions: payout and attainment quantiles, baseline and candidate.
        winners, losers, unchanged: participant counts.
        credit_passes: crediting passes run for this comparison (1 when shared).
    """

    baseline_name: str
    candidate_name: str
    summary: pl.DataFrame
    participants: pl.DataFrame
    by_role: pl.DataFrame
    by_region: pl.DataFrame
    distributions: pl.DataFrame
    winners: int
    losers: int
    unchanged: int
    credit_passes: int

    def top(self, n: int, *, winners: bool) -> pl.DataFrame:
        """The ``n`` largest gains (``winners``) or losses, ties by participant.

        Example:
            >>> from engine.whatif.compare import Comparison
            >>> Comparison.top.__name__
            'top'
        """
        sign = pl.col("delta_cents") > 0 if winners else pl.col("delta_cents") < 0
        return (
            self.participants.filter(sign)
            .sort(["delta_cents", "participant_id"], descending=[winners, False])
            .head(n)
        )


def compare(bench: Workbench, baseline: RuleSet, candidate: RuleSet) -> Comparison:
    """Calculate both rule sets over the workbench's data and compare them."""
    before = bench.credit_passes
    base_calc = bench.calculate(baseline)
    cand_calc = bench.calculate(candidate)
    base_per = metrics.per_participant(base_calc, bench.dataset)
    cand_per = metrics.per_participant(cand_calc, bench.dataset)
    delta = metrics.deltas(base_per, cand_per)
    win, lose, same = metrics.winners_losers(delta)
    base_cos = metrics.cost_of_sales(
        metrics.totals(base_per), metrics.credited_revenue(bench.credits(baseline))
    )
    cand_cos = metrics.cost_of_sales(
        metrics.totals(cand_per), metrics.credited_revenue(bench.credits(candidate))
    )
    summary = (
        base_cos.rename(
            {
                "payable_cents": "baseline_cents",
                "revenue_cents": "baseline_revenue_cents",
                "cost_of_sales_ppm": "baseline_cost_of_sales_ppm",
            }
        )
        .join(
            cand_cos.rename(
                {
                    "payable_cents": "candidate_cents",
                    "revenue_cents": "candidate_revenue_cents",
                    "cost_of_sales_ppm": "candidate_cost_of_sales_ppm",
                }
            ),
            on="currency",
            how="full",
            coalesce=True,
        )
        .with_columns(pl.col("baseline_cents").fill_null(0), pl.col("candidate_cents").fill_null(0))
        .with_columns((pl.col("candidate_cents") - pl.col("baseline_cents")).alias("delta_cents"))
        .select(
            "currency",
            "baseline_cents",
            "candidate_cents",
            "delta_cents",
            "baseline_revenue_cents",
            "candidate_revenue_cents",
            "baseline_cost_of_sales_ppm",
            "candidate_cost_of_sales_ppm",
        )
        .sort("currency")
    )
    dist = pl.concat(
        [
            metrics.quantiles(base_per["payable_cents"], "baseline payable_cents"),
            metrics.quantiles(cand_per["payable_cents"], "candidate payable_cents"),
            metrics.quantiles(
                metrics.attainment(base_calc)["attainment_ppm"], "baseline attainment_ppm"
            ),
            metrics.quantiles(
                metrics.attainment(cand_calc)["attainment_ppm"], "candidate attainment_ppm"
            ),
        ]
    )
    return Comparison(
        baseline_name=baseline.name,
        candidate_name=candidate.name,
        summary=summary,
        participants=delta,
        by_role=metrics.by_group(delta, "role"),
        by_region=metrics.by_group(delta, "region"),
        distributions=dist,
        winners=win,
        losers=lose,
        unchanged=same,
        credit_passes=bench.credit_passes - before,
    )


def write_comparison(comparison: Comparison, out_dir: Path, top: int = 10) -> list[Path]:
    """Write the comparison's CSV files (formulas neutralised) and ``compare.html``.

    Returns:
        The files written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    frames = {
        "summary": comparison.summary,
        "participants": comparison.participants,
        "by_role": comparison.by_role,
        "by_region": comparison.by_region,
        "distributions": comparison.distributions,
    }
    written: list[Path] = []
    for name, frame in frames.items():
        path = out_dir / f"{name}.csv"
        write_frame(frame, path)
        written.append(path)
    html = out_dir / "compare.html"
    html.write_text(render_comparison(comparison, top), encoding="utf-8")
    written.append(html)
    return written
