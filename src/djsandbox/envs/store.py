"""Environments in the sandbox's cache folder: built once per spec, reused, rebuilt when the
spec changes, never two builds of one environment at a time.

Layout (default root `$DJSANDBOX_CACHE_DIR/envs`)::

    <root>/<name>/.lock                  flock: one build of <name> at a time (all processes)
    <root>/<name>/current -> <fp>        the environment last built or used
    <root>/<name>/<fp>/                  one build; <fp> = the spec's fingerprint (16 hex)
    <root>/<name>/<fp>/.djsandbox-env    marker: the sandbox made this folder (may delete it)
    <root>/<name>/<fp>/.djsandbox-env.json   the spec; written atomically after a good build
    <root>/<name>/build-<fp>.log         the build's output

A changed spec builds in a fresh folder (environments are not relocatable: their scripts
name their own path), then `current` is switched to it and the older builds of that name are
removed: only folders that carry the marker, and not while a command runs in them.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from ..atomic import atomic_write_text
from ..paths import cache_base
from ..redact import mask_text
from .commands import build_commands, env_python, find_tool
from .running import EnvError, secret_values, stream_run
from .spec import EnvSpec

log = logging.getLogger("djsandbox")

MARKER = ".djsandbox-env"
RECORD = ".djsandbox-env.json"
IN_USE = ".djsandbox-env.inuse"
CURRENT = "current"
LOCK = ".lock"
FP_CHARS = 16
# What the sandbox's own process may carry that must not leak into another Python's world.
_DROPPED_VARS = ("PYTHONPATH", "PYTHONHOME", "PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__")
_ACTIVATION_VARS = ("VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV")


def envs_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where environments live: `cache_dir`, or `envs` in the sandbox's cache folder."""
    root = Path(cache_dir) if cache_dir is not None else cache_base() / "envs"
    return root.expanduser().resolve()


