"""Plan calculation (stages 4-6): measures, incentives and payouts.

The stage function is :func:`engine.calc.payouts.calculate`; see ``docs/plans.md``.
"""

from __future__ import annotations
