"""Worker processes die with the run, also when the run is killed with `kill -9`.

Data-Juicer's `np` runs ops through `datasets.map(num_proc=...)`, a `multiprocess` pool forked
from the job's thread. Its workers block on a pipe whose write end they hold themselves, so when
the run dies they wait forever (hundreds of MB each). While a run goes, every process forked
from it (pool workers, DataLoader workers, their children) asks the kernel, right after the
fork, for SIGKILL when its parent dies (Linux `prctl(PR_SET_PDEATHSIG)`), ignores Ctrl-C (the
run stops it; interrupts.py), and writes its id into `<run folder>/.sandbox_workers`. A run
that starts in a folder where such a process is still alive (a kernel without PDEATHSIG, a
worker forked from a thread that ended) kills it.

Standard library only (ctypes); on other systems this does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
from pathlib import Path
from typing import Any, Iterator

from .run_lock import pid_alive, process_start_time

log = logging.getLogger("djsandbox")

WORKERS_FILE = ".sandbox_workers"
_PR_SET_PDEATHSIG = 1

_state: dict[str, Any] = {"active": False, "registry": None, "prctl": None, "forker": None}
_registered = False


def _before_fork() -> None:
    _state["forker"] = os.getpid()


def _after_fork_in_child() -> None:
    if not _state["active"]:
        return
    # Ctrl-C reaches every process of the terminal's foreground group: a worker would die
    # printing a traceback (and a pool would fork a replacement). The run itself stops its
    # workers (a pool terminates them with SIGTERM, which must kill them quietly).
    with contextlib.suppress(ValueError):  # not the main thread (cannot happen after a fork)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    prctl = _state["prctl"]
    if prctl is not None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != _state["forker"]:  # the parent died before the request: go too
            os._exit(1)
    registry = _state["registry"]
    if registry is not None:
        with contextlib.suppress(OSError):
            line = f"{os.getpid()} {process_start_time(os.getpid())}\n".encode()
            fd = os.open(registry, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)


def _load_prctl() -> Any:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl  # resolved now: the child must not load libraries after a fork
    except (OSError, AttributeError):
        return None


def kill_leftovers(work_dir: Path) -> list[int]:
    """Kill processes an earlier run in this folder forked that are still alive (checked by
    process id and start time, so a reused id is left alone); returns their ids."""
    registry = Path(work_dir) / WORKERS_FILE
    killed: list[int] = []
    try:
        lines = registry.read_text().splitlines()
    except OSError:
        return killed
    for line in lines:
        try:
            pid_text, start_text = line.split()
            pid, start = int(pid_text), int(start_text)
        except ValueError:
            continue
        if pid == os.getpid() or not pid_alive(pid) or process_start_time(pid) != start:
            continue
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    if killed:
        log.warning(
            "killed %d worker process(es) left running by an earlier run in %s: %s",
            len(killed),
            work_dir,
            ", ".join(map(str, killed)),
        )
    registry.unlink(missing_ok=True)
    return killed


@contextlib.contextmanager
def workers_die_with_run(work_dir: Path) -> Iterator[None]:
    """While the block runs, processes forked from this one die with it (see the module)."""
    global _registered
    kill_leftovers(work_dir)
    if not _registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)
        _registered = True
    previous = dict(_state)
    _state.update(active=True, registry=str(Path(work_dir) / WORKERS_FILE), prctl=_load_prctl())
    try:
        yield
    finally:
        _state.update(previous)
