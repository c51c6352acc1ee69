"""Carry state: what one period hands to the next, as a frame passed explicitly in and out.

Running periods one at a time, passing the state returned by one run into the next, gives the
same payouts as one run over all the periods (``docs/plans.md``). The state is keyed by
``participant_id, plan_id, component``:

* component rows (``component`` = the component or SPIF name): ``carry_cents`` (cap excess
  carried forward), ``capped_ytd_cents`` (recognised after the cap this year, for year-to-date
  caps), ``recognized_ytd_cents`` (earnings recognised this year before caps: what a true-up
  compares with), ``paid_ytd_cents`` (the component's payable this year);
* plan-cap rows (``component`` = ``(cap:1)``, ``(cap:2)``...): the plan cap's carry and
  year-to-date total;
* one participant row (``plan_id`` = ``""``, ``component`` = ``(draw)``): ``draw_balance_cents``
  (recoverable draw owed) and ``paid_ytd_cents`` (everything payable this year).

``year`` is the plan year the year-to-date columns belong to; they count as zero in a later
year. ``through_period`` is the last period the row was updated in.

Example:
    >>> empty_state().columns[:4]
    ['participant_id', 'plan_id', 'component', 'year']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import polars as pl

__all__ = [
    "DRAW_KEY",
    "MONEY_COLUMNS",
    "STATE_KEYS",
    "STATE_SCHEMA",
    "Block",
    "Codes",
    "StateArrays",
    "empty_state",
    "nullable",
    "plan_cap_key",
]

IntArray = npt.NDArray[np.int64]
CodeArray = npt.NDArray[np.integer[Any]]
BoolArray = npt.NDArray[np.bool_]

STATE_KEYS = ("participant_id", "plan_id", "component")
"""The key of a state row."""

DRAW_KEY = "(draw)"
"""``component`` of the participant-level state row (draw balance, total paid this year)."""

STATE_SCHEMA: dict[str, pl.DataType] = {
    "participant_id": pl.Utf8(),
    "plan_id": pl.Utf8(),
    "component": pl.Utf8(),
    "year": pl.Utf8(),
    "through_period": pl.Utf8(),
    "carry_cents": pl.Int64(),
    "capped_ytd_cents": pl.Int64(),
    "recognized_ytd_cents": pl.Int64(),
    "paid_ytd_cents": pl.Int64(),
    "draw_balance_cents": pl.Int64(),
}
"""Columns of the carry state."""


def empty_state() -> pl.DataFrame:
    """A state with no rows (the start of time).

    Example:
        >>> empty_state().height
        0
    """
    return pl.DataFrame(schema=STATE_SCHEMA)


def plan_cap_key(index: int) -> str:
    """The state ``component`` of the plan's ``index``-th cap (1-based).

    Example:
        >>> plan_cap_key(1)
        '(cap:1)'
    """
    return f"(cap:{index})"


MONEY_COLUMNS = (
    "carry_cents",
    "capped_ytd_cents",
    "recognized_ytd_cents",
    "paid_ytd_cents",
    "draw_balance_cents",
)
"""The money columns of the carry state."""

YTD_COLUMNS = ("capped_ytd_cents", "recognized_ytd_cents", "paid_ytd_cents")
"""The year-to-date columns: they count as zero in another year."""


class Codes:
    """A growing table of strings and their integer codes (``-1`` stands for null).

    Example:
        >>> codes = Codes(["2026"])
        >>> codes.code("2027"), codes.code(None), codes.strings
        (1, -1, ['2026', '2027'])
    """

    def __init__(self, strings: Iterable[str] = ()) -> None:
        self.strings: list[str] = []
        self._index: dict[str, int] = {}
        for value in strings:
            self.code(value)

    def code(self, value: str | None) -> int:
        """The code of ``value`` (added when new)."""
        if value is None:
            return -1
        found = self._index.get(value)
        if found is None:
            found = self._index[value] = len(self.strings)
            self.strings.append(value)
        return found

    def codes(self, values: pl.Series) -> CodeArray:
        """The codes of a string column (as int32)."""
        table = {v: self.code(v) for v in values.unique().to_list()}
        return np.asarray([table[v] for v in values.to_list()], dtype=np.int32).reshape(-1)

    def decode(self, codes: CodeArray) -> pl.Series:
        """The strings of ``codes`` (null for ``-1``)."""
        strings = pl.Series(self.strings, dtype=pl.Utf8)
        index = nullable(codes.astype(np.int64), codes >= 0)
        return (
            strings.gather(index)
            if len(strings)
            else pl.repeat(None, len(codes), dtype=pl.Utf8, eager=True)
        )


def nullable(values: IntArray, valid: BoolArray) -> pl.Series:
    """An Int64 series of ``values``, null where ``valid`` is False.

    Example:
        >>> nullable(np.array([1, 2]), np.array([True, False])).to_list()
        [1, None]
    """
    series = pl.Series(values.astype(np.int64, copy=False))
    if bool(valid.all()):
        return series
    return pl.select(pl.when(pl.Series(valid)).then(series)).to_series()


class Block:
    """The state rows of one ``(plan_id, component)`` key: one slot per participant index."""

    def __init__(self, size: int) -> None:
        self.present = np.zeros(size, dtype=np.bool_)
        self.year = np.full(size, -1, dtype=np.int32)
        self.through = np.full(size, -1, dtype=np.int32)
        self.values = {c: np.zeros(size, dtype=np.int64) for c in MONEY_COLUMNS}
        self.valid = {c: np.zeros(size, dtype=np.bool_) for c in MONEY_COLUMNS}

    def read(self, rows: IntArray, year: int) -> dict[str, IntArray]:
        """The state as the fold reads it for participants ``rows`` in plan year ``year``.

        Missing rows and values count as 0, and so do year-to-date values of another year.
        """
        present = self.present[rows]
        same = present & (self.year[rows] == year)
        out: dict[str, IntArray] = {}
        for c in MONEY_COLUMNS:
            keep = (same if c in YTD_COLUMNS else present) & self.valid[c][rows]
            out[c] = np.where(keep, self.values[c][rows], 0)
        return out

    def write(
        self,
        rows: IntArray,
        *,
        year: int,
        through: int,
        values: Mapping[str, IntArray],
        balance_valid: BoolArray | None = None,
    ) -> None:
        """Set the rows of participants ``rows`` (every money column given in ``values``)."""
        self.present[rows] = True
        self.year[rows] = year
        self.through[rows] = through
        for c in MONEY_COLUMNS:
            self.values[c][rows] = values[c]
            self.valid[c][rows] = True
        if balance_valid is not None:
            self.valid["draw_balance_cents"][rows] = balance_valid


class StateArrays:
    """The carry state held as arrays per key, for the fold to read and update in place.

    Participants are numbered by ``ids`` (sorted). :meth:`to_frame` gives back the frame, with
    rows the fold never touched exactly as they came in.

    Example:
        >>> ids = pl.Series(["A", "B"])
        >>> st = StateArrays.from_frame(empty_state(), ids, Codes(), Codes())
        >>> st.block("P", "c").write(np.array([1]), year=0, through=0,
        ...     values={c: np.array([5]) for c in MONEY_COLUMNS})
        >>> st.to_frame(Codes(["2026"]), Codes(["2026-01"])).row(0)
        ('B', 'P', 'c', '2026', '2026-01', 5, 5, 5, 5, 5)
    """

    def __init__(self, ids: pl.Series) -> None:
        self.ids = ids
        self.blocks: dict[tuple[str, str], Block] = {}

    def block(self, plan_id: str, component: str) -> Block:
        """The block of a key (empty when new)."""
        key = (plan_id, component)
        found = self.blocks.get(key)
        if found is None:
            found = self.blocks[key] = Block(len(self.ids))
        return found

    @classmethod
    def from_frame(
        cls, state: pl.DataFrame, ids: pl.Series, years: Codes, periods: Codes
    ) -> StateArrays:
        """Load a state frame whose participants are all in ``ids`` (sorted, unique)."""
        out = cls(ids)
        if state.height == 0:
            return out
        index = pl.DataFrame({"participant_id": ids, "_i": np.arange(len(ids))})
        frame = state.join(index, on="participant_id", how="left")
        for (plan_id, component), part in frame.partition_by(
            ["plan_id", "component"], as_dict=True
        ).items():
            block = out.block(str(plan_id), str(component))
            rows = part["_i"].to_numpy()
            block.present[rows] = True
            block.year[rows] = years.codes(part["year"])
            block.through[rows] = periods.codes(part["through_period"])
            for c in MONEY_COLUMNS:
                block.values[c][rows] = part[c].fill_null(0).to_numpy()
                block.valid[c][rows] = part[c].is_not_null().to_numpy()
        return out

    def to_frame(self, years: Codes, periods: Codes) -> pl.DataFrame:
        """The state frame, sorted by :data:`STATE_KEYS`."""
        parts = []
        for (plan_id, component), block in self.blocks.items():
            rows = np.flatnonzero(block.present)
            if not len(rows):
                continue
            parts.append(
                pl.DataFrame(
                    {
                        "participant_id": self.ids.gather(rows),
                        "plan_id": pl.repeat(plan_id, len(rows), dtype=pl.Utf8, eager=True),
                        "component": pl.repeat(component, len(rows), dtype=pl.Utf8, eager=True),
                        "year": years.decode(block.year[rows]),
                        "through_period": periods.decode(block.through[rows]),
                        **{
                            c: nullable(block.values[c][rows], block.valid[c][rows])
                            for c in MONEY_COLUMNS
                        },
                    }
                )
            )
        if not parts:
            return empty_state()
        return pl.concat(parts).cast(STATE_SCHEMA).sort(list(STATE_KEYS))  # type: ignore[arg-type]
