"""The tiny EasyAnimate, built from a config with diffusers' and transformers' own classes.

`EasyAnimateTransformer3DModel` (the diffusion transformer), `AutoencoderKLMagvit` (the
video VAE), a 2-layer `Qwen2VLForConditionalGeneration` text encoder (what EasyAnimate V5.1
uses, at a tiny size) with a BPE tokenizer trained on the captions, and
`FlowMatchEulerDiscreteScheduler`, assembled in `EasyAnimatePipeline`: the same code path as
real EasyAnimate weights, only smaller. Built random here; `base.py` pretrains it.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping


def mrope_sections(head_dim: int) -> list[int]:
    """Qwen2-VL's multimodal rotary sections (time, height, width): they must sum to
    head_dim / 2."""
    half = head_dim // 2
    first = half // 4
    second = (half - first) // 2
    return [first, second, half - first - second]


def build_text_encoder(tiny: Mapping[str, Any], tokenizer: Any) -> Any:
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    hidden, heads = int(tiny["text_hidden_size"]), int(tiny["text_heads"])
    if hidden % heads or (hidden // heads) % 2:
        raise ValueError(
            f"model.tiny.text_hidden_size: {hidden} must split into {heads} heads of an even size"
        )
    ids = {"bos_token_id": None, "eos_token_id": tokenizer.eos_token_id}
    ids["pad_token_id"] = tokenizer.pad_token_id
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": hidden,
        "intermediate_size": int(tiny["text_intermediate_size"]),
        "num_hidden_layers": int(tiny["text_layers"]),
        "num_attention_heads": heads,
        "num_key_value_heads": int(tiny["text_kv_heads"]),
        "max_position_embeddings": 1024,
        "rope_scaling": {"type": "mrope", "mrope_section": mrope_sections(hidden // heads)},
        **ids,
    }
    vision = {  # unused by text-to-video; the smallest the class accepts
        "depth": 1,
        "embed_dim": 32,
        "hidden_size": hidden,
        "num_heads": 2,
        "patch_size": 14,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    }
    config = Qwen2VLConfig(text_config=text, vision_config=vision, **ids)
    return Qwen2VLForConditionalGeneration(config).eval()


def build_vae(tiny: Mapping[str, Any]) -> Any:
    from diffusers import AutoencoderKLMagvit

    channels = [int(c) for c in tiny["vae_channels"]]
    if len(channels) < 2:
        raise ValueError(f"model.tiny.vae_channels: got {channels}; expected 2 or more levels")
    groups = int(tiny["vae_norm_groups"])
    if any(c % groups for c in channels):
        raise ValueError(
            f"model.tiny.vae_norm_groups: {groups} must divide every vae_channels entry "
            f"({channels})"
        )
    return AutoencoderKLMagvit(
        latent_channels=int(tiny["latent_channels"]),
        block_out_channels=channels,
        down_block_types=["SpatialDownBlock3D"]
        + ["SpatialTemporalDownBlock3D"] * (len(channels) - 1),
        up_block_types=["SpatialUpBlock3D"] + ["SpatialTemporalUpBlock3D"] * (len(channels) - 1),
        layers_per_block=int(tiny["vae_layers_per_block"]),
        norm_num_groups=groups,
        scaling_factor=1.0,  # set from the latents' spread after the VAE is trained
    )


def build_transformer(tiny: Mapping[str, Any], sample_size: int, spatial_ratio: int) -> Any:
    from diffusers import EasyAnimateTransformer3DModel

    latent = sample_size // spatial_ratio
    return EasyAnimateTransformer3DModel(
        num_attention_heads=int(tiny["heads"]),
        attention_head_dim=int(tiny["head_dim"]),
        in_channels=int(tiny["latent_channels"]),
        out_channels=int(tiny["latent_channels"]),
        patch_size=int(tiny["patch_size"]),
        sample_width=latent,
        sample_height=latent,
        num_layers=int(tiny["layers"]),
        mmdit_layers=int(tiny["mmdit_layers"]),
        time_embed_dim=int(tiny["time_embed_dim"]),
        text_embed_dim=int(tiny["text_hidden_size"]),
        enable_text_attention_mask=True,
    )


def build_pipeline(settings: Mapping[str, Any], captions: Iterable[str]) -> Any:
    """A random tiny `EasyAnimatePipeline` for `settings` (`resolve_model`), its tokenizer
    trained on `captions`; deterministic for a given `tiny.seed`."""
    import torch
    from diffusers import EasyAnimatePipeline, FlowMatchEulerDiscreteScheduler

    from .tokenizer import train_bpe_tokenizer

    tiny = settings["tiny"]
    torch.manual_seed(int(tiny["seed"]))
    tokenizer = train_bpe_tokenizer(captions, int(tiny["vocab_size"]))
    vae = build_vae(tiny)
    transformer = build_transformer(
        tiny, int(settings["sample_size"]), vae.spatial_compression_ratio
    )
    return EasyAnimatePipeline(
        vae=vae,
        text_encoder=build_text_encoder(tiny, tokenizer),
        tokenizer=tokenizer,
        transformer=transformer,
        scheduler=FlowMatchEulerDiscreteScheduler(),
    )
