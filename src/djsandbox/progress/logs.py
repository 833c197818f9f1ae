"""Where log lines go: everything into the job's own log file, only what matters on the terminal.

On the terminal (the handlers that write to stdout/stderr) a quiet run shows the sandbox's own
lines and the libraries' warnings and errors, less the few kinds named below that say nothing
about the run (deprecations, environment probes, model advice); `verbose=true` shows every
line. The job's log file always holds every line. The libraries
are made to log through Python's `logging` only, so that one set of handlers sees everything:
Data-Juicer's loguru messages are forwarded into `logging`, the handlers Lightning,
transformers and datasets add to their own loggers are removed (Lightning printed every line
twice), Python warnings become log records, and progress bars (tqdm) are switched off unless
verbose: the live display shows progress instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any, Iterator

from ..redact import mask_text

__all__ = ["JOB_LOG", "adopt_library_loggers", "job_log", "quiet_terminal", "route_loguru"]

JOB_LOG = "job.log"
# Loggers that libraries give their own terminal handler.
LIBRARY_LOGGERS = (
    "lightning",
    "lightning.pytorch",
    "lightning.fabric",
    "pytorch_lightning",
    "lightning_fabric",
    "transformers",
    "datasets",
)
# Library warnings that say nothing about the run; they go to the job log only.
HARMLESS_WARNINGS = (
    re.compile(r"nvidia-smi is not found"),  # Data-Juicer's GPU probe on a CPU machine
    re.compile(r"Setting num_proc from \d+ back to 1"),  # datasets: a one-shard file
)
# Libraries whose warnings are advice about models and generation settings (weights not
# initialised, generation flags), not about the run: job log only; their errors still show.
ADVISORY_LIBRARIES = ("transformers",)
# Warnings for the developers of a library, not for its users (job log only).
DEVELOPER_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, FutureWarning)
_PROGRESS_BAR_ENV = {"TQDM_DISABLE": "1", "HF_DATASETS_DISABLE_PROGRESS_BARS": "1"}
_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"

_verbose = False
_loguru_sink: int | None = None


class TerminalFilter(logging.Filter):
    """On a terminal handler: the sandbox's lines (except those the progress display shows),
    the libraries' warnings and errors; every line when verbose."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _verbose:
            return True
        if getattr(record, "progress_line", False):
            return False
        if record.name == "djsandbox" or record.name.startswith("djsandbox."):
            return True
        if record.levelno < logging.WARNING:
            return False
        if record.levelno < logging.ERROR and record.name.split(".")[0] in ADVISORY_LIBRARIES:
            return False
        message = record.getMessage()
        return not any(pattern.search(message) for pattern in HARMLESS_WARNINGS)


class MaskingFormatter(logging.Formatter):
    """Secrets masked in every line written to a job log (`redact.mask_text`)."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


def _terminal_handlers() -> list[logging.Handler]:
    streams = {id(s) for s in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__)}
    return [
        h
        for h in logging.getLogger().handlers
        if isinstance(h, logging.StreamHandler)
        and not isinstance(h, logging.FileHandler)
        and id(h.stream) in streams
    ]


def adopt_library_loggers() -> None:
    """Remove the terminal handlers libraries put on their own loggers and let their records
    reach the root handlers (terminal, run log, job log). Called again whenever a library may
    have been imported since (each job, each Lightning Trainer)."""
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if isinstance(handler, logging.StreamHandler) and not isinstance(
                handler, logging.FileHandler
            ):
                logger.removeHandler(handler)
        logger.propagate = True


def _forward_loguru(message: Any) -> None:
    """A loguru sink: the message as a `logging` record of the same level and module."""
    record = message.record
    logger = logging.getLogger(record["name"] or "loguru")
    level = record["level"].no
    if not logger.isEnabledFor(level):
        return
    text = str(message).rstrip("\n")
    logger.handle(
        logger.makeRecord(
            logger.name,
            level,
            record["file"].path,
            record["line"],
            text,
            (),
            None,
            record["function"],
        )
    )


def route_loguru() -> None:
    """Data-Juicer logs with loguru, by default straight to stderr: send loguru through
    `logging` instead. Importing `data_juicer` removes every loguru sink and adds its own
    stderr sink, so this runs again after it may have been imported (each job, after loading
    Data-Juicer); it never runs while a Data-Juicer job's own sinks are on."""
    global _loguru_sink
    from loguru import logger

    try:
        if _loguru_sink is None:
            raise ValueError("not routed yet")
        logger.remove(_loguru_sink)  # still ours: put back below
    except ValueError:  # first time, or Data-Juicer's import replaced every sink
        logger.remove()
    _loguru_sink = logger.add(_forward_loguru, level="DEBUG", format="{message}")


def _show_warning(message: Any, category: type, filename: str, lineno: int, file=None, line=None):
    """`warnings.showwarning` while a run lasts: a record of logger `py.warnings`, INFO for
    developer warnings (deprecations), WARNING for the rest."""
    level = logging.INFO if issubclass(category, DEVELOPER_WARNINGS) else logging.WARNING
    logging.getLogger("py.warnings").log(
        level, "%s:%s: %s: %s", filename, lineno, category.__name__, message
    )


def _progress_bars(enabled: bool) -> dict[str, str | None]:
    """Switch tqdm bars (Data-Juicer's, datasets') on or off; returns the env to restore."""
    before = {key: os.environ.get(key) for key in _PROGRESS_BAR_ENV}
    if not enabled:
        for key, value in _PROGRESS_BAR_ENV.items():
            os.environ.setdefault(key, value)
    if "datasets" in sys.modules:  # datasets reads its variable once, at import
        from datasets.utils import logging as datasets_logging

        if enabled:
            datasets_logging.enable_progress_bar()
        else:
            datasets_logging.disable_progress_bar()
    return before


@contextlib.contextmanager
def quiet_terminal(verbose: bool = False) -> Iterator[None]:
    """For one run: library lines off the terminal unless `verbose` (see the module doc)."""
    global _verbose
    previous_verbose, _verbose = _verbose, bool(verbose)
    terminal = TerminalFilter()
    handlers = _terminal_handlers()
    for handler in handlers:
        handler.addFilter(terminal)
    adopt_library_loggers()
    route_loguru()
    previous_show, warnings.showwarning = warnings.showwarning, _show_warning
    env = _progress_bars(enabled=bool(verbose))
    try:
        yield
    finally:
        warnings.showwarning = previous_show
        for handler in handlers:
            handler.removeFilter(terminal)
        for key, value in env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _verbose = previous_verbose


@contextlib.contextmanager
def job_log(job_dir: Path) -> Iterator[Path]:
    """Every log line of the job (the libraries' included, at INFO and above) also goes to
    `<job_dir>/job.log`, secrets masked; appended to when the job runs again."""
    adopt_library_loggers()
    route_loguru()
    root = logging.getLogger()
    path = Path(job_dir) / JOB_LOG
    handler = logging.FileHandler(path, mode="a", encoding="utf-8")
    handler.setFormatter(MaskingFormatter(_FORMAT))
    previous_level = root.level
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(previous_level)
