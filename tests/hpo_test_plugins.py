"""Tiny components for the HPO tests, registered through `plugins:` as a user would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from djsandbox.catalog import register


@register("DataEvaluator", "test_hpo_score", "score = value, or NaN when value < 0")
def score(cfg: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    value = float(cfg.get("value", 0))
    return {"score": float("nan") if value < 0 else value, "value": value}


@register("DataEvaluator", "test_hpo_count_rows", "rows of the JSONL file at dataset_path")
def count_rows(cfg: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    with open(cfg["dataset_path"], encoding="utf-8") as fh:
        return {"rows": sum(1 for line in fh if line.strip())}


@register("ModelEvaluator", "test_hpo_checkpoint_score", "accuracy = the checkpoint's number")
def checkpoint_score(cfg: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """The number in the checkpoint file, or the checkpoint itself when it is a number."""
    ckpt = cfg["checkpoint"]
    value = ckpt if isinstance(ckpt, (int, float)) else float(Path(ckpt).read_text())
    return {"accuracy": float(value), "rows": 10}
