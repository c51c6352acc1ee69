"""`icm` loads only what a command needs: the heavy optional libraries stay out of a sample run.

Checked in a fresh process (``sys.modules``), since other tests load everything.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_LOADED = (
    "import atexit, json, sys\n"
    "atexit.register(lambda: print(json.dumps(sorted(sys.modules)), file=sys.stderr))\n"
)


def _modules(code: str, *args: str) -> set[str]:
    shown = subprocess.run(
        [sys.executable, "-c", _LOADED + code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert shown.returncode == 0, shown.stdout + shown.stderr
    return set(json.loads(shown.stderr.strip().splitlines()[-1]))


def _roots(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_importing_the_cli_loads_no_heavy_library() -> None:
    loaded = _roots(_modules("import engine.cli"))
    assert "typer" in loaded
    assert not loaded & {"duckdb", "numba", "pandas", "pyarrow", "numpy", "jinja2"}


def test_a_sample_run_loads_no_numba_pyarrow_pandas_or_jinja(tmp_path: Path) -> None:
    code = "from engine.cli import main\nsys.argv = ['icm', *sys.argv[1:]]\nmain()\n"
    args = ["run", "fixtures/sample", "--rules", "rules/sample.yaml", "--out", str(tmp_path)]
    modules = _modules(code, *args)
    loaded = _roots(modules)
    assert "duckdb" in loaded  # the run log
    assert not loaded & {"numba", "pandas", "pyarrow", "jinja2"}
    assert "rich.progress" not in modules  # standard error is not a terminal here
