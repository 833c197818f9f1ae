"""The tracker of the run in progress, for training code: its Lightning loggers and the names
its training curves get.

Training code asks `lightning_loggers(save_dir)` for extra Lightning loggers of the active
tracker, so its curves land in the same run (wandb) or log folder (tensorboard). The run's
`GuardedTracker` (trackers/guard.py) makes its tracker the active one while the run goes.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from .base import Tracker

log = logging.getLogger("djsandbox")

CURVES_PREFIX = "curves"
_JOB_FOLDER = re.compile(r"^(?:probe|refine_recipe|execution|evaluation)_\d+_")
_ACTIVE: Tracker | None = None


def set_active(tracker: Tracker | None) -> None:
    """Make `tracker` the active one (None: no run in progress)."""
    global _ACTIVE
    _ACTIVE = tracker


def deactivate(tracker: Tracker) -> None:
    """No active tracker any more, if `tracker` is the active one."""
    global _ACTIVE
    if _ACTIVE is tracker:
        _ACTIVE = None


def active_tracker() -> Tracker | None:
    """The tracker of the run in progress in this process (None outside a run)."""
    return _ACTIVE


def lightning_loggers(save_dir: Path) -> list[Any]:
    """Extra Lightning loggers for the active tracker (none outside a run or without one).

    Training code adds these next to its own loggers so that its curves reach the tracker.
    Never raises: a tracker that cannot make its loggers only costs the curves.
    """
    tracker = _ACTIVE
    if tracker is None:
        return []
    try:
        return list(tracker.lightning_loggers(Path(save_dir)))
    except Exception as exc:
        log.warning(
            "tracker: cannot attach Lightning loggers (%s: %s); training curves will "
            "not be tracked",
            type(exc).__name__,
            exc,
        )
        return []


def curve_prefix(work_dir: Path | None, save_dir: Path) -> str:
    """`curves/<pipeline>/<meta_name>[/<sub>]` for a training writing into `save_dir` (a job
    folder `<work_dir>/iter_<i>/<pipeline>/<stage>_<index>_<name>[/<sub>]`); iterations after
    the first get an `iter_<i>/` part so curves of different iterations stay apart."""
    parts: list[str] = []
    if work_dir is not None:
        try:
            parts = list(Path(save_dir).resolve().relative_to(Path(work_dir).resolve()).parts)
        except ValueError:
            parts = []
    if len(parts) >= 3 and parts[0].startswith("iter_"):
        name = _JOB_FOLDER.sub("", parts[2])
        head = [] if parts[0] == "iter_0" else [parts[0]]
        parts = head + [parts[1], name, *parts[3:]]
    elif not parts:
        parts = [Path(save_dir).name or "train"]
    return "/".join([CURVES_PREFIX, *parts])
