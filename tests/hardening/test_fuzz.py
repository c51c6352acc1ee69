"""Fuzzing: generated rule sets and data never fail with anything but a typed error.

Rule sets are random mutations of the valid ones in ``rules/`` (keys deleted or renamed, values
of the wrong type, random condition strings, deep nesting, huge numbers) and random edits of
their text. Data directories are the clean company of ``fixtures/bad/data/valid_base`` with
random cells, lines or bytes replaced. Loading either must end in a result or an
``EngineError`` whose findings carry registered reason codes; for data, every row read is
accepted or rejected. A few mutated rule sets that load are run end to end.

Example counts are bounded (the suite runs in CI under the derandomized ``ci`` profile);
``HYPOTHESIS_PROFILE=explore`` searches afresh.
"""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from engine.errors import EngineError, Reason
from engine.loading import load_dataset
from engine.rules.load import parse_ruleset

from .corpus import ROOT, VALID_DATA

SEEDS = sorted(
    [ROOT / "rules" / "sample.yaml", *(ROOT / "rules" / "examples").glob("**/rules.yaml")]
)
FUZZ = settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)
_yaml = YAML(typ="safe", pure=True)
SAMPLE_RULES = ROOT / "rules" / "sample.yaml"
SAMPLE_DATA = ROOT / "fixtures" / "sample"


def _seed_data(path: Path) -> Any:
    return _yaml.load(path.read_text(encoding="utf-8"))


SEED_DATA = {p: _seed_data(p) for p in SEEDS}


def _dump(data: Any) -> str:
    out = StringIO()
    _yaml.dump(data, out)
    return out.getvalue()


def _typed(exc: EngineError) -> None:
    """An EngineError a user can read: findings with registered codes that render."""
    assert exc.findings
    for finding in exc.findings:
        assert finding.reason in Reason
        assert finding.render()


# Rule sets ----------------------------------------------------------------------------------

TOKENS = [
    "amount", "product", "customer", "credit_date", "deal_type", "quantity", "nosuch",
    "=", "<>", "<", ">=", "IN", "NOT", "AND", "OR", "IS", "NULL", "BETWEEN", "LIKE",
    "(", ")", ",", "'A'", "'", '"', "1", "-5", "0.001", "1e999", "99999999999999999999999999",
    "DATE", "'2026-02-30'", "__import__('os')", "open('/etc/passwd')", ";", "--", "*", ".",
    "$", "{", "}", "\\", "\x00", "é", "🙂",
]  # fmt: skip
CONDITIONS = st.one_of(
    st.lists(st.sampled_from(TOKENS), max_size=12).map(" ".join),
    st.text(max_size=40),
    st.just("(" * 60 + "amount > 0" + ")" * 60),
    st.just(" OR ".join(["amount > 0"] * 400)),
)


def _deep(depth: int) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**25), 10**25),
    st.sampled_from([0, -1, 10**18, 2**63, -(2**63) - 1]),
    st.text(max_size=20),
    st.sampled_from(["5%", "-5%", "1e400%", "0.00000000001", "1e-30", "NaN", "inf", "1,5", ""]),
    CONDITIONS,
    st.lists(st.integers(-3, 3), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    st.integers(20, 90).map(_deep),
)


