"""Text-classification data: a tokenizer fitted on training rows, a Dataset and a DataModule.

The sandbox's embedded demo trains a small bag-of-words classifier as the "model feedback" for a
data recipe, so everything here is built from the training file alone (no downloaded
tokenizers) and is serialisable into the checkpoint, which then suffices to evaluate.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from ..data.jsonl import numbered_rows

_TAG_RE = re.compile(r"<[^>]+>")
_WORD_RE = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")

UNKNOWN_LABEL = -1
"""Label id of a row whose label was not seen in training: it can never be predicted right."""


def words(text: str) -> list[str]:
    """Lowercase word tokens; HTML tags (the reviews contain ``<br />``) are dropped first."""
    return _WORD_RE.findall(_TAG_RE.sub(" ", text).lower())


class Tokenizer:
    """Word-to-id mapping fitted on training texts, plus hashed word bigrams.

    Ids: 0 is the unknown word, 1..len(vocab) the kept words (most frequent first, ties broken
    alphabetically so that fitting is deterministic), then ``ngram_buckets`` ids for bigrams.
    Bigrams are hashed with CRC32 rather than ``hash()`` because Python salts string hashes
    per process, which would make a saved model meaningless in the next process.
    """

    def __init__(self, vocab: Sequence[str], ngram_buckets: int = 0) -> None:
        if ngram_buckets < 0:
            raise ValueError(f"ngram_buckets must be >= 0, got {ngram_buckets}")
        self.vocab = list(vocab)
        self.ngram_buckets = int(ngram_buckets)
        self._index = {w: i + 1 for i, w in enumerate(self.vocab)}

    @classmethod
    def fit(
        cls,
        texts: Iterable[str],
        max_vocab: int = 20000,
        min_count: int = 1,
        ngram_buckets: int = 0,
    ) -> Tokenizer:
        """Keep the ``max_vocab`` most frequent words seen at least ``min_count`` times."""
        if max_vocab < 1:
            raise ValueError(f"max_vocab must be >= 1, got {max_vocab}")
        counts = Counter(w for text in texts for w in words(text))
        ranked = sorted(
            (w for w, c in counts.items() if c >= min_count), key=lambda w: (-counts[w], w)
        )
        return cls(ranked[:max_vocab], ngram_buckets)

    @property
    def num_ids(self) -> int:
        """Size of the embedding table the ids index into."""
        return 1 + len(self.vocab) + self.ngram_buckets

    def encode(self, text: str) -> list[int]:
        """Word ids followed by bigram bucket ids (bigrams of the raw words, known or not)."""
        toks = words(text)
        ids = [self._index.get(w, 0) for w in toks]
        if self.ngram_buckets:
            base = 1 + len(self.vocab)
            for a, b in zip(toks, toks[1:]):
                ids.append(base + zlib.crc32(f"{a} {b}".encode()) % self.ngram_buckets)
        return ids

    def to_dict(self) -> dict[str, Any]:
        return {"vocab": list(self.vocab), "ngram_buckets": self.ngram_buckets}

    @classmethod
    def from_dict(cls, state: dict[str, Any]) -> Tokenizer:
        return cls(state["vocab"], state.get("ngram_buckets", 0))


def read_labelled_jsonl(
    path: str | Path, text_key: str, label_key: str | None
) -> list[tuple[str, Any]]:
    """(text, label) pairs from a JSONL file; errors name the file, line and key.

    With ``label_key=None`` labels are not read (returned as None). Labels are returned as-is;
    callers turn them into strings.
    """
    path = Path(path)
    rows: list[tuple[str, Any]] = []
    for lineno, row in numbered_rows(path):
        if text_key not in row:
            raise ValueError(
                f"{path}:{lineno}: row has no text key {text_key!r} (keys: {sorted(row)})"
            )
        text = row[text_key]
        if not isinstance(text, str):
            raise ValueError(
                f"{path}:{lineno}: text key {text_key!r} holds {type(text).__name__}, not a string"
            )
        if label_key is not None and label_key not in row:
            raise ValueError(
                f"{path}:{lineno}: row has no label key {label_key!r} (keys: {sorted(row)})"
            )
        rows.append((text, row[label_key] if label_key is not None else None))
    if not rows:
        raise ValueError(f"dataset file {str(path)!r} is empty")
    return rows


class EncodedTextDataset(Dataset):
    """Pre-tokenised rows: (token ids, label id); tokenising once keeps epochs cheap."""

    def __init__(self, token_ids: list[list[int]], label_ids: list[int]) -> None:
        if len(token_ids) != len(label_ids):
            raise ValueError("token_ids and label_ids differ in length")
        self.token_ids = [torch.tensor(t, dtype=torch.long) for t in token_ids]
        self.label_ids = torch.tensor(label_ids, dtype=torch.long)

    @classmethod
    def encode(
        cls,
        texts: Sequence[str],
        labels: Sequence[str] | None,
        tokenizer: Tokenizer,
        label_names: Sequence[str],
    ) -> EncodedTextDataset:
        """Labels missing from ``label_names`` get ``UNKNOWN_LABEL``; None labels are unknown too."""
        index = {name: i for i, name in enumerate(label_names)}
        label_ids = (
            [UNKNOWN_LABEL] * len(texts)
            if labels is None
            else [index.get(lbl, UNKNOWN_LABEL) for lbl in labels]
        )
        return cls([tokenizer.encode(t) for t in texts], label_ids)

    def __len__(self) -> int:
        return len(self.token_ids)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.token_ids[i], self.label_ids[i]


def collate_bags(batch: list[tuple[torch.Tensor, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Concatenate ids with bag offsets, the input format of ``nn.EmbeddingBag``."""
    lengths = torch.tensor([len(ids) for ids, _ in batch], dtype=torch.long)
    offsets = torch.zeros(len(batch), dtype=torch.long)
    if len(batch) > 1:
        offsets[1:] = torch.cumsum(lengths[:-1], dim=0)
    ids = torch.cat([ids for ids, _ in batch]) if batch else torch.zeros(0, dtype=torch.long)
    labels = torch.stack([lbl for _, lbl in batch]) if batch else torch.zeros(0, dtype=torch.long)
    return {"ids": ids, "offsets": offsets, "labels": labels}


