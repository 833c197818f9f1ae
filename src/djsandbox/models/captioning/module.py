"""The Lightning module that fine-tunes a captioner through its `CaptionAdapter`.

Optimisation follows InternVL's fine-tune scripts: AdamW over the trainable parameters only
(frozen vision/projector, LoRA or full LM), weight decay, a linear warmup over `warmup_ratio`
of the steps then cosine decay to zero, stepped every optimiser step. Per-step training losses
are kept in memory so the trainer can report whether the loss fell.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from ..schedules import warmup_cosine_optimizer
from .adapter import CaptionAdapter


class CaptionModule(L.LightningModule):
    def __init__(
        self,
        adapter: CaptionAdapter,
        lr: float,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.03,
    ) -> None:
        super().__init__()
        self.adapter = adapter
        self.model = adapter.model  # registered, so Lightning moves and checkpoints it
        self.lr, self.weight_decay, self.warmup_ratio = lr, weight_decay, warmup_ratio
        self.step_losses: list[float] = []

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.adapter.loss(batch)
        size = len(batch["input_ids"])
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=size)
        self.log("lr", self.optimizers().param_groups[0]["lr"], on_step=True, batch_size=size)
        self.step_losses.append(float(loss.detach()))
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self.log(
            "val/loss", self.adapter.loss(batch), on_epoch=True, batch_size=len(batch["input_ids"])
        )

    def configure_optimizers(self) -> Any:
        params = [p for p in self.model.parameters() if p.requires_grad]
        decay = [p for p in params if p.ndim >= 2]  # no decay on biases and norms
        no_decay = [p for p in params if p.ndim < 2]
        optimizer = torch.optim.AdamW(
            [
                {"params": decay, "weight_decay": self.weight_decay},
                {"params": no_decay, "weight_decay": 0.0},
            ],
            lr=self.lr,
        )
        return warmup_cosine_optimizer(optimizer, self.trainer, self.warmup_ratio)
