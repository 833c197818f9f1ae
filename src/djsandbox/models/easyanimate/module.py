"""The Lightning module that fine-tunes EasyAnimate's transformer with LoRA.

Batches are (latents, prompt embeddings), both computed before training (`encoding.py`): the
VAE and text encoder stay frozen, as in EasyAnimate's LoRA script, and only the adapters of
the transformer learn, with the flow-matching loss (`flow.py`). AdamW over the adapters, a
linear warmup then cosine decay stepped every optimiser step; per-step losses are kept so the
trainer can report whether the loss fell.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from ..schedules import warmup_cosine_optimizer
from .flow import flow_matching_loss


class LoraModule(L.LightningModule):
    def __init__(self, transformer: Any, lr: float, warmup_ratio: float = 0.05) -> None:
        super().__init__()
        self.transformer = transformer
        self.lr, self.warmup_ratio = lr, warmup_ratio
        self.step_losses: list[float] = []

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> Any:
        latents, embeds = batch
        dtype = next(self.transformer.parameters()).dtype
        loss = flow_matching_loss(self.transformer, latents.to(dtype), embeds.to(dtype))
        size = len(latents)
        self.log("train/loss", loss, on_step=True, on_epoch=True, prog_bar=True, batch_size=size)
        self.log("lr", self.optimizers().param_groups[0]["lr"], on_step=True, batch_size=size)
        self.step_losses.append(float(loss.detach()))
        return loss

    def validation_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        latents, embeds = batch
        dtype = next(self.transformer.parameters()).dtype
        gen = torch.Generator(device=latents.device).manual_seed(batch_idx)  # same noise each epoch
        loss = flow_matching_loss(self.transformer, latents.to(dtype), embeds.to(dtype), gen)
        self.log("val/loss", loss, on_epoch=True, batch_size=len(latents))

    def configure_optimizers(self) -> Any:
        params = [p for p in self.transformer.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=self.lr, weight_decay=0.0)
        return warmup_cosine_optimizer(optimizer, self.trainer, self.warmup_ratio)
