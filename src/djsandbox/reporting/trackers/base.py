"""What the runner hands a tracker (`JobRecord`) and the interface every tracker implements.

`Tracker` itself is the no-op tracker (`tracker: none`). A tracker class declares the settings
it accepts with their defaults (`DEFAULTS`) and the allowed values of some (`CHOICES`); its
registry spec (trackers/catalog.py) lists the same keys, so a typo in a key is an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar


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

    DEFAULTS: ClassVar[dict[str, Any]] = {}  # accepted settings (besides `type`), defaults
    CHOICES: ClassVar[dict[str, tuple[Any, ...]]] = {}  # allowed values of some settings

    def __init__(self, settings: dict[str, Any] | None = None) -> None:
        self.settings = dict(settings or {})

    def run_started(self, cfg: dict[str, Any], work_dir: Path) -> None:
        """Called once before the first job; `cfg` is the plain run config."""

    def job_finished(self, record: JobRecord) -> None:
        """Called after each finished job (not for jobs skipped on resume)."""

    def run_finished(self, status: str, summary: dict[str, Any] | None = None) -> None:
        """Called once at the end: status is 'done', 'failed' or 'interrupted'; summary from
        reporting/summary.py."""

    def lightning_loggers(self, save_dir: Path) -> list[Any]:
        """Extra Lightning loggers for a training that writes into `save_dir` (a job folder)."""
        return []

    def abort(self) -> None:
        """Release what the tracker holds after it failed; must not raise."""
