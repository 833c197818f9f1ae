"""The flow-matching objective EasyAnimate's `FlowMatchEulerDiscreteScheduler` samples with.

A clean latent x0 and noise e are mixed at a level s in (0, 1): x_s = (1 - s) x0 + s e; the
transformer, given x_s, the timestep 1000 s (the scheduler's scale) and the prompt's
embedding, predicts the velocity e - x0, which the scheduler's Euler steps integrate from
noise (s = 1) to a clip (s = 0). One function, used by the base's pretraining and by LoRA.
"""

from __future__ import annotations

from typing import Any


def flow_matching_loss(transformer: Any, latents: Any, embeds: Any, generator: Any = None) -> Any:
    """Mean squared error of the predicted velocity for one batch (levels drawn uniformly)."""
    import torch

    n = latents.shape[0]
    sigma = torch.rand(n, generator=generator, device=latents.device, dtype=latents.dtype)
    noise = torch.randn(
        latents.shape, generator=generator, device=latents.device, dtype=latents.dtype
    )
    s = sigma.view(n, *([1] * (latents.ndim - 1)))
    noisy = (1 - s) * latents + s * noise
    pred = transformer(noisy, sigma * 1000, encoder_hidden_states=embeds, return_dict=False)[0]
    return torch.nn.functional.mse_loss(pred.float(), (noise - latents).float())
