"""Which participants a variant can change, so that only they are recalculated.

A variant that edits only ``rate_tables`` and ``plans`` (the usual sweep: a rate, an
accelerator, a cap, a SPIF) changes the payouts of the participants on an *affected* plan: a
plan whose own content changed, or that names a changed rate table. Everyone else's payouts are
those of the base. Payouts of one participant never read another's payouts (measures read
credits; roll-ups read credits), so recalculating the affected participants -- with all their
plans, which share participant-level state such as a draw -- gives exactly the full result.

Any other difference (settings, measures, crediting, quotas) affects everyone: ``None``.

Example:
    >>> base = {"rate_tables": [{"name": "t", "x": 1}], "plans": [
    ...     {"id": "A", "components": [{"rate_table": "t"}]}, {"id": "B", "components": []}]}
    >>> variant = {"rate_tables": [{"name": "t", "x": 2}], "plans": base["plans"]}
    >>> affected_plans(base, variant)
    ['A']
    >>> affected_plans(base, {**variant, "measures": [{"name": "m"}]}) is None
    True
"""

from __future__ import annotations

from typing import Any

from engine.rules.load import canonical_json

__all__ = ["affected_plans"]

_FREE = {"rate_tables", "plans", "name", "description", "reference"}
"""Sections a scoped variant may differ in (names and descriptions change nothing paid)."""


def _by_name(items: Any, key: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and isinstance(item.get(key), str):
            out[item[key]] = item
    return out


def _same(a: Any, b: Any) -> bool:
    """Equal content; the same object (a section a variant shares with its base) is equal."""
    return a is b or canonical_json(a) == canonical_json(b)


def _strings(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set().union(*(_strings(v) for v in value.values())) if value else set()
    if isinstance(value, list):
        return set().union(*(_strings(v) for v in value)) if value else set()
    return {value} if isinstance(value, str) else set()


def affected_plans(base: dict[str, Any], variant: dict[str, Any]) -> list[str] | None:
    """The ids of the plans whose payouts may differ, or None when everyone may be affected."""
    for key in base.keys() | variant.keys():
        if key not in _FREE and not _same(base.get(key), variant.get(key)):
            return None
    tables_a = _by_name(base.get("rate_tables"), "name")
    tables_b = _by_name(variant.get("rate_tables"), "name")
    changed = {
        n for n in tables_a.keys() | tables_b.keys() if not _same(tables_a.get(n), tables_b.get(n))
    }
    plans_b = variant.get("plans") if isinstance(variant.get("plans"), list) else []
    plans_a = _by_name(base.get("plans"), "id")
    out: list[str] = []
    for plan in plans_b or []:
        if not isinstance(plan, dict) or not isinstance(plan.get("id"), str):
            return None
        pid = plan["id"]
        if not _same(plans_a.get(pid), plan) or _strings(plan) & changed:
            out.append(pid)
    if set(plans_a) - {p["id"] for p in plans_b or [] if isinstance(p, dict)}:
        return None  # a plan was removed
    return sorted(out)