def split_indices(n: int, val_ratio: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded shuffle, then hold out ``round(n * val_ratio)`` rows (at least 1 if the ratio > 0)."""
    if not 0.0 <= val_ratio < 1.0:
        raise ValueError(f"val_ratio must be in [0, 1), got {val_ratio}")
    n_val = 0 if val_ratio == 0 else max(1, int(round(n * val_ratio)))
    if n - n_val < 1:
        raise ValueError(f"{n} rows leave no training rows with val_ratio={val_ratio}")
    perm = np.random.RandomState(seed).permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def held_out_split(
    rows: list[tuple[str, Any]], val_rows: list[tuple[str, Any]], source: Path
) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """Training rows = `rows` whose text is not among `val_rows` (a split of `source`)."""
    held = {text for text, _ in val_rows}
    train = [r for r in rows if r[0] not in held]
    if not train:
        raise ValueError(f"val_from {str(source)!r}: every training row is in its validation split")
    return train, val_rows


class TextClassificationDataModule(L.LightningDataModule):
    """Reads one labelled JSONL file and splits it into train/val with a seed.

    With ``val_from`` the validation rows are a seeded ``val_ratio`` share of that file
    instead (e.g. the raw training set before a recipe filtered it), and training rows with
    their text are left out: every run naming the same file, ratio and seed validates on the
    same rows, whatever its recipe kept, so runs can be compared on it (an HPO objective).
    ``shuffle_seed`` (default ``seed``) orders the training batches; several models trained
    on one split differ only by it and their initialisation.

    The vocabulary is fitted on the train split only (no peeking at validation), while label
    names come from every row of the file: the label set is part of the task, and a class that
    happens to fall only into validation must still be predictable. Labels are compared as
    strings everywhere (like the reference accuracy evaluator), so they are stored as ``str``.
    """

    def __init__(
        self,
        train_path: str | Path,
        text_key: str = "text",
        label_key: str = "label",
        val_ratio: float = 0.1,
        seed: int = 42,
        batch_size: int = 64,
        max_vocab: int = 20000,
        min_count: int = 1,
        ngram_buckets: int = 2**16,
        num_workers: int = 0,
        val_from: str | Path | None = None,
    ) -> None:
        super().__init__()
        self.train_path = Path(train_path)
        self.val_from = Path(val_from) if val_from else None
        self.shuffle_seed = int(seed)
        self.text_key, self.label_key = text_key, label_key
        self.val_ratio, self.seed = float(val_ratio), int(seed)
        self.batch_size, self.num_workers = int(batch_size), int(num_workers)
        self.max_vocab, self.min_count, self.ngram_buckets = (
            int(max_vocab),
            int(min_count),
            int(ngram_buckets),
        )
        self.tokenizer: Tokenizer | None = None
        self.label_names: list[str] = []
        self.train_set: EncodedTextDataset | None = None
        self.val_set: EncodedTextDataset | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is not None:  # setup runs once per fit/validate call; the split is fixed
            return
        rows = read_labelled_jsonl(self.train_path, self.text_key, self.label_key)
        if self.val_from is not None:
            source = read_labelled_jsonl(self.val_from, self.text_key, self.label_key)
            _, held = split_indices(len(source), self.val_ratio, self.seed)
            train_rows, val_rows = held_out_split(rows, [source[i] for i in held], self.val_from)
            rows = train_rows + val_rows
            train_idx = np.arange(len(train_rows))
            val_idx = np.arange(len(train_rows), len(rows))
        else:
            train_idx, val_idx = split_indices(len(rows), self.val_ratio, self.seed)
        texts = [t for t, _ in rows]
        labels = [str(lbl) for _, lbl in rows]
        self.label_names = sorted(set(labels))
        self.tokenizer = Tokenizer.fit(
            (texts[i] for i in train_idx), self.max_vocab, self.min_count, self.ngram_buckets
        )
        self.train_set = EncodedTextDataset.encode(
            [texts[i] for i in train_idx],
            [labels[i] for i in train_idx],
            self.tokenizer,
            self.label_names,
        )
        self.val_set = EncodedTextDataset.encode(
            [texts[i] for i in val_idx],
            [labels[i] for i in val_idx],
            self.tokenizer,
            self.label_names,
        )

    def _loader(self, ds: Dataset, shuffle: bool) -> DataLoader:
        gen = torch.Generator().manual_seed(self.shuffle_seed) if shuffle else None
        return DataLoader(
            ds,
            batch_size=self.batch_size,
            shuffle=shuffle,
            generator=gen,
            num_workers=self.num_workers,
            collate_fn=collate_bags,
        )

    def train_dataloader(self) -> DataLoader:
        assert self.train_set is not None, "call setup() first"
        return self._loader(self.train_set, shuffle=True)

    def val_dataloader(self) -> DataLoader:
        assert self.val_set is not None, "call setup() first"
        return self._loader(self.val_set, shuffle=False)
