"""The crediting section's schema: strict, with clear errors for each kind of mistake."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from engine.rules.crediting_schema import CreditingSection, RollupRule, share_to_ppm

BASE: dict[str, Any] = {"rules": [{"name": "s", "source": "seller"}]}


@pytest.mark.parametrize(
    ("section", "words"),
    [
        ({"rules": [{"name": "s", "source": "seller", "priorty": 1}]}, "priorty"),
        ({"rules": [{"name": "s", "source": "nobody"}]}, "source"),
        ({"rules": [{"name": "s", "source": "participant"}]}, "participant"),
        ({"rules": [{"name": "s", "source": "seller", "participant": "P1"}]}, "participant"),
        (
            {"rules": [{"name": "s", "source": "seller"}, {"name": "s", "source": "territory"}]},
            "used twice",
        ),
        ({**BASE, "rollups": [{"name": "r", "credit_types": ["overlay"]}]}, "no crediting rule"),
        (
            {
                **BASE,
                "rollups": [
                    {"name": "r", "credit_types": ["direct"], "levels": 2, "overrides": ["0.5"]}
                ],
            },
            "one override per level",
        ),
        (
            {**BASE, "rollups": [{"name": "r", "credit_types": ["direct"], "overrides": ["1.5"]}]},
            "outside 0..1",
        ),
        (
            {
                **BASE,
                "rollups": [{"name": "r", "credit_types": ["direct"], "overrides": ["0.1234567"]}],
            },
            "not a share",
        ),
        ({**BASE, "rollups": [{"name": "r", "credit_types": ["direct"], "levels": 0}]}, "levels"),
        (
            {
                **BASE,
                "rollups": [{"name": "r", "credit_types": ["direct"], "credit_type": "direct"}],
            },
            "cannot roll its own",
        ),
        (
            {
                **BASE,
                "rollups": [
                    {"name": "r", "credit_types": ["direct"]},
                    {"name": "r2", "credit_types": ["rollup"], "credit_type": "r2"},
                ],
            },
            "itself a roll-up",
        ),
        ({"rules": [{"name": "bad name", "source": "seller"}]}, "pattern"),
        ({**BASE, "exclusions": [{"name": "x"}]}, "when"),
    ],
)
def test_mistakes_are_refused_with_a_clear_message(section: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError) as err:
        CreditingSection.model_validate(section)
    assert words in str(err.value)


def test_overrides_accept_exact_decimals_from_yaml() -> None:
    from decimal import Decimal

    rule = RollupRule(name="r", credit_types=("direct",), overrides=(Decimal("0.6"), 1, "0.10"))  # type: ignore[arg-type]
    assert rule.override_ppm == (600_000, 1_000_000, 100_000)
    assert [rule.level_ppm(k) for k in (1, 2, 3, 4)] == [600_000, 1_000_000, 100_000, 0]


def test_levels_all_without_overrides_is_unbounded() -> None:
    rule = RollupRule(name="r", credit_types=("direct",))
    assert rule.max_levels is None
    assert rule.level_ppm(50) == 1_000_000


def test_share_to_ppm_is_exact() -> None:
    assert share_to_ppm("0.000001") == 1
    assert share_to_ppm("0.5") == 500_000
