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
import pyarrow as pa

_ZERO = ord("0")


def id_labels(prefix: str, numbers: np.ndarray, width: int, name: str = "") -> pl.Series:
    """``prefix`` + the number zero-padded to ``width`` digits; a negative number gives null.

    The text is assembled digit by digit in a fixed-width byte matrix (a loop over the ~10
    digit positions, never over rows) and handed to Arrow without a copy per row. Numbers
    wider than ``width`` get more digits, for every label of the call.

    Example:
        >>> id_labels("T", np.array([5, -1]), 3).to_list()
        ['T005', None]
        >>> id_labels("C", np.array([12345]), 3).to_list()
        ['C12345']
    """
    values = np.asarray(numbers, dtype=np.int64)
    n = values.size
    valid = values >= 0
    top = int(values.max()) if n else 0
    width = max(width, len(str(max(top, 0))))
    head = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    size = head.size + width
    text = np.empty((n, size), dtype=np.uint8)
    text[:, : head.size] = head
    rest = np.where(valid, values, 0)
    for position in range(size - 1, head.size - 1, -1):
        text[:, position] = _ZERO + rest % 10
        rest //= 10
    offsets = np.arange(0, (n + 1) * size, size, dtype=np.int64)
    nulls = int(n - valid.sum())
    validity = None if nulls == 0 else pa.py_buffer(np.packbits(valid, bitorder="little"))
    array = pa.Array.from_buffers(
        pa.large_string(),
        n,
        [validity, pa.py_buffer(offsets), pa.py_buffer(text)],
        null_count=nulls,
    )
    return pl.Series(name, array)


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
