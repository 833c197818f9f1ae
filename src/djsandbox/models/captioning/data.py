"""Caption data as the captioner sees it: (image file, question, caption) samples.

Inputs are what the sandbox's converters write: InternVL meta JSON files
(`{name: {root, annotation, data_augment, repeat_time, length}}`, see
`coco_caption_meta_generation`) or an InternVL JSONL with an `image_root`. Rows hold
`conversations` (human/gpt turns; each gpt turn is one sample, asked by the human turn before
it) or, as the project's clipart data does, a `captions` list (each caption one sample, asked
the default InternVL caption prompt). Rows without any caption are skipped, like InternVL's
data pipeline does with empty answers; a missing image is an error naming file and row.

Meta semantics follow InternVL's: a relative `root`/`annotation` is resolved against the
current directory, else (beyond InternVL) against the meta file's folder; `repeat_time` 2.5
repeats each row twice and adds a seeded half; `data_augment` is accepted but applies no
augmentation (single-tile images; see `images`).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from djsandbox.data.converters.common import DEFAULT_CAPTION_PROMPT
from djsandbox.data.jsonl import numbered_rows


@dataclass(frozen=True)
class Sample:
    image: str  # absolute path
    question: str
    caption: str


@dataclass(frozen=True)
class EvalItem:
    image: str
    question: str
    references: tuple[str, ...]


def _resolve(path: str, base: Path) -> Path:
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        return p.absolute()
    return (base / p).absolute()


def row_pairs(row: dict[str, Any], where: str, prompt: str) -> list[tuple[str, str]]:
    """(question, caption) pairs of one row; empty captions are dropped."""
    if "conversations" in row:
        turns = row["conversations"]
        if not isinstance(turns, list):
            raise ValueError(f"{where}: conversations must be a list of {{from, value}} turns")
        pairs, question = [], prompt
        for turn in turns:
            if not isinstance(turn, dict) or "value" not in turn:
                raise ValueError(f"{where}: each conversation turn needs 'from' and 'value'")
            if turn.get("from") in ("human", "user"):
                question = str(turn["value"])
            elif turn.get("from") in ("gpt", "assistant") and str(turn["value"]).strip():
                pairs.append((question, str(turn["value"]).strip()))
        return pairs
    captions = row.get("captions", row.get("caption"))
    if captions is None:
        raise ValueError(
            f"{where}: no 'conversations' and no 'captions'; expected an InternVL "
            "row {id, image, conversations} or a row with a captions list"
        )
    if isinstance(captions, str):
        captions = [captions]
    return [(prompt, str(c).strip()) for c in captions if str(c).strip()]


def _image_of(row: dict[str, Any], where: str, root: Path) -> str:
    image = row.get("image")
    if not isinstance(image, str) or not image:
        raise ValueError(f"{where}: 'image' must be one image path, got {image!r}")
    path = _resolve(image, root) if not Path(image).is_absolute() else Path(image)
    if not path.is_file():
        raise ValueError(
            f"{where}: image {str(path)!r} does not exist (image paths are "
            f"relative to {str(root)!r})"
        )
    return str(path)


def samples_from_jsonl(
    path: str | Path, image_root: str | Path | None, prompt: str = DEFAULT_CAPTION_PROMPT
) -> list[Sample]:
    """Training samples of an InternVL JSONL; image paths are relative to `image_root`
    (default: the JSONL's folder)."""
    path = Path(path)
    root = Path(image_root).absolute() if image_root else path.absolute().parent
    samples = []
    for lineno, row in numbered_rows(path):
        where = f"{path}:{lineno}"
        pairs = row_pairs(row, where, prompt)
        if pairs:
            image = _image_of(row, where, root)
            samples += [Sample(image, q, c) for q, c in pairs]
    return samples


def _repeat(samples: list[Sample], times: float, seed: int) -> list[Sample]:
    whole, part = int(times), times - int(times)
    extra = random.Random(seed).sample(samples, round(part * len(samples))) if part else []
    return samples * whole + extra


def samples_from_meta(
    meta_path: str | Path, seed: int = 42, prompt: str = DEFAULT_CAPTION_PROMPT
) -> list[Sample]:
    """Every dataset of one InternVL meta file, repeated by its `repeat_time`."""
    meta_path = Path(meta_path)
    if not meta_path.is_file():
        raise ValueError(
            f"meta_path: file {str(meta_path)!r} does not exist; expected a meta "
            "JSON written by coco_caption_meta_generation"
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"meta_path: {meta_path} is not valid JSON ({exc.msg})") from None
    if not isinstance(meta, dict) or not meta:
        raise ValueError(
            f"meta_path: {meta_path} must map dataset names to {{root, annotation, ...}}"
        )
    samples: list[Sample] = []
    for name, entry in meta.items():
        if not isinstance(entry, dict) or "annotation" not in entry:
            raise ValueError(f"meta_path: {meta_path}: dataset {name!r} has no 'annotation'")
        annotation = _resolve(str(entry["annotation"]), meta_path.parent)
        root = _resolve(str(entry.get("root") or "."), meta_path.parent)
        rows = samples_from_jsonl(annotation, root, prompt)
        times = entry.get("repeat_time", 1)
        if isinstance(times, bool) or not isinstance(times, (int, float)) or times <= 0:
            raise ValueError(
                f"meta_path: {meta_path}: {name}.repeat_time is {times!r}; "
                "expected a positive number"
            )
        samples += _repeat(rows, float(times), seed)
    return samples


def eval_items(
    path: str | Path, image_root: str | Path | None, prompt: str = DEFAULT_CAPTION_PROMPT
) -> list[EvalItem]:
    """One item per image with every caption of that image as a reference, in file order."""
    by_image: dict[str, tuple[str, list[str]]] = {}
    for sample in samples_from_jsonl(path, image_root, prompt):
        question, refs = by_image.setdefault(sample.image, (sample.question, []))
        refs.append(sample.caption)
    return [EvalItem(image, q, tuple(refs)) for image, (q, refs) in by_image.items()]


def split(samples: list[Sample], val_ratio: float, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Seeded held-out slice by image, so no validation image is also trained on."""
    images = sorted({s.image for s in samples})
    random.Random(seed).shuffle(images)
    n_val = int(round(len(images) * val_ratio)) if len(images) > 1 else 0
    held = set(images[:n_val])
    return [s for s in samples if s.image not in held], [s for s in samples if s.image in held]


class CaptionDataset:
    """Map-style dataset of (pixel tensor, question, caption); images cached by `images`."""

    def __init__(self, samples: list[Sample], image_size: int) -> None:
        self.samples, self.image_size = samples, image_size

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[Any, str, str]:
        from .images import load_image

        s = self.samples[index]
        return load_image(s.image, self.image_size), s.question, s.caption


class Collate:
    """Stack images and let the adapter tokenise and mask (picklable for worker processes)."""

    def __init__(self, adapter: Any) -> None:
        self.adapter = adapter

    def __call__(self, items: list[tuple[Any, str, str]]) -> dict[str, Any]:
        import torch

        batch = self.adapter.encode([q for _, q, _ in items], [c for _, _, c in items])
        batch["pixel_values"] = torch.stack([img for img, _, _ in items])
        return batch
