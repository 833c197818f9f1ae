"""Errors a user can act on: each names where the problem is and what was expected.

The CLI prints these as one message and exits non-zero, without a traceback.
"""

from __future__ import annotations


class SandboxError(Exception):
    """Base class for errors caused by the user's configuration or data."""


class ConfigError(SandboxError):
    """A sandbox config is invalid (found at validation time, before any job runs)."""


class ContextLookupError(SandboxError):
    """An `input` source or `${ctx:...}` reference names a result that does not exist."""


class JobFailedError(SandboxError):
    """A job raised while running; carries the job's location for the message."""


def job_label(pipeline: str, stage: str, index: int, meta_name: str | None) -> str:
    """The one way every message names a job, so users can grep for it."""
    name = meta_name if meta_name else "<no meta_name>"
    return f"pipeline '{pipeline}', {stage}[{index}] (meta_name '{name}')"
