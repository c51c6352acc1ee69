"""One test over the whole corpus of bad inputs, through the real command line.

Each data case runs ``icm validate DIR``; each rule-set case runs ``icm run`` on a clean company
with that rule set. For every case: the exit code, the reason codes, the message keywords, the
row accounting (rows read = accepted + rejected) and no traceback. A few cases also run as a
separate process, the way a user runs them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from typer.testing import CliRunner

from engine.cli import app
from engine.errors import Reason

from .corpus import VALID_DATA, Case, corpus, table_rows

CASES = corpus()
_CODE = re.compile(r"(?<![A-Za-z0-9_])([A-Z][A-Z0-9_]{2,}): ")
"""A reason code as the command prints it: ``location CODE: message``."""
_REASONS = {r.value for r in Reason}
runner = CliRunner()


def _no_traceback(output: str) -> None:
    assert "Traceback" not in output, output
    assert "internal error" not in output, output


def _invoke(case: Case, tmp_path: Path) -> tuple[int, str, list[str], list[str]]:
    """Run the case through ``icm``: exit code, all output, reason codes, messages and hints."""
    if case.kind == "rules":
        result = runner.invoke(app, ["run", str(VALID_DATA), "--rules", str(case.path)])
        codes = [c for c in _CODE.findall(result.stderr) if c in _REASONS]
        return result.exit_code, result.output, codes, [result.stderr]
    rejects = tmp_path / "rejects.parquet"
    args = ["validate", str(case.path), "--rejects", str(rejects), "--show", "0"]
    result = runner.invoke(app, args)
    found = pl.read_parquet(rejects)
    texts = [f"{m} (hint: {h})" for m, h in found.select("message", "hint").rows()]
    return result.exit_code, result.output, sorted(found["reason"]), texts


def test_the_corpus_is_large_and_covers_data_and_rules() -> None:
    kinds = Counter(c.kind for c in CASES)
    failing = [c for c in CASES if c.codes]
    assert len(failing) >= 40, len(failing)
    assert kinds["data"] >= 20, kinds
    assert kinds["rules"] >= 20, kinds
    for case in failing:
        assert case.keywords, f"{case.name} declares no message keyword"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input(case: Case, tmp_path: Path) -> None:
    code, output, reasons, texts = _invoke(case, tmp_path)
    _no_traceback(output)
    assert code == case.exit_code, output
    assert reasons == case.codes, output
    for keyword in case.keywords:
        assert any(keyword in t for t in texts), (keyword, texts)
    if case.kind == "data":
        accounting = {r[1]: r for r in table_rows(output) if len(r) == 6}
        assert accounting, output
        for row in accounting.values():
            read, accepted, rejected = (int(v) for v in row[2:5])
            assert read == accepted + rejected, row
        for file, counts in case.accounting.items():
            row = accounting[file]
            wanted = [str(counts[k]) for k in ("rows_read", "rows_accepted", "rows_rejected")]
            assert row[2:5] == wanted, row


SUBPROCESS = [
    "data/binary_garbage",
    "data/number_spellings",
    "rules/python_tag",
    "rules/deep_nesting",
]


@pytest.mark.parametrize("name", SUBPROCESS)
def test_a_user_running_icm_sees_no_traceback(name: str) -> None:
    case = next(c for c in CASES if c.name == name)
    if case.kind == "rules":
        args = ["run", str(VALID_DATA), "--rules", str(case.path)]
    else:
        args = ["validate", str(case.path), "--show", "1000"]
    code = "from engine.cli import main; main()"
    command = [sys.executable, "-c", code, *args]
    done = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
    _no_traceback(done.stdout + done.stderr)
    assert done.returncode == case.exit_code, done.stderr
    for reason in set(case.codes):
        assert reason in done.stdout + done.stderr
