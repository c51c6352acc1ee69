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

import polars as pl

__all__ = ["DRAW_KEY", "STATE_KEYS", "STATE_SCHEMA", "empty_state", "plan_cap_key"]

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
