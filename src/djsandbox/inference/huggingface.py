"""The `huggingface` ModelInferExecutor: transformers `generate` over a local causal LM.

It loads `model_path` (a folder written by `save_pretrained`, e.g. the `huggingface` trainer's
checkpoint; a hub id works only if it is already in the local cache, since runs are offline),
formats each row's messages with the tokenizer's chat template (plain concatenation when it has
none), generates in left-padded batches and writes the answers under `infer_res_key`.
Returns the export path(s), shaped like `dataset_path`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping

from ..redact import show
from ..registry import ComponentSpec
from .messages import Messages
from .rows import COMMON_KEYS, LOCAL_MODEL_ALIASES, RowSpec, canonical, run_datasets

log = logging.getLogger(__name__)

KEYS = ("model_path", "model", "model_params", "device", "batch_size", "seed")

SPECS = (
    ComponentSpec(
        "ModelInferExecutor",
        "huggingface",
        f"{__name__}:run",
        "transformers generate() over a local causal LM (chat template, "
        "batches); returns the export path(s)",
        results=1,
        keys=COMMON_KEYS + KEYS,
        required=("dataset_path",),
        check="djsandbox.inference.checks:check_huggingface",
    ),
)
GENERATION_DEFAULTS: dict[str, Any] = {"max_new_tokens": 64, "do_sample": False}


def run(cfg: dict[str, Any], out_dir: Path) -> Any:
    """Answer every row of `dataset_path`; the export path(s)."""
    cfg = canonical(cfg, LOCAL_MODEL_ALIASES)
    spec = RowSpec.from_cfg(cfg)  # bad function names fail before the model loads
    batch_size = _positive_int(cfg.get("batch_size", 8), "batch_size")
    generation = generation_kwargs(cfg.get("generation"))
    model, tokenizer = load_causal_lm(
        cfg.get("model_path"), cfg.get("device", "cpu"), cfg.get("model_params")
    )
    if cfg.get("seed") is not None:
        import torch

        torch.manual_seed(int(cfg["seed"]))

    def generate(requests: list[Messages]) -> list[str | BaseException]:
        texts = [prompt_text(tokenizer, m) for m in requests]
        out: list[str | BaseException] = []
        for start in range(0, len(texts), batch_size):
            out.extend(
                generate_batch(model, tokenizer, texts[start : start + batch_size], generation)
            )
        return out

    paths, totals = run_datasets(cfg, out_dir, generate, spec)
    log.info("huggingface inference: %d rows answered", totals["ok"])
    return paths


def _positive_int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{key}: expected an integer >= 1, got {show(key, value)}")
    return value


def generation_kwargs(settings: Any) -> dict[str, Any]:
    """Defaults (greedy, 64 new tokens) <- user settings; `max_tokens` means max_new_tokens."""
    if settings is not None and not isinstance(settings, Mapping):
        raise ValueError(
            f"generation: expected a mapping of generate() arguments, got {type(settings).__name__}"
        )
    user = dict(settings or {})
    if "max_tokens" in user:
        user.setdefault("max_new_tokens", user.pop("max_tokens"))
    return {**GENERATION_DEFAULTS, **user}


def load_causal_lm(
    model_path: Any, device: Any = "cpu", model_params: Any = None
) -> tuple[Any, Any]:
    """(model in eval mode on `device`, tokenizer padding on the left); clear errors."""
    if not model_path:
        raise ValueError(
            "model_path: missing; expected a local model folder written by "
            "save_pretrained (config.json, weights and tokenizer files)"
        )
    if model_params is not None and not isinstance(model_params, Mapping):
        raise ValueError(
            f"model_params: expected a mapping of from_pretrained() arguments, got "
            f"{type(model_params).__name__}"
        )
    if not isinstance(device, str) or device.split(":")[0] not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device: expected 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")
    path = Path(str(model_path)).expanduser()
    if path.exists() and not (path / "config.json").is_file():
        raise ValueError(
            f"model_path: {str(path)!r} has no config.json; expected a folder "
            "written by save_pretrained"
        )
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    source = str(path) if path.exists() else str(model_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(
            source, local_files_only=True, **dict(model_params or {})
        )
    except (OSError, ValueError) as exc:  # missing files; a config transformers cannot read
        raise ValueError(
            f"model_path: cannot load {str(model_path)!r} as a local causal LM "
            f"(runs are offline: give a folder written by save_pretrained): "
            f"{str(exc).splitlines()[0]}"
        ) from None
    tokenizer.padding_side = "left"  # decoder-only models continue from the right end
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(device)
    model.eval()
    return model, tokenizer


def prompt_text(tokenizer: Any, messages: Messages) -> str:
    """The chat template's prompt (ending with the assistant turn), else the contents joined."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    return "\n".join(m["content"] for m in messages) + "\n"


def generate_batch(
    model: Any, tokenizer: Any, texts: list[str], generation: dict[str, Any]
) -> list[str]:
    """Decoded continuations (prompt and special tokens removed), in input order."""
    import torch

    templated = bool(getattr(tokenizer, "chat_template", None))
    enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=not templated).to(
        model.device
    )
    kwargs = {"pad_token_id": tokenizer.pad_token_id, **generation}
    with torch.no_grad():
        out = model.generate(**enc, **kwargs)
    return tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
