"""Ctrl-C (and SIGTERM) during a run: one quiet stop, however the job's libraries report it.

Data-Juicer's worker pools turn a Ctrl-C into a `TimeoutError` and log it with a long
traceback; Lightning catches it and calls `sys.exit(1)`. The runner watches for SIGINT and
SIGTERM while a job runs, so that such a failure is reported as an interruption, and from the
signal on sends what the libraries print while they stop into the job's `interrupted.log`
instead of the terminal. Worker processes ignore SIGINT (workers.py): the run stops them.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

WATCHED = (signal.SIGINT, signal.SIGTERM)
INTERRUPT_LOG = "interrupted.log"
# Seconds a job has to stop after the signal before the watch insists (env, for tests).
GRACE_ENV = "DJSANDBOX_INTERRUPT_GRACE"
HARD_STOP_MESSAGE = (
    "djsandbox: the job did not stop within {grace:.0f} s of the interrupt, even after its "
    "worker processes were killed; stopped hard. Finished jobs are kept: run the same command "
    "with resume=true to continue."
)


def grace_seconds() -> float:
    try:
        return max(0.5, float(os.environ.get(GRACE_ENV, "20")))
    except ValueError:
        return 20.0


class InterruptWatch:
    """While started, notes a SIGINT or SIGTERM in `seen`, then handles it as before (by
    default by raising KeyboardInterrupt). With `quiet_to`, the first signal also redirects
    this process's stdout and stderr (file descriptors 1 and 2) into that file until `stop`.
    Outside the main thread it watches nothing."""

    def __init__(self, quiet_to: Path | None = None) -> None:
        self.seen = False
        self.signal_name = ""  # of the first signal seen: "Ctrl-C" or "SIGTERM"
        self.quiet_to = quiet_to
        self._previous: dict[int, Any] = {}
        self._saved_fds: list[int] = []
        self._timer: threading.Timer | None = None
        self._active = False

    def start(self) -> InterruptWatch:
        if threading.current_thread() is threading.main_thread():
            for signum in WATCHED:
                previous = signal.getsignal(signum)
                if previous == signal.SIG_IGN:  # e.g. started with `nohup` or `&`: stays so
                    continue
                self._previous[signum] = previous
                signal.signal(signum, self._handle)
            self._active = True
        return self

    def stop(self) -> None:
        self._active = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for signum, previous in self._previous.items():
            if previous is not None:
                signal.signal(signum, previous)
        self._previous.clear()
        self._unmute()

    def _handle(self, signum: int, frame: Any) -> None:
        if not self.seen:
            self.seen = True
            self.signal_name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
            self._mute()
            self._insist_later(grace_seconds(), self._insist)
        previous = self._previous.get(signum)
        if callable(previous):
            previous(signum, frame)
        else:  # SIG_DFL (or unknown): stop like Ctrl-C, so the run can clean up
            raise KeyboardInterrupt

    def _insist_later(self, seconds: float, then: Any) -> None:
        self._timer = threading.Timer(seconds, then)
        self._timer.daemon = True
        self._timer.start()

    def _insist(self) -> None:
        """The job has not stopped `grace` seconds after the signal (a library swallowed it,
        or a worker pool hangs while stopping, as Data-Juicer's sometimes does): kill this
        process's children and deliver the signal to the main thread again. If the job still
        has not stopped after another grace period, end the process (the state file keeps
        every finished job, and the lock of a dead process is taken over)."""
        if not self._active:
            return
        _kill_children()
        self._insist_later(grace_seconds(), self._hard_stop)
        if self._active and threading.main_thread().ident is not None:
            signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)

    def _hard_stop(self) -> None:
        if not self._active:
            return
        self._unmute()
        print(HARD_STOP_MESSAGE.format(grace=2 * grace_seconds()), file=sys.stderr, flush=True)
        os._exit(130)

    def _mute(self) -> None:
        if self.quiet_to is None:
            return
        _flush()
        try:
            target = os.open(self.quiet_to, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        except OSError:
            return
        try:
            self._saved_fds = [os.dup(1), os.dup(2)]
            os.dup2(target, 1)
            os.dup2(target, 2)
        except OSError:
            self._saved_fds = []
        finally:
            os.close(target)

    def _unmute(self) -> None:
        if not self._saved_fds:
            return
        _flush()
        for fd, saved in zip((1, 2), self._saved_fds):
            os.dup2(saved, fd)
            os.close(saved)
        self._saved_fds = []


def _kill_children() -> None:
    """SIGKILL the worker processes this one forked (pools: they share its command line), so
    that waits on them end. Programs it started (a tracker's service) are left alone."""
    try:
        import psutil  # a Data-Juicer dependency; without it the main thread is only re-signalled
    except ImportError:
        return
    me = psutil.Process()
    with contextlib.suppress(psutil.Error):
        ours = me.cmdline()
        for child in me.children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if child.cmdline() == ours:
                    child.kill()


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


def _terminate(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While the block runs, SIGTERM stops the run like Ctrl-C: the current job is recorded
    as interrupted and the run lock is released (by default SIGTERM ends the process without
    running any cleanup). Only in the main thread; elsewhere it does nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous not in (signal.SIG_DFL, None):  # someone else handles SIGTERM: leave it
        yield
        return
    signal.signal(signal.SIGTERM, _terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def resume_command(program: str, args: list[str]) -> str:
    """The command line that continues this run: the same arguments with `resume=true`
    (replacing `resume=false`; a `resume=FOLDER` already given is kept), quoted for a shell."""
    given = [a for a in args if a.lstrip("+").startswith("resume=")]
    folder = [a for a in given if a.split("=", 1)[1].lower() not in ("true", "false", "")]
    kept = [a for a in args if a not in given or a in folder]
    extra = [] if folder else ["resume=true"]
    return " ".join(shlex.quote(part) for part in [*program.split(), *kept, *extra])


def program_name(argv0: str, module: str) -> str:
    """How the user started this program: `python -m MODULE` or the console script's name."""
    name = Path(argv0).name
    if name in ("__main__.py", f"{module.rsplit('.', 1)[-1]}.py") or not name:
        return f"python -m {module}"
    return name
