r"""Strict YAML loading that keeps line numbers and reads numbers exactly.

A rule set is read with ruamel.yaml's *composer* only (YAML 1.2, pure Python, safe): the node
tree is turned into plain data here, so no Python object is ever constructed from the file and
no constructor is registered anywhere. On the way:

* every mapping key and sequence item gets its 1-based line, keyed by its path
  (``("plans", 0, "components", 1, "rate_table")``);
* a key repeated in one mapping is ``RULE_DUPLICATE_KEY`` at the line of the repetition
  (all repetitions are reported together);
* numbers are exact: an integer is an ``int``, any other number a :class:`~decimal.Decimal`
  built from the text as written (``0.1`` is ``Decimal('0.1')``, never the float
  ``0.1000000000000000055...``); ``.inf`` and ``.nan`` are refused;
* dates stay text as written (``2026-01-31``); ``yes``/``no``/``on``/``off`` are text (YAML 1.2);
* aliases (``*name``), merge keys (``<<``) and tags other than the core ones (``!!str``...)
  are refused: every value in a rule set is written where it applies;
* a syntax error is ``RULE_YAML_SYNTAX`` at its line.

Example:
    >>> doc = parse_yaml("rate: 0.05\ntiers:\n  - {from: 0, to: 100.10}\n", "r.yaml")
    >>> doc.data
    {'rate': Decimal('0.05'), 'tiers': [{'from': 0, 'to': Decimal('100.10')}]}
    >>> doc.lines[("tiers", 0, "to")], doc.line_of(("tiers", 0, "to", "nested"))
    (3, 3)
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from engine.errors import EngineError, Finding, Reason

__all__ = [
    "MAX_NESTING",
    "KeyPath",
    "YamlDoc",
    "child",
    "format_path",
    "load_yaml",
    "parse_yaml",
    "value_at",
]

KeyPath = tuple[str | int, ...]
"""Where a value sits in the document: mapping keys and sequence indexes from the root."""

MAX_NESTING = 64
"""Deepest nesting of mappings and sequences accepted."""

MAX_NUMBER_DIGITS = 40
"""Most digits a number may have before or after the point (far beyond any exact value the
engine can hold): ``1e999999999`` would otherwise be written out as a billion digits."""

_CORE = "tag:yaml.org,2002:"
_INT_RE = re.compile(r"^[-+]?(?:0x[0-9a-fA-F_]+|0o[0-7_]+|0b[01_]+|[0-9][0-9_]*)$")


@dataclass(frozen=True)
class YamlDoc:
    """A parsed YAML document as plain data, with the line of every key and item.

    Attributes:
        data: dicts (str keys, in file order), lists, str, int, Decimal, bool and None.
        lines: key path -> 1-based line of the key (mapping entries) or the item (sequences).
        file: the file name used in findings.
        text: the document text.
    """

    data: Any
    lines: Mapping[KeyPath, int] = field(default_factory=dict)
    file: str = "<string>"
    text: str = ""

    def line_of(self, path: KeyPath) -> int | None:
        r"""The line of ``path``, or of its nearest ancestor that has one.

        Example:
            >>> parse_yaml("a:\n  b: 1\n").line_of(("a", "b", "c"))
            2
        """
        for cut in range(len(path), -1, -1):
            line = self.lines.get(path[:cut])
            if line is not None:
                return line
        return None


def format_path(path: KeyPath) -> str:
    """A key path as text: ``plans[0].components[1].rate_table``.

    Example:
        >>> format_path(("plans", 0, "components", 1, "rate_table"))
        'plans[0].components[1].rate_table'
    """
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def child(value: Any, part: str | int) -> tuple[bool, Any]:
    """One step down plain data: ``(True, value[part])`` when it exists, else ``(False, None)``.

    Example:
        >>> child({"a": [1, 2]}, "a"), child([1, 2], 5), child([1, 2], "a")
        ((True, [1, 2]), (False, None), (False, None))
    """
    if isinstance(value, dict) and isinstance(part, str) and part in value:
        return True, value[part]
    if isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
        return True, value[part]
    return False, None


def value_at(data: Any, path: KeyPath) -> Any:
    """The value at ``path`` in plain data, or None when the path does not exist.

    Example:
        >>> value_at({"a": [{"b": 1}]}, ("a", 0, "b")), value_at({"a": []}, ("a", 0))
        (1, None)
    """
    current = data
    for part in path:
        ok, current = child(current, part)
        if not ok:
            return None
    return current


class _Builder:
    """Turns a composed node tree into plain data, recording lines and problems."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.lines: dict[KeyPath, int] = {}
        self.findings: list[Finding] = []
        self.seen: set[int] = set()

    def problem(self, reason: Reason, message: str, node: Node, path: KeyPath, hint: str) -> None:
        self.findings.append(
            Finding(
                reason,
                message,
                file=self.file,
                line=node.start_mark.line + 1,
                column=format_path(path) or None,
                hint=hint,
            )
        )

    def build(self, node: Node, path: KeyPath) -> Any:
        if len(path) > MAX_NESTING:
            self.problem(
                Reason.RULE_BAD_VALUE,
                f"the document is nested more than {MAX_NESTING} levels deep",
                node,
                path,
                "flatten the structure",
            )
            return None
        if id(node) in self.seen:
            # an alias is the anchored node itself: report it where it is used (its key)
            line = self.lines.get(path[:-1] if isinstance(path[-1], int) else path)
            self.lines[path] = line or node.start_mark.line + 1
            self.findings.append(
                Finding(
                    Reason.RULE_BAD_VALUE,
                    "YAML aliases (*name) are not supported in rule sets",
                    file=self.file,
                    line=self.lines[path],
                    column=format_path(path) or None,
                    hint="write the value out where it is used (a rule set is read as written)",
                )
            )
            return None
        self.seen.add(id(node))
        tag = str(node.tag)
        if isinstance(node, MappingNode):
            if tag != _CORE + "map":
                return self.bad_tag(node, path, tag)
            return self.mapping(node, path)
        if isinstance(node, SequenceNode):
            if tag != _CORE + "seq":
                return self.bad_tag(node, path, tag)
            return [self.item(child, (*path, i)) for i, child in enumerate(node.value)]
        assert isinstance(node, ScalarNode)
        return self.scalar(node, path, tag)

    def item(self, node: Node, path: KeyPath) -> Any:
        self.lines[path] = node.start_mark.line + 1
        return self.build(node, path)

    def mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                self.problem(
                    Reason.RULE_BAD_TYPE,
                    "a mapping key must be plain text",
                    key_node,
                    path,
                    "write keys as plain words, e.g. name:",
                )
                continue
            if str(key_node.tag) == _CORE + "merge":
                self.problem(
                    Reason.RULE_BAD_VALUE,
                    "YAML merge keys (<<) are not supported in rule sets",
                    key_node,
                    path,
                    "write the keys out in each mapping",
                )
                continue
            key = str(key_node.value)
            key_path = (*path, key)
            line = key_node.start_mark.line + 1
            if key in out:
                first = self.lines.get(key_path)
                self.problem(
                    Reason.RULE_DUPLICATE_KEY,
                    f"key {key!r} is repeated (first at line {first})",
                    key_node,
                    key_path,
                    "remove the repeated key; each key may appear once in a mapping",
                )
                continue
            self.lines[key_path] = line
            out[key] = self.build(value_node, key_path)
        return out

    def scalar(self, node: ScalarNode, path: KeyPath, tag: str) -> Any:
        text = str(node.value)
        kind = tag.removeprefix(_CORE) if tag.startswith(_CORE) else None
        if kind in ("str", "timestamp", "merge"):
            return text
        if kind == "null":
            return None
        if kind == "bool":
            return text.lower() == "true"
        if kind == "int" and _INT_RE.match(text):
            if len(text) <= MAX_NUMBER_DIGITS + 3:  # sign and base prefix
                return _to_int(text)
            self.problem(
                Reason.RULE_BAD_VALUE,
                f"the number {text[:20]}... has more than {MAX_NUMBER_DIGITS} digits",
                node,
                path,
                "write a number the engine can hold exactly",
            )
            return None
        if kind == "float":
            number = _to_decimal(text)
            if number is not None:
                return number
            self.problem(
                Reason.RULE_BAD_VALUE,
                f"{text[:40]!r} is not a finite decimal number of at most "
                f"{MAX_NUMBER_DIGITS} digits",
                node,
                path,
                "write a plain decimal such as 0.05",
            )
            return None
        return self.bad_tag(node, path, tag)

    def bad_tag(self, node: Node, path: KeyPath, tag: str) -> None:
        shown = "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag
        self.problem(
            Reason.RULE_BAD_VALUE,
            f"the YAML tag {shown} is not supported in rule sets",
            node,
            path,
            "remove the tag; write plain text, numbers, lists and mappings",
        )


