"""Run a data directory period by period (:func:`engine.partition.run_partitioned`), measured.

A benchmark driver, not a test. Prints one line per paid period to stderr (partition rows,
seconds, the highest RSS sampled while the period ran, the process ``VmHWM`` so far) and a JSON
summary on stdout: total seconds, per-period figures, output row counts and the payable total.

Two ways to write the outputs under ``--out``:

* default (``--parts``): each period's frames as ``<name>/<period>.parquet`` as soon as the
  period is done, then the run-wide frames (rejects, accounting, roll-up chains) as
  ``<name>.parquet``: nothing is kept in memory between periods (for scale L);
* ``--publish``: the periods' frames are kept, put together (:func:`engine.partition.assemble`)
  and published exactly as ``icm run`` publishes (``runs/<run_id>/``, ``current``), so the files
  can be compared with ``cmp``.

Example:
    flock /tmp/heavy.lock /usr/bin/time -v python benchmarks/run_partitioned.py /tmp/synth_l \\
        --rules rules/examples/synth-company.yaml --out /tmp/part_l > /tmp/part_l.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
from pathlib import Path

import polars as pl

from engine.partition import PeriodFrames, run_partitioned, write_partitioned


def _status(field: str) -> int:
    """A ``/proc/self/status`` field in MB (``VmRSS``, ``VmHWM``)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return 0


class _Sampler(threading.Thread):
    """Samples ``VmRSS`` every 20 ms; :meth:`take` returns the peak since the last take.

    With ``stop_above`` (MB), ends the process (exit code 3) when RSS goes above it: on a shared
    machine a clean stop is better than the kernel's OOM killer choosing a victim.
    """

    def __init__(self, stop_above: int | None = None) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.running = True
        self.stop_above = stop_above
        self.done = 0

    def run(self) -> None:
        while self.running:
            rss = _status("VmRSS")
            self.peak = max(self.peak, rss)
            if self.stop_above is not None and rss > self.stop_above:
                note = {
                    "stopped": f"RSS {rss} MB > {self.stop_above} MB",
                    "periods_done": self.done,
                }
                print(json.dumps(note), file=sys.stderr, flush=True)
                os._exit(3)
            time.sleep(0.02)

    def take(self) -> int:
        peak, self.peak = max(self.peak, _status("VmRSS")), _status("VmRSS")
        return peak


def main() -> int:
    """Parse the arguments, run, write, report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path)
    parser.add_argument("--rules", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--publish", action="store_true", help="publish as icm run does")
    parser.add_argument("--staging", type=Path, default=None, help="parent of the staging dir")
    parser.add_argument("--stop-above-mb", type=int, default=None, help="exit 3 above this RSS")
    args = parser.parse_args()

    sampler = _Sampler(args.stop_above_mb)
    sampler.start()
    t0 = time.perf_counter()
    rows: dict[str, int] = {}
    payable: dict[str, int] = {}
    periods: list[dict[str, object]] = []
    last = [t0]

    def on_period(done: PeriodFrames) -> None:
        for name, frame in done.frames.items():
            if name == "carry_state":
                rows[name] = frame.height
            else:
                rows[name] = rows.get(name, 0) + frame.height
            if not args.publish:
                folder = args.out / name
                folder.mkdir(parents=True, exist_ok=True)
                frame.write_parquet(folder / f"{done.period}.parquet")
        pay = done.frames["payouts"].group_by("currency").agg(pl.col("payable_cents").sum())
        for cur, cents in pay.iter_rows():
            payable[cur] = payable.get(cur, 0) + int(cents)
        now = time.perf_counter()
        figures = {
            "period": done.period,
            "transactions_held": done.transactions,
            "transactions_owned": done.owned,
            "seconds_partition": round(done.seconds, 1),
            "seconds_with_write": round(now - last[0], 1),
            "peak_rss_mb": sampler.take(),
            "vmhwm_mb": _status("VmHWM"),
        }
        last[0] = now
        periods.append(figures)
        sampler.done = len(periods)
        print(json.dumps(figures), file=sys.stderr, flush=True)

    args.out.mkdir(parents=True, exist_ok=True)
    run = run_partitioned(
        args.data_dir,
        args.rules,
        staging=args.staging,
        keep=args.publish,
        on_period=on_period,
    )
    if args.publish:
        directory = write_partitioned(run, args.out)
        print(f"published {directory}", file=sys.stderr)
    else:
        for name, frame in {
            "rejects": run.rejects,
            "accounting": run.accounting,
            **run.shared,
        }.items():
            frame.write_parquet(args.out / f"{name}.parquet")
            rows[name] = frame.height
    summary = {
        "seconds_total": round(time.perf_counter() - t0, 1),
        "run_id": run.run_id,
        "narrowed": run.narrowed,
        "vmhwm_mb": _status("VmHWM"),
        "periods": periods,
        "rows": dict(sorted(rows.items())),
        "rejects": run.rejects.height,
        "accounting": run.accounting.to_dicts(),
        "payable_cents_sum_by_currency": dict(sorted(payable.items())),
    }
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
