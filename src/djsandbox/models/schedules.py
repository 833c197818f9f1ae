"""The learning-rate schedule the Lightning modules share (InternVL's fine-tune scripts): a
linear warmup over `warmup_ratio` of the optimiser steps, then cosine decay to zero, stepped
every optimiser step."""

from __future__ import annotations

import math
from typing import Any


def warmup_cosine(step: int, total: int, warmup: int) -> float:
    """Learning-rate factor: linear warmup to 1, then cosine to 0 at `total`."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


def warmup_cosine_optimizer(optimizer: Any, trainer: Any, warmup_ratio: float) -> dict[str, Any]:
    """What `configure_optimizers` returns: `optimizer` with the schedule over the run's steps."""
    import torch

    total = max(1, int(trainer.estimated_stepping_batches))
    warmup = math.ceil(total * warmup_ratio)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: warmup_cosine(step, total, warmup)
    )
    return {
        "optimizer": optimizer,
        "lr_scheduler": {"scheduler": scheduler, "interval": "step", "frequency": 1},
    }
