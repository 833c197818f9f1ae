"""A component for the shared-study tests, registered through `plugins:` as a user would."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from djsandbox.catalog import register


@register("DataEvaluator", "test_study_gate", "score = value, once the file `gate` is gone")
def gated_score(cfg: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Waits while the file named by `gate` exists, so a test can hold a trial RUNNING."""
    gate = cfg.get("gate")
    while gate and Path(gate).exists():
        time.sleep(0.1)
    return {"score": float(cfg.get("value", 0))}
