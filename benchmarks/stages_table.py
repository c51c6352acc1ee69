"""Print the Markdown table of a ``bench_stages.py`` JSON file (stage, rows, seconds, rows/s).

Usage::

    .venv/bin/python benchmarks/stages_table.py .benchmarks/stages-S.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def table(report: dict[str, object]) -> str:
    """The Markdown rows of one pytest-benchmark JSON report, in pipeline order."""
    benches = report["benchmarks"]
    assert isinstance(benches, list)
    lines = [
        "| stage | rows | wall s | rows/s (wall) | CPU s | rounds |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    total = cpu_total = 0.0
    for bench in benches:
        info, stats = bench["extra_info"], bench["stats"]
        inside = info["stage"] == "kernels"  # a part of the incentives stage
        total += 0.0 if inside else stats["min"]
        cpu = info.get("cpu_s")
        cpu_total += 0.0 if inside or cpu is None else cpu
        label = info["stage"] + (" (inside incentives)" if inside else "")
        lines.append(
            f"| {label} | {info['rows']:,} | {stats['min']:.3f} "
            f"| {info['rows_per_s']:,.0f} | {'' if cpu is None else f'{cpu:.2f}'} "
            f"| {stats['rounds']} |"
        )
    lines.append(f"| **sum of stages** | | **{total:.2f}** | | **{cpu_total:.2f}** | |")
    return "\n".join(lines)


def main() -> None:
    """Read the JSON file named on the command line and print its table."""
    report = json.loads(Path(sys.argv[1]).read_text())
    machine = report.get("machine_info", {})
    commit = report.get("commit_info", {})
    print(
        f"commit {commit.get('id', '?')[:7]}, {report.get('datetime', '?')}, "
        f"{machine.get('cpu', {}).get('brand_raw', '?')}, Python {machine.get('python_version')}"
    )
    print()
    print(table(report))


if __name__ == "__main__":
    main()
