r"""Shared work for what-if runs: one load, one crediting pass per distinct crediting content.

The crediting stage reads only ``classify``, ``crediting``, ``extra_columns`` and
``settings.rounding_mode`` of a rule set. :func:`crediting_key` hashes exactly those (as
validated, so defaults and number spellings do not matter); rule sets with the same key share
one :class:`~engine.crediting.CreditResult`.

Example:
    >>> from engine.rules.load import parse_ruleset
    >>> a = parse_ruleset("schema_version: 1\nname: a\nreference: r\n")
    >>> b = parse_ruleset("schema_version: 1\nname: b\nreference: r\nsettings:\n"
    ...                   "  rounding_point: line\n")
    >>> crediting_key(a) == crediting_key(b)
    True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from engine.calc.payouts import CalcResult, calculate
from engine.crediting import CreditResult, credit
from engine.loading import Dataset, load_dataset
from engine.rules.load import content_hash

if TYPE_CHECKING:
    from engine.rules import RuleSet

__all__ = ["Workbench", "crediting_key"]


def crediting_key(ruleset: RuleSet) -> str:
    r"""Hash of the parts of a rule set the crediting stage reads.

    Example:
        >>> from engine.rules.load import parse_ruleset
        >>> len(crediting_key(parse_ruleset("schema_version: 1\nname: a\nreference: r\n")))
        64
    """
    dumped = ruleset.model_dump(mode="json", by_alias=True)
    return content_hash(
        {
            "classify": dumped.get("classify"),
            "crediting": dumped.get("crediting"),
            "extra_columns": dumped.get("extra_columns"),
            "rounding_mode": dumped.get("settings", {}).get("rounding_mode"),
        }
    )


@dataclass
class Workbench:
    """A loaded dataset and the crediting results computed so far, by :func:`crediting_key`.

    Attributes:
        dataset: the data, loaded once.
        periods: every calendar period, in order (what ``icm run`` pays by default).
        credit_passes: how many crediting passes ran (for reports and tests).
    """

    dataset: Dataset
    periods: list[str]
    credit_passes: int = 0
    _credits: dict[str, CreditResult] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path, mapping: Path | None = None) -> Workbench:
        """Load ``data_dir`` once.

        Example:
            >>> Workbench.load(Path("fixtures/sample")).periods[:2]
            ['2026-01', '2026-02']
        """
        dataset = load_dataset(data_dir, mapping)
        return cls.of(dataset)

    @classmethod
    def of(cls, dataset: Dataset) -> Workbench:
        """A workbench over an already loaded dataset.

        Example:
            >>> from engine.loading import load_dataset
            >>> Workbench.of(load_dataset(Path("fixtures/sample"))).credit_passes
            0
        """
        periods = dataset.tables["calendar"].sort("start_date")["period"].to_list()
        return cls(dataset, periods)

    def credits(self, ruleset: RuleSet) -> CreditResult:
        """The crediting result for ``ruleset``, computed at most once per crediting content.

        Example:
            >>> from engine.rules import load_ruleset
            >>> bench = Workbench.load(Path("fixtures/sample"))
            >>> rs = load_ruleset(Path("rules/sample.yaml"))
            >>> bench.credits(rs) is bench.credits(rs), bench.credit_passes
            (True, 1)
        """
        key = crediting_key(ruleset)
        found = self._credits.get(key)
        if found is None:
            found = credit(self.dataset, ruleset, self.periods, rollups="aggregate")
            self._credits[key] = found
            self.credit_passes += 1
        return found

    def calculate(self, ruleset: RuleSet, dataset: Dataset | None = None) -> CalcResult:
        """Payouts of ``ruleset`` over every period, reusing the shared crediting.

        Args:
            ruleset: the rule set.
            dataset: a variant of the data (e.g. scaled quotas) sharing the same transactions;
                default the loaded one.

        Example:
            >>> from engine.rules import load_ruleset
            >>> bench = Workbench.load(Path("fixtures/sample"))
            >>> calc = bench.calculate(load_ruleset(Path("rules/sample.yaml")))
            >>> calc.payouts.height > 0
            True
        """
        return calculate(dataset or self.dataset, self.credits(ruleset), ruleset, self.periods)
