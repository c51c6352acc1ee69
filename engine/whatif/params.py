"""Plan parameters addressed by path, and rule-set variants built from them.

A path walks the rule set's YAML: mapping keys by name, list items by their ``name`` (or
``id``) or by ``[index]``: ``rate_tables.ae-commission.tiers[1].rate``,
``plans.AE.components.commission.cap.multiple_of_target``. The special path ``quota_scale``
scales every quota by a factor (``1.1`` or ``110%``) instead of editing the rules.

A path that does not exist is a ``RULE_BAD_VALUE`` error naming the path, with a did-you-mean
hint listing what exists at that point.

Example:
    >>> data = {"rate_tables": [{"name": "ae", "tiers": [{"rate": "5%"}, {"rate": "8%"}]}]}
    >>> with_value(data, "rate_tables.ae.tiers[1].rate", "9%")["rate_tables"][0]["tiers"]
    [{'rate': '5%'}, {'rate': '9%'}]
    >>> try:
    ...     with_value(data, "rate_tables.ea.tiers[1].rate", "9%")
    ... except EngineError as exc:
    ...     exc.findings[0].code, exc.findings[0].remedy
    ('RULE_BAD_VALUE', "did you mean 'ae'? (here: ae)")
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.errors import EngineError, Reason

__all__ = ["QUOTA_SCALE", "dump_rules", "parse_path", "parse_value", "scale_ppm", "with_value"]

QUOTA_SCALE = "quota_scale"
"""The parameter that scales quotas (data) rather than a rule-set value."""

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(path: str) -> list[str | int]:
    """Split a parameter path into keys (str) and list indexes (int).

    Example:
        >>> parse_path("rate_tables.ae-commission.tiers[1].rate")
        ['rate_tables', 'ae-commission', 'tiers', 1, 'rate']
    """
    parts: list[str | int] = []
    pos = 0
    text = path.strip()
    while pos < len(text):
        if text[pos] == "." and parts:
            pos += 1
        match = _PART.match(text, pos)
        if match is None:
            raise EngineError.single(
                Reason.USAGE,
                f"cannot read parameter path {path!r} at character {pos + 1}",
                column=path,
                hint="write keys separated by dots, list items by name or [index]",
            )
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    if not parts:
        raise EngineError.single(Reason.USAGE, "empty parameter path", hint="e.g. quota_scale")
    return parts


def parse_value(text: str) -> Any:
    """A value as the YAML loader would give it: int, Decimal, bool, or text.

    Example:
        >>> parse_value("2"), parse_value("1.50"), parse_value("8%"), parse_value("true")
        (2, Decimal('1.50'), '8%', True)
    """
    raw = text.strip()
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    if raw.lower() in ("null", "~"):
        return None
    if re.fullmatch(r"[-+]?\d+", raw):
        return int(raw)
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return raw
    return number if number.is_finite() else raw


def _keys(item: Any) -> list[str]:
    if isinstance(item, dict):
        return [str(item[f]) for f in ("id", "name") if isinstance(item.get(f), str)]
    return []


def _missing(path: str, here: str, word: str, choices: list[str]) -> EngineError:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    listing = ", ".join(choices[:12]) or "nothing"
    hint = f"did you mean {close[0]!r}? (here: {listing})" if close else f"here: {listing}"
    where = f" under {here}" if here else ""
    return EngineError.single(
        Reason.RULE_BAD_VALUE,
        f"parameter path {path!r}: no {word!r}{where}",
        column=path,
        hint=hint,
    )


def with_value(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of rule-set ``data`` with the value at ``path`` replaced.

    Only the mappings and lists along the path are copied; every other branch is shared with
    ``data`` (never modified here), so an unchanged section of a variant *is* the base's
    section and comparisons can skip it. Every step must exist (a list item is found by its
    ``id`` or ``name``); the new value is validated afterwards by the rule-set loader.

    Raises:
        EngineError: ``RULE_BAD_VALUE`` naming the path and what exists where it stops.
    """
    parts = parse_path(path)
    out = copy.copy(data)
    node: Any = out
    walked = ""
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, list):
            if isinstance(part, int):
                if not 0 <= part < len(node):
                    raise EngineError.single(
                        Reason.RULE_BAD_VALUE,
                        f"parameter path {path!r}: index {part} out of range under {walked}",
                        column=path,
                        hint=f"{walked} has {len(node)} items: [0] to [{len(node) - 1}]",
                    )
                index = part
            else:
                found = [n for n, item in enumerate(node) if part in _keys(item)]
                if not found:
                    names = [k[0] for k in (_keys(item) for item in node) if k]
                    raise _missing(path, walked, part, names)
                index = found[0]
            if last:
                node[index] = value
            else:
                node[index] = copy.copy(node[index])
                node = node[index]
        elif isinstance(node, dict):
            if isinstance(part, int) or part not in node:
                raise _missing(path, walked, str(part), [str(k) for k in node])
            if last:
                node[part] = value
            else:
                node[part] = copy.copy(node[part])
                node = node[part]
        else:
            raise EngineError.single(
                Reason.RULE_BAD_VALUE,
                f"parameter path {path!r}: {walked} is a value, not a mapping or list",
                column=path,
                hint=f"stop the path at {walked}",
            )
        walked += f"[{part}]" if isinstance(part, int) else (f".{part}" if walked else part)
    return out


def _emit(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(str(k))}: {_emit(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_emit(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)


def dump_rules(data: dict[str, Any]) -> str:
    """Rule-set data as YAML text (JSON flow style; numbers written exactly as parsed).

    Example:
        >>> print(dump_rules({"a": Decimal("1.50"), "b": ["x", 2, None, True]}), end="")
        {"a": 1.50, "b": ["x", 2, null, true]}
    """
    return _emit(data) + "\n"


def scale_ppm(value: Any) -> int:
    """A quota scale factor (``1.1``, ``110%``) as parts per million.

    Example:
        >>> scale_ppm("110%"), scale_ppm(Decimal("0.9")), scale_ppm(1)
        (1100000, 900000, 1000000)
    """
    text = str(value).strip()
    try:
        number = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
    except InvalidOperation:
        number = Decimal(-1)
    ppm = number * 1_000_000
    if not number.is_finite() or number <= 0 or ppm != ppm.to_integral_value():
        raise EngineError.single(
            Reason.RULE_BAD_VALUE,
            f"quota_scale {text!r} is not a positive factor (at most 6 decimals)",
            column=QUOTA_SCALE,
            hint="e.g. 1.1 or 110%",
        )
    return int(ppm)
