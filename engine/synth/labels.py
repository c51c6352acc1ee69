"""Text labels built vectorised from integer codes: ids like ``T000000001``, lookups with gaps.

Example:
    >>> id_labels("P", np.array([1, 42]), 7).to_list()
    ['P0000001', 'P0000042']
    >>> take(pl.Series(["a", "b"]), np.array([1, -1, 0])).to_list()
    ['b', None, 'a']
"""

from __future__ import annotations

import numpy as np
import polars as pl


def id_labels(prefix: str, numbers: np.ndarray, width: int, name: str = "") -> pl.Series:
    """``prefix`` + the zero-padded number; a negative number gives null.

    Example:
        >>> id_labels("T", np.array([5, -1]), 3).to_list()
        ['T005', None]
    """
    values = pl.Series(name, numbers, dtype=pl.Int64)
    text = pl.select(
        pl.when(pl.lit(values) >= 0).then(
            pl.lit(prefix) + pl.lit(values).cast(pl.Utf8).str.zfill(width)
        )
    ).to_series()
    return text.alias(name)


def take(labels: pl.Series, index: np.ndarray, name: str = "") -> pl.Series:
    """``labels[index]``, null where the index is negative.

    Example:
        >>> take(pl.Series(["x"]), np.array([-1, 0]), "c").to_list()
        [None, 'x']
    """
    idx = pl.Series(index, dtype=pl.Int64)
    if bool((index < 0).any()):
        idx = idx.set(pl.Series(index < 0), None)
    return labels.gather(idx).alias(name)
