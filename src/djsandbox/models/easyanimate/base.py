"""The base model a LoRA starts from: real weights at `model.path`, or the tiny EasyAnimate
pretrained on clips once and cached.

A random VAE decodes noise and a random transformer draws nothing, so before a LoRA means
anything the tiny base is pretrained: its VAE on short windows of the clips (reconstruction +
a small KL term), its latent scale set to make the latents' spread 1, then its transformer on
the clips' latents with the flow-matching loss; the text encoder stays as built. The result is
saved with `save_pretrained` under `cache_base()/easyanimate/base/<key>`, where the key hashes
everything that decides it (sizes, pretraining settings, the clips file's bytes, diffusers'
version): built once (atomic rename), then reused by every job, run and test. The VAE is also
cached on its own (`vae_cache.py`), so a base that differs only in its transformer or text
encoder (a larger tiny model) reuses it and pays only for its transformer's pretraining.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any, Mapping

from djsandbox.atomic import atomic_paths
from djsandbox.paths import cache_base
from djsandbox.progress import report

from .cache_keys import digest, packaged_clips, pretrain_material
from .clips import Clip, clip_tensor, read_clips
from .vae_cache import export_vae, load_vae, replay_vae_draws, save_vae

LOG = logging.getLogger(__name__)
PRETRAIN_FILE = "pretrain.json"


def base_key(settings: Mapping[str, Any]) -> str:
    """The cache key of a tiny base; of real weights, a hash of their folder's path."""
    from importlib.metadata import version

    if settings["size"] != "tiny":
        material: dict[str, Any] = {"path": str(Path(settings["path"]).expanduser().resolve())}
        material["transformer_path"] = settings.get("transformer_path")
    else:
        material = {
            "tiny": settings["tiny"],
            "pretrain": pretrain_material(settings["pretrain"]),
            "sample_size": settings["sample_size"],
            "num_frames": settings["num_frames"],
            "max_sequence_length": settings["max_sequence_length"],
            "diffusers": version("diffusers"),
        }
    return digest(material)


def base_dir(settings: Mapping[str, Any]) -> Path:
    """Where the base's pipeline folder is: `model.path`, or its cache entry (maybe not yet
    built)."""
    if settings["size"] != "tiny":
        return Path(settings["path"]).expanduser()
    return cache_base() / "easyanimate" / "base" / base_key(settings)


def ensure_base(settings: Mapping[str, Any]) -> tuple[Path, bool]:
    """(the base folder, whether it was built now). Real weights are only checked."""
    folder = base_dir(settings)
    if settings["size"] != "tiny":
        if not (folder / "model_index.json").is_file():
            raise ValueError(
                f"model.path: {str(folder)!r} has no model_index.json; expected EasyAnimate "
                "weights in diffusers format (e.g. alibaba-pai/EasyAnimateV5.1-7b-zh-diffusers)"
            )
        return folder, False
    if (folder / "model_index.json").is_file():
        export_vae(settings, folder)  # a base built before the VAE cache shares its VAE too
        return folder, False
    started = time.time()
    with atomic_paths([folder]) as (tmp,):
        metrics = pretrain(settings, tmp)
        metrics["seconds"] = round(time.time() - started, 2)
        (tmp / PRETRAIN_FILE).write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    LOG.info("tiny EasyAnimate base built in %.1f s: %s", time.time() - started, folder)
    return folder, True


def load_pipeline(folder: Path, dtype: str = "float32", transformer: str | None = None) -> Any:
    """The pipeline saved in `folder`; `transformer`: a diffusers transformer folder that
    replaces the base's (the reference's `transformer_path`)."""
    import torch
    from diffusers import EasyAnimatePipeline, EasyAnimateTransformer3DModel

    kwargs: dict[str, Any] = {"dtype": getattr(torch, dtype)}
    if transformer:
        path = str(Path(transformer).expanduser())
        kwargs["transformer"] = EasyAnimateTransformer3DModel.from_pretrained(path, **kwargs)
    pipe = EasyAnimatePipeline.from_pretrained(str(folder), **kwargs)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def _train_vae(vae: Any, videos: Any, cfg: Mapping[str, Any], gen: Any) -> list[float]:
    import torch

    steps, batch, frames = int(cfg["vae_steps"]), int(cfg["vae_batch_size"]), int(cfg["vae_frames"])
    optimizer = torch.optim.AdamW(vae.parameters(), lr=float(cfg["vae_lr"]), weight_decay=0.0)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, steps))
    losses: list[float] = []
    vae.train()
    for step in range(steps):
        idx = torch.randint(0, len(videos), (batch,), generator=gen)
        start = int(torch.randint(0, videos.shape[2] - frames + 1, (1,), generator=gen))
        x = videos[idx, :, start : start + frames].float() / 127.5 - 1
        try:
            posterior = vae.encode(x).latent_dist
            recon = vae.decode(posterior.sample(generator=gen)).sample
        finally:
            vae._clear_conv_cache()
        loss = (recon - x).abs().mean() + 0.5 * ((recon - x) ** 2).mean()
        loss = loss + 1e-6 * posterior.kl().mean()
        losses.append(_step(optimizer, sched, loss))
        report(step + 1, steps, "base VAE steps", loss=losses[-1])
    vae.eval()
    return losses


