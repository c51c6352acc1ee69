"""Register the plan-calculation comparers (payouts, measures, ...) for the cases here.

Until ``engine.calc.golden_cases`` is listed in ``engine.golden.HANDLER_MODULES``, importing it
here makes the ``expect`` sections known when pytest collects this directory.
"""

from __future__ import annotations

import engine.calc.golden_cases  # noqa: F401  (registers the comparers)
