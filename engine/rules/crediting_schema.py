"""Schema of the ``crediting`` section of a rule set (pydantic v2, strict).

The section says who gets credit for each transaction (see ``docs/crediting.md``):

* ``rules``: primary rules. For each transaction the matching rule with the highest
  ``priority`` wins (ties: the first declared). Its ``source`` names who is credited.
* ``overlays``: every matching overlay adds a 100% duplicate credit.
* ``holds``: matching credits are kept but flagged ``held``.
* ``exclusions``: matching transactions get no credit at all (reported as excluded).
* ``rollups``: credits of the listed credit types roll up the reporting hierarchy.

Conditions (``when``) are SQL-like strings compiled later by
``engine.rules.expr.compile_condition``; this module only checks the section's shape, names and
numbers. Percentages are written as exact decimal strings (``"0.6"``) and kept as parts per
million.

Example:
    >>> section = CreditingSection.model_validate({
    ...     "rules": [{"name": "named-seller", "when": "seller_id IS NOT NULL",
    ...                "source": "seller", "priority": 10}],
    ...     "rollups": [{"name": "managers", "credit_types": ["direct"],
    ...                  "overrides": ["0.6", "0.2", "0.1"]}],
    ... })
    >>> section.rules[0].credit_type, section.rollups[0].override_ppm
    ('direct', (600000, 200000, 100000))
    >>> section.rollups[0].max_levels
    3
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from engine.money import PPM, RoundingMode, parse_decimal

__all__ = [
    "CreditRule",
    "CreditingSection",
    "ExclusionRule",
    "HoldRule",
    "OverlayRule",
    "RollupRule",
    "SourceKind",
]

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"
"""Rule names and credit types: a letter or digit, then letters, digits, ``_ . -``."""

SourceKind = Literal["seller", "sellers", "territory", "participant"]
"""Who a rule credits:

* ``seller``: ``transactions.seller_id`` (100%).
* ``sellers``: the transaction's ``transaction_sellers`` rows, with their shares.
* ``territory``: the owners of ``transactions.territory_id`` as of ``credit_date``, with their
  shares.
