r"""Load a rule set file: strict YAML, schema validation, references, conditions, content hash.

:func:`load_ruleset` reads a rule set (see ``docs/rules.md``) and either returns a validated
:class:`~engine.rules.schema.RuleSet` or raises one :class:`~engine.errors.EngineError` holding
*every* problem found, each a finding with a reason code, the file, the YAML line, the key path
and, inside a named list item, the item's name:

* ``RULE_YAML_SYNTAX``, ``RULE_DUPLICATE_KEY`` (from :mod:`engine.rules.yamlload`);
* ``RULE_BAD_VERSION``: ``schema_version`` is not one this engine reads (reported alone);
* ``RULE_UNKNOWN_KEY`` (with a did-you-mean hint), ``RULE_MISSING_KEY``, ``RULE_BAD_TYPE``,
  ``RULE_BAD_VALUE``: the schema;
* ``RULE_BAD_EXPRESSION``, ``RULE_UNKNOWN_COLUMN``, ``RULE_DANGLING_REFERENCE``: conditions and
  cross-references (:mod:`engine.rules.references`);
* ``PATH_ESCAPE``: a path in the rule set leaves the rule set's directory.

The content hash is the sha256 of a canonical form of the parsed data (keys sorted, numbers as
normalized decimal text): reformatting, comments, key order and ``0.50`` vs ``0.5`` do not
change it; any value change does.

Example:
    >>> rs = parse_ruleset('''
    ... schema_version: 1
    ... name: demo
    ... reference: "Demo plan v1"
    ... ''', "demo.yaml")
    >>> rs.name, rs.source, len(rs.content_hash)
    ('demo', 'demo.yaml', 64)
    >>> try:
    ...     parse_ruleset("schema_version: 1\nname: demo\nreferense: x\nrates: []\n", "d.yaml")
    ... except EngineError as exc:
    ...     [(f.code, f.line, f.remedy.split(";")[0]) for f in exc.findings]
    [('RULE_UNKNOWN_KEY', 3, "did you mean 'reference'?"),
     ('RULE_UNKNOWN_KEY', 4, "did you mean 'rate_tables'?")]
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from engine.errors import EngineError, Finding, Reason
from engine.rules import references
from engine.rules.registry import Family, family_for, type_members
from engine.rules.schema import SUPPORTED_VERSIONS, RuleSet
from engine.rules.yamlload import (
    KeyPath,
    YamlDoc,
    child,
    format_path,
    load_yaml,
    parse_yaml,
    value_at,
)

__all__ = [
    "canonical_json",
    "content_hash",
    "load_ruleset",
    "parse_ruleset",
    "ruleset_from_doc",
    "ruleset_from_mapping",
    "validation_findings",
]


# --------------------------------------------------------------------------- entry points


def load_ruleset(path: Path) -> RuleSet:
    r"""Read and validate a rule set file.

    Args:
        path: the YAML file; paths inside it are relative to its directory.

    Returns:
        The rule set, with ``content_hash`` and ``source`` (the path as given) set.

    Raises:
        EngineError: every problem found, each with its reason code, file and YAML line.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = Path(d) / "rules.yaml"
        ...     _ = p.write_text("schema_version: 1\nname: demo\nreference: Plan v1\n")
        ...     load_ruleset(p).name
        'demo'
    """
    return ruleset_from_doc(load_yaml(path), base_dir=path.parent)


def parse_ruleset(text: str, file: str = "<string>", base_dir: Path | None = None) -> RuleSet:
    r"""Validate a rule set given as text (tests, golden cases); see :func:`load_ruleset`.

    Example:
        >>> parse_ruleset("schema_version: 2\nname: x\nreference: y\n", "r.yaml")
        Traceback (most recent call last):
        ...
        engine.errors.EngineError: r.yaml:1 [schema_version] RULE_BAD_VERSION: ...
    """
    return ruleset_from_doc(parse_yaml(text, file), base_dir=base_dir)


def ruleset_from_mapping(
    data: Mapping[str, Any],
    file: str = "<mapping>",
    *,
    lines: Mapping[KeyPath, int] | None = None,
    base_dir: Path | None = None,
) -> RuleSet:
    """Validate rule set data that is already parsed (e.g. a golden case's inline ``rules``).

    Args:
        data: plain data as :func:`~engine.rules.yamlload.parse_yaml` returns it (numbers as
            int or Decimal).
        file: the name used in findings.
        lines: key path (relative to ``data``) -> line, when known.
        base_dir: the directory paths in the rule set are relative to.

    Example:
        >>> ruleset_from_mapping({"schema_version": 1, "name": "inline"}).name
        'inline'
    """
    doc = YamlDoc(dict(data), dict(lines or {}), file)
    return ruleset_from_doc(doc, base_dir=base_dir)


def ruleset_from_doc(doc: YamlDoc, base_dir: Path | None = None) -> RuleSet:
    r"""Validate a parsed YAML document as a rule set, collecting every problem.

    Args:
        doc: the parsed document.
        base_dir: the directory paths in the rule set are relative to (None: paths are only
            checked for their shape).

    Raises:
        EngineError: every problem found.

    Example:
        >>> doc = parse_yaml("schema_version: 1\nname: d\nreference: r\n", "r.yaml")
        >>> ruleset_from_doc(doc).content_hash == ruleset_from_doc(doc).content_hash
        True
    """
    data = doc.data
    if not isinstance(data, dict):
        raise EngineError.single(
            Reason.RULE_BAD_TYPE,
            "a rule set is a mapping with schema_version, name, reference, ...",
            file=doc.file,
            line=doc.line_of(()),
            hint="start the file with: schema_version: 1",
        )
    _check_version(doc, data)
    findings: list[Finding] = []
    model: RuleSet | None = None
    invalid: set[str] = set()
    try:
        model = RuleSet.model_validate(data)
    except ValidationError as exc:
        findings.extend(validation_findings(exc, doc))
        invalid = {str(e["loc"][0]) for e in exc.errors() if e["loc"]}
    findings.extend(references.condition_findings(doc))
    findings.extend(_path_findings(doc, data, base_dir))
    checked = model if model is not None else _partial(data, invalid)
    if checked is not None:
        findings.extend(references.reference_findings(checked, doc, invalid=invalid))
    if findings:
        raise EngineError(_sorted_unique(findings))
    assert model is not None
    model._content_hash = content_hash(data)  # the loader owns these
    model._source = doc.file
    return model


_PLACEHOLDERS: dict[str, Any] = {"schema_version": 1, "name": "invalid", "reference": "invalid"}


def _partial(data: dict[str, Any], invalid: set[str]) -> RuleSet | None:
    """The rule set without its invalid sections, so the valid ones can still be checked."""
    kept = {k: v for k, v in data.items() if k not in invalid and k in RuleSet.model_fields}
    for key, placeholder in _PLACEHOLDERS.items():
        if key in invalid or key not in kept:
            kept[key] = placeholder
    try:
        return RuleSet.model_validate(kept)
    except ValidationError:
        return None


def _sorted_unique(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[Reason, int | None, str | None, str]] = set()
    out: list[Finding] = []
    for f in sorted(findings, key=lambda f: (f.line or 0, f.column or "", f.reason.value)):
        key = (f.reason, f.line, f.column, f.message)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def _check_version(doc: YamlDoc, data: dict[str, Any]) -> None:
    version = data.get("schema_version")
    if (
        isinstance(version, int)
        and not isinstance(version, bool)
        and version not in SUPPORTED_VERSIONS
    ):
        raise EngineError.single(
            Reason.RULE_BAD_VERSION,
            f"schema_version {version} is not supported "
            f"(this engine reads {', '.join(map(str, SUPPORTED_VERSIONS))})",
            file=doc.file,
            line=doc.line_of(("schema_version",)),
            column="schema_version",
        )


# --------------------------------------------------------------------------- canonical hash


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float):  # not produced by the YAML loader; read back from its text
        value = Decimal(repr(value))
    if isinstance(value, int | Decimal):
        number = Decimal(value).normalize()
        text = format(number, "f")
        return {"$number": "0" if number == 0 else text}
    raise TypeError(f"unexpected value in rule set data: {type(value).__name__}")


def canonical_json(data: Any) -> str:
    """The canonical text of parsed rule set data: sorted keys, numbers as decimal text.

    Numbers are tagged (``{"$number": "0.5"}``) so that the number 0.5 and the text "0.5" stay
    distinct; ``0.50``, ``0.5`` and ``5E-1`` are the same number.

    Example:
        >>> canonical_json({"b": Decimal("0.50"), "a": [1, "x", None]})
        '{"a":[{"$number":"1"},"x",null],"b":{"$number":"0.5"}}'
    """
    return json.dumps(_canonical(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(data: Any) -> str:
    """sha256 (hex) of :func:`canonical_json` of the data.

    Example:
        >>> content_hash({"a": Decimal("1.0")}) == content_hash({"a": 1})
        True
        >>> content_hash({"a": 1}) == content_hash({"a": 2})
        False
    """
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


# --------------------------------------------------------------------------- paths

PATH_KEYS: tuple[KeyPath, ...] = (("reference_file",),)
"""Where a rule set holds file paths (relative to the rule set's directory)."""


def _path_findings(doc: YamlDoc, data: dict[str, Any], base_dir: Path | None) -> list[Finding]:
    findings: list[Finding] = []
    for key_path in PATH_KEYS:
        value: Any = data
        for part in key_path:
            value = value.get(part) if isinstance(value, dict) else None
        if not isinstance(value, str) or not value:
            continue
        problem = _path_problem(value, base_dir)
        if problem is not None:
            reason, message = problem
            findings.append(
                Finding(
                    reason,
                    message,
                    file=doc.file,
                    line=doc.line_of(key_path),
                    column=format_path(key_path),
                    value=value,
                )
            )
    return findings


def _path_problem(text: str, base_dir: Path | None) -> tuple[Reason, str] | None:
    posix, windows = PurePosixPath(text), PureWindowsPath(text)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or text.startswith("~"):
        return Reason.PATH_ESCAPE, f"{text!r} is an absolute path; give it relative to the rule set"
    if ".." in posix.parts or ".." in windows.parts:
        return Reason.PATH_ESCAPE, f"{text!r} leaves the rule set's directory"
    if base_dir is None:
        return None
    root = base_dir.resolve()
    target = (root / text).resolve()
    if not target.is_relative_to(root):
        return Reason.PATH_ESCAPE, f"{text!r} leads outside the rule set's directory (a link?)"
    if not target.is_file():
        return Reason.FILE_MISSING, f"{text!r} does not exist beside the rule set"
    return None


# --------------------------------------------------------------------------- pydantic errors

_TYPE_ERRORS = frozenset(
    {"model_type", "model_attributes_type", "dataclass_type", "is_instance_of", "none_required"}
)


def _reason(error_type: str) -> Reason:
    if error_type == "extra_forbidden":
        return Reason.RULE_UNKNOWN_KEY
    if error_type in ("missing", "union_tag_not_found"):
        return Reason.RULE_MISSING_KEY
    if (
        error_type.endswith(("_type", "_parsing"))
        or error_type in _TYPE_ERRORS
        or error_type.startswith("int_from")
    ):
        return Reason.RULE_BAD_TYPE
    return Reason.RULE_BAD_VALUE


def _data_path(data: Any, loc: tuple[str | int, ...], error_type: str) -> KeyPath:
    """The path in the YAML data of a pydantic error location (union tags etc. skipped)."""
    path: list[str | int] = []
    current = data
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        ok, value = child(current, part)
        if ok:
            path.append(part)
            current = value
        elif last and error_type == "missing" and isinstance(current, dict):
            path.append(part)
    return tuple(path)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _tags(tp: Any) -> list[str]:
    field = tp.model_fields.get("kind") if _is_model(tp) else None
    if field is None:
        return []
    return [a for a in get_args(field.annotation) if isinstance(a, str)]


def _types_at(loc: tuple[str | int, ...]) -> list[Any]:
    """The schema types that can sit at ``loc`` (empty when it cannot be followed)."""
    current: list[Any] = [RuleSet]
    for part in loc:
        following: list[Any] = []
        for tp in current:
            for m in type_members(tp):
                origin = get_origin(m)
                if isinstance(part, int):
                    if origin in (tuple, list) and get_args(m):
                        following.append(get_args(m)[0])
                elif _is_model(m):
                    for name, field in m.model_fields.items():
                        if part in (name, field.alias):
                            following.append(field.annotation)
                    if part in _tags(m):
                        following.append(m)
                elif origin is dict:
                    following.append(get_args(m)[1])
        current = following
        if not current:
            break
    return current


def _allowed_keys(loc: tuple[str | int, ...]) -> list[str]:
    keys: set[str] = set()
    for tp in _types_at(loc):
        for m in type_members(tp):
            if _is_model(m):
                keys.update(f.alias or n for n, f in m.model_fields.items())
    return sorted(keys)


def _allowed_tags(loc: tuple[str | int, ...]) -> list[str]:
    tags: list[str] = []
    for tp in _types_at(loc):
        for m in type_members(tp):
            tags.extend(t for t in _tags(m) if t not in tags)
    return tags


def _suggest(word: str, choices: list[str]) -> str | None:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else None


def _last_index(loc: tuple[str | int, ...], key: str | int) -> int:
    """The index of the last occurrence of ``key`` in ``loc`` (``len(loc)`` when absent)."""
    for i in range(len(loc) - 1, -1, -1):
        if loc[i] == key:
            return i
    return len(loc)


def _family_at(loc: tuple[str | int, ...], field: str) -> Family | None:
    """The vocabulary family of ``field`` in the models that can sit at ``loc``."""
    for tp in _types_at(loc):
        for m in type_members(tp):
            if _is_model(m) and field in m.model_fields:
                family = family_for(m, field)
                if family is not None:
                    return family
    return None


def _named_item(data: Any, path: KeyPath) -> str | None:
    """A label for the innermost named list item on ``path``: ``crediting.rules[2] 'x'``."""
    label = None
    current = data
    for i, part in enumerate(path):
        ok, current = child(current, part)
        if not ok:
            break
        if isinstance(part, int) and isinstance(current, dict):
            name = current.get("name", current.get("id"))
            if isinstance(name, str):
                label = f"{format_path(path[: i + 1])} {name!r}"
    return label


def _type_name(value: Any) -> str:
    return {
        "str": "text",
        "int": "an integer",
        "Decimal": "a number",
        "bool": "a boolean",
        "NoneType": "nothing (null)",
        "dict": "a mapping",
        "list": "a list",
    }.get(type(value).__name__, type(value).__name__)


def _refine(data: Any, path: KeyPath, message: str) -> KeyPath:
    """Point a model-level error at the named item (and list entry) its message quotes."""
    quoted = re.findall(r"'([^']+)'", message)
    node: Any = data
    for part in path:
        node = node[part]
    if not quoted or not isinstance(node, dict):
        return path
    found: KeyPath | None = None
    for key, value in node.items():
        if isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict) and item.get("name") == quoted[0]:
                    found = (*path, key, i)
    if found is None:
        return path
    item = node[found[-2]][found[-1]]
    for word in quoted[1:]:
        for key, value in item.items():
            if isinstance(value, list) and word in value:
                return (*found, key, value.index(word))
    return found


def _finding(error: ErrorDetails, doc: YamlDoc) -> tuple[Finding, KeyPath]:
    data = doc.data
    loc = tuple(error["loc"])
    kind = error["type"]
    reason = _reason(kind)
    path = _data_path(data, loc, kind)
    ctx = error.get("ctx") or {}
    value = error.get("input")
    hint: str | None = None
    key = path[-1] if path else ""
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        message = f"unknown key {key!r}"
        suggestion = _suggest(str(key), allowed)
        known = f"allowed keys: {', '.join(allowed)}" if allowed else None
        hint = "; ".join(x for x in (suggestion, known) if x) or None
    elif kind == "missing":
        message = f"missing required key {key!r}"
        hint = f"add {key}: (see docs/rules.md)"
    elif kind == "union_tag_not_found":
        tags = _allowed_tags(loc)
        discriminator = str(ctx.get("discriminator", "'kind'")).strip("'")
        path = (*path, discriminator)
        message = f"missing required key {discriminator!r}"
        hint = f"add {discriminator}: one of {', '.join(tags)}" if tags else None
    elif kind == "union_tag_invalid":
        discriminator = str(ctx.get("discriminator", "'kind'")).strip("'")
        tags = re.findall(r"'([^']*)'", str(ctx.get("expected_tags", "")))
        tag = str(ctx.get("tag", ""))
        path = (*path, discriminator)
        message = f"unknown {discriminator} {tag!r}; expected one of: {', '.join(tags)}"
        family = _family_at(loc, discriminator)
        hint = family.hint(tag) if family is not None else _suggest(tag, tags)
    elif kind in ("literal_error", "enum"):
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", "")))
        message = f"{value!r} is not allowed for {key!r}; expected {ctx.get('expected', '')}"
        family = _family_at(loc[: _last_index(loc, key)], str(key))
        if family is not None:
            hint = family.hint(value)
        elif isinstance(value, str):
            hint = _suggest(value, expected)
    elif reason is Reason.RULE_BAD_TYPE:
        message = f"{error['msg']}, got {_type_name(value)}"
        if not isinstance(value, dict | list):
            message += f" {value!r}" if not isinstance(value, Decimal) else f" {value}"
        if isinstance(value, int | Decimal) and "string" in error["msg"]:
            hint = f'quote the value: {key}: "{value}"'
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
        if kind == "value_error":
            path = _refine(data, path, message)
            if "no crediting rule or overlay produces" in message:
                reason = Reason.RULE_DANGLING_REFERENCE
                listed = re.search(r"\(known: \[(.*)\]\)", message)
                named = value_at(data, path)
                if listed and isinstance(named, str):
                    hint = _suggest(named, re.findall(r"'([^']*)'", listed.group(1)))
    finding = Finding(
        reason,
        message,
        file=doc.file,
        line=doc.line_of(path),
        column=format_path(path) or None,
        hint=hint,
    )
    return finding, path


def validation_findings(exc: ValidationError, doc: YamlDoc) -> list[Finding]:
    r"""Map every pydantic error to a finding with its reason, YAML line and key path.

    Errors of one union's alternatives at one place are merged into one finding; inside a
    named list item the message starts with the item's path and name.

    Example:
        >>> doc = parse_yaml("schema_version: 1\nname: d\nreference: r\nsettings:\n"
        ...                  "  rounding_mode: half_down\n", "r.yaml")
        >>> try:
        ...     RuleSet.model_validate(doc.data)
        ... except ValidationError as exc:
        ...     [(f.code, f.line, f.column) for f in validation_findings(exc, doc)]
        [('RULE_BAD_VALUE', 5, 'settings.rounding_mode')]
    """
    merged: dict[KeyPath, Finding] = {}
    for error in exc.errors():
        finding, path = _finding(error, doc)
        previous = merged.get(path)
        if previous is None:
            merged[path] = finding
        elif finding.message not in previous.message:
            reason = (
                Reason.RULE_BAD_VALUE
                if Reason.RULE_BAD_VALUE in (previous.reason, finding.reason)
                else previous.reason
            )
            merged[path] = replace(
                previous,
                reason=reason,
                message=f"{previous.message}; or: {finding.message}",
                hint=previous.hint or finding.hint,
            )
    # a missing key next to an unknown key that is its misspelling is one mistake, not two
    misspelt = set()
    for path, finding in merged.items():
        m = re.match(r"did you mean '([^']+)'", finding.hint or "")
        if finding.reason is Reason.RULE_UNKNOWN_KEY and m:
            misspelt.add((*path[:-1], m.group(1)))
    out: list[Finding] = []
    for path, finding in merged.items():
        if finding.reason is Reason.RULE_MISSING_KEY and path in misspelt:
            continue
        label = _named_item(doc.data, path)
        out.append(replace(finding, message=f"{label}: {finding.message}") if label else finding)
    return out
