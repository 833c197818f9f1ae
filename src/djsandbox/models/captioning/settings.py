"""The `model` mapping of the captioner: which InternVL to train, and its defaults per size.

One mapping (from the `conf/model/` group) describes the model for both the trainer and the
evaluator. Defaults differ by `size` because the tiny model is random and must learn everything
on CPU in seconds, while the real InternVL2 sizes follow the reference fine-tune recipe (vision
backbone and MLP projector frozen, LoRA rank 16 on the language model, 448 px, 4096 tokens).

Stdlib only: validation imports it through `checks`.
"""

from __future__ import annotations

from typing import Any, Mapping

from ...redact import show
from ...value_checks import is_positive_int, known_keys

SIZES = ("tiny", "1B", "2B", "4B", "26B")

MODEL_KEYS = (
    "name",
    "size",
    "path",
    "tiny",
    "template",
    "system_message",
    "lora",
    "freeze_vision",
    "freeze_projector",
    "freeze_llm",
    "gradient_checkpointing",
    "image_size",
    "max_seq_length",
    "dtype",
    "trust_remote_code",
)

TINY_KEYS = (
    "vision_hidden_size",
    "vision_layers",
    "vision_heads",
    "vision_intermediate_size",
    "text_hidden_size",
    "text_layers",
    "text_heads",
    "text_kv_heads",
    "text_intermediate_size",
    "patch_size",
    "downsample_ratio",
    "vocab_size",
)

LORA_KEYS = ("r", "alpha", "dropout", "target_modules")

DTYPES = ("float32", "bfloat16", "float16")

TINY_DEFAULTS: dict[str, Any] = {
    "vision_hidden_size": 64,
    "vision_layers": 2,
    "vision_heads": 2,
    "vision_intermediate_size": 128,
    "text_hidden_size": 128,
    "text_layers": 2,
    "text_heads": 4,
    "text_kv_heads": 2,
    "text_intermediate_size": 256,
    "patch_size": 8,
    "downsample_ratio": 0.5,
    "vocab_size": 4000,
}
"""Sizes of the tiny InternVL built in code (`vocab_size` is an upper bound: the tokenizer is
trained on the captions and keeps only the words it sees)."""

# LoRA target modules of each size's language model (Qwen2, InternLM2, Phi-3 layer names).
_QWEN2_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
_INTERNLM2_MODULES = [
    "attention.wqkv",
    "attention.wo",
    "feed_forward.w1",
    "feed_forward.w2",
    "feed_forward.w3",
]
_PHI3_MODULES = ["self_attn.qkv_proj", "self_attn.o_proj", "mlp.gate_up_proj", "mlp.down_proj"]
LORA_TARGETS = {
    "tiny": _QWEN2_MODULES,
    "1B": _QWEN2_MODULES,
    "2B": _INTERNLM2_MODULES,
    "4B": _PHI3_MODULES,
    "26B": _INTERNLM2_MODULES,
}

DEFAULT_TEMPLATES = {
    "tiny": "plain",
    "1B": "Hermes-2",
    "2B": "internlm2-chat",
    "4B": "phi3-chat",
    "26B": "internlm2-chat",
}
"""Conversation templates of the reference's InternVL2 fine-tune scripts, by size. `template`
stays None after `resolve_model` unless the user set it: a saved checkpoint or a release's
config then names its own, and the loader falls back to this table."""


def _defaults(size: str) -> dict[str, Any]:
    if size == "tiny":
        return {
            "name": "internvl_tiny",
            "path": None,
            "template": None,
            "lora": None,
            "freeze_vision": False,
            "freeze_projector": False,
            "freeze_llm": False,
            "gradient_checkpointing": False,
            "image_size": 64,
            "max_seq_length": 128,
            "dtype": "float32",
            "trust_remote_code": True,
            "system_message": None,
        }
    return {
        "name": f"InternVL2-{size}",
        "path": None,
        "template": None,
        "lora": {"r": 16, "alpha": 32, "dropout": 0.05},
        "freeze_vision": True,
        "freeze_projector": True,
        "freeze_llm": None,
        "gradient_checkpointing": True,
        "image_size": 448,
        "max_seq_length": 4096,
        "dtype": "bfloat16",
        "trust_remote_code": True,
        "system_message": None,
    }


