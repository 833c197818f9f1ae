"""The tiny base's pretrained VAE, cached on its own so that bases differing only in their
transformer (or text encoder) share it: VAE pretraining is most of a base's build.

The entry is `cache_base()/easyanimate/vae/<key>`, the key hashing only what decides the VAE
(its sizes, the init seed, its pretraining settings and clips, the clip size, diffusers'
version). A base built before this cache existed still offers its VAE: `export_vae` copies it
out of the base folder the first time that base is used.

A base built with a cached VAE must equal one built without (same key, same weights), so the
random draws VAE pretraining would have taken from the shared generator are taken again
(`replay_vae_draws`): the transformer then starts from the same generator state.
"""

from __future__ import annotations

import shutil
from importlib.metadata import version
from pathlib import Path
from typing import Any, Mapping

from djsandbox.atomic import atomic_paths
from djsandbox.paths import cache_base

from .cache_keys import digest, pretrain_material
from .settings import PRETRAIN_KEYS

VAE_TINY_KEYS = ("vae_channels", "vae_layers_per_block", "vae_norm_groups", "latent_channels")
# Every pretraining setting but the transformer's decides the VAE.
VAE_PRETRAIN_KEYS = tuple(k for k in PRETRAIN_KEYS if not k.startswith("transformer_"))


def vae_key(settings: Mapping[str, Any]) -> str:
    """The key of a tiny base's VAE. The init seed counts (`tiny.seed`); the transformer's and
    text encoder's sizes do not (they are built after the VAE from the same seed)."""
    tiny, pretrain = settings["tiny"], settings["pretrain"]
    material = {
        "tiny": {k: tiny.get(k) for k in (*VAE_TINY_KEYS, "seed")},
        "pretrain": {
            k: v for k, v in pretrain_material(pretrain).items() if k in VAE_PRETRAIN_KEYS
        },
        "sample_size": settings["sample_size"],
        "num_frames": settings["num_frames"],
        "diffusers": version("diffusers"),
    }
    return digest(material)


def vae_dir(settings: Mapping[str, Any]) -> Path:
    return cache_base() / "easyanimate" / "vae" / vae_key(settings)


def save_vae(vae: Any, settings: Mapping[str, Any]) -> None:
    """Keep a freshly pretrained VAE (latent scale set) for the next base with its settings."""
    folder = vae_dir(settings)
    if (folder / "config.json").is_file():
        return
    with atomic_paths([folder]) as (tmp,):
        vae.save_pretrained(str(tmp))


def export_vae(settings: Mapping[str, Any], base_folder: Path) -> None:
    """Copy an already built base's VAE into the VAE cache (no-op when it is there)."""
    folder = vae_dir(settings)
    source = Path(base_folder) / "vae"
    if (folder / "config.json").is_file() or not (source / "config.json").is_file():
        return
    with atomic_paths([folder]) as (tmp,):
        shutil.copytree(source, tmp, dirs_exist_ok=True)


def load_vae(settings: Mapping[str, Any], dtype: Any) -> Any | None:
    """The cached VAE for `settings`, or None."""
    folder = vae_dir(settings)
    if not (folder / "config.json").is_file():
        return None
    from diffusers import AutoencoderKLMagvit

    return AutoencoderKLMagvit.from_pretrained(str(folder), torch_dtype=dtype).eval()


def replay_vae_draws(vae: Any, cfg: Mapping[str, Any], videos: Any, gen: Any) -> None:
    """Draw from `gen` exactly what `base._train_vae` draws, without training: per step the
    batch's rows, the window start and the posterior's noise."""
    import torch

    steps, batch, frames = int(cfg["vae_steps"]), int(cfg["vae_batch_size"]), int(cfg["vae_frames"])
    if steps <= 0:
        return
    with torch.no_grad():
        x = videos[:1, :, :frames].float() / 127.5 - 1
        try:
            dist = vae.encode(x).latent_dist
        finally:
            vae._clear_conv_cache()
        shape = (batch, *dist.mean.shape[1:])
        dtype = dist.parameters.dtype
    for _ in range(steps):
        torch.randint(0, len(videos), (batch,), generator=gen)
        torch.randint(0, videos.shape[2] - frames + 1, (1,), generator=gen)
        torch.randn(shape, generator=gen, dtype=dtype)
