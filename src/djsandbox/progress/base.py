"""What a progress display is, and the one function components report through.

The runner tells the active display which job of the run is running; components (Lightning
training, Data-Juicer ops, inference rows) call `report` with their own progress. When no display
is active (a component used on its own, a test), `report` does nothing. The active display is a
process global rather than a context variable on purpose: Lightning callbacks and loguru sinks
may run on threads that a context variable would not reach.
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator, Protocol

__all__ = [
    "Progress",
    "NullProgress",
    "current",
    "using",
    "report",
    "format_metrics",
    "format_seconds",
]


class Progress(Protocol):
    """A run's progress: jobs of the run, and inside each the job's own progress."""

    def run_started(self, n_jobs: int) -> None: ...

    def job_started(self, i: int, label: str) -> None: ...

    def job_skipped(self, i: int, label: str) -> None: ...

    def job_progress(self, done: int, total: int | None, what: str, **metrics: Any) -> None: ...

    def job_finished(self, status: str, elapsed: float) -> None: ...

    def run_finished(self) -> None: ...


class NullProgress:
    """Shows nothing: the display when none is active."""

    def run_started(self, n_jobs: int) -> None:
        pass

    def job_started(self, i: int, label: str) -> None:
        pass

    def job_skipped(self, i: int, label: str) -> None:
        pass

    def job_progress(self, done: int, total: int | None, what: str, **metrics: Any) -> None:
        pass

    def job_finished(self, status: str, elapsed: float) -> None:
        pass

    def run_finished(self) -> None:
        pass


_NULL = NullProgress()
_active: Progress = _NULL


def current() -> Progress:
    """The active display (a `NullProgress` when there is none)."""
    return _active


@contextlib.contextmanager
def using(progress: Progress) -> Iterator[Progress]:
    """Make `progress` the active display while the block runs (nested use restores)."""
    global _active
    previous, _active = _active, progress
    try:
        yield progress
    finally:
        _active = previous


def report(done: int, total: int | None, what: str, **metrics: Any) -> None:
    """The current job's own progress: `done` of `total` `what` (e.g. 3 of 8 "ops"), with
    metrics such as `loss=0.41` or `rows=3858`. Never raises: progress must not fail a job."""
    with contextlib.suppress(Exception):
        _active.job_progress(done, total, what, **metrics)


def format_metrics(metrics: dict[str, Any]) -> str:
    """`special_characters_filter rows=3858 loss=0.4132`: a text as it is, a number as
    key=value (floats to 4 significant places), None left out."""
    parts = []
    for key, value in metrics.items():
        if value is None:
            continue
        if isinstance(value, str):
            parts.append(value)
        else:
            parts.append(f"{key}={value:.4g}" if isinstance(value, float) else f"{key}={value}")
    return " ".join(parts)


def format_seconds(seconds: float) -> str:
    """`42.1 s`, `3 min 05 s`, `1 h 02 min`."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
