"""The data contract: every input table, its columns, types, keys and references.

This module is the single source of truth for what the engine reads. The loader
(:mod:`engine.loading`) validates against it, ``docs/data-contract.md`` describes it, and the
synthetic generator (:mod:`engine.synth`) writes it.

Column kinds:

* ``id``: non-empty text, trimmed.
* ``text``: free text, may be blank when optional.
* ``date``: a calendar date (ISO ``YYYY-MM-DD`` unless the mapping sets ``date_format``).
* ``money``: an exact decimal amount in the currency named by the table's currency column (or
  the participant's pay currency); stored as ``Int64`` hundredths in ``<name>_cents``.
* ``share``: an exact decimal fraction in [0, 1]; stored as ``Int64`` ppm in ``<name>_ppm``.
* ``fx``: an exchange rate with up to 10 decimals; stored as ``Int64`` in ``<name>_e10``.
* ``decimal``: an exact decimal with up to 2 places (quantities); stored as ``Int64``
  hundredths in ``<name>_e2``.
* ``currency``: an ISO 4217 code from :data:`engine.money.CURRENCY_DIGITS`.
* ``enum``: one of a fixed list of values.

Example:
    >>> TABLES["transactions"].key
    ('transaction_id',)
    >>> [c.name for c in TABLES["calendar"].columns]
    ['period', 'start_date', 'end_date', 'quarter', 'year']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ColumnKind = Literal["id", "text", "date", "money", "share", "fx", "decimal", "currency", "enum"]


@dataclass(frozen=True)
class Column:
    """One column of an input table.

    Attributes:
        name: the contract name of the column.
        kind: the column kind (see the module docstring).
        required: whether the column must be present in the file.
        nullable: whether a present column may have blank values.
        description: what the column means, for the docs.
        values: the allowed values of an ``enum`` column.
        currency_from: for ``money``: the column holding the row's currency.
        default: value used when an optional column is absent from the file.
    """

    name: str
    kind: ColumnKind
    required: bool = True
    nullable: bool = False
    description: str = ""
    values: tuple[str, ...] = ()
    currency_from: str | None = None
    default: str | None = None

    @property
    def stored_name(self) -> str:
        """The name of the typed column in the loaded frame.

        Example:
            >>> Column("amount", "money").stored_name
            'amount_cents'
        """
        suffix = {"money": "_cents", "share": "_ppm", "fx": "_e10", "decimal": "_e2"}
        return self.name + suffix.get(self.kind, "")


@dataclass(frozen=True)
class Reference:
    """A foreign key: ``columns`` of this table must exist as ``target_columns`` of ``target``."""

    columns: tuple[str, ...]
    target: str
    target_columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """One input table.

    Attributes:
        name: the table name; the file is ``<name>.csv`` or ``<name>.parquet`` by default.
        columns: its columns, in documented order.
        key: the columns that identify a row (unique, or unique per date when effective-dated).
        required: whether the file must be present.
        effective_dated: whether rows carry ``valid_from`` / ``valid_to`` and must not overlap
            for one key.
        references: foreign keys checked against the accepted rows of other tables.
        description: what the table holds, for the docs.
        extra_columns: whether columns beyond the contract are kept (as text).
    """

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    required: bool = True
    effective_dated: bool = False
    references: tuple[Reference, ...] = ()
    description: str = ""
    extra_columns: bool = False
    checks: tuple[str, ...] = field(default=())

    def column(self, name: str) -> Column:
        """The column called ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _dated(*, from_desc: str = "first day the row applies (inclusive)") -> tuple[Column, Column]:
    return (
        Column("valid_from", "date", description=from_desc),
        Column(
            "valid_to",
            "date",
            required=False,
            nullable=True,
            description="last day the row applies (inclusive); blank means open-ended",
        ),
    )


