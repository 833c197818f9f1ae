"""The live display on a terminal (rich): the run's job i of n with its label, elapsed time and
an estimate of the time left, and under it the current job's own progress.

Finished jobs stay on screen as one line each; everything else is redrawn in place. While the
display runs, stdout/stderr (prints, the terminal's log handlers) are routed through it, so a
warning appears above the display instead of tearing it. Imported only when stdout is a terminal.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Column

from .base import format_metrics, format_seconds

__all__ = ["LiveProgress"]

_STATUS_MARK = {"done": "[green]✓[/]", "failed": "[red]✗[/]", "interrupted": "[yellow]■[/]"}


class LiveProgress:
    """A rich `Progress` with two rows: the run, and the job running now."""

    def __init__(self, console: Any = None) -> None:
        # The description takes the width left (cut with an ellipsis on a narrow terminal);
        # the counts and times keep theirs.
        description = Column(ratio=1, no_wrap=True, overflow="ellipsis")
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", table_column=description),
            BarColumn(bar_width=12),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.fields[eta]}"),
            console=console,
            redirect_stdout=True,
            redirect_stderr=True,
            expand=True,
        )
        self.n_jobs = 0
        self._run_task: Any = None
        self._job_task: Any = None
        self._job_index = 0
        self._label = ""
        self._durations: list[float] = []
        self._moved: list[tuple[logging.Handler, Any]] = []

    # -- the terminal's log handlers follow the display while it runs -----------------------
    def _route_handlers(self) -> None:
        originals = {id(sys.__stdout__), id(sys.__stderr__)}
        for handler in logging.getLogger().handlers:
            if type(handler) is logging.StreamHandler and id(handler.stream) in originals:
                target = sys.stdout if handler.stream is sys.__stdout__ else sys.stderr
                self._moved.append((handler, handler.setStream(target)))

    def _restore_handlers(self) -> None:
        for handler, stream in self._moved:
            handler.setStream(stream)
        self._moved.clear()

    # -- Progress ------------------------------------------------------------------------
    def run_started(self, n_jobs: int) -> None:
        self.n_jobs = n_jobs
        self._started = time.monotonic()
        self._run_task = self._progress.add_task("starting", total=n_jobs, eta="")
        self._progress.start()
        self._route_handlers()

    def _eta(self) -> str:
        done = len(self._durations)
        left = self.n_jobs - self._progress.tasks[self._run_task].completed
        if not done or left <= 0:
            return ""
        minutes, seconds = divmod(int(sum(self._durations) / done * left), 60)
        return f"~{minutes}:{seconds:02d} left"

    def job_started(self, i: int, label: str) -> None:
        self._job_index, self._label = i, label
        self._progress.update(
            self._run_task,
            description=f"job {i}/{self.n_jobs} [bold]{escape(label)}[/]",
            eta=self._eta(),
        )
        if self._job_task is not None:
            self._progress.remove_task(self._job_task)
        self._job_task = self._progress.add_task("  starting", total=None, eta="")

    def job_skipped(self, i: int, label: str) -> None:
        self._progress.console.print(f"[dim]- [{i}/{self.n_jobs}] {escape(label)}: done before[/]")
        self._progress.advance(self._run_task)

    def job_progress(self, done: int, total: int | None, what: str, **metrics: Any) -> None:
        if self._job_task is None:
            return
        shown = format_metrics(metrics)
        self._progress.update(
            self._job_task,
            description=f"  {escape(what)}" + (f" [cyan]{escape(shown)}[/]" if shown else ""),
            completed=done,
            total=total,
        )

    def job_finished(self, status: str, elapsed: float) -> None:
        if status == "done":
            self._durations.append(elapsed)
        mark = _STATUS_MARK.get(status.split(" ", 1)[0], "?")  # "done (restored ...)"
        self._progress.console.print(
            f"{mark} [{self._job_index}/{self.n_jobs}] {escape(self._label)}: {status} "
            f"in {format_seconds(elapsed)}",
            highlight=False,
        )
        if self._job_task is not None:
            self._progress.remove_task(self._job_task)
            self._job_task = None
        self._progress.advance(self._run_task)
        self._progress.update(self._run_task, eta=self._eta())

    def run_finished(self) -> None:
        self._restore_handlers()
        if self._run_task is not None:
            self._progress.remove_task(self._run_task)
        self._progress.stop()