* ``participant``: the fixed ``participant`` named in the rule (100%).
"""

Name = Annotated[str, Field(pattern=NAME_PATTERN, max_length=100)]


def _to_share_text(value: object) -> object:
    """Accept a share as text, an int or a YAML float, keeping the written decimal exactly."""
    if isinstance(value, bool):
        return value  # rejected by the str type below
    if isinstance(value, int | float | Decimal):
        return str(value)
    return value


ShareText = Annotated[str, BeforeValidator(_to_share_text)]


def share_to_ppm(text: str) -> int:
    """Parse a share written as a decimal fraction (0 to 1, up to 6 decimals) into ppm.

    Raises:
        ValueError: not a decimal, more than 6 decimals, or outside [0, 1].

    Example:
        >>> share_to_ppm("0.6"), share_to_ppm("1"), share_to_ppm("0.333333")
        (600000, 1000000, 333333)
    """
    try:
        ppm = parse_decimal(text, 6)
    except ValueError as exc:
        raise ValueError(
            f"{text!r} is not a share: write a decimal from 0 to 1, e.g. '0.6'"
        ) from exc
    if not 0 <= ppm <= PPM:
        raise ValueError(f"share {text!r} is outside 0..1")
    return ppm


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _SourcedRule(_Strict):
    """Fields shared by primary rules and overlays."""

    name: Name
    when: str | None = Field(
        default=None, description="SQL-like condition on the transaction; absent = always"
    )
    source: SourceKind
    participant: str | None = Field(
        default=None, min_length=1, description="the participant credited by source: participant"
    )
    credit_type: Name = "direct"
    description: str | None = None

    @model_validator(mode="after")
    def _participant_iff_fixed(self) -> _SourcedRule:
        if self.source == "participant" and self.participant is None:
            raise ValueError("source: participant needs a 'participant' (a participant_id)")
        if self.source != "participant" and self.participant is not None:
            raise ValueError(
                f"'participant' is only allowed with source: participant (source is {self.source})"
            )
        return self


class CreditRule(_SourcedRule):
    """A primary crediting rule. The matching rule with the highest priority wins.

    Example:
        >>> CreditRule(name="by-territory", source="territory").priority
        0
    """

    priority: int = 0


class OverlayRule(_SourcedRule):
    """An overlay: a 100% duplicate credit added on top of the primary credit.

    Example:
        >>> OverlayRule(name="pm", source="participant", participant="P900").credit_type
        'overlay'
    """

    credit_type: Name = "overlay"


class HoldRule(_Strict):
    """Credits matching ``when`` (and of one of ``credit_types``, when given) are held.

    Example:
        >>> HoldRule(name="review", when="amount > 1000000").credit_types is None
        True
    """

    name: Name
    when: str | None = None
    credit_types: tuple[Name, ...] | None = Field(
        default=None, min_length=1, description="credit types held; absent = all"
    )
    description: str | None = None


class ExclusionRule(_Strict):
    """Transactions matching ``when`` get no credit; reported as excluded with this rule's name.

    Example:
        >>> ExclusionRule(name="internal", when="customer = 'INTERNAL'").name
        'internal'
    """

    name: Name
    when: str
    description: str | None = None


class RollupRule(_Strict):
    """Roll credits of ``credit_types`` up the reporting hierarchy as of the credit date.

    ``levels`` is ``"all"`` or a positive integer N. ``overrides`` gives the share per level
    (level 1 first); absent means 100% at every level. With ``levels: all`` and overrides, the
    levels beyond the list get nothing; with an integer ``levels``, the list must have exactly
    ``levels`` entries.

    Example:
        >>> r = RollupRule(name="mgr", credit_types=("direct",), levels=2)
        >>> r.max_levels, r.level_ppm(1), r.level_ppm(2)
        (2, 1000000, 1000000)
    """

    name: Name
    credit_types: tuple[Name, ...] = Field(min_length=1)
    levels: Literal["all"] | Annotated[int, Field(ge=1, le=100)] = "all"
    overrides: tuple[ShareText, ...] | None = Field(default=None, min_length=1)
    credit_type: Name = "rollup"
    when: str | None = Field(
        default=None, description="optional condition on the transaction; absent = always"
    )
    rounding_mode: RoundingMode | None = Field(
        default=None, description="rounding of override amounts; absent = settings.rounding_mode"
    )
    description: str | None = None

    @model_validator(mode="after")
    def _check_overrides(self) -> RollupRule:
        if self.credit_type in self.credit_types:
            raise ValueError(f"a roll-up cannot roll its own credit type {self.credit_type!r}")
        if self.overrides is None:
            return self
        for text in self.overrides:
            share_to_ppm(text)
        if isinstance(self.levels, int) and len(self.overrides) != self.levels:
            raise ValueError(
                f"levels is {self.levels} but {len(self.overrides)} overrides are given: "
                "give one override per level"
            )
        return self

    @property
    def override_ppm(self) -> tuple[int, ...] | None:
        """The overrides in ppm, level 1 first, or None (100% at every level)."""
        if self.overrides is None:
            return None
        return tuple(share_to_ppm(t) for t in self.overrides)

    @property
    def max_levels(self) -> int | None:
        """How many levels get credit at most; None = every level to the top."""
        if self.overrides is not None:
            return len(self.overrides)
        return None if self.levels == "all" else self.levels

    def level_ppm(self, level: int) -> int:
        """The share credited at ``level`` (1 = the direct participant's manager)."""
        ppm = self.override_ppm
        if ppm is None:
            return PPM if self.max_levels is None or level <= self.max_levels else 0
        return ppm[level - 1] if level <= len(ppm) else 0


class CreditingSection(_Strict):
    """The ``crediting`` section of a rule set.

    Names must be unique across rules, overlays, holds, exclusions and roll-ups (a credit's
    ``rule`` column names the rule that made it). Roll-ups may only roll credit types that a
    primary rule or overlay produces.
    """

    rules: tuple[CreditRule, ...] = ()
    overlays: tuple[OverlayRule, ...] = ()
    holds: tuple[HoldRule, ...] = ()
    exclusions: tuple[ExclusionRule, ...] = ()
    rollups: tuple[RollupRule, ...] = ()

    @model_validator(mode="after")
    def _check_names(self) -> CreditingSection:
        seen: set[str] = set()
        for group in (self.rules, self.overlays, self.holds, self.exclusions, self.rollups):
            for item in group:
                if item.name in seen:
                    raise ValueError(f"rule name {item.name!r} is used twice in crediting")
                seen.add(item.name)
        level0 = {r.credit_type for r in self.rules} | {o.credit_type for o in self.overlays}
        rolled = {r.credit_type for r in self.rollups}
        for rollup in self.rollups:
            for ct in rollup.credit_types:
                if ct in rolled:
                    raise ValueError(
                        f"roll-up {rollup.name!r} rolls {ct!r}, which is itself a roll-up "
                        "credit type: only direct, split and overlay credits roll"
                    )
                if ct not in level0:
                    raise ValueError(
                        f"roll-up {rollup.name!r} rolls credit type {ct!r}, which no crediting "
                        f"rule or overlay produces (known: {sorted(level0)})"
                    )
            if rollup.credit_type in level0:
                raise ValueError(
                    f"roll-up {rollup.name!r} produces credit type {rollup.credit_type!r}, "
                    "which is also a direct/overlay credit type: choose another name"
                )
        return self
