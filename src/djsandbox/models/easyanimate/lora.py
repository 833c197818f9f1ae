"""LoRA on EasyAnimate's transformer with peft, saved as a small folder of its own.

diffusers 0.42.1 has no `load_lora_weights` for EasyAnimate, so adapters are injected with
peft's `inject_adapter_in_model` on the transformer's attention projections and saved as
`adapter_model.safetensors` (peft's state dict) beside `lora.json`, which records the rank,
targets and the base model the adapter belongs to (a tiny base by its model settings, real
weights by their folder), so the generator rebuilds the same pipeline from the folder alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

LORA_FILE = "lora.json"
WEIGHTS_FILE = "adapter_model.safetensors"
ADAPTER = "default"


def inject_lora(transformer: Any, lora: Mapping[str, Any]) -> int:
    """Add LoRA adapters (base weights frozen); the number of trainable parameters."""
    from peft import LoraConfig, inject_adapter_in_model

    present = {name.rsplit(".", 1)[-1] for name, _ in transformer.named_modules()}
    targets = [t for t in lora["target_modules"] if t.rsplit(".", 1)[-1] in present]
    if not targets:
        raise ValueError(
            f"model.lora.target_modules: none of {list(lora['target_modules'])} is a module of "
            "the transformer"
        )
    config = LoraConfig(
        r=int(lora["r"]),
        lora_alpha=int(lora["alpha"]),
        lora_dropout=float(lora.get("dropout") or 0.0),
        target_modules=targets,
        init_lora_weights=True,
    )
    for p in transformer.parameters():
        p.requires_grad_(False)
    inject_adapter_in_model(config, transformer, adapter_name=ADAPTER)
    return sum(p.numel() for n, p in transformer.named_parameters() if "lora_" in n)


def save_lora(transformer: Any, folder: Path, info: Mapping[str, Any]) -> None:
    from peft import get_peft_model_state_dict
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    state = get_peft_model_state_dict(transformer, adapter_name=ADAPTER)
    save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, folder / WEIGHTS_FILE)
    (folder / LORA_FILE).write_text(json.dumps(dict(info), indent=2) + "\n", encoding="utf-8")


def read_lora_info(folder: Path, key: str = "checkpoint") -> dict[str, Any]:
    path = Path(folder).expanduser()
    if not (path / LORA_FILE).is_file() or not (path / WEIGHTS_FILE).is_file():
        raise ValueError(
            f"{key}: {str(path)!r} is not an EasyAnimate LoRA folder (expected {LORA_FILE} and "
            f"{WEIGHTS_FILE}, as the easyanimate trainer writes)"
        )
    return json.loads((path / LORA_FILE).read_text(encoding="utf-8"))


def load_lora(transformer: Any, folder: Path, lora: Mapping[str, Any]) -> None:
    """Inject adapters shaped as saved and load their weights; every key must match."""
    from peft import set_peft_model_state_dict
    from safetensors.torch import load_file

    inject_lora(transformer, lora)
    state = load_file(str(Path(folder) / WEIGHTS_FILE))
    result = set_peft_model_state_dict(transformer, state, adapter_name=ADAPTER)
    unexpected = getattr(result, "unexpected_keys", None) or []
    if unexpected:
        raise ValueError(
            f"checkpoint: {str(folder)!r} holds LoRA weights this base has no place for "
            f"(e.g. {unexpected[0]}); it was trained on another base model"
        )
