"""Experiment tracking: the runner reports every finished job and the end of the run here.

`make_tracker(cfg)` builds the tracker named by the `tracker` config group (`type`); the
runner calls `job_finished` after each job and `run_finished` at the end. Trackers must never
raise into the run for a logging problem they can recover from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class JobRecord:
    """What the runner knows about a finished job."""

    iteration: int
    pipeline: str
    name: str  # meta_name (or positional name)
    hook: str
    stage: str
    results: dict[str, Any]
    notes: dict[str, Any] = field(default_factory=dict)
    elapsed: float = 0.0
    job_dir: Path | None = None


class Tracker:
    """The no-op tracker (`tracker: none`), and the interface every tracker implements."""

    def run_started(self, cfg: dict[str, Any], work_dir: Path) -> None:
        """Called once before the first job; `cfg` is the plain run config."""

    def job_finished(self, record: JobRecord) -> None:
        """Called after each finished job (not for jobs skipped on resume)."""

    def run_finished(self, status: str, summary: dict[str, Any] | None = None) -> None:
        """Called once at the end: status is 'done' or 'failed'; summary from summary.py."""


def make_tracker(cfg: dict[str, Any]) -> Tracker:
    """The tracker configured under `tracker` (absent or type none: no tracking)."""
    spec = cfg.get("tracker") or {}
    kind = spec.get("type", "none") if isinstance(spec, dict) else spec
    if kind in (None, "none"):
        return Tracker()
    from .errors import ConfigError

    raise ConfigError(f"tracker.type: unknown tracker {kind!r}; valid: none")
