"""Finding the earlier run folder that `resume` continues: one search for runs and studies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import ConfigError


def wants_resume(resume: Any) -> bool:
    return resume is True or (isinstance(resume, str) and resume.lower() == "true")


def resume_folder(
    resume: Any, work_dir: Path, marker: str, what: str, search_siblings: bool
) -> Path | None:
    """The folder to continue: a folder given as `resume`, this `work_dir`, or (Hydra's
    timestamped run folders) the newest sibling holding `marker`; None: start fresh.

    `what` names the kind of folder in the message for a given folder without `marker`.
    """
    if isinstance(resume, str) and resume.lower() not in ("true", "false", ""):
        folder = Path(resume).expanduser().resolve()
        if not (folder / marker).exists():
            raise ConfigError(
                f"resume: {folder} holds no {marker}; give the folder of {what} "
                f"(the one with {marker})"
            )
        return folder
    if not wants_resume(resume):
        return None
    if (work_dir / marker).exists():
        return work_dir
    if search_siblings:
        siblings = [
            p.parent
            for p in work_dir.parent.glob(f"*/{marker}")
            if p.parent.resolve() != work_dir.resolve()
        ]
        if siblings:
            return max(siblings, key=lambda p: (p / marker).stat().st_mtime)
    return None
