"""A throwaway PostgreSQL server for tests: initdb a temp cluster, start it on 127.0.0.1.

The server is real (Debian's `postgresql` package, or any `initdb`/`pg_ctl` on PATH), never a
mock. PostgreSQL refuses to run as root, so under root (CI) every server command runs as an
unprivileged user (`postgres` when the package created it, else `nobody`) and the cluster
lives in a folder that user owns. Password authentication is on for TCP, so tests can check
that a password given in `PGPASSWORD` works and never reaches a file.

Without the binaries the test fails with what to install; `DJSANDBOX_NO_POSTGRES=1` turns that
into a skip with the reason, for machines that cannot have a server.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

USER = "djsandbox_test"
PASSWORD = "pg-s3cret-Xq7w"  # a test-only password, checked never to appear in any file


@dataclass
class PgServer:
    host: str
    port: int
    user: str
    password: str

    def url(self, database: str = "postgres", with_password: bool = False) -> str:
        """A SQLAlchemy URL; without the password (libpq reads PGPASSWORD) unless asked."""
        auth = f"{self.user}:{self.password}" if with_password else self.user
        return f"postgresql://{auth}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A fresh database (one per test keeps studies apart); returns its URL."""
        import psycopg2

        conn = psycopg2.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname="postgres",
        )
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.url(name)


def find_binaries() -> tuple[str, str] | None:
    """(initdb, pg_ctl) on PATH, else the newest Debian install under /usr/lib/postgresql."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return initdb, pg_ctl
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.access(f"{bindir}/initdb", os.X_OK) and os.access(f"{bindir}/pg_ctl", os.X_OK):
            return f"{bindir}/initdb", f"{bindir}/pg_ctl"
    return None


def _run_as() -> str | None:
    """The unprivileged user to run the server as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    import pwd

    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    pytest.fail("running as root and neither a 'postgres' nor a 'nobody' user exists")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(cmd: list[str], user: str | None, log: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_ALL"] = env["LANG"] = "C.UTF-8"
    proc = subprocess.run(
        cmd, user=user, env=env, capture_output=True, text=True, timeout=120, cwd="/"
    )
    if proc.returncode != 0:
        tail = log.read_text()[-2000:] if log.is_file() else ""
        pytest.fail(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}\n{tail}")


def start_server() -> Iterator[PgServer]:
    """Start a cluster in a temp folder, yield it, always stop it and remove the folder."""
    binaries = find_binaries()
    if binaries is None:
        reason = (
            "PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or under "
            "/usr/lib/postgresql/*/bin: install Debian's package (apt-get install -y "
            "postgresql) or set DJSANDBOX_NO_POSTGRES=1 to skip the PostgreSQL tests"
        )
        if os.environ.get("DJSANDBOX_NO_POSTGRES") == "1":
            pytest.skip(reason)
        pytest.fail(reason)
    initdb, pg_ctl = binaries
    user = _run_as()
    # Not pytest's tmp_path: it is private to root, and the server user must reach its folder.
    root = Path(tempfile.mkdtemp(prefix="djsandbox-pg-"))
    data, sockets, log = root / "data", root / "sock", root / "server.log"
    sockets.mkdir()
    pwfile = root / "pw"
    pwfile.write_text(PASSWORD + "\n")
    if user is not None:
        for path in (root, sockets, pwfile):
            shutil.chown(path, user=user)
    port = _free_port()
    started = False
    try:
        _call(
            [initdb, "-D", str(data), "-U", USER, f"--pwfile={pwfile}", "--auth-local=trust"]
            + ["--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"],
            user,
            log,
        )
        pwfile.unlink()
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
        started = True
        _call([pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start"], user, log)
        yield PgServer("127.0.0.1", port, USER, PASSWORD)
    finally:
        if started:
            subprocess.run(
                [pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                user=user,
                capture_output=True,
                timeout=60,
                cwd="/",
            )
        shutil.rmtree(root, ignore_errors=True)
