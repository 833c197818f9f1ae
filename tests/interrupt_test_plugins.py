"""A component for the Ctrl-C tests: a worker pool, and a library that exits on Ctrl-C.

The first call (no `marker` yet) starts a pool of forked workers, notes `started` in `calls`,
and waits for them; on Ctrl-C it prints a screenful to stderr and calls `sys.exit(1)`, as
Lightning does. Later calls return at once, so the resumed run finishes.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from pathlib import Path
from typing import Any

from djsandbox.catalog import register


@register("DataEvaluator", "test_stubborn_pool", "a pool job that exits 1 on Ctrl-C, once")
def stubborn_pool(cfg: dict[str, Any], out_dir: Path) -> str:
    marker, calls = Path(cfg["marker"]), Path(cfg["calls"])
    if marker.exists():
        return "finished"
    marker.write_text("started once\n")
    with multiprocessing.get_context("fork").Pool(2) as pool:
        pool.apply_async(time.sleep, (0,)).get()  # the workers are up
        with calls.open("a") as fh:
            fh.write("started\n")
        try:
            pool.map(time.sleep, [float(cfg.get("seconds", 120))] * 2)
        except KeyboardInterrupt:
            for i in range(40):
                print(f"library noise while stopping {i}", file=sys.stderr)
            sys.exit(1)
    return "not interrupted"


@register("DataEvaluator", "test_swallow_and_finish", "catches its Ctrl-C and finishes anyway")
def swallow_and_finish(cfg: dict[str, Any], out_dir: Path) -> str:
    import os
    import signal

    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    except KeyboardInterrupt:
        pass
    return "finished"


@register("DataEvaluator", "test_deaf_pool", "swallows Ctrl-C, then waits on its workers again")
def deaf_pool(cfg: dict[str, Any], out_dir: Path) -> str:
    """A library whose worker pool outlives the first Ctrl-C (Data-Juicer's sometimes does):
    only the watch's second step (workers killed, the signal sent again) stops it."""
    marker, calls = Path(cfg["marker"]), Path(cfg["calls"])
    if marker.exists():
        return "finished"
    marker.write_text("started once\n")
    with multiprocessing.get_context("fork").Pool(1) as pool:
        pool.apply_async(time.sleep, (0,)).get()
        with calls.open("a") as fh:
            fh.write("started\n")
        try:
            pool.apply_async(time.sleep, (120,)).get()
        except KeyboardInterrupt:
            pass  # swallowed
        pool.apply_async(time.sleep, (120,)).get()  # and waits again
    return "not interrupted"


@register("DataEvaluator", "test_deaf_forever", "swallows every Ctrl-C")
def deaf_forever(cfg: dict[str, Any], out_dir: Path) -> str:
    marker, calls = Path(cfg["marker"]), Path(cfg["calls"])
    if marker.exists():
        return "finished"
    marker.write_text("started once\n")
    with calls.open("a") as fh:
        fh.write("started\n")
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            time.sleep(0.1)
        except KeyboardInterrupt:
            pass
    return "not interrupted"
