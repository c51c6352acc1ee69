"""Pay mechanics: pure, vectorised steps applied to one period's earnings.

Each module holds one mechanic as a function over Polars expressions or frames; the order in
which :mod:`engine.calc.payouts` applies them is documented in ``docs/plans.md``.
"""

from __future__ import annotations
