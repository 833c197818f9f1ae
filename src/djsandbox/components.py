"""Adapters giving built-in components the factory call shape `(cfg, out_dir) -> results`."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def accuracy(cfg: dict[str, Any], out_dir: Path) -> float:
    from .evaluation.data_evaluators import accuracy_evaluator

    return accuracy_evaluator(cfg)


def mse(cfg: dict[str, Any], out_dir: Path) -> float:
    from .evaluation.data_evaluators import mse_evaluator

    return mse_evaluator(cfg)


def train_text_classifier(cfg: dict[str, Any], out_dir: Path) -> tuple[str, dict[str, Any]]:
    """Returns (checkpoint path, training facts and validation metrics)."""
    from .models.text_classifier import train_text_classifier as train

    result = train(cfg, out_dir)
    return result["checkpoint"], {k: v for k, v in result.items() if k != "checkpoint"}


def evaluate_text_classifier(cfg: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    from .models.text_classifier import evaluate_text_classifier as evaluate

    return evaluate(cfg, out_dir)