def _to_int(text: str) -> int:
    t = text.replace("_", "")
    sign = -1 if t.startswith("-") else 1
    t = t.lstrip("+-")
    base = {"0x": 16, "0o": 8, "0b": 2}.get(t[:2].lower(), 10)
    return sign * int(t[2:] if base != 10 else t, base)


def _to_decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text.replace("_", ""))
    except InvalidOperation:
        return None
    if not number.is_finite():
        return None
    if number and abs(number.adjusted()) > MAX_NUMBER_DIGITS:
        return None  # 1e999999999 would be written out as a billion digits
    if not number:
        return Decimal(0)
    return Decimal(format(number, "f"))  # positional: 1e3 -> 1000, 2.50 stays 2.50


def _flow_depth_problem(text: str, file: str) -> EngineError | None:
    """Refuse flow collections (``[``/``{``) nested beyond :data:`MAX_NESTING`, before parsing.

    The YAML scanner slows down sharply on deep flow nesting, so this linear pre-scan (which
    skips quoted text and comments) stops a hostile file early.
    """
    depth, line, quote = 0, 1, ""
    prev = "\n"
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\n":
            line += 1
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = ""
        elif ch == "#" and prev in " \t\n":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        elif ch in "'\"" and prev in " \t\n[{,:-?":
            quote = ch
        elif ch in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return EngineError.single(
                    Reason.RULE_BAD_VALUE,
                    f"the document is nested more than {MAX_NESTING} levels deep",
                    file=file,
                    line=line,
                    hint="flatten the structure",
                )
        elif ch in "]}":
            depth = max(0, depth - 1)
        prev = ch
        i += 1
    return None


