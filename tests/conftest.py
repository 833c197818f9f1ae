"""Shared fixtures: the test plugins, and a helper that runs a sandbox config in-process."""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

TESTS_DIR = Path(__file__).resolve().parent
ROOT = TESTS_DIR.parent
FINE_FOODS = ROOT / "src" / "djsandbox" / "resources" / "fine_foods"
sys.path.insert(0, str(TESTS_DIR))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# Each test session gets its own cache folder (subprocesses inherit it), removed at the end
# (hundreds of sessions' caches had filled /tmp with gigabytes) ...
os.environ["DJSANDBOX_CACHE_DIR"] = tempfile.mkdtemp(prefix="djsandbox-test-cache-")
atexit.register(shutil.rmtree, os.environ["DJSANDBOX_CACHE_DIR"], ignore_errors=True)


@pytest.fixture(autouse=True)
def _own_job_cache(tmp_path_factory, monkeypatch):
    """... and each test its own job cache: test components have side effects (markers,
    call logs) that two tests can repeat byte for byte, which would make a later test
    restore an earlier one's job instead of running its own."""
    monkeypatch.setenv("DJSANDBOX_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture
def run_cfg(tmp_path: Path):
    """Run a plain-dict sandbox config (reference format) with the test plugins loaded."""
    from djsandbox.app import run_sandbox

    def run(cfg: dict[str, Any], base_dirs: list[Path] | None = None, **extra: Any):
        full = {
            "work_dir": str(tmp_path / "run"),
            "plugins": ["sandbox_test_plugins"],
            "max_iter_num": 1,
            **cfg,
            **extra,
        }
        return run_sandbox(full, base_dirs or [tmp_path])

    return run


def subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS_DIR), env.get("PYTHONPATH", "")])
    env["HF_HUB_OFFLINE"] = "1"
    return env


def heavy_modules_after(
    args: list[str], modules: tuple[str, ...], cwd: Path
) -> tuple[list[str], str]:
    """Run `python -m djsandbox ARGS` in a subprocess; (heavy modules it imported, stdout)."""
    import subprocess

    probe = (
        "import sys, runpy\n"
        "sys.argv = ['djsandbox'] + sys.argv[1:]\n"
        "try:\n"
        "    runpy.run_module('djsandbox', run_name='__main__')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"heavy = [m for m in {modules!r} if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe, *args],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=cwd,
        check=True,
    ).stdout
    heavy = out.rsplit("HEAVY=", 1)[1].strip()
    return (heavy.split(",") if heavy else []), out


def _strip_study_log_filters() -> None:
    import logging

    for handler in logging.getLogger().handlers:
        handler.filters[:] = [
            f for f in handler.filters if getattr(f, "__name__", "") != "_quiet_libraries"
        ]


@pytest.fixture(autouse=True)
def _restore_logging():
    """Study drivers run in-process (tests/test_experiments.py, also from module-scoped
    fixtures) set up logging for the whole process: a filter on the root handlers, which
    pytest reuses for every test, and the `experiments` logger's level. Remove that filter
    before and after every test so later tests' caplog sees every record."""
    import logging

    _strip_study_log_filters()
    level = logging.getLogger("experiments").level
    yield
    _strip_study_log_filters()
    logging.getLogger("experiments").setLevel(level)
