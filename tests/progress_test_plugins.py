"""Components for tests/test_progress.py: one that logs like a chatty library, one that reports
its own progress."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

from djsandbox.catalog import register
from djsandbox.progress import report


@register("DataEvaluator", "test_chatter", "logs like a library: info, warnings, loguru")
def chatter(cfg: dict[str, Any], out_dir: Path) -> str:
    from loguru import logger

    library = logging.getLogger("fake_library.module")
    library.info("library chatter at info")
    library.warning("library warning that matters")
    logging.getLogger("transformers.generation").warning("transformers advice")
    logging.getLogger("transformers.modeling").error("transformers error that matters")
    logger.info("loguru chatter at info")
    logger.warning("Command nvidia-smi is not found. There might be no GPUs on this machine.")
    logger.warning("loguru warning that matters")
    warnings.warn("an old library api", FutureWarning, stacklevel=1)
    logging.getLogger("djsandbox.test").info("the sandbox's own line")
    return "chatted"


@register("DataEvaluator", "test_steps", "reports cfg['steps'] steps of progress with a loss")
def steps(cfg: dict[str, Any], out_dir: Path) -> int:
    total = int(cfg.get("steps", 3))
    for step in range(1, total + 1):
        report(step, total, "steps", loss=1.0 / step)
    return total
