"""Tier kernels: Numba loops over integer fixed-point arrays, each with an exact reference.

* :mod:`engine.kernels.tables`: table specs (validated) and their packed CSR arrays.
* :mod:`engine.kernels.tiers`: the kernels and their validating, overflow-guarding wrappers.
* :mod:`engine.kernels.reference`: the slow exact reference of every kernel.

Conventions (scales, boundaries, negative bases, rounding, range) are in ``docs/kernels.md``.

Example:
    >>> t = TierTable.steps([0, 10_000_000], [50_000, 80_000])
    >>> round_to_cents(retroactive(t, [12_000_000]), RoundingMode.HALF_UP).tolist()
    [960000]
"""

from __future__ import annotations

from engine.kernels.tables import (
    EXACT,
    EXACT_PER_CENT,
    EXACT_SCALE,
    Above,
    Below,
    Boundary,
    Curve,
    Matrix,
    PackedCurves,
    PackedMatrices,
    PackedTables,
    RateKind,
    Tier,
    TierTable,
    pack_curves,
    pack_matrices,
    pack_tables,
)
from engine.kernels.tiers import (
    attainment_incremental,
    attainment_retroactive,
    incremental,
    interpolated,
    marginal,
    matrix_lookup,
    payout_curve,
    retroactive,
    round_to_cents,
)
from engine.money import RoundingMode

__all__ = [
    "EXACT",
    "EXACT_PER_CENT",
    "EXACT_SCALE",
    "Above",
    "Below",
    "Boundary",
    "Curve",
    "Matrix",
    "PackedCurves",
    "PackedMatrices",
    "PackedTables",
    "RateKind",
    "RoundingMode",
    "Tier",
    "TierTable",
    "attainment_incremental",
    "attainment_retroactive",
    "incremental",
    "interpolated",
    "marginal",
    "matrix_lookup",
    "pack_curves",
    "pack_matrices",
    "pack_tables",
    "payout_curve",
    "retroactive",
    "round_to_cents",
]
