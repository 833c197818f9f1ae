"""A word-level tokenizer trained on the training captions, for the tiny captioner.

Nothing can be downloaded, and a tiny model learns far faster over whole lowercase words than
over sub-words, so the tiny captioner gets its own vocabulary. Words seen fewer than
`min_frequency` times become `<unk>`; generated captions therefore only use training words,
which is how a small-data captioner behaves anyway. Saved with `save_pretrained`, so the
evaluator reloads it with `AutoTokenizer` from the checkpoint folder alone.
"""

from __future__ import annotations

from typing import Any, Iterable

from .templates import IMG_CONTEXT, IMG_END, IMG_START

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<s>", "</s>"
SPECIAL_TOKENS = [PAD, UNK, BOS, EOS, IMG_START, IMG_END, IMG_CONTEXT]


def train_word_tokenizer(
    texts: Iterable[str], vocab_size: int = 4000, min_frequency: int = 1
) -> Any:
    """A `PreTrainedTokenizerFast` over the most frequent words (and punctuation) of `texts`.

    Splits on whitespace and punctuation after NFKC + lowercasing; decoding joins words with
    spaces (the caption metrics tokenise again, so spacing around punctuation does not count).
    """
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    if vocab_size <= len(SPECIAL_TOKENS):
        raise ValueError(
            f"tokenizer_vocab_size: got {vocab_size}; expected more than "
            f"{len(SPECIAL_TOKENS)} (the special tokens)"
        )
    core = Tokenizer(models.WordLevel(unk_token=UNK))
    core.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        show_progress=False,
    )
    core.train_from_iterator(list(texts), trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        pad_token=PAD,
        unk_token=UNK,
        bos_token=BOS,
        eos_token=EOS,
        additional_special_tokens=[IMG_START, IMG_END, IMG_CONTEXT],
    )
