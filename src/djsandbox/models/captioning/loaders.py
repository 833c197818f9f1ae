"""The three ways to get a captioner, all returning a `CaptionAdapter`.

1. tiny: a small `InternVLForConditionalGeneration` built from `model.tiny` sizes, with a
   word tokenizer trained on the training captions (CPU, seconds; tests and the embedded demo);
2. an HF-format InternVL folder at `model.path` (config.json `model_type: internvl`, e.g. a
   saved tiny model or a `-hf` release): `InternVLForConditionalGeneration.from_pretrained`;
3. an original InternVL2 release at `model.path` (`auto_map` -> `InternVLChatModel`, remote
   code shipped in the folder): `AutoModel.from_pretrained(..., trust_remote_code=True)`.

Then `prepare_for_training` applies the reference recipe: freeze the vision encoder and the
MLP projector, and put LoRA on the language model only (peft), as InternVL's fine-tune
scripts do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from .adapter import SETTINGS_FILE, CaptionAdapter
from .settings import DEFAULT_TEMPLATES
from .templates import IMG_CONTEXT, TEMPLATES, get_template


def _dtype(name: str | None) -> Any:
    import torch

    return {"bfloat16": torch.bfloat16, "float16": torch.float16}.get(name or "", torch.float32)


def model_kind(path: str | Path, key: str = "model.path") -> str:
    """ "hf" or "remote" from the folder's config.json; clear errors naming `key` otherwise."""
    folder = Path(path)
    if not folder.exists():
        raise ValueError(
            f"{key}: folder {str(folder)!r} does not exist; expected a local "
            "InternVL model folder (weights cannot be downloaded here)"
        )
    config_file = folder / "config.json"
    if not folder.is_dir() or not config_file.is_file():
        raise ValueError(
            f"{key}: {str(folder)!r} is not a model folder (no config.json); "
            "expected a folder written by save_pretrained or an InternVL2 release"
        )
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{key}: {config_file} is not valid JSON ({exc.msg})") from None
    if config.get("model_type") == "internvl":
        return "hf"
    auto_model = (config.get("auto_map") or {}).get("AutoModel")
    if auto_model:
        module = auto_model.split("--")[-1].rsplit(".", 1)[0]
        if not (folder / f"{module}.py").is_file():
            raise ValueError(
                f"{key}: {str(folder)!r} declares remote code {auto_model!r} but "
                f"{module}.py is missing; copy the release's *.py files into it"
            )
        return "remote"
    raise ValueError(
        f"{key}: {str(folder)!r} holds model_type {config.get('model_type')!r}; "
        "expected an InternVL model (model_type 'internvl', or an InternVL2 "
        "release with auto_map/InternVLChatModel remote code)"
    )


