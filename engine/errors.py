"""Typed, reason-coded errors and findings.

Every problem the engine reports to a user carries a :class:`Reason` (a stable code that tests
and tools match on), a location (file, line, column, or a YAML path) and a remedy. The reason
registry below is the single place where codes, their meaning and their default remedy live:
docs and messages come from it.

Two shapes exist:

* :class:`Finding` is one problem in one place; data validation collects many of them into a
  rejects table and lets the valid rows go on.
* :class:`EngineError` is raised when work cannot go on (a missing file, a malformed rule set).
  It carries one or more findings. The CLI turns it into a message and an exit code, never a
  traceback.

Example:
    >>> f = Finding(Reason.BAD_NUMBER, "not a number: 'abc'", file="transactions.csv",
    ...             line=3, column="amount")
    >>> f.code
    'BAD_NUMBER'
    >>> f.location()
    'transactions.csv:3 [amount]'
    >>> f.remedy
    'write a plain decimal such as 1234.56: a dot, no thousands separator'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    """How bad a finding is: an ``error`` rejects a row or stops a run; a ``warning`` does not."""

    ERROR = "error"
    WARNING = "warning"


class Reason(StrEnum):
    """Stable reason codes. The value is the code; :data:`REMEDIES` holds each default remedy."""

    # files
    FILE_MISSING = "FILE_MISSING"
    FILE_EMPTY = "FILE_EMPTY"
    BAD_ENCODING = "BAD_ENCODING"
    FILE_UNREADABLE = "FILE_UNREADABLE"
    COLUMN_MISSING = "COLUMN_MISSING"
    ROW_MALFORMED = "ROW_MALFORMED"
    UNKNOWN_TABLE = "UNKNOWN_TABLE"
    # values
    REQUIRED_VALUE_MISSING = "REQUIRED_VALUE_MISSING"
    BAD_NUMBER = "BAD_NUMBER"
    BAD_DATE = "BAD_DATE"
    TOO_MANY_DECIMALS = "TOO_MANY_DECIMALS"
    BAD_VALUE = "BAD_VALUE"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    UNKNOWN_CURRENCY = "UNKNOWN_CURRENCY"
    BAD_DATE_RANGE = "BAD_DATE_RANGE"
    # keys and references
    DUPLICATE_KEY = "DUPLICATE_KEY"
    UNKNOWN_REFERENCE = "UNKNOWN_REFERENCE"
    OVERLAPPING_EFFECTIVE_DATES = "OVERLAPPING_EFFECTIVE_DATES"
    SHARES_NOT_100 = "SHARES_NOT_100"
    HIERARCHY_CYCLE = "HIERARCHY_CYCLE"
    SELF_MANAGER = "SELF_MANAGER"
    # configuration
    BAD_MAPPING = "BAD_MAPPING"
    PATH_ESCAPE = "PATH_ESCAPE"
    # rule sets
    RULE_YAML_SYNTAX = "RULE_YAML_SYNTAX"
    RULE_DUPLICATE_KEY = "RULE_DUPLICATE_KEY"
    RULE_UNKNOWN_KEY = "RULE_UNKNOWN_KEY"
    RULE_MISSING_KEY = "RULE_MISSING_KEY"
    RULE_BAD_TYPE = "RULE_BAD_TYPE"
    RULE_BAD_VALUE = "RULE_BAD_VALUE"
    RULE_DANGLING_REFERENCE = "RULE_DANGLING_REFERENCE"
    RULE_BAD_EXPRESSION = "RULE_BAD_EXPRESSION"
    RULE_UNKNOWN_COLUMN = "RULE_UNKNOWN_COLUMN"
    RULE_BAD_VERSION = "RULE_BAD_VERSION"
    # crediting and calculation
    NO_OWNER = "NO_OWNER"
    OUTSIDE_PERIODS = "OUTSIDE_PERIODS"
    NO_CREDIT_RULE = "NO_CREDIT_RULE"
    NO_EXCHANGE_RATE = "NO_EXCHANGE_RATE"
    NO_QUOTA = "NO_QUOTA"
    NO_PLAN = "NO_PLAN"
    OVERFLOW = "OVERFLOW"
    # usage
    USAGE = "USAGE"
    INTERNAL = "INTERNAL"


REMEDIES: dict[Reason, str] = {
    Reason.FILE_MISSING: "put the file in the data directory, or map its name in mapping.yaml",
    Reason.FILE_EMPTY: "the file has no data rows; export it again with its rows",
    Reason.BAD_ENCODING: "save the file as UTF-8",
    Reason.FILE_UNREADABLE: "check that the file is a well-formed CSV or Parquet file",
    Reason.COLUMN_MISSING: "add the column, or map the source column onto it in mapping.yaml",
    Reason.ROW_MALFORMED: "quote fields holding the delimiter; each row needs the header's fields",
    Reason.UNKNOWN_TABLE: "name the file after its table (docs/data-contract.md), map it in "
    "mapping.yaml, or move it out of the data directory",
    Reason.REQUIRED_VALUE_MISSING: "fill in the value; this column may not be blank",
    Reason.BAD_NUMBER: "write a plain decimal such as 1234.56: a dot, no thousands separator",
    Reason.BAD_DATE: "write dates as YYYY-MM-DD, or set date_format in mapping.yaml",
    Reason.TOO_MANY_DECIMALS: "round the amount to the currency's minor unit at the source",
    Reason.BAD_VALUE: "use one of the allowed values listed in docs/data-contract.md",
    Reason.OUT_OF_RANGE: "check the value against the allowed range in docs/data-contract.md",
    Reason.UNKNOWN_CURRENCY: "use an ISO 4217 code the engine knows (docs/data-contract.md)",
    Reason.BAD_DATE_RANGE: "valid_to must be on or after valid_from",
    Reason.DUPLICATE_KEY: "keep one row per key; remove or merge the duplicates",
    Reason.UNKNOWN_REFERENCE: "add the referenced row to its table, or correct the identifier",
    Reason.OVERLAPPING_EFFECTIVE_DATES: "end the earlier row the day before the later one starts",
    Reason.SHARES_NOT_100: "make the shares active on one date add up to exactly 1",
    Reason.HIERARCHY_CYCLE: "break the cycle: someone in the path must report elsewhere",
    Reason.SELF_MANAGER: "a participant cannot be their own manager; correct manager_id",
    Reason.BAD_MAPPING: "fix mapping.yaml as described in docs/data-contract.md",
    Reason.PATH_ESCAPE: "paths in configuration must stay inside their directory",
    Reason.RULE_YAML_SYNTAX: "fix the YAML syntax at the line shown",
    Reason.RULE_DUPLICATE_KEY: "remove the repeated key; each key may appear once",
    Reason.RULE_UNKNOWN_KEY: "remove the key or correct its spelling (see docs/rules.md)",
    Reason.RULE_MISSING_KEY: "add the required key (see docs/rules.md)",
    Reason.RULE_BAD_TYPE: "give a value of the expected type (see docs/rules.md)",
    Reason.RULE_BAD_VALUE: "give an allowed value (see docs/rules.md)",
    Reason.RULE_DANGLING_REFERENCE: "define the referenced item, or correct its name",
    Reason.RULE_BAD_EXPRESSION: "write a condition such as: product IN ('A','B') AND amount > 0",
    Reason.RULE_UNKNOWN_COLUMN: "use a transaction column listed in docs/data-contract.md",
    Reason.RULE_BAD_VERSION: "set schema_version to a version this engine supports",
    Reason.NO_OWNER: "assign the territory an owner on that date, or name a seller",
    Reason.OUTSIDE_PERIODS: "add the period to calendar.csv, or check the credit date",
    Reason.NO_CREDIT_RULE: "add a crediting rule whose condition matches the transaction",
    Reason.NO_EXCHANGE_RATE: "add an exchange rate covering that date to exchange_rates.csv",
    Reason.NO_QUOTA: "add a quota row for the participant, period and measure",
    Reason.NO_PLAN: "assign the participant a plan in plan_assignments.csv",
    Reason.OVERFLOW: "the value is beyond the engine's exact range; check the input for errors",
    Reason.USAGE: "see icm --help",
    Reason.INTERNAL: "this is a bug in the engine; please report it with the command you ran",
}


@dataclass(frozen=True)
class Finding:
    """One problem found in one place.

    Attributes:
        reason: the reason code.
        message: what is wrong, naming the offending value.
        file: the file (or rule set) in which it was found.
        line: the 1-based line in the file (for CSV: the header is line 1).
        column: the column or YAML key path.
        hint: the remedy; defaults to the reason's registered remedy.
        severity: error (the row is rejected) or warning.
        value: the offending raw value, when there is one.
    """

    reason: Reason
    message: str
    file: str | None = None
    line: int | None = None
    column: str | None = None
    hint: str | None = None
    severity: Severity = Severity.ERROR
    value: str | None = None

    @property
    def code(self) -> str:
        """The reason code as a string."""
        return self.reason.value

    @property
    def remedy(self) -> str:
        """The hint given, or the reason's default remedy."""
        return self.hint if self.hint is not None else REMEDIES[self.reason]

    def location(self) -> str:
        """``file:line [column]`` with the parts that are known."""
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        if self.column:
            where += f" [{self.column}]"
        return where

    def render(self) -> str:
        """One line for a person: location, code, message and hint."""
        return f"{self.location()} {self.code}: {self.message} (hint: {self.remedy})"


@dataclass
class EngineError(Exception):
    """Work cannot go on. Carries the findings that explain why; never shown as a traceback."""

    findings: list[Finding] = field(default_factory=list)

    @classmethod
    def single(
        cls,
        reason: Reason,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> EngineError:
        """Build an error from one finding."""
        return cls([Finding(reason, message, file=file, line=line, column=column, hint=hint)])

    @property
    def reason(self) -> Reason:
        """The first finding's reason."""
        return self.findings[0].reason if self.findings else Reason.INTERNAL

    def __str__(self) -> str:
        return "\n".join(f.render() for f in self.findings)


class UsageError(EngineError):
    """The command was called wrongly (exit code 2)."""