def resolve_model(model: Mapping[str, Any] | None, need_path: bool = True) -> dict[str, Any]:
    """User settings over the size's defaults; `size` defaults to tiny without a `path`.

    A `path` without `size` is treated like a real model (frozen vision, LoRA...) only when a
    size is given; otherwise the tiny defaults apply, which suits a tiny HF-format folder.
    `lora: {}` means LoRA with default rank; `lora: null` or `false` means full fine-tuning.
    """
    problems = check_model(model, need_path=need_path)
    if problems:
        raise ValueError("; ".join(problems))
    user = dict(model or {})
    size = user.get("size") or "tiny"
    merged = {**_defaults(size), **{k: v for k, v in user.items() if v is not None or k == "lora"}}
    merged["size"] = size
    merged["tiny"] = {**TINY_DEFAULTS, **dict(user.get("tiny") or {})}
    lora = merged.get("lora")
    if lora is False or lora is None:
        merged["lora"] = None
    else:
        lora = dict(lora) if isinstance(lora, Mapping) else {}
        merged["lora"] = {
            "r": 16,
            "alpha": 2 * int(lora.get("r", 16)),
            "dropout": 0.05,
            "target_modules": LORA_TARGETS[size],
            **lora,
        }
    if merged.get("freeze_llm") is None:  # LoRA trains adapters instead of the base weights
        merged["freeze_llm"] = merged["lora"] is not None
    return merged


def check_model(model: Any, prefix: str = "model", need_path: bool = True) -> list[str]:
    """`prefix.key: problem` strings for a `model` mapping (cheap: no file is opened).

    `need_path`: a real size needs its weights folder to train; the evaluator loads the
    checkpoint instead and only takes template/dtype settings from `model`.
    """
    problems = known_keys(model, prefix, MODEL_KEYS, "a mapping (the `model` config group)")
    if not isinstance(model, Mapping):
        return problems
    from .templates import TEMPLATES

    size = model.get("size")
    if size is not None and size not in SIZES:
        problems.append(f"{prefix}.size: got {size!r}; expected one of {', '.join(SIZES)}")
    path = model.get("path")
    if path is not None and (not isinstance(path, str) or not path):
        problems.append(f"{prefix}.path: got {path!r}; expected a local model folder or null")
    if need_path and size not in (None, "tiny") and not path:
        problems.append(
            f"{prefix}.path: required for size {size}: a local folder holding the "
            "InternVL2 weights (nothing can be downloaded)"
        )
    template = model.get("template")
    if template is not None and template not in TEMPLATES:
        problems.append(
            f"{prefix}.template: got {template!r}; expected one of {', '.join(TEMPLATES)}"
        )
    for key in ("image_size", "max_seq_length"):
        if model.get(key) is not None and not is_positive_int(model[key]):
            problems.append(
                f"{prefix}.{key}: got {show(key, model[key])}; expected a positive integer"
            )
    for key in (
        "freeze_vision",
        "freeze_projector",
        "freeze_llm",
        "gradient_checkpointing",
        "trust_remote_code",
    ):
        if model.get(key) is not None and not isinstance(model[key], bool):
            problems.append(f"{prefix}.{key}: got {model[key]!r}; expected true or false")
    if model.get("dtype") is not None and model["dtype"] not in DTYPES:
        problems.append(
            f"{prefix}.dtype: got {model['dtype']!r}; expected one of {', '.join(DTYPES)}"
        )
    problems += _check_tiny(model.get("tiny"), f"{prefix}.tiny")
    problems += _check_lora(model.get("lora"), f"{prefix}.lora")
    return problems


def _check_tiny(tiny: Any, where: str) -> list[str]:
    problems = known_keys(tiny, where, TINY_KEYS, "a mapping of sizes")
    if not isinstance(tiny, Mapping):
        return problems
    for k, v in tiny.items():
        if k == "downsample_ratio":
            if v not in (0.5, 0.25, 1.0):
                problems.append(f"{where}.downsample_ratio: got {v!r}; expected 0.5, 0.25 or 1.0")
        elif k in TINY_KEYS and not is_positive_int(v):
            problems.append(f"{where}.{k}: got {show(k, v)}; expected a positive integer")
    return problems


def _check_lora(lora: Any, where: str) -> list[str]:
    if lora is None or lora is False:
        return []
    if not isinstance(lora, Mapping):
        return [
            f"{where}: expected a mapping {{r, alpha, dropout, target_modules}} or null, "
            f"got {lora!r}"
        ]
    problems = known_keys(lora, where, LORA_KEYS)
    for key in ("r", "alpha"):
        if key in lora and not is_positive_int(lora[key]):
            problems.append(
                f"{where}.{key}: got {show(key, lora[key])}; expected a positive integer"
            )
    dropout = lora.get("dropout")
    if dropout is not None and (
        isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1
    ):
        problems.append(f"{where}.dropout: got {dropout!r}; expected a number in [0, 1)")
    targets = lora.get("target_modules")
    if targets is not None and (
        isinstance(targets, str) or not all(isinstance(t, str) and t for t in targets)
    ):
        problems.append(f"{where}.target_modules: got {targets!r}; expected a list of module names")
    return problems