def build_tiny(
    settings: dict[str, Any], texts: Iterable[str], vocab_size: int | None = None
) -> CaptionAdapter:
    """A random tiny InternVL with a tokenizer trained on `texts` (the training captions)."""
    from transformers import (
        InternVLConfig,
        InternVLForConditionalGeneration,
        InternVLVisionConfig,
        Qwen2Config,
    )

    from .tokenizer import train_word_tokenizer

    tiny, image_size = settings["tiny"], int(settings["image_size"])
    patch = int(tiny["patch_size"])
    ratio = float(tiny["downsample_ratio"])
    grid = image_size // patch
    if image_size % patch or (grid * ratio) != int(grid * ratio):
        raise ValueError(
            f"model.image_size: {image_size} must be a multiple of "
            f"model.tiny.patch_size ({patch}) giving a patch grid divisible by "
            f"1/downsample_ratio ({1 / ratio:g})"
        )
    tokenizer = train_word_tokenizer(texts, vocab_size or int(tiny["vocab_size"]))
    vision = InternVLVisionConfig(
        hidden_size=tiny["vision_hidden_size"],
        num_hidden_layers=tiny["vision_layers"],
        num_attention_heads=tiny["vision_heads"],
        intermediate_size=tiny["vision_intermediate_size"],
        image_size=[image_size, image_size],
        patch_size=[patch, patch],
    )
    text = Qwen2Config(
        hidden_size=tiny["text_hidden_size"],
        num_hidden_layers=tiny["text_layers"],
        num_attention_heads=tiny["text_heads"],
        num_key_value_heads=tiny["text_kv_heads"],
        intermediate_size=tiny["text_intermediate_size"],
        vocab_size=len(tokenizer),
        max_position_embeddings=max(512, int(settings["max_seq_length"])),
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    num_image_token = int(grid * ratio) ** 2
    config = InternVLConfig(
        vision_config=vision,
        text_config=text,
        image_token_id=tokenizer.convert_tokens_to_ids(IMG_CONTEXT),
        image_seq_length=num_image_token,
        downsample_ratio=ratio,
    )
    model = InternVLForConditionalGeneration(config)
    return CaptionAdapter(
        model,
        tokenizer,
        get_template(settings.get("template") or "plain"),
        "hf",
        settings,
        num_image_token,
    )


def saved_facts(folder: str | Path) -> dict[str, Any]:
    """What `CaptionAdapter.save` wrote about a checkpoint (empty for other folders)."""
    path = Path(folder) / SETTINGS_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def choose_template(
    settings: dict[str, Any],
    facts: dict[str, Any],
    tokenizer: Any,
    config_template: str | None = None,
) -> str:
    """The user's template, else the saved one, else the release's, else the size's default,
    else chatml when the vocabulary has its tokens (HF-format Qwen2-based releases)."""
    for name in (settings.get("template"), facts.get("template"), config_template):
        if name in TEMPLATES:
            return name
    if settings.get("size") in DEFAULT_TEMPLATES and settings.get("size") != "tiny":
        return DEFAULT_TEMPLATES[settings["size"]]
    return "Hermes-2" if "<|im_start|>" in tokenizer.get_vocab() else "plain"


def load_pretrained(
    path: str | Path, settings: dict[str, Any], key: str = "model.path"
) -> CaptionAdapter:
    """An adapter over the model folder at `path` (HF-format or InternVL2 remote code)."""
    from transformers import AutoTokenizer

    folder = Path(path)
    kind = model_kind(folder, key)
    facts = saved_facts(folder)
    settings = dict(settings)
    if facts.get("system_message") is not None and settings.get("system_message") is None:
        settings["system_message"] = facts["system_message"]
    dtype = _dtype(settings.get("dtype"))
    if kind == "hf":
        from transformers import InternVLForConditionalGeneration

        model = InternVLForConditionalGeneration.from_pretrained(str(folder), dtype=dtype)
        tokenizer = AutoTokenizer.from_pretrained(str(folder))
        vision = model.config.vision_config
        image_size = int(
            vision.image_size[0]
            if isinstance(vision.image_size, (list, tuple))
            else vision.image_size
        )
        num_image_token = int(model.config.image_seq_length)
        config_template = None
    else:
        if not settings.get("trust_remote_code", True):
            raise ValueError(
                f"{key}: {str(folder)!r} is an InternVL2 release with remote code; "
                "set model.trust_remote_code: true to load it"
            )
        from transformers import AutoModel

        model = AutoModel.from_pretrained(str(folder), dtype=dtype, trust_remote_code=True)
        tokenizer = AutoTokenizer.from_pretrained(str(folder), trust_remote_code=True)
        model.img_context_token_id = tokenizer.convert_tokens_to_ids(IMG_CONTEXT)
        image_size = int(
            getattr(model.config, "force_image_size", None) or model.config.vision_config.image_size
        )
        num_image_token = int(model.num_image_token)
        config_template = getattr(model.config, "template", None)
    settings = {**settings, "image_size": image_size}
    template = choose_template(settings, facts, tokenizer, config_template)
    return CaptionAdapter(
        model,
        tokenizer,
        get_template(template),
        kind,
        settings,
        num_image_token,
        source_path=str(folder),
    )


def prepare_for_training(adapter: CaptionAdapter) -> CaptionAdapter:
    """Freeze parts per settings, add LoRA to the language model, enable checkpointing."""
    settings, parts = adapter.settings, adapter.parts()
    adapter.model.train()  # from_pretrained returns eval mode (dropout off)
    trainable = {
        "vision": not settings["freeze_vision"],
        "projector": not settings["freeze_projector"],
        "llm": not settings["freeze_llm"],
        "lm_head": not settings["freeze_llm"],
    }
    for name, module in parts.items():
        for param in module.parameters():
            param.requires_grad_(trainable[name])
    lora = settings.get("lora")
    if lora:
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(
            r=int(lora["r"]),
            lora_alpha=int(lora["alpha"]),
            lora_dropout=float(lora["dropout"]),
            target_modules=list(lora["target_modules"]),
        )
        adapter.set_llm(get_peft_model(parts["llm"], config))
    if settings.get("gradient_checkpointing"):
        llm = adapter.parts()["llm"]
        llm.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if not any(p.requires_grad for p in adapter.model.parameters()):
        raise ValueError(
            "model: every part is frozen and no LoRA is set; nothing would train "
            "(set model.lora, or model.freeze_llm: false)"
        )
    return adapter


def load_for_training(
    settings: dict[str, Any], texts: Iterable[str], vocab_size: int | None = None
) -> CaptionAdapter:
    """Tiny model when `model.path` is empty, else the folder; ready to train."""
    if settings.get("path"):
        adapter = load_pretrained(settings["path"], settings)
    else:
        adapter = build_tiny(settings, texts, vocab_size)
    return prepare_for_training(adapter)


def load_checkpoint(
    path: str | Path, settings: dict[str, Any], key: str = "checkpoint"
) -> CaptionAdapter:
    """A trained (or released) captioner for evaluation, in eval mode."""
    adapter = load_pretrained(path, settings, key)
    adapter.model.eval()
    return adapter
