"""A tiny causal LM and tokenizer built from a config and a few texts, with no download.

Runs here are offline, yet the inference executors, the causal-LM trainer and their tests need a
real model folder that `AutoModelForCausalLM`/`AutoTokenizer.from_pretrained` can load. This
module trains a byte-level BPE tokenizer on given texts (so any text encodes), wraps it as a
`PreTrainedTokenizerFast` with pad/eos/bos tokens and a ChatML-style chat template, builds a
randomly initialised Qwen2 model sized by `settings`, and saves both with `save_pretrained`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Mapping

from ..redact import show

PAD, EOS, IM_START, IM_END = "<|pad|>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"
CHAT_TEMPLATE = (
    "{% for message in messages %}" + IM_START + "{{ message['role'] }}\n"
    "{{ message['content'] }}" + IM_END + "\n{% endfor %}"
    "{% if add_generation_prompt %}" + IM_START + "assistant\n{% endif %}"
)

TINY_DEFAULTS: dict[str, Any] = {
    "vocab_size": 512,  # the tokenizer's target size (small texts may give fewer)
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "max_position_embeddings": 512,
}


def tiny_settings(settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """Defaults <- `settings`; unknown keys or non-positive sizes are a clear error."""
    if settings is not None and not isinstance(settings, Mapping):
        raise ValueError(
            f"tiny_model: expected a mapping of model sizes, got {type(settings).__name__}"
        )
    out = {**TINY_DEFAULTS, **dict(settings or {})}
    for key, value in out.items():
        if key not in TINY_DEFAULTS:
            raise ValueError(f"tiny_model.{key}: unknown; valid: {', '.join(TINY_DEFAULTS)}")
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"tiny_model.{key}: expected an integer >= 1, got {show(key, value)}")
    if out["hidden_size"] % out["num_attention_heads"]:
        raise ValueError("tiny_model.hidden_size: must be a multiple of num_attention_heads")
    if out["num_attention_heads"] % out["num_key_value_heads"]:
        raise ValueError("tiny_model.num_key_value_heads: must divide num_attention_heads")
    return out


def train_tokenizer(texts: Iterable[str], vocab_size: int = 512, max_length: int = 512) -> Any:
    """A byte-level BPE `PreTrainedTokenizerFast` fitted on `texts`, with a chat template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = [PAD, EOS, IM_START, IM_END]
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator((str(t) for t in texts), trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token=PAD,
        eos_token=EOS,
        bos_token=EOS,
        model_max_length=max_length,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_model(tokenizer: Any, settings: Mapping[str, Any] | None = None, seed: int = 0) -> Any:
    """A randomly initialised Qwen2 causal LM matching `tokenizer` (seeded, reproducible)."""
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    s = tiny_settings(settings)
    config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=s["hidden_size"],
        intermediate_size=s["intermediate_size"],
        num_hidden_layers=s["num_hidden_layers"],
        num_attention_heads=s["num_attention_heads"],
        num_key_value_heads=s["num_key_value_heads"],
        max_position_embeddings=s["max_position_embeddings"],
        tie_word_embeddings=False,  # tied, an untrained model only repeats its last token
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    torch.manual_seed(seed)
    model = Qwen2ForCausalLM(config)
    # A chat reply ends with <|im_end|>; plain text with <|endoftext|>: stop at either.
    stops = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids(IM_END)]
    model.generation_config = GenerationConfig(
        eos_token_id=stops, pad_token_id=tokenizer.pad_token_id
    )
    return model


def build_tiny_lm(
    texts: Iterable[str], settings: Mapping[str, Any] | None = None, seed: int = 0
) -> tuple[Any, Any]:
    """(model, tokenizer): a tokenizer fitted on `texts` and a model sized by `settings`."""
    s = tiny_settings(settings)
    texts = [str(t) for t in texts]
    if not texts:
        raise ValueError("tiny_model: needs some texts to fit its tokenizer on")
    tokenizer = train_tokenizer(texts, s["vocab_size"], s["max_position_embeddings"])
    return build_model(tokenizer, s, seed), tokenizer


def save_tiny_lm(
    texts: Iterable[str],
    out_dir: Path | str,
    settings: Mapping[str, Any] | None = None,
    seed: int = 0,
) -> Path:
    """Build a tiny LM and `save_pretrained` it (weights + tokenizer) to `out_dir`."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model, tokenizer = build_tiny_lm(texts, settings, seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out
