"""The result of crediting: credits, what was not credited and why, and counts that add up."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from engine.crediting.frames import CREDIT_SORT, ROLLUP_TOTAL_KEYS
from engine.crediting.rollup import RollupBasis, materialise, totals

__all__ = ["CreditCounts", "CreditResult"]


@dataclass(frozen=True)
class CreditCounts:
    """How many transactions ended where. ``transactions == credited + excluded + unrouted``.

    Attributes:
        transactions: transactions read.
        credited: transactions with at least one primary credit.
        excluded: transactions excluded by an exclusion rule.
        unrouted: transactions not credited, by reason (OUTSIDE_PERIODS, NO_CREDIT_RULE,
            NO_OWNER).
        credit_rows: level-0 credit rows (direct, split, overlay).
        rollup_rows: roll-up credit rows (materialised or not).
        held_rows: held credit rows (level 0 and roll-up).
        overlay_misses: overlays that matched a credited transaction but found nobody.

    Example:
        >>> c = CreditCounts(transactions=3, credited=1, excluded=1,
        ...                  unrouted={"NO_OWNER": 1})
        >>> c.balanced, c.unrouted_total
        (True, 1)
    """

    transactions: int
    credited: int
    excluded: int
    unrouted: dict[str, int] = field(default_factory=dict)
    credit_rows: int = 0
    rollup_rows: int = 0
    held_rows: int = 0
    overlay_misses: int = 0

    @property
    def unrouted_total(self) -> int:
        """All unrouted transactions."""
        return sum(self.unrouted.values())

    @property
    def balanced(self) -> bool:
        """Every transaction is in exactly one of credited, excluded, unrouted."""
        return self.transactions == self.credited + self.excluded + self.unrouted_total

    def as_dict(self) -> dict[str, object]:
        """A plain mapping, for logs and reports."""
        return {
            "transactions": self.transactions,
            "credited": self.credited,
            "excluded": self.excluded,
            "unrouted": self.unrouted_total,
            "unrouted_by_reason": dict(sorted(self.unrouted.items())),
            "credit_rows": self.credit_rows,
            "rollup_rows": self.rollup_rows,
            "held_rows": self.held_rows,
            "overlay_misses": self.overlay_misses,
        }


@dataclass(frozen=True)
class CreditResult:
    """Everything crediting produced.

    Attributes:
        credits: credit rows (:data:`~engine.crediting.frames.CREDIT_SCHEMA`), sorted by
            :data:`~engine.crediting.frames.CREDIT_SORT`: level-0 credits, plus the roll-up
            rows when the run materialised them (``rollups="materialise"``).
        unrouted: transactions not credited, with reason, message and source line, sorted by
            transaction id and line.
        excluded: transactions excluded by rule, sorted by transaction id and line.
        overlay_misses: overlays that found nobody to credit on a credited transaction.
        counts: the counts (they add up: see :attr:`CreditCounts.balanced`).
        rollups_materialised: whether ``credits`` holds the roll-up rows.
        basis: what roll-up credits derive from (for totals and lineage on demand).
        default_totals: the totals by :data:`~engine.crediting.frames.ROLLUP_TOTAL_KEYS`,
            when the stage already computed them (returned by :meth:`rollup_totals`).
    """

    credits: pl.DataFrame
    unrouted: pl.DataFrame
    excluded: pl.DataFrame
    overlay_misses: pl.DataFrame
    counts: CreditCounts
    rollups_materialised: bool
    basis: RollupBasis
    default_totals: pl.DataFrame | None = field(default=None, repr=False, compare=False)

    def rollup_totals(
        self, by: Sequence[str] = ROLLUP_TOTAL_KEYS, attributes: pl.DataFrame | None = None
    ) -> pl.DataFrame:
        """Roll-up totals per manager (see :func:`engine.crediting.rollup.totals`)."""
        if (
            self.default_totals is not None
            and attributes is None
            and tuple(by) == ROLLUP_TOTAL_KEYS
        ):
            return self.default_totals
        return totals(self.basis, by, attributes)

    def rollup_credits(self, participant_id: str | None = None) -> pl.DataFrame:
        """Roll-up credit rows, derived on demand (optionally one manager's only)."""
        return materialise(self.basis, participant_id)

    def all_credits(self) -> pl.DataFrame:
        """Level-0 and roll-up credits together, sorted, whatever the run's roll-up mode."""
        if self.rollups_materialised:
            return self.credits
        return pl.concat([self.credits, self.rollup_credits()]).sort(CREDIT_SORT)