def _pretrained_vae(
    vae: Any, settings: Mapping[str, Any], videos: Any, gen: Any
) -> tuple[list[float], bool]:
    """Pretrain `vae` in place and set its latent scale (the latents' spread 1), or copy in
    the cached VAE of the same settings; (the losses, whether it was copied)."""
    import torch

    cfg = settings["pretrain"]
    cached = load_vae(settings, vae.dtype)
    if cached is not None:
        vae.load_state_dict(cached.state_dict())
        vae.register_to_config(scaling_factor=float(cached.config.scaling_factor))
        replay_vae_draws(vae, cfg, videos, gen)  # the transformer's draws as in a full build
        return [], True
    losses = _train_vae(vae, videos, cfg, gen)
    with torch.no_grad():
        sample = videos[: min(len(videos), 32)].float() / 127.5 - 1
        spread = float(vae.encode(sample).latent_dist.mode().std())
        vae._clear_conv_cache()
    vae.register_to_config(scaling_factor=1.0 / max(spread, 1e-4))
    save_vae(vae, settings)
    return losses, False


def _step(optimizer: Any, sched: Any, loss: Any) -> float:
    """One optimiser and schedule step on `loss`; the loss as a float."""
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    sched.step()
    return float(loss.detach())


def _train_transformer(
    transformer: Any, latents: Any, embeds: Any, cfg: Mapping[str, Any], gen: Any
) -> list[float]:
    import torch

    from .flow import flow_matching_loss

    steps, batch = int(cfg["transformer_steps"]), int(cfg["transformer_batch_size"])
    optimizer = torch.optim.AdamW(transformer.parameters(), lr=float(cfg["transformer_lr"]))
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, max(1, steps))
    losses: list[float] = []
    transformer.train()
    for step in range(steps):
        idx = torch.randint(0, len(latents), (batch,), generator=gen)
        loss = flow_matching_loss(transformer, latents[idx], embeds[idx], gen)
        losses.append(_step(optimizer, sched, loss))
        report(step + 1, steps, "base transformer steps", loss=losses[-1])
    transformer.eval()
    return losses


def _window_mean(losses: list[float], first: bool) -> float | None:
    if not losses:
        return None
    n = max(1, len(losses) // 10)
    part = losses[:n] if first else losses[-n:]
    return round(sum(part) / len(part), 5)


def pretrain(settings: Mapping[str, Any], out: Path) -> dict[str, Any]:
    """Build the tiny pipeline, pretrain VAE then transformer, save it into `out`."""
    import torch

    from ..captioning.cpu import cpu_threads
    from .encoding import encode_prompts, encode_videos
    from .tiny import build_pipeline

    cfg = settings["pretrain"]
    clips_path = Path(str(cfg.get("clips") or packaged_clips())).expanduser()
    clips: list[Clip] = read_clips(clips_path, cfg.get("video_root"), cfg.get("split"))
    if cfg.get("max_clips"):
        clips = clips[: int(cfg["max_clips"])]
    if not clips:
        raise ValueError(f"model.pretrain.clips: {str(clips_path)!r} has no clip to pretrain on")
    size, frames = int(settings["sample_size"]), int(settings["num_frames"])
    with cpu_threads(1 if not torch.cuda.is_available() else None):
        pipe = build_pipeline(settings, [c.caption for c in clips])
        gen = torch.Generator().manual_seed(int(cfg["seed"]))
        videos = torch.stack([clip_tensor(c.video, frames, size) for c in clips])
        videos = ((videos + 1) * 127.5).round().to(torch.uint8)  # 4x less memory than floats
        cpu = time.process_time()
        vae_losses, reused = _pretrained_vae(pipe.vae, settings, videos, gen)
        vae_cpu = time.process_time() - cpu
        # the VAE is final now: its latents are cached under this base's key (out.name)
        latents = encode_videos(pipe, clips, frames, size, out.name)
        embeds = encode_prompts(
            pipe, [c.caption for c in clips], int(settings["max_sequence_length"])
        )
        cpu = time.process_time()
        tr_losses = _train_transformer(pipe.transformer, latents, embeds, cfg, gen)
        tr_cpu = time.process_time() - cpu
        pipe.save_pretrained(str(out))
    return {
        "clips": len(clips),
        "clips_path": str(clips_path),
        "vae_steps": int(cfg["vae_steps"]),
        "vae_reused": reused,
        "vae_first_loss": _window_mean(vae_losses, True),
        "vae_last_loss": _window_mean(vae_losses, False),
        "vae_cpu_seconds": round(vae_cpu, 1),
        "transformer_cpu_seconds": round(tr_cpu, 1),
        "latent_scaling_factor": round(float(pipe.vae.config.scaling_factor), 5),
        "transformer_steps": len(tr_losses),
        "transformer_first_loss": _window_mean(tr_losses, True),
        "transformer_last_loss": _window_mean(tr_losses, False),
        "params": {
            name: sum(p.numel() for p in getattr(pipe, name).parameters())
            for name in ("vae", "transformer", "text_encoder")
        },
    }
