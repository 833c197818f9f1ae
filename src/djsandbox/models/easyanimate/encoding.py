"""Clips to VAE latents (cached on disk) and prompts to text-encoder embeddings.

Encoding a clip with the VAE costs far more than a LoRA step on CPU, and every pool of a run
draws from the same clips, so each clip's latent is computed once per base model and kept
under `cache_base()/easyanimate/latents/<base key>/<clip sha256>.pt` (atomic writes; a clip
changed on disk gets a new entry). Prompts are embedded the way `EasyAnimatePipeline` does
(chat template, right padding, the text encoder's second-to-last hidden states), with the
model's `max_sequence_length`, so training and generation see the same embeddings.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Sequence

from djsandbox.atomic import atomic_paths
from djsandbox.paths import cache_base

from .clips import Clip, clip_tensor


def latent_cache_dir(base_key: str) -> Path:
    return cache_base() / "easyanimate" / "latents" / base_key


def _digest(path: str) -> str:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def encode_videos(
    pipe: Any, clips: Sequence[Clip], num_frames: int, size: int, base_key: str, batch: int = 8
) -> Any:
    """(N, C, T', h, w) latents (the VAE posterior's mean times its scaling factor)."""
    import torch

    folder = latent_cache_dir(base_key)
    out: list[Any] = [None] * len(clips)
    todo: list[int] = []
    for i, clip in enumerate(clips):
        entry = folder / f"{_digest(clip.video)}_{num_frames}_{size}.pt"
        if entry.is_file():
            out[i] = torch.load(entry, weights_only=True)
        else:
            todo.append(i)
    vae = pipe.vae
    scale = float(vae.config.scaling_factor)
    for start in range(0, len(todo), batch):
        idx = todo[start : start + batch]
        x = torch.stack([clip_tensor(clips[i].video, num_frames, size) for i in idx])
        x = x.to(device=vae.device, dtype=vae.dtype)
        with torch.no_grad():
            try:
                z = vae.encode(x).latent_dist.mode() * scale
            finally:
                vae._clear_conv_cache()  # a failed call leaves stale state in the causal convs
        for i, latent in zip(idx, z.float().cpu()):
            entry = folder / f"{_digest(clips[i].video)}_{num_frames}_{size}.pt"
            with atomic_paths([entry]) as (tmp,):
                torch.save(latent.clone(), tmp)
            out[i] = latent
    return torch.stack(out) if out else torch.empty(0)


def encode_prompts(pipe: Any, texts: Sequence[str], max_length: int, batch: int = 32) -> Any:
    """(N, max_length, hidden) prompt embeddings, as the pipeline computes them."""
    import torch

    parts = []
    with torch.no_grad():
        for start in range(0, len(texts), batch):
            embeds, _, _, _ = pipe.encode_prompt(
                prompt=list(texts[start : start + batch]),
                do_classifier_free_guidance=False,
                max_sequence_length=max_length,
                device=pipe.text_encoder.device,
            )
            parts.append(embeds.float().cpu())
    return torch.cat(parts) if parts else torch.empty(0)
