"""Errors a user can act on: each names where the problem is and what was expected.

The CLI prints these as one message and exits non-zero, without a traceback.
"""

from __future__ import annotations


class SandboxError(Exception):
    """Base class for errors caused by the user's configuration or data."""


class ConfigError(SandboxError):
    """A sandbox config is invalid (found at validation time, before any job runs)."""


class ResourceError(ConfigError):
    """The config is valid, but this machine lacks what the run needs (a data or side file,
    weights, an endpoint, a component not built yet). `resources`: the `Resource` problems
    (resource_problems.py), each saying what to fetch or set."""

    def __init__(self, message: str, resources: list[str] | None = None) -> None:
        super().__init__(message)
        self.resources = list(resources or [])


class ContextLookupError(SandboxError):
    """An `input` source or `${ctx:...}` reference names a result that does not exist."""


class JobFailedError(SandboxError):
    """A job raised while running; carries the job's location for the message."""


class RunBusyError(SandboxError):
    """Another process holds the run folder's lock (a run is going on there)."""


# Exit statuses of both front ends (README, "What the sandbox promises").
EXIT_JOB_FAILED = 1  # a job raised while running; finished jobs are kept (resume=true)
EXIT_CONFIG = 2  # the config or its inputs are wrong; found before any job ran
EXIT_BUSY = 3  # another process is running in this run folder
EXIT_RESOURCES = 4  # the config is valid but this machine lacks what it needs; nothing ran
EXIT_INTERRUPTED = 130  # Ctrl-C (or SIGTERM)


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped the run; a job it stopped is recorded `interrupted` in the
    run state. A KeyboardInterrupt, so that no `except Exception` on the way out swallows it.
    Carries what the front ends' one-line message names: the job (None: between jobs), the
    run folder and how many finished jobs it keeps."""

    def __init__(self, job: str | None, work_dir: str = "", kept: int = 0) -> None:
        super().__init__(f"{job or 'between jobs'}: interrupted")
        self.job, self.work_dir, self.kept = job, work_dir, kept


def interrupted_message(exc: BaseException, resume_command: str | None) -> str:
    """The one line printed on Ctrl-C: what was running, what is kept, how to continue."""
    if not isinstance(exc, RunInterrupted):
        return "interrupted before any job ran; nothing to continue: run the command again"
    where = f"during {exc.job}" if exc.job else "between jobs"
    jobs = "1 finished job is" if exc.kept == 1 else f"{exc.kept} finished jobs are"
    line = f"interrupted {where}; {jobs} kept in {exc.work_dir}"
    return f"{line}; to continue: {resume_command}" if resume_command else line


def exit_status(exc: SandboxError) -> int:
    """The documented exit status for an error the sandbox reports as one message."""
    if isinstance(exc, JobFailedError):
        return EXIT_JOB_FAILED
    if isinstance(exc, RunBusyError):
        return EXIT_BUSY
    if isinstance(exc, ResourceError):
        return EXIT_RESOURCES
    return EXIT_CONFIG


def job_label(pipeline: str, stage: str, index: int, meta_name: str | None) -> str:
    """The one way every message names a job, so users can grep for it."""
    name = meta_name if meta_name else "<no meta_name>"
    return f"pipeline '{pipeline}', {stage}[{index}] (meta_name '{name}')"
