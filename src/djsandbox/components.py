"""Adapters giving built-in components the factory call shape `(cfg, out_dir) -> results`.

Model components also accept a list or a mapping of inputs (e.g. the pools of a
`data_pool_construction`, grouped per stat): they then run once per item, each in its own
sub-folder, and return results of the same shape, so pools and results stay aligned.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable


def map_structure(value: Any, fn: Callable[[Any, Path], Any], out_dir: Path) -> Any:
    """Apply `fn(item, folder)` to each leaf of nested lists/dicts, keeping the shape."""
    if isinstance(value, list):
        return [map_structure(v, fn, out_dir / str(i)) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: map_structure(v, fn, out_dir / re.sub(r"[^\w.-]", "_", str(k)))
                for k, v in value.items()}
    return fn(value, out_dir)


def split_pairs(value: Any) -> tuple[Any, Any]:
    """A structure of (a, b) leaves -> (structure of a, structure of b)."""
    if isinstance(value, list):
        pairs = [split_pairs(v) for v in value]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    if isinstance(value, dict):
        pairs = {k: split_pairs(v) for k, v in value.items()}
        return {k: p[0] for k, p in pairs.items()}, {k: p[1] for k, p in pairs.items()}
    return value


def accuracy(cfg: dict[str, Any], out_dir: Path) -> float:
    from .evaluation.data_evaluators import accuracy_evaluator

    return accuracy_evaluator(cfg)


def mse(cfg: dict[str, Any], out_dir: Path) -> float:
    from .evaluation.data_evaluators import mse_evaluator

    return mse_evaluator(cfg)


def train_text_classifier(cfg: dict[str, Any], out_dir: Path) -> tuple[Any, Any]:
    """Returns (checkpoint path(s), training facts and validation metrics), one per dataset."""
    from .models.text_classifier import train_text_classifier as train

    def one(dataset: Any, folder: Path) -> tuple[str, dict[str, Any]]:
        result = train({**cfg, "dataset_path": dataset}, folder)
        return result["checkpoint"], {k: v for k, v in result.items() if k != "checkpoint"}

    return split_pairs(map_structure(cfg.get("dataset_path"), one, out_dir))


def evaluate_text_classifier(cfg: dict[str, Any], out_dir: Path) -> Any:
    """Accuracy and macro-F1 of each checkpoint on the labelled `dataset_path`."""
    from .models.text_classifier import evaluate_text_classifier as evaluate

    return map_structure(cfg.get("checkpoint"),
                         lambda ckpt, folder: evaluate({**cfg, "checkpoint": ckpt}, folder),
                         out_dir)