def _paths(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _paths(v, (*path, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _paths(v, (*path, i))
    return out


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


@st.composite
def mutated_rule_sets(draw: st.DrawFn) -> str:
    """The text of a valid rule set after 1 to 4 random structural mutations."""
    seed = draw(st.sampled_from(SEEDS))
    data = _yaml.load(_dump(SEED_DATA[seed]))  # a deep copy
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(data) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent, last = _at(data, path[:-1]), path[-1]
        op = draw(st.sampled_from(["delete", "replace", "replace", "rename", "duplicate", "when"]))
        if op == "delete":
            del parent[last]
        elif op == "rename" and isinstance(parent, dict):
            parent[draw(st.sampled_from([str(last) + "x", str(last)[:-1], "when", "tiers"]))] = (
                parent.pop(last)
            )
        elif op == "duplicate" and isinstance(parent, list):
            parent.append(parent[last])
        elif op == "when" and isinstance(parent, dict):
            parent["when"] = draw(CONDITIONS)
        else:
            parent[last] = draw(VALUES)
    return _dump(data)


YAML_BITS = [b"\t", b"\r", b": ", b"- ", b"&a ", b"*a", b"!!python/name:os ", b"{", b"["]


@st.composite
def edited_texts(draw: st.DrawFn) -> bytes:
    """The bytes of a valid rule set with random bytes replaced, inserted or cut."""
    raw = bytearray(draw(st.sampled_from(SEEDS)).read_bytes())
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(raw)))
        op = draw(st.sampled_from(["insert", "replace", "cut"]))
        chunk = draw(st.one_of(st.binary(min_size=1, max_size=4), st.sampled_from(YAML_BITS)))
        if op == "insert":
            raw[at:at] = chunk
        elif op == "replace":
            raw[at : at + len(chunk)] = chunk
        else:
            del raw[at : at + draw(st.integers(1, 200))]
    return bytes(raw)


@FUZZ
@given(mutated_rule_sets())
def test_mutated_rule_sets_load_or_fail_typed(text: str) -> None:
    try:
        parse_ruleset(text, "fuzz.yaml", base_dir=ROOT / "rules")
    except EngineError as exc:
        _typed(exc)


@FUZZ
@given(edited_texts())
def test_edited_rule_files_load_or_fail_typed(tmp_path: Path, raw: bytes) -> None:
    from engine.rules import load_ruleset

    path = tmp_path / "fuzz.yaml"
    path.write_bytes(raw)
    try:
        load_ruleset(path)
    except EngineError as exc:
        _typed(exc)


NUMBERS = st.one_of(
    st.sampled_from([0, 1, 2, 10**12, 10**15, 10**17, -1, "0.0000000001", "99999%", "1e12"]),
    st.integers(0, 10**16),
    st.decimals(0, 10**6, places=4, allow_nan=False, allow_infinity=False).map(str),
)


@st.composite
def renumbered_rule_sets(draw: st.DrawFn) -> str:
    """The sample rule set with a few of its numbers (rates, bounds, amounts, caps) replaced.

    Such rule sets mostly load, so they reach crediting and the calculation.
    """
    data = _yaml.load(_dump(SEED_DATA[SAMPLE_RULES]))
    numbers = [
        p
        for p in _paths(data)
        if p
        and p[0] != "schema_version"
        and isinstance(_at(data, p), int | float)
        and not isinstance(_at(data, p), bool)
    ]
    for path in draw(st.lists(st.sampled_from(numbers), min_size=1, max_size=3)) if numbers else []:
        _at(data, path[:-1])[path[-1]] = draw(NUMBERS)
    return _dump(data)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(renumbered_rule_sets())
def test_renumbered_rule_sets_run_or_fail_typed(tmp_path: Path, text: str) -> None:
    from engine.pipeline import run

    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        run(SAMPLE_DATA, path)
    except EngineError as exc:
        _typed(exc)


# Data ---------------------------------------------------------------------------------------

CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["", " ", '"', '""', ",", "\n", "\r", "-0", "1e5", "NaN", "9" * 30, "0.001", "2026-02-30",
         "0000-01-01", "=1+1", "@SUM(A1)", "\x00", "１２", "P001", "T01", "USD", "2026-01"]
    ),
)  # fmt: skip
CSVS = sorted(p.name for p in VALID_DATA.glob("*.csv"))


def _quote(cell: str) -> str:
    return '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\r\n') else cell


@st.composite
def fuzzed_files(draw: st.DrawFn) -> dict[str, bytes]:
    """Replacement contents for one or two files of the clean company."""
    out: dict[str, bytes] = {}
    for name in draw(st.lists(st.sampled_from(CSVS), min_size=1, max_size=2, unique=True)):
        lines = (VALID_DATA / name).read_text(encoding="utf-8").splitlines()
        rows = [line.split(",") for line in lines]
        for _ in range(draw(st.integers(1, 5))):
            r = draw(st.integers(0, len(rows) - 1))
            op = draw(st.sampled_from(["cell", "cell", "cell", "drop", "copy", "extra"]))
            if op == "cell":
                c = draw(st.integers(0, len(rows[r]) - 1))
                rows[r][c] = _quote(draw(CELLS))
            elif op == "drop" and len(rows) > 1:
                rows.pop(r)
            elif op == "copy":
                rows.insert(r, list(rows[r]))
            else:
                rows[r].append(_quote(draw(CELLS)))
        data = ("\n".join(",".join(row) for row in rows) + "\n").encode("utf-8")
        if draw(st.integers(0, 9)) == 0:  # now and then, raw bytes
            at = draw(st.integers(0, len(data)))
            data = data[:at] + draw(st.binary(min_size=1, max_size=3)) + data[at:]
        out[name] = data
    return out


@FUZZ
@given(fuzzed_files())
def test_fuzzed_data_loads_with_every_row_accounted(
    tmp_path: Path, files: dict[str, bytes]
) -> None:
    directory = tmp_path / "company"
    shutil.rmtree(directory, ignore_errors=True)
    shutil.copytree(VALID_DATA, directory)
    for name, data in files.items():
        (directory / name).write_bytes(data)
    try:
        ds = load_dataset(directory)
    except EngineError as exc:
        _typed(exc)
        return
    assert set(ds.rejects["reason"]) <= {r.value for r in Reason}
    for row in ds.accounting.iter_rows(named=True):
        assert row["rows_read"] == row["rows_accepted"] + row["rows_rejected"], row
        assert ds.tables[row["table"]].height == row["rows_accepted"], row


@pytest.mark.parametrize("seed", SEEDS, ids=[p.parent.name for p in SEEDS])
def test_seeds_are_valid(seed: Path) -> None:
    """The fuzzing starts from rule sets that load: a mutation is the only fault."""
    parse_ruleset(seed.read_text(encoding="utf-8"), str(seed), base_dir=seed.parent)
