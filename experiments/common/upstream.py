"""Study 1's results, which the multi_op, transfer and duplication studies start from.

The full profile reads experiments/single_op/results.json (run single_op first); the quick and
smoke profiles read single_op/runs/<profile>/results.json. A missing file is produced by
running study 1 with the same profile (and its time counts in the caller's wall time).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

SINGLE_OP_DIR = Path(__file__).resolve().parents[1] / "single_op"
log = logging.getLogger("experiments")


def default_path(profile: str) -> Path:
    return (
        SINGLE_OP_DIR if profile == "full" else SINGLE_OP_DIR / "runs" / profile
    ) / "results.json"


def single_op_results(profile: str, path: Path | None = None) -> tuple[dict[str, Any], Path]:
    """(results.json of study 1, its path); runs study 1 when the default file is missing."""
    target = path or default_path(profile)
    if not target.is_file():
        if path is not None:
            raise FileNotFoundError(f"--single-op: {path} does not exist")
        log.info("%s missing: running study 1 (single_op, profile %s) first", target, profile)
        from experiments.single_op.run import main as run_single_op

        run_single_op([] if profile == "full" else [f"--{profile}"])
    return json.loads(target.read_text()), target