def _syntax_error(exc: MarkedYAMLError, file: str) -> EngineError:
    """A syntax error at its line; an unclosed ``[`` or ``{`` is reported where it opens."""
    problem, context = exc.problem or "invalid YAML", exc.context or ""
    mark = exc.problem_mark or exc.context_mark
    if exc.context_mark is not None and "flow" in context:
        mark = exc.context_mark
    where = ""
    if exc.problem_mark is not None and mark is not exc.problem_mark:
        where = f" (noticed at line {exc.problem_mark.line + 1})"
    message = f"YAML syntax error: {context + ': ' if context else ''}{problem}{where}"
    return EngineError.single(
        Reason.RULE_YAML_SYNTAX,
        message,
        file=file,
        line=mark.line + 1 if mark is not None else None,
    )


def parse_yaml(text: str, file: str = "<string>") -> YamlDoc:
    r"""Parse YAML text strictly into plain data with line numbers.

    Args:
        text: the document.
        file: the name used in findings.

    Returns:
        The document (``data`` is None for an empty document).

    Raises:
        EngineError: ``RULE_YAML_SYNTAX`` (with the line), or every ``RULE_DUPLICATE_KEY``
            and refused construct (``RULE_BAD_VALUE``) found in the document.

    Example:
        >>> parse_yaml("a: 1\nb: 2\na: 3\n", "r.yaml")
        Traceback (most recent call last):
        ...
        engine.errors.EngineError: r.yaml:3 [a] RULE_DUPLICATE_KEY: key 'a' is repeated...
    """
    too_deep = _flow_depth_problem(text, file)
    if too_deep is not None:
        raise too_deep
    yaml = YAML(typ="safe", pure=True)
    try:
        node = yaml.compose(io.StringIO(text))
    except MarkedYAMLError as exc:
        raise _syntax_error(exc, file) from None
    except (YAMLError, RecursionError) as exc:
        message = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise EngineError.single(
            Reason.RULE_YAML_SYNTAX, f"YAML syntax error: {message}", file=file
        ) from None
    if node is None:
        return YamlDoc(None, {(): 1}, file, text)
    builder = _Builder(file)
    builder.lines[()] = node.start_mark.line + 1
    try:
        data = builder.build(node, ())
    except RecursionError:
        raise EngineError.single(
            Reason.RULE_BAD_VALUE, "the document is nested too deeply", file=file
        ) from None
    if builder.findings:
        raise EngineError(sorted(builder.findings, key=lambda f: f.line or 0))
    return YamlDoc(data, builder.lines, file, text)


def load_yaml(path: Path, file: str | None = None) -> YamlDoc:
    r"""Read a YAML file strictly (UTF-8) into plain data with line numbers.

    Args:
        path: the file.
        file: the name used in findings; default: the path as given.

    Raises:
        EngineError: ``FILE_MISSING``, ``BAD_ENCODING``, ``FILE_UNREADABLE``, or any error of
            :func:`parse_yaml`.

    Example:
        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = pathlib.Path(d) / "r.yaml"
        ...     _ = p.write_text("name: demo\nrate: 0.1\n")
        ...     load_yaml(p).data
        {'name': 'demo', 'rate': Decimal('0.1')}
    """
    name = file if file is not None else str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise EngineError.single(
            Reason.FILE_MISSING, f"rule set not found: {path}", file=name
        ) from None
    except OSError as exc:
        raise EngineError.single(
            Reason.FILE_UNREADABLE, f"cannot read the rule set: {exc.strerror}", file=name
        ) from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise EngineError.single(
            Reason.BAD_ENCODING, "the rule set is not valid UTF-8", file=name, line=line
        ) from None
    return parse_yaml(text, name)
