"""A real Ray head for tests: `ray start --head` on 127.0.0.1, stopped afterwards."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def ray_head(num_cpus: int = 1) -> Iterator[str]:
    """`ray start --head --block` in its own process group and temp dir; yields its address.
    The group (only what this started) is stopped afterwards, even when the test fails. `ray
    stop` is not used: it stops every Ray on the machine, other users' too. Token
    authentication with a token of this head only (Ray's default reads or writes
    ~/.ray/auth_token), set in this process's environment meanwhile, so that drivers started
    here or in subprocesses use it."""
    port = free_port()
    temp = Path(tempfile.mkdtemp(prefix="rayt", dir="/tmp"))  # short: Ray's socket paths
    ray_cli = Path(sys.executable).parent / "ray"
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    saved = {k: os.environ.get(k) for k in (*auth, "RAY_ADDRESS")}
    os.environ.pop("RAY_ADDRESS", None)
    os.environ.update(auth)
    proc = subprocess.Popen(
        [str(ray_cli), "start", "--head", f"--port={port}", "--node-ip-address=127.0.0.1"]
        + [f"--num-cpus={num_cpus}", "--include-dashboard=false", f"--temp-dir={temp}"]
        + ["--block"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=dict(os.environ),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError("ray start --head exited early")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the Ray head did not open its port in 120 s") from None
                time.sleep(0.5)
        yield f"127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(temp, ignore_errors=True)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
