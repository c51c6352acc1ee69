"""Rule sets: strict YAML loading, conditions, schema and cross-reference checks.

Public API (imported lazily so that submodules can be imported on their own):

* :func:`load_ruleset` -- read and validate a rule set file into a :class:`RuleSet`.
* :class:`RuleSet` -- the validated rule set, with its ``content_hash`` and ``source``.
* :func:`compile_condition` -- compile a SQL-like condition to a Polars expression.

Example:
    >>> from engine.rules import compile_condition
    >>> compile_condition("amount > 0", {"amount": "money"}).meta.root_names()
    ['amount_cents']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.rules.expr import compile_condition
    from engine.rules.load import load_ruleset
    from engine.rules.schema import RuleSet

__all__ = ["RuleSet", "compile_condition", "load_ruleset"]

_HOMES = {
    "compile_condition": "engine.rules.expr",
    "load_ruleset": "engine.rules.load",
    "RuleSet": "engine.rules.schema",
}


def __getattr__(name: str) -> Any:
    """Import the public names on first use (avoids import cycles with the schema modules)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'engine.rules' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
