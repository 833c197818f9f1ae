"""A byte-level BPE tokenizer trained on the captions, with Qwen2's chat template, for the tiny
EasyAnimate's text encoder.

Nothing can be downloaded, so the tiny model cannot use Qwen2-VL's own tokenizer. Byte-level
BPE (as Qwen2's) never meets an unknown character, so any prompt encodes. EasyAnimate's
pipeline wraps each prompt with `apply_chat_template`; the template below writes Qwen2's
`<|im_start|>role ... <|im_end|>` turns. Saved with the pipeline (`save_pretrained`), so a
checkpoint reloads it alone.
"""

from __future__ import annotations

from typing import Any, Iterable

PAD, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"

CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for part in message['content'] %}"
    "{% if part['type'] == 'text' %}{{ part['text'] }}{% endif %}{% endfor %}{% endif %}"
    "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int = 1000) -> Any:
    """A `PreTrainedTokenizerFast` (byte-level BPE, at most `vocab_size` tokens) over `texts`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if vocab_size < 300:
        raise ValueError(
            f"model.tiny.vocab_size: got {vocab_size}; expected at least 300 (256 bytes and "
            "the special tokens)"
        )
    core = Tokenizer(models.BPE())
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[PAD, IM_START, IM_END],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(list(texts), trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=core, pad_token=PAD, eos_token=IM_END)
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer
