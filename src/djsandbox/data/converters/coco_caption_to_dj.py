"""GeneralDataExecutor ``coco_caption_to_dj_conversion``: InternVL/LLaVA caption JSONL to
Data-Juicer's multimodal format (``<stem>_dj_fmt.jsonl``), and back (``convert_to: internvl``,
``<stem>_internvl_fmt.jsonl``) so that the result of Data-Juicer processing can be trained on.

As the reference (``specific_hooks/intervl_coco_captioning``) except that a row without the
needed key is a ``ValueError`` naming file, row and key (see the package docstring).
Module imports are stdlib only: validation imports it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...atomic import atomic_open
from ...registry import ComponentSpec
from ...shapes import is_list
from .common import (
    DEFAULT_CAPTION_PROMPT,
    INTERNVL_IMAGE_TOKEN,
    PATH_KEYS,
    check_paths,
    dump,
    export_dir,
    input_paths,
    keeps_shape,
    output_paths,
    special_tokens,
    strip_tokens,
)

NAME = "coco_caption_to_dj_conversion"
SPECS = (
    ComponentSpec(
        "GeneralDataExecutor",
        NAME,
        f"{__name__}:run_coco_caption_to_dj",
        "InternVL/LLaVA caption JSONL <-> Data-Juicer format (convert_to: dj | internvl)",
        keys=PATH_KEYS + ("convert_to", "image_root", "prompt"),
        required=("dataset_path",),
        check=f"{__name__}:check_coco_caption_to_dj",
    ),
)  # one result: the output paths, one per input, in input order (in the input's shape)


_DIRECTIONS = ("dj", "internvl")


def check_coco_caption_to_dj(cfg: dict[str, Any]) -> list[str]:
    """Problems with a ``coco_caption_to_dj_conversion`` config known before the run."""
    problems = check_paths(cfg)
    direction = cfg.get("convert_to", "dj")
    if direction not in _DIRECTIONS:
        problems.append(f"convert_to: got {direction!r}; expected one of {', '.join(_DIRECTIONS)}")
    root = cfg.get("image_root")
    if root is not None and (not isinstance(root, str) or not root):
        problems.append(
            f"image_root: got {root!r}; expected the folder image paths are relative to"
        )
    prompt = cfg.get("prompt")
    if prompt is not None and (not isinstance(prompt, str) or INTERNVL_IMAGE_TOKEN not in prompt):
        problems.append(
            f"prompt: got {prompt!r}; expected a human turn containing {INTERNVL_IMAGE_TOKEN!r}"
        )
    return problems


def _caption_of(row: dict[str, Any], where: str) -> str:
    conv = row.get("conversations")
    if not is_list(conv):
        got = "missing" if conv is None else type(conv).__name__
        raise ValueError(
            f"{where}: key 'conversations' is {got}; expected a list of turns "
            "[{from: human, ...}, {from: gpt, value: caption}]"
        )
    answers = [t for t in conv if isinstance(t, dict) and t.get("from") == "gpt"]
    if len(answers) != 1 or not isinstance(answers[0].get("value"), str):
        raise ValueError(
            f"{where}: key 'conversations' has {len(answers)} gpt turns with a text "
            "'value'; a caption row needs exactly one"
        )
    return answers[0]["value"]


def _to_dj(row: dict[str, Any], where: str, token: str, image_root: str | None) -> dict[str, Any]:
    image = row.get("image")
    if not isinstance(image, str) or not image:
        raise ValueError(f"{where}: key 'image' is {image!r}; expected an image path")
    caption = _caption_of(row, where)
    out = dict(row)
    out["images"] = [os.path.join(image_root, image) if image_root else image]
    out["text"] = f"{token} {caption}"
    return out


def _to_internvl(
    row: dict[str, Any], where: str, tokens: Any, image_root: str | None, prompt: str
) -> dict[str, Any]:
    images, text = row.get("images"), row.get("text")
    if not is_list(images) or len(images) != 1 or not isinstance(images[0], str):
        raise ValueError(
            f"{where}: key 'images' is {images!r}; expected a list of exactly one "
            "image path (InternVL caption rows hold one image)"
        )
    if not isinstance(text, str):
        got = "missing" if text is None else type(text).__name__
        raise ValueError(
            f"{where}: key 'text' is {got}; expected the caption with Data-Juicer's image token"
        )
    lead = f"{tokens.image} "
    if text.startswith(lead) and tokens.image not in text[len(lead) :] and tokens.eoc not in text:
        caption = text[len(lead) :]  # exactly what the forward direction wrote
    else:
        caption = strip_tokens(text, (tokens.image, tokens.eoc))
    image = images[0]
    if image_root:
        image = os.path.relpath(image, image_root)
    out = {k: v for k, v in row.items() if k not in ("images", "text")}
    out["image"] = image
    conv = row.get("conversations")
    if is_list(conv) and any(isinstance(t, dict) and t.get("from") == "gpt" for t in conv):
        _caption_of(row, where)  # same validation as the forward direction
        out["conversations"] = [
            dict(t, value=caption) if isinstance(t, dict) and t.get("from") == "gpt" else t
            for t in conv
        ]
    else:
        out["conversations"] = [
            {"from": "human", "value": prompt},
            {"from": "gpt", "value": caption},
        ]
    return out


@keeps_shape
def run_coco_caption_to_dj(cfg: dict[str, Any], out_dir: Path) -> list[str]:
    """Convert InternVL/LLaVA caption JSONL to Data-Juicer's format, or back.

    ``convert_to: dj`` (default, the reference's only direction): every field is kept and two
    are added, ``images: [image]`` and ``text: "<__dj__image> <caption>"`` (the caption is the
    gpt turn of ``conversations``); output ``<stem>_dj_fmt.jsonl``.

    ``convert_to: internvl``: ``image`` from the one entry of ``images`` and the caption from
    ``text`` without Data-Juicer's tokens, written into the row's gpt turn (its human turn is
    kept; a row without conversations gets ``prompt``); ``images`` and ``text`` are dropped, so
    captions -> DJ -> captions gives back the original rows. Output ``<stem>_internvl_fmt.jsonl``.

    ``image_root`` (optional): InternVL image paths are relative to the meta file's ``root``,
    while Data-Juicer resolves ``images`` itself; with ``image_root``, ``images`` holds
    ``image_root/image`` and the reverse makes it relative again. Without it paths are copied
    as they are (the reference's behaviour).
    """
    problems = check_coco_caption_to_dj(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    inputs = input_paths(cfg)
    direction = cfg.get("convert_to", "dj")
    image_root = cfg.get("image_root")
    prompt = cfg.get("prompt") or DEFAULT_CAPTION_PROMPT
    suffix = "_dj_fmt.jsonl" if direction == "dj" else "_internvl_fmt.jsonl"
    outputs = output_paths(inputs, export_dir(cfg, out_dir), lambda p: p.stem + suffix)
    tokens = special_tokens()
    from ..jsonl import numbered_rows

    with atomic_open(outputs, "w", fsync=True) as handles:
        for src, fh in zip(inputs, handles):
            n = 0
            for lineno, row in numbered_rows(src):
                where = f"{src}: line {lineno}"
                if direction == "dj":
                    new = _to_dj(row, where, tokens.image, image_root)
                else:
                    new = _to_internvl(row, where, tokens, image_root, prompt)
                fh.write(dump(new) + "\n")
                n += 1
            if n == 0:
                raise ValueError(f"dataset_path: {str(src)!r} has no rows")
    return [str(p) for p in outputs]
