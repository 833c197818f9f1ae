"""One line per event: the display when stdout is not a terminal (logs, CI, tests).

A job's own progress is printed when it reaches its total, when what is counted changes (a new
epoch), and otherwise at most every `interval` seconds, so that a long job shows it is alive
without flooding a log file.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from .base import format_metrics, format_seconds

__all__ = ["PlainProgress"]


class PlainProgress:
    """Writes `[i/n] ...` lines to `stream` (default: `sys.stdout` at the time of writing)."""

    def __init__(self, stream: TextIO | None = None, interval: float = 15.0) -> None:
        self._stream = stream
        self.interval = interval
        self.n_jobs = 0
        self._tag = ""
        self._last_what: str | None = None
        self._last_time = 0.0

    def _write(self, line: str) -> None:
        stream = self._stream or sys.stdout
        stream.write(line + "\n")
        stream.flush()

    def run_started(self, n_jobs: int) -> None:
        self.n_jobs = n_jobs
        self._write(f"run: {n_jobs} job(s)")

    def job_started(self, i: int, label: str) -> None:
        self._tag = f"[{i}/{self.n_jobs}]"
        self._last_what, self._last_time = None, 0.0
        self._write(f"{self._tag} {label}")

    def job_skipped(self, i: int, label: str) -> None:
        self._write(f"[{i}/{self.n_jobs}] {label}: skipped (done before)")

    def job_progress(self, done: int, total: int | None, what: str, **metrics: Any) -> None:
        now = time.monotonic()
        due = (
            what != self._last_what
            or (total is not None and done >= total)
            or now - self._last_time >= self.interval
        )
        if not due:
            return
        self._last_what, self._last_time = what, now
        count = f"{done}/{total}" if total is not None else str(done)
        shown = format_metrics(metrics)
        self._write(f"{self._tag}   {what} {count}" + (f" {shown}" if shown else ""))

    def job_finished(self, status: str, elapsed: float) -> None:
        self._write(f"{self._tag} {status} in {format_seconds(elapsed)}")

    def run_finished(self) -> None:
        pass
