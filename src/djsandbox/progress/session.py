"""The display of one run, and one job's place in it (what the runner calls)."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Iterator

from .base import Progress, current, using
from .logs import job_log

__all__ = ["make_display", "displaying", "running_job"]


def on_terminal() -> bool:
    """A live display only on an interactive terminal (not a pipe, a file, CI or `TERM=dumb`)."""
    stream = sys.stdout
    return bool(getattr(stream, "isatty", lambda: False)()) and os.environ.get("TERM") != "dumb"


def make_display() -> Progress:
    """Live (rich) on a terminal, one plain line per event otherwise."""
    if on_terminal():
        from .live import LiveProgress

        return LiveProgress()
    from .plain import PlainProgress

    return PlainProgress()


@contextlib.contextmanager
def displaying(n_jobs: int, display: Progress | None = None) -> Iterator[Progress]:
    """The run's display, active while the block runs (and closed however the block ends)."""
    display = display or make_display()
    with using(display):
        display.run_started(n_jobs)
        try:
            yield display
        finally:
            display.run_finished()


_notes: list[str] = []


def note_job(text: str) -> None:
    """How the running job got done, shown on its line ("done (restored from the job cache)
    in 0.2 s")."""
    _notes.append(text)


@contextlib.contextmanager
def running_job(i: int, label: str, job_dir: Path) -> Iterator[None]:
    """Job `i` of the run: shown as running, its log lines in `<job_dir>/job.log`, and shown as
    done, failed or interrupted when the block ends."""
    display = current()
    display.job_started(i, label)
    started = time.perf_counter()
    status = "failed"
    _notes.clear()
    try:
        with job_log(job_dir):
            yield
        status = "done" + (f" ({'; '.join(_notes)})" if _notes else "")
    except KeyboardInterrupt:
        status = "interrupted"
        raise
    finally:
        display.job_finished(status, time.perf_counter() - started)
