"""GeneralDataExecutor `captions_to_internvl_conversion`: caption-list rows -> InternVL JSONL.

Caption sets such as the clipart captions (or COCO annotations flattened to one row per image)
hold `{"id", "image", "captions": [...]}`; InternVL fine-tunes on one conversation per caption.
This writes exactly that (input: JSONL or a JSON array, e.g. COCO Karpathy's test file with
`caption: [...]`; rows already in InternVL format pass through), one row per non-empty caption, optionally only one `split`, with image
paths made absolute (from `image_root`, default the dataset's folder) so that Data-Juicer, the
trainer and the evaluator all find the images without sharing a working directory. Each row
keeps `image_id`, so an evaluator can gather all captions of an image as its references.

Module imports are stdlib only: validation imports it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ...atomic import atomic_open
from ...registry import ComponentSpec
from ...value_checks import strings
from .common import (
    DEFAULT_CAPTION_PROMPT,
    check_paths,
    export_dir,
    input_paths,
    keeps_shape,
    output_paths,
    rows_of,
)

NAME = "captions_to_internvl_conversion"
SPECS = (
    ComponentSpec(
        "GeneralDataExecutor",
        NAME,
        f"{__name__}:run_captions_to_internvl",
        "caption-list rows ({image, captions: [...]}) -> InternVL conversation JSONL, "
        "one row per caption, optionally one split",
        keys=(
            "dataset_path",
            "export_path",
            "image_root",
            "split",
            "caption_key",
            "image_key",
            "prompt",
            "max_rows",
        ),
        required=("dataset_path",),
        check=f"{__name__}:check_captions_to_internvl",
    ),
)


def check_captions_to_internvl(cfg: dict[str, Any]) -> list[str]:
    """Problems with the config known before the run."""
    problems = check_paths(cfg)
    problems += strings(cfg, "image_root", "split", "caption_key", "image_key", "prompt")
    limit = cfg.get("max_rows")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        problems.append(f"max_rows: got {limit!r}; expected a positive integer")
    return problems


def _captions(row: dict[str, Any], key: str | None, where: str) -> list[str]:
    """The row's captions: `key`, else `captions` or `caption` (COCO Karpathy test files), else
    the gpt turns of an InternVL conversation."""
    if key is None:
        key = next((k for k in ("captions", "caption") if k in row), None)
        if key is None and isinstance(row.get("conversations"), list):
            return [
                t["value"].strip()
                for t in row["conversations"]
                if isinstance(t, dict)
                and t.get("from") == "gpt"
                and str(t.get("value", "")).strip()
            ]
        key = key or "captions"
    value = row.get(key)
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError(f"{where}: key {key!r} is {value!r}; expected a caption or a list of them")
    return [c.strip() for c in value if isinstance(c, str) and c.strip()]


@keeps_shape
def run_captions_to_internvl(cfg: dict[str, Any], out_dir: Path) -> list[str]:
    """Write `<stem>[_<split>]_internvl_fmt.jsonl` per input; returns the output paths."""
    problems = check_captions_to_internvl(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    inputs = input_paths(cfg)
    split = cfg.get("split")
    tag = f"_{split}" if split else ""
    outputs = output_paths(
        inputs, export_dir(cfg, out_dir), lambda p: f"{p.stem}{tag}_internvl_fmt.jsonl"
    )
    caption_key, image_key = cfg.get("caption_key"), cfg.get("image_key", "image")
    prompt = cfg.get("prompt") or DEFAULT_CAPTION_PROMPT
    limit = cfg.get("max_rows")
    with atomic_open(outputs, "w", fsync=True) as handles:
        for src, fh in zip(inputs, handles):
            root = Path(cfg.get("image_root") or src.parent)
            images = 0
            for where, row in rows_of(src):
                if split and row.get("split") != split:
                    continue
                if not isinstance(row.get(image_key), str):
                    raise ValueError(f"{where}: key {image_key!r} missing; expected an image path")
                image = os.path.abspath(root / row[image_key])
                image_id = str(row.get("id", image))
                for k, caption in enumerate(_captions(row, caption_key, where)):
                    fh.write(
                        json.dumps(
                            {
                                "id": f"{image_id}_{k}",
                                "image_id": image_id,
                                "image": image,
                                "conversations": [
                                    {"from": "human", "value": prompt},
                                    {"from": "gpt", "value": caption},
                                ],
                            },
                            ensure_ascii=False,
                        )
                        + "\n"
                    )
                images += 1
                if limit and images >= limit:
                    break
            if images == 0:
                raise ValueError(
                    f"dataset_path: {str(src)!r} has no rows"
                    + (f" with split {split!r}" if split else "")
                )
    return [str(p) for p in outputs]
