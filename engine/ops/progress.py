"""Showing a run's steps as they happen: a progress display for people, JSON lines for schedulers.

Both are step hooks (:data:`engine.pipeline.StepHook`) and write to standard error, so standard
output keeps the run's report.

* :class:`StepProgress`: one line per step with a spinner and pulsing bar while it runs, then
  its elapsed time and rows out (rich). Used only when standard error is a terminal, so
  ``rich.progress`` is imported only when one is made.
* :class:`JsonLines`: one JSON object per line, per step event: ``{"event": "start"|"end",
  "run_id", "step", "status", "started", "elapsed", "rows_in", "rows_out", "error"}``, and
  whatever else :meth:`JsonLines.emit` is given (anomaly flags, the run's summary).

Example:
    >>> import io
    >>> from engine.pipeline import Step
    >>> stream = io.StringIO()
    >>> log = JsonLines("R1", stream)
    >>> log(Step("load", "2026-01-01T00:00:00.000+00:00", 0.25, 0, 120))
    >>> json.loads(stream.getvalue())["rows_out"]
    120
"""

from __future__ import annotations

import json
import sys
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import TaskID

    from engine.pipeline import Step


class JsonLines:
    """Step events as JSON lines (see the module docstring)."""

    def __init__(self, run_id: str, stream: IO[str] | None = None) -> None:
        self.run_id = run_id
        self.stream = stream

    def __call__(self, step: Step) -> None:
        """Emit one step event."""
        self.emit(
            "start" if step.status == "started" else "end",
            step=step.name,
            status="running" if step.status == "started" else step.status,
            started=step.started,
            elapsed=round(step.seconds, 6),
            rows_in=step.rows_in,
            rows_out=step.rows_out,
            error=step.error,
        )

    def emit(self, event: str, **fields: Any) -> None:
        """Write one ``{"event": event, "run_id": ..., **fields}`` line and flush it."""
        stream = self.stream or sys.stderr
        line = {"event": event, "run_id": self.run_id, **fields}
        stream.write(json.dumps(line, sort_keys=True, default=str) + "\n")
        stream.flush()


class StepProgress:
    """A live display of the steps on ``console`` (use as a context manager)."""

    def __init__(self, console: Console) -> None:
        from rich.progress import (  # noqa: PLC0415 (only a terminal shows it)
            BarColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            SpinnerColumn(finished_text=" "),
            TextColumn("{task.description:<16}"),
            BarColumn(bar_width=24),
            TimeElapsedColumn(),
            TextColumn("{task.fields[note]}"),
            console=console,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> StepProgress:
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.stop()

    def __call__(self, step: Step) -> None:
        """Start a step's line, or finish it with its rows (or ``failed``)."""
        if step.status == "started":
            self._tasks[step.name] = self._progress.add_task(step.name, total=None, note="")
            return
        task = self._tasks.pop(step.name, None)
        if task is None:
            return
        note = f"{step.rows_out:,} rows" if step.status == "ok" else "[red]failed[/red]"
        self._progress.update(task, total=1, completed=1, note=note)