_PARTICIPANT = Reference(("participant_id",), "participants", ("participant_id",))

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "calendar",
            (
                Column("period", "id", description="period identifier, e.g. 2026-01"),
                Column("start_date", "date", description="first day of the period"),
                Column("end_date", "date", description="last day of the period (inclusive)"),
                Column(
                    "quarter",
                    "id",
                    required=False,
                    nullable=True,
                    description="quarter identifier, e.g. 2026-Q1 (derived when absent)",
                ),
                Column(
                    "year",
                    "id",
                    required=False,
                    nullable=True,
                    description="plan year identifier, e.g. 2026 (derived when absent)",
                ),
            ),
            key=("period",),
            description="The calendar of pay periods; periods must not overlap.",
            checks=("periods_do_not_overlap",),
        ),
        Table(
            "participants",
            (
                Column("participant_id", "id", description="unique participant identifier"),
                Column("name", "text", required=False, nullable=True, description="full name"),
                Column("role", "id", description="job role, e.g. AE, SDR, MANAGER"),
                Column("region", "text", required=False, nullable=True, description="region"),
                Column("pay_currency", "currency", description="currency the person is paid in"),
                Column("hire_date", "date", description="first day of employment"),
                Column(
                    "termination_date",
                    "date",
                    required=False,
                    nullable=True,
                    description="last day of employment; blank if still employed",
                ),
            ),
            key=("participant_id",),
            description="Everyone who can receive credit or pay.",
            checks=("termination_after_hire",),
        ),
        Table(
            "hierarchy",
            (
                Column("participant_id", "id", description="the reporting participant"),
                Column("manager_id", "id", description="their manager on these dates"),
                *_dated(),
            ),
            key=("participant_id",),
            required=False,
            effective_dated=True,
            references=(
                _PARTICIPANT,
                Reference(("manager_id",), "participants", ("participant_id",)),
            ),
            description="Effective-dated reporting lines: one manager per participant per day.",
            checks=("no_self_manager", "no_cycles"),
        ),
        Table(
            "territories",
            (
                Column("territory_id", "id", description="unique territory or account id"),
                Column("name", "text", required=False, nullable=True, description="name"),
                Column("region", "text", required=False, nullable=True, description="region"),
            ),
            key=("territory_id",),
            required=False,
            description="Territories or accounts that own transactions.",
        ),
        Table(
            "territory_owners",
            (
                Column("territory_id", "id", description="the territory"),
                Column("participant_id", "id", description="an owner of it on these dates"),
                Column(
                    "share",
                    "share",
                    required=False,
                    nullable=True,
                    default="1",
                    description="the owner's share (0-1); shares active on a day sum to 1",
                ),
                *_dated(),
            ),
            key=("territory_id", "participant_id"),
            required=False,
            effective_dated=True,
            references=(
                Reference(("territory_id",), "territories", ("territory_id",)),
                _PARTICIPANT,
            ),
            description="Effective-dated owners of each territory, with split shares.",
            checks=("shares_sum_to_one",),
        ),
        Table(
            "transactions",
            (
                Column("transaction_id", "id", description="unique transaction id"),
                Column("credit_date", "date", description="date that decides period and owner"),
                Column(
                    "amount",
                    "money",
                    currency_from="currency",
                    description="exact amount; negative for a return or credit note",
                ),
                Column("currency", "currency", description="currency of the amount"),
                Column("product", "text", required=False, nullable=True, description="product"),
                Column("customer", "text", required=False, nullable=True, description="customer"),
                Column(
                    "territory_id",
                    "id",
                    required=False,
                    nullable=True,
                    description="territory or account; owner credited as of credit_date",
                ),
                Column(
                    "seller_id",
                    "id",
                    required=False,
                    nullable=True,
                    description="named seller credited directly (overrides the territory)",
                ),
                Column(
                    "deal_type",
                    "text",
                    required=False,
                    nullable=True,
                    description="e.g. new, renewal, upsell",
                ),
                Column(
                    "quantity",
                    "decimal",
                    required=False,
                    nullable=True,
                    description="units sold (meetings, seats...), up to 2 decimals",
                ),
                Column(
                    "original_transaction_id",
                    "id",
                    required=False,
                    nullable=True,
                    description="for a return: the transaction it reverses",
                ),
            ),
            key=("transaction_id",),
            references=(
                Reference(("territory_id",), "territories", ("territory_id",)),
                Reference(("seller_id",), "participants", ("participant_id",)),
                Reference(("original_transaction_id",), "transactions", ("transaction_id",)),
            ),
            description="Sales transactions, returns and credit notes; extra columns are kept.",
            extra_columns=True,
            checks=("return_is_negative",),
        ),
        Table(
            "transaction_sellers",
            (
                Column("transaction_id", "id", description="the transaction"),
                Column("participant_id", "id", description="a named seller"),
                Column("share", "share", description="that seller's share (0-1)"),
            ),
            key=("transaction_id", "participant_id"),
            required=False,
            references=(
                Reference(("transaction_id",), "transactions", ("transaction_id",)),
                _PARTICIPANT,
            ),
            description="Named split sellers of a deal; shares of a transaction sum to 1.",
            checks=("shares_sum_to_one",),
        ),
        Table(
            "quotas",
            (
                Column("participant_id", "id", description="the participant"),
                Column("period", "id", description="the period (from calendar)"),
                Column("measure", "id", description="the measure the quota applies to"),
                Column(
                    "quota",
                    "decimal",
                    description="the quota, in the measure's unit (pay currency or count)",
                ),
            ),
            key=("participant_id", "period", "measure"),
            required=False,
            references=(_PARTICIPANT, Reference(("period",), "calendar", ("period",))),
            description="Quotas per participant, period and measure.",
        ),
        Table(
            "plan_assignments",
            (
                Column("participant_id", "id", description="the participant"),
                Column("plan_id", "id", description="a plan defined in the rule set"),
                *_dated(),
                Column(
                    "target_incentive",
                    "money",
                    required=False,
                    nullable=True,
                    description="target incentive per period, in the pay currency",
                ),
            ),
            key=("participant_id",),
            required=False,
            effective_dated=True,
            references=(_PARTICIPANT,),
            description="Which plan each participant is on, effective-dated.",
        ),
        Table(
            "exchange_rates",
            (
                Column("from_currency", "currency", description="currency converted from"),
                Column("to_currency", "currency", description="currency converted to"),
                Column("rate", "fx", description="units of to_currency per unit of from"),
                *_dated(),
            ),
            key=("from_currency", "to_currency"),
            required=False,
            effective_dated=True,
            description="Effective-dated exchange rates.",
        ),
    )
}
"""Every input table, in load order (a table's references point to earlier tables or itself)."""

LOAD_ORDER: tuple[str, ...] = tuple(TABLES)
