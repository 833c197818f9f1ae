"""Run one command with its output streamed into a log file, line by line as it arrives,
and its exit status checked.

The log gets the command line (secrets masked) and the output; the values of `env_vars`
never reach it: they are passed to the child only, and the values of secret-looking names
(`OPENAI_API_KEY`, `HF_TOKEN`) are masked should the command print them.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import subprocess
import time
from collections import deque
from pathlib import Path
from typing import Mapping, Sequence

from ..redact import is_secret_key, mask_text

TAIL_LINES = 15


class EnvError(RuntimeError):
    """Building an environment or running a command in it failed. A RuntimeError, not a
    config error: the runner reports it as a failed job (exit 1), with the log to read."""


def stream_run(
    cmd: Sequence[str],
    log_path: Path,
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    secrets: Sequence[str] = (),
    check: bool = True,
    what: str = "command",
) -> int:
    """Run `cmd` (an argument list, no shell), appending its stdout and stderr to
    `log_path` as they arrive; the exit status, or an EnvError naming the command, its exit
    status, the log and the output's last lines when it is not 0 and `check` is set."""
    cmd = [str(c) for c in cmd]
    shown = mask_text(shlex.join(cmd), secrets)
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    with open(log_path, "a", encoding="utf-8") as log:
        log.write(f"$ {shown}" + (f"  (in {cwd})" if cwd else "") + "\n")
        log.flush()
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                cmd,
                cwd=cwd,
                env=dict(env) if env is not None else None,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
        except OSError as exc:
            log.write(f"cannot start: {exc}\n")
            raise EnvError(f"{what} could not start: {shown}: {exc} (log: {log_path})") from exc
        try:
            assert proc.stdout is not None
            for raw in iter(proc.stdout.readline, b""):
                line = mask_text(raw.decode("utf-8", errors="replace"), secrets)
                log.write(line if line.endswith("\n") else line + "\n")
                log.flush()
                tail.append(line.rstrip("\n"))
            status = proc.wait()
        finally:
            _stop(proc)
        log.write(f"# exit status {status} after {time.monotonic() - started:.1f} s\n")
    if status != 0 and check:
        last = "\n".join(f"  | {line}" for line in tail)
        raise EnvError(
            f"{what} failed with exit status {status}: {shown}; full output in {log_path}"
            + (f"; last lines:\n{last}" if last else "")
        )
    return status


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End the child when we leave early (Ctrl-C, an error while logging)."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if proc.stdout is not None:
        with contextlib.suppress(OSError):
            proc.stdout.close()


def secret_values(env_vars: Mapping[str, str] | None) -> list[str]:
    """The values among `env_vars` whose names say they are secrets."""
    return [str(v) for k, v in (env_vars or {}).items() if is_secret_key(k) and v]
