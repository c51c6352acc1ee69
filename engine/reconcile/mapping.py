"""Vendor column mappings: which vendor column feeds each grain key and amount.

A mapping YAML names, per grain, the file (optional: default the ``--vendor`` file itself, or
a file inside the ``--vendor`` directory), an optional row filter (for single-file exports
with a record-type column), the key columns and the amount column::

    vendor: SAP Commissions
    delimiter: ","
    grains:
      payment:
        file: payments.csv          # optional
        where: {RECORD_TYPE: PAYMENT}  # optional: keep rows whose column equals the value
        keys: {participant: PAYEE_ID, period: PERIOD_NAME}
        amount: VALUE

Grains and their keys (:data:`GRAIN_KEYS`): ``payment`` (participant, period), ``incentive``
(participant, period, component), ``measure`` (participant, period, measure), ``credit``
(participant, period, transaction).

Example:
    >>> m = VendorMapping.from_data({"grains": {"payment": {
    ...     "keys": {"participant": "PAYEE", "period": "PER"}, "amount": "AMT"}}})
    >>> m.grains["payment"].keys
    {'participant': 'PAYEE', 'period': 'PER'}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from engine.errors import EngineError, Finding, Reason

GRAIN_KEYS: dict[str, tuple[str, ...]] = {
    "payment": ("participant", "period"),
    "incentive": ("participant", "period", "component"),
    "measure": ("participant", "period", "measure"),
    "credit": ("participant", "period", "transaction"),
}
"""Each grain's keys, coarsest grain first."""


class _Bad(Protocol):
    def __call__(self, message: str, column: str | None = None) -> None: ...


_TOP_KEYS = {"vendor", "delimiter", "grains", "description"}
_GRAIN_KEYS = {"file", "where", "keys", "amount"}


@dataclass(frozen=True)
class GrainMapping:
    """How one grain is read: file, row filter, key columns (our key -> vendor column), amount."""

    keys: dict[str, str]
    amount: str
    file: str | None = None
    where: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VendorMapping:
    """A vendor export's mapping: the grains it has."""

    grains: dict[str, GrainMapping]
    vendor: str = "vendor"
    delimiter: str = ","
    source: str = "mapping"

    @classmethod
    def from_data(cls, data: object, source: str = "mapping") -> VendorMapping:
        """Build and check a mapping from parsed YAML data.

        Raises:
            EngineError: ``BAD_MAPPING`` findings for every problem found.
        """
        problems: list[Finding] = []

        def bad(message: str, column: str | None = None) -> None:
            problems.append(Finding(Reason.BAD_MAPPING, message, file=source, column=column))

        if not isinstance(data, dict):
            raise EngineError([Finding(Reason.BAD_MAPPING, "expected a mapping", file=source)])
        for key in sorted(set(data) - _TOP_KEYS):
            bad(f"unknown key {key!r}; expected one of {sorted(_TOP_KEYS)}")
        grains_data = data.get("grains")
        grains: dict[str, GrainMapping] = {}
        if not isinstance(grains_data, dict) or not grains_data:
            bad("'grains' must map at least one grain to its columns")
            grains_data = {}
        for grain, spec in grains_data.items():
            parsed = _grain(str(grain), spec, bad)
            if parsed is not None:
                grains[str(grain)] = parsed
        if problems:
            raise EngineError(problems)
        return cls(
            grains=grains,
            vendor=str(data.get("vendor", "vendor")),
            delimiter=str(data.get("delimiter", ",")),
            source=source,
        )


def _grain(grain: str, spec: object, bad: _Bad) -> GrainMapping | None:
    if grain not in GRAIN_KEYS:
        bad(f"unknown grain {grain!r}; expected one of {sorted(GRAIN_KEYS)}")
        return None
    if not isinstance(spec, dict):
        bad(f"grain {grain!r} must be a mapping with keys and amount")
        return None
    for key in sorted(set(spec) - _GRAIN_KEYS):
        bad(f"unknown key {key!r} in grain {grain!r}; expected one of {sorted(_GRAIN_KEYS)}")
    keys = spec.get("keys")
    if not isinstance(keys, dict) or set(keys) != set(GRAIN_KEYS[grain]):
        bad(f"grain {grain!r} needs keys {list(GRAIN_KEYS[grain])}, each a vendor column")
        return None
    amount = spec.get("amount")
    if not isinstance(amount, str) or not amount:
        bad(f"grain {grain!r} needs 'amount': the vendor's amount column")
        return None
    where = spec.get("where") or {}
    if not isinstance(where, dict):
        bad(f"'where' of grain {grain!r} must map a vendor column to a value")
        where = {}
    file = spec.get("file")
    return GrainMapping(
        keys={str(k): str(v) for k, v in keys.items()},
        amount=amount,
        file=None if file is None else str(file),
        where={str(k): str(v) for k, v in where.items()},
    )


def load_vendor_mapping(path: Path) -> VendorMapping:
    """Read a vendor mapping YAML (duplicate keys are errors).

    Raises:
        EngineError: ``FILE_MISSING``, or ``BAD_MAPPING`` for bad YAML or content.
    """
    if not path.is_file():
        raise EngineError.single(Reason.FILE_MISSING, "no such mapping file", file=str(path))
    yaml = YAML(typ="safe", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        data = yaml.load(path.read_text(encoding="utf-8"))
    except YAMLError as exc:
        raise EngineError.single(
            Reason.BAD_MAPPING, f"not valid YAML: {exc}", file=str(path)
        ) from exc
    return VendorMapping.from_data(data, str(path))


SHIPPED = Path(__file__).parent / "mappings"
"""The mappings shipped for exports shaped like SAP Commissions, Xactly and Varicent."""
