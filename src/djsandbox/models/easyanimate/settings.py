"""The `model` mapping of the EasyAnimate trainer and generator: tiny or real weights.

`size: tiny` (the default without `path`) is a small EasyAnimate built from diffusers' own
classes and pretrained on the packaged clips once (`base.py`); `path` names real EasyAnimate
weights in diffusers format (a folder with `model_index.json`). One mapping (the
`conf/model/easyanimate*.yaml` group) serves both the trainer and the generator.

Stdlib only: validation imports it through `checks`.
"""

from __future__ import annotations

from typing import Any, Mapping

from ...redact import show
from ...value_checks import is_positive_int, known_keys

MODEL_KEYS = (
    "name",
    "size",
    "path",
    "transformer_path",
    "tiny",
    "pretrain",
    "lora",
    "sample_size",
    "num_frames",
    "max_sequence_length",
    "dtype",
)
TINY_KEYS = (
    "vae_channels",
    "vae_layers_per_block",
    "vae_norm_groups",
    "latent_channels",
    "heads",
    "head_dim",
    "layers",
    "mmdit_layers",
    "patch_size",
    "time_embed_dim",
    "text_hidden_size",
    "text_layers",
    "text_heads",
    "text_kv_heads",
    "text_intermediate_size",
    "vocab_size",
    "seed",
)
PRETRAIN_KEYS = (
    "clips",
    "video_root",
    "split",
    "max_clips",
    "vae_steps",
    "vae_batch_size",
    "vae_frames",
    "vae_lr",
    "transformer_steps",
    "transformer_batch_size",
    "transformer_lr",
    "seed",
)
LORA_KEYS = ("r", "alpha", "dropout", "target_modules")
DTYPES = ("float32", "bfloat16", "float16")

TINY_DEFAULTS: dict[str, Any] = {
    "vae_channels": [16, 32, 32, 32],  # 4 levels: 8x smaller in space, 4x in time
    "vae_layers_per_block": 1,
    "vae_norm_groups": 8,
    "latent_channels": 4,
    "heads": 4,
    "head_dim": 16,  # a multiple of 16 (the 3D rotary embedding)
    "layers": 2,
    "mmdit_layers": 2,
    "patch_size": 2,
    "time_embed_dim": 64,
    "text_hidden_size": 64,
    "text_layers": 2,
    "text_heads": 4,
    "text_kv_heads": 2,
    "text_intermediate_size": 128,
    "vocab_size": 1000,
    "seed": 0,
}
"""Sizes of the tiny EasyAnimate (measured to run on CPU: DESIGN.md)."""

PRETRAIN_DEFAULTS: dict[str, Any] = {
    "clips": None,  # None: the packaged clipart clips (resources/clipart_videos/clips.jsonl)
    "video_root": None,  # None: the clips file's folder
    "split": "train",
    "max_clips": None,
    "vae_steps": 120,
    "vae_batch_size": 4,
    "vae_frames": 5,  # 1 + 4: the VAE's causal chunks are 4 frames; whole clips cost 3x more
    "vae_lr": 2e-3,
    "transformer_steps": 600,
    "transformer_batch_size": 16,
    "transformer_lr": 1e-3,
    "seed": 0,
}
"""How the tiny base is pretrained before any LoRA: the VAE first (a random VAE decodes
noise), then the transformer on the VAE's latents. Part of the cache key."""

LORA_TARGETS = [
    "to_q",
    "to_k",
    "to_v",
    "to_out.0",
    "add_q_proj",
    "add_k_proj",
    "add_v_proj",
    "to_add_out",
]


def _defaults(size: str) -> dict[str, Any]:
    if size == "tiny":
        return {
            "name": "easyanimate_tiny",
            "sample_size": 64,
            "num_frames": 16,
            "max_sequence_length": 32,
            "dtype": "float32",
            "lora": {"r": 8, "alpha": 8, "dropout": 0.0},
        }
    return {  # real EasyAnimate weights: the reference's 256 px, 16 frames, bf16
        "name": "easyanimate",
        "sample_size": 256,
        "num_frames": 16,
        "max_sequence_length": 256,
        "dtype": "bfloat16",
        "lora": {"r": 64, "alpha": 32, "dropout": 0.0},
    }


def resolve_model(model: Mapping[str, Any] | None) -> dict[str, Any]:
    """User settings over the size's defaults; `size` is tiny without a `path`, else real."""
    problems = check_model(model)
    if problems:
        raise ValueError("; ".join(problems))
    user = {k: v for k, v in dict(model or {}).items() if v is not None}
    size = user.get("size") or ("real" if user.get("path") else "tiny")
    merged = {**_defaults(size), **user, "size": size}
    merged.setdefault("path", None)
    merged.setdefault("transformer_path", None)
    merged["tiny"] = {**TINY_DEFAULTS, **dict(user.get("tiny") or {})}
    merged["pretrain"] = {**PRETRAIN_DEFAULTS, **dict(user.get("pretrain") or {})}
    lora = {**_defaults(size)["lora"], **dict(user.get("lora") or {})}
    lora.setdefault("target_modules", LORA_TARGETS)
    merged["lora"] = lora
    return merged


def check_model(model: Any, prefix: str = "model") -> list[str]:
    """`prefix.key: problem` strings for a `model` mapping (cheap: no file is opened)."""
    problems = known_keys(model, prefix, MODEL_KEYS, "a mapping (the `model` config group)")
    if not isinstance(model, Mapping):
        return problems
    size = model.get("size")
    if size is not None and size not in ("tiny", "real"):
        problems.append(f"{prefix}.size: got {size!r}; expected tiny or real")
    if size == "real" and not model.get("path"):
        problems.append(
            f"{prefix}.path: required for size real: a local folder of EasyAnimate weights in "
            "diffusers format (nothing can be downloaded)"
        )
    for key in ("path", "transformer_path"):
        value = model.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            problems.append(f"{prefix}.{key}: got {value!r}; expected a local folder or null")
    for key in ("sample_size", "num_frames", "max_sequence_length"):
        if model.get(key) is not None and not is_positive_int(model[key]):
            problems.append(
                f"{prefix}.{key}: got {show(key, model[key])}; expected a positive integer"
            )
    sample = model.get("sample_size")
    if is_positive_int(sample) and sample % 16:
        problems.append(f"{prefix}.sample_size: got {sample}; expected a multiple of 16")
    if model.get("dtype") is not None and model["dtype"] not in DTYPES:
        problems.append(
            f"{prefix}.dtype: got {model['dtype']!r}; expected one of {', '.join(DTYPES)}"
        )
    problems += known_keys(model.get("tiny"), f"{prefix}.tiny", TINY_KEYS)
    problems += known_keys(model.get("pretrain"), f"{prefix}.pretrain", PRETRAIN_KEYS)
    problems += known_keys(model.get("lora"), f"{prefix}.lora", LORA_KEYS)
    tiny = model.get("tiny") if isinstance(model.get("tiny"), Mapping) else {}
    head_dim = tiny.get("head_dim")
    if head_dim is not None and (not is_positive_int(head_dim) or head_dim % 16):
        problems.append(
            f"{prefix}.tiny.head_dim: got {head_dim!r}; expected a multiple of 16 "
            "(EasyAnimate's 3D rotary embedding)"
        )
    lora = model.get("lora") if isinstance(model.get("lora"), Mapping) else {}
    for key in ("r", "alpha"):
        if key in lora and not is_positive_int(lora[key]):
            problems.append(
                f"{prefix}.lora.{key}: got {show(key, lora[key])}; expected a positive integer"
            )
    return problems
