"""Validation-time checks of the Hugging Face and ModelScope trainers' configs (stdlib only)."""

from __future__ import annotations

from typing import Any

from ..shapes import is_mapping
from ..value_checks import datasets, mappings, number, strings
from .modelscope_train import missing_modelscope
from .tiny_lm import tiny_settings
from .trainer_keys import trainer_problems

TRAIN_KEYS = (
    "dataset_path",
    "model_path",
    "tiny_model",
    "lora",
    "text_key",
    "prompt_key",
    "response_key",
    "max_seq_length",
    "batch_size",
    "lr",
    "weight_decay",
    "warmup_ratio",
    "val_ratio",
    "seed",
    "trainer",
)
LORA_KEYS = ("r", "alpha", "dropout", "target_modules")


def check_hf_train(cfg: dict[str, Any]) -> list[str]:
    problems = (
        datasets(cfg)
        + strings(cfg, "model_path", "text_key", "prompt_key", "response_key")
        + trainer_problems(cfg.get("trainer"))
    )
    if bool(cfg.get("prompt_key")) != bool(cfg.get("response_key")):
        problems.append(
            "prompt_key: give both prompt_key and response_key (prompt masked "
            "from the loss) or neither (text_key)"
        )
    if cfg.get("tiny_model") is not None:
        if cfg.get("model_path"):
            problems.append("tiny_model: ignored when model_path is set; give one of them")
        try:
            tiny_settings(cfg["tiny_model"])
        except ValueError as exc:
            problems.append(str(exc))
    lora = cfg.get("lora")
    if (
        lora is not None
        and not isinstance(lora, bool)
        and (not is_mapping(lora) or set(lora) - set(LORA_KEYS))
    ):
        problems.append(
            f"lora: got {lora!r}; expected true/false or a mapping with keys "
            f"among {', '.join(LORA_KEYS)}"
        )
    for key, kind, low, high in (
        ("max_seq_length", int, 2, float("inf")),
        ("batch_size", int, 1, float("inf")),
        ("lr", float, 0, 10),
        ("weight_decay", float, 0, 10),
        ("warmup_ratio", float, 0, 1),
        ("val_ratio", float, 0, 0.9),
        ("seed", int, 0, 2**32 - 1),
    ):
        problems += number(cfg, key, kind, low, high)
    return problems


def check_modelscope_train(cfg: dict[str, Any]) -> list[str]:
    problems = [f"type: {why}"] if (why := missing_modelscope()) else []
    problems += strings(cfg, "model_name", "trainer_name", "work_dir") + mappings(
        cfg, "key_remapping"
    )
    return problems