def lock_path(spec: EnvSpec, cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The file whose flock serialises builds of `spec`'s environment."""
    return envs_root(cache_dir) / spec.name / LOCK


class Env:
    """A built environment: its `python` and `run()` for commands inside it."""

    def __init__(self, spec: EnvSpec, path: Path, built: bool) -> None:
        self.spec = spec
        self.path = path
        self.built = built  # whether the get_env call that returned it built it

    def __repr__(self) -> str:
        return f"Env({self.spec.manager} '{self.spec.name}' at {self.path})"

    @property
    def python(self) -> Path:
        return env_python(self.path)

    @property
    def bin_dir(self) -> Path:
        return self.path / "bin"

    def child_env(self, env_vars: Mapping[str, str] | None = None) -> dict[str, str]:
        """The process environment of a command run inside: this environment's bin first on
        PATH and its activation variable set, the sandbox's PYTHONPATH not inherited,
        `env_vars` on top."""
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in _DROPPED_VARS and k not in _ACTIVATION_VARS
        }
        env["PATH"] = os.pathsep.join(filter(None, [str(self.bin_dir), os.environ.get("PATH")]))
        if self.spec.conda_like:
            env["CONDA_PREFIX"] = env["CONDA_DEFAULT_ENV"] = str(self.path)
        else:
            env["VIRTUAL_ENV"] = str(self.path)
        env.update({str(k): str(v) for k, v in (env_vars or {}).items()})
        return env

    def run(
        self,
        cmd: Sequence[str],
        log_path: str | os.PathLike[str],
        cwd: str | os.PathLike[str] | None = None,
        env_vars: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> int:
        """Run `cmd` (an argument list; `python` is this environment's) with its output
        appended to `log_path` line by line; the exit status, or an EnvError naming the
        command and the log when it fails and `check` is set. `env_vars` reach the command
        only, never the log."""
        if isinstance(cmd, (str, bytes)) or not cmd:
            raise TypeError("Env.run: cmd must be a non-empty list of arguments (no shell)")
        env = self.child_env(env_vars)
        cmd = [str(c) for c in cmd]
        found = shutil.which(cmd[0], path=env["PATH"]) if os.sep not in cmd[0] else None
        if found:
            cmd[0] = found
        with self._in_use():
            return stream_run(
                cmd,
                Path(log_path),
                cwd=cwd,
                env=env,
                secrets=secret_values(env_vars),
                check=check,
                what=f"command in environment '{self.spec.name}' ({self.spec.manager})",
            )

    @contextlib.contextmanager
    def _in_use(self) -> Iterator[None]:
        """A shared flock while a command runs: a rebuild does not remove this folder."""
        with open(self.path / IN_USE, "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)


def get_env(
    spec: EnvSpec,
    cache_dir: str | os.PathLike[str] | None = None,
    log_path: str | os.PathLike[str] | None = None,
) -> Env:
    """The environment of `spec`, built if it is not there yet (its output streamed into
    `log_path`, default `<root>/<name>/build-<fp>.log`). With an unchanged spec this reads
    one small file and runs nothing."""
    home = envs_root(cache_dir) / spec.name
    fingerprint = spec.fingerprint()
    target = home / fingerprint[:FP_CHARS]
    if _is_built(target, fingerprint):
        _point_current(home, target)
        return Env(spec, target, built=False)
    missing = [f for f in spec.named_files() if not Path(f).is_file()]
    if missing:
        raise EnvError(
            f"environment '{spec.name}': file {missing[0]!r} named by its spec does not exist"
        )
    tool = find_tool(spec)  # a missing manager is reported before anything is written
    home.mkdir(parents=True, exist_ok=True)
    with _build_lock(home, spec):
        if _is_built(target, fingerprint):  # another process built it while we waited
            _point_current(home, target)
            return Env(spec, target, built=False)
        build_log = Path(log_path) if log_path else home / f"build-{target.name}.log"
        _build(spec, target, tool, fingerprint, build_log)
        _point_current(home, target)
        _remove_old_builds(home, keep=target)
    return Env(spec, target, built=True)


def _is_built(target: Path, fingerprint: str) -> bool:
    try:
        record = json.loads((target / RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(record, dict) and record.get("fingerprint") == fingerprint


@contextlib.contextmanager
def _build_lock(home: Path, spec: EnvSpec) -> Iterator[None]:
    with open(home / LOCK, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("environment '%s': another process is building it; waiting", spec.name)
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _build(spec: EnvSpec, target: Path, tool: list[str], fingerprint: str, build_log: Path) -> None:
    if target.exists() or target.is_symlink():
        if not (target / MARKER).is_file():
            raise EnvError(
                f"environment '{spec.name}': {target} exists and was not made by the sandbox; "
                "it is left alone: move it away or choose another cache folder"
            )
        _remove(target)  # an earlier build of ours that did not finish
    commands = build_commands(spec, target, tool)
    log.info("building environment '%s' (%s) in %s", spec.name, spec.manager, target)
    started = time.monotonic()
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_VARS}
    try:
        for i, cmd in enumerate(commands, 1):
            stream_run(
                cmd,
                build_log,
                env=env,
                what=f"building environment '{spec.name}' ({spec.manager}), step "
                f"{i}/{len(commands)}",
            )
            if target.is_dir() and not (target / MARKER).exists():
                (target / MARKER).write_text(
                    "made by djsandbox; removed when its environment is rebuilt\n",
                    encoding="utf-8",
                )
        if not env_python(target).exists():
            raise EnvError(
                f"building environment '{spec.name}' ({spec.manager}): the commands "
                f"succeeded but {env_python(target)} does not exist; see {build_log}"
            )
        record = {
            "fingerprint": fingerprint,
            "spec": spec.describe(),
            "commands": commands,
            "built": time.time(),
            "seconds": round(time.monotonic() - started, 1),
        }
        atomic_write_text(target / RECORD, mask_text(json.dumps(record, indent=1)))
    except BaseException:
        # nothing was at `target` before this build, and we hold the lock: it is ours
        if target.exists() or target.is_symlink():
            _remove(target)
        raise
    log.info("environment '%s' built in %.0f s", spec.name, time.monotonic() - started)


def _point_current(home: Path, target: Path) -> None:
    link = home / CURRENT
    try:
        if os.readlink(link) == target.name:
            return
    except OSError:
        pass
    if link.exists() and not link.is_symlink():
        return  # not ours: leave it
    temp = home / f".{CURRENT}.{os.getpid()}.{threading.get_ident()}.tmp"
    try:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        os.symlink(target.name, temp)
        os.replace(temp, link)
    except OSError as exc:  # a pointer for people; the environment itself is fine
        log.debug("environment %s: could not point %s at it: %s", target, link, exc)


def _remove_old_builds(home: Path, keep: Path) -> None:
    """Remove the other builds of this name the sandbox made, unless a command runs there."""
    for child in home.iterdir():
        if child == keep or child.is_symlink() or not child.is_dir():
            continue
        if not (child / MARKER).is_file():
            continue
        try:
            with open(child / IN_USE, "a") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                _remove(child)
        except BlockingIOError:
            log.info("environment %s is in use; removed on a later rebuild", child)
        stale_log = home / f"build-{child.name}.log"
        if not child.exists():
            with contextlib.suppress(FileNotFoundError):
                stale_log.unlink()


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()
