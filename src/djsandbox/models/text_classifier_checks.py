"""Validation-time checks of the `text_classifier` trainer's config (stdlib only: validation
imports this, never the classifier's torch/lightning module)."""

from __future__ import annotations

from typing import Any

from .text_seeds import seeds_problems
from .trainer_keys import trainer_problems


def check_train(cfg: dict[str, Any]) -> list[str]:
    """Problems with a `text_classifier` ModelTrainExecutor config ('key: problem')."""
    return trainer_problems(cfg.get("trainer"), "trainer") + seeds_problems(cfg.get("seeds"))
