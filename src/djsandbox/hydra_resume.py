"""Under Hydra, `resume=true` continues an earlier run folder: no new, empty one is left behind.

Hydra makes a new timestamped run folder (its `.hydra/` config copies and the job's log file)
before the sandbox knows that the run continues an earlier folder. When it does, the log
handlers that write into the new folder are moved to the earlier folder's log file (appending,
with what they wrote so far), and the new folder is removed, but only while it holds nothing
else than what Hydra wrote into it for this run.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path

HYDRA_FILES = (".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml")

log = logging.getLogger("djsandbox")


def _file_handlers_in(folder: Path) -> list[tuple[logging.Logger, logging.FileHandler]]:
    loggers = [logging.getLogger()] + [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    found = []
    for logger in loggers:
        for handler in logger.handlers:
            if (
                isinstance(handler, logging.FileHandler)
                and folder in Path(handler.baseFilename).parents
            ):
                found.append((logger, handler))
    return found


def _only_hydra_files(folder: Path, logs: set[Path]) -> bool:
    expected = {folder / name for name in HYDRA_FILES} | logs
    present = {p for p in folder.rglob("*") if not p.is_dir()}
    return present <= expected


def drop_fresh_run_folder(fresh: Path, earlier: Path) -> bool:
    """Move this run's log into `earlier` and remove `fresh` (Hydra's new run folder of this
    run); True when removed. Left alone when it holds anything else (nothing is lost)."""
    fresh, earlier = fresh.resolve(), earlier.resolve()
    if fresh == earlier or not fresh.is_dir():
        return False
    handlers = _file_handlers_in(fresh)
    logs = {Path(h.baseFilename) for _, h in handlers}
    if not _only_hydra_files(fresh, logs):
        return False
    for logger, handler in handlers:
        old = Path(handler.baseFilename)
        handler.acquire()
        try:
            handler.flush()
            handler.close()
            moved = logging.FileHandler(earlier / old.name, mode="a", encoding=handler.encoding)
            moved.setLevel(handler.level)
            moved.setFormatter(handler.formatter)
            for flt in handler.filters:
                moved.addFilter(flt)
            with contextlib.suppress(OSError), (earlier / old.name).open("a") as dst:
                dst.write(old.read_text(encoding="utf-8", errors="replace"))
        finally:
            handler.release()
        logger.removeHandler(handler)
        logger.addHandler(moved)
    for path in [fresh / name for name in HYDRA_FILES] + sorted(logs):
        with contextlib.suppress(OSError):
            path.unlink()
    for folder in (fresh / ".hydra", fresh):
        with contextlib.suppress(OSError):
            folder.rmdir()  # only when empty
    return not fresh.exists()
