"""One process at a time in a run folder: a lock file naming the holder (process id and host).

`RunLock(work_dir)` is taken after validation and held until the run ends, also when it fails
or is interrupted. A second process finds the lock and stops at once (`RunBusyError`, exit 3)
naming the folder and the holder. A lock left by a process that is gone (same host, process
id not alive, or alive but started after the lock was written: a reused id) is stale: it is
taken over with a warning. A lock from another host cannot be checked and is never taken over.

Taking the lock is serialised between processes of one host by `flock` on the run folder
itself, so two processes that both find the same stale lock cannot both take it over.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, Iterator

from .errors import RunBusyError

log = logging.getLogger("djsandbox")

LOCK_FILE = ".sandbox.lock"


def process_start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux), None when unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:  # the command name (field 2) may hold spaces and parentheses: split after its end
        return int(stat.rsplit(")", 1)[1].split()[19])
    except (IndexError, ValueError):
        return None


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by another user
        return True
    state = _process_state(pid)
    return state not in ("Z", "X")  # a zombie no longer runs anything


def _process_state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def describe_holder(holder: dict[str, Any]) -> str:
    started = holder.get("started")
    when = (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))
        if isinstance(started, (int, float))
        else "?"
    )
    return f"process {holder.get('pid', '?')} on host {holder.get('host', '?')} (since {when})"


class RunLock:
    """The run folder's lock; use as a context manager (`with RunLock(folder): ...`)."""

    def __init__(self, work_dir: Path) -> None:
        self.work_dir = Path(work_dir)
        self.path = self.work_dir / LOCK_FILE
        self.held = False

    def _read(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}  # unreadable or half written: treated as held by an unknown process
        return data if isinstance(data, dict) else {}

    def _stale(self, holder: dict[str, Any]) -> bool:
        """True only when the holder surely is gone (checked on this host)."""
        pid = holder.get("pid")
        if holder.get("host") != socket.gethostname() or not isinstance(pid, int):
            return False
        if not pid_alive(pid):
            return True
        recorded, now = holder.get("pid_start"), process_start_time(pid)
        return recorded is not None and now is not None and recorded != now  # id reused

    @contextlib.contextmanager
    def _host_mutex(self) -> Iterator[None]:
        fd = os.open(self.work_dir, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing releases the flock

    def acquire(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        me = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "pid_start": process_start_time(os.getpid()),
            "started": time.time(),
            "argv": sys.argv,
        }
        with self._host_mutex():
            holder = self._read()
            if holder is not None:
                if not self._stale(holder):
                    raise RunBusyError(
                        f"{self.work_dir} is in use by another run: {describe_holder(holder)} "
                        f"holds {self.path}. Wait for it to finish (or stop it); if that "
                        "process is surely gone (e.g. it ran on another host), delete the lock "
                        "file and resume"
                    )
                log.warning(
                    "taking over a stale lock in %s: %s is gone",
                    self.work_dir,
                    describe_holder(holder),
                )
                self.path.unlink(missing_ok=True)
            # Create exclusively: a process on another host (no shared flock) may race us.
            temp = self.path.with_name(f"{LOCK_FILE}.{os.getpid()}.tmp")
            temp.write_text(json.dumps(me), encoding="utf-8")
            try:
                os.link(temp, self.path)
            except FileExistsError:
                raise RunBusyError(
                    f"{self.work_dir} is in use by another run: "
                    f"{describe_holder(self._read() or {})} took {self.path} just now"
                ) from None
            finally:
                temp.unlink(missing_ok=True)
        self.held = True

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        holder = self._read()
        if (
            holder
            and holder.get("pid") == os.getpid()
            and holder.get("host") == socket.gethostname()
        ):
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()
