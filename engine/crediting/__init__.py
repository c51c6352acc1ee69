"""Crediting (stage 3): who gets credit for each transaction, and how much.

The public entry point is :func:`credit`; the frame schemas are in :mod:`.frames`.
See ``docs/crediting.md`` for the semantics.
"""

from __future__ import annotations

from engine.crediting.frames import CREDIT_SCHEMA, EXCLUDED_SCHEMA, UNROUTED_SCHEMA
from engine.crediting.result import CreditCounts, CreditResult
from engine.crediting.stage import credit

__all__ = [
    "CREDIT_SCHEMA",
    "EXCLUDED_SCHEMA",
    "UNROUTED_SCHEMA",
    "CreditCounts",
    "CreditResult",
    "credit",
]
