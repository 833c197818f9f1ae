"""A component for the input-check tests: a library that turns Ctrl-C into another error."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

from djsandbox.catalog import register


@register(
    "DataEvaluator", "test_swallow_interrupt", "Ctrl-C during the job, re-raised as TimeoutError"
)
def swallow_interrupt(cfg: dict[str, Any], out_dir: Path) -> Any:
    try:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    except KeyboardInterrupt:
        raise TimeoutError() from None  # what a worker pool reports when interrupted
    return "not interrupted"
