"""Ctrl-C during a job, however the job's libraries report it.

Data-Juicer's worker pools turn a Ctrl-C into a `TimeoutError` (or another error); the runner
watches for SIGINT while a job runs so that such a failure is reported as an interruption.
"""

from __future__ import annotations

import signal
import threading
from typing import Any


class InterruptWatch:
    """While started, notes a SIGINT in `seen`, then handles it as before (by default by
    raising KeyboardInterrupt). Outside the main thread it watches nothing."""

    def __init__(self) -> None:
        self.seen = False
        self._previous: Any = None

    def start(self) -> InterruptWatch:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.getsignal(signal.SIGINT)
            signal.signal(signal.SIGINT, self._handle)
        return self

    def stop(self) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None

    def _handle(self, signum: int, frame: Any) -> None:
        self.seen = True
        if callable(self._previous):
            self._previous(signum, frame)
        elif self._previous != signal.SIG_IGN:
            raise KeyboardInterrupt
