"""The guard every tracker runs behind: its failures cost the tracking, never the run.

A tracker that fails while the run is going (wandb cannot start, a disk is full) is logged as
a warning and switched off, because losing the tracking must never lose the run.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from ...redact import SecretLogFilter, secret_values
from .active import deactivate, set_active
from .base import JobRecord, Tracker

log = logging.getLogger("djsandbox")


class GuardedTracker(Tracker):
    """Runs a tracker so that its failures cost the tracking, never the run.

    The first exception becomes a warning and switches the tracker off for the rest of the run.
    It also makes the tracker the active one (for `lightning_loggers`) while the run goes, and
    masks the config's secret values in every log record written meanwhile.
    """

    def __init__(self, kind: str, inner: Tracker) -> None:
        self.kind = kind
        self.inner = inner
        self.failed = kind == "none"  # nothing to call for `none`
        self._filter: SecretLogFilter | None = None
        self._handlers: list[logging.Handler] = []

    def _fail(self, where: str, exc: BaseException) -> None:
        log.warning(
            "tracker %s: %s failed (%s: %s); the run continues without tracking",
            self.kind,
            where,
            type(exc).__name__,
            exc,
        )
        self.failed = True
        deactivate(self.inner)
        try:
            self.inner.abort()
        except Exception:  # abort is best effort by contract
            pass

    def _install_log_filter(self, cfg: dict[str, Any]) -> None:
        env_secrets = {
            v
            for k, v in os.environ.items()
            if any(w in k.upper() for w in ("API_KEY", "TOKEN", "PASSWORD", "SECRET"))
            and len(v) >= 6
        }
        self._filter = SecretLogFilter(secret_values(cfg) | env_secrets)
        self._handlers = list(logging.getLogger().handlers) + list(log.handlers)
        for handler in self._handlers:
            handler.addFilter(self._filter)

    def _remove_log_filter(self) -> None:
        for handler in self._handlers:
            handler.removeFilter(self._filter)
        self._handlers = []

    def run_started(self, cfg: dict[str, Any], work_dir: Path) -> None:
        self._install_log_filter(cfg)
        if self.failed:
            return
        try:
            self.inner.run_started(cfg, work_dir)
        except Exception as exc:
            self._fail("start", exc)
            return
        set_active(self.inner)

    def job_finished(self, record: JobRecord) -> None:
        if self.failed:
            return
        try:
            self.inner.job_finished(record)
        except Exception as exc:
            self._fail(f"logging job {record.pipeline}/{record.name}", exc)

    def run_finished(self, status: str, summary: dict[str, Any] | None = None) -> None:
        try:
            if not self.failed:
                try:
                    self.inner.run_finished(status, summary)
                except Exception as exc:
                    self._fail("finish", exc)
        finally:
            deactivate(self.inner)
            self._remove_log_filter()

    def lightning_loggers(self, save_dir: Path) -> list[Any]:
        return [] if self.failed else self.inner.lightning_loggers(save_dir)
