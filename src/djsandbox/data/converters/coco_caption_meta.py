"""GeneralDataExecutor ``coco_caption_meta_generation``: InternVL's training meta file
(``<stem>_meta.json``) for each caption dataset.

Unlike the reference, ``root``, ``data_augment`` and ``repeat_time`` come from the config (the
reference hard-codes ``data/coco/``, ``false`` and ``1``) and ``annotation`` is absolute when
no ``data_root_path`` is given (the reference writes it relative to the current directory).
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
from .common import PATH_KEYS, check_paths, export_dir, input_paths, keeps_shape, output_paths

NAME = "coco_caption_meta_generation"
SPECS = (
    ComponentSpec(
        "GeneralDataExecutor",
        NAME,
        f"{__name__}:run_coco_caption_meta",
        "InternVL training meta JSON for caption datasets",
        keys=PATH_KEYS + ("data_root_path", "root", "data_augment", "repeat_time"),
        required=("dataset_path",),
        check=f"{__name__}:check_coco_caption_meta",
    ),
)  # one result: the output paths, one per input, in input order (in the input's shape)


def check_coco_caption_meta(cfg: dict[str, Any]) -> list[str]:
    """Problems with a ``coco_caption_meta_generation`` config known before the run."""
    problems = check_paths(cfg)
    problems += strings(cfg, "data_root_path", "root", expected="a folder path")
    aug = cfg.get("data_augment")
    if aug is not None and not isinstance(aug, bool):
        problems.append(f"data_augment: got {aug!r}; expected true or false")
    rep = cfg.get("repeat_time")
    if rep is not None and (isinstance(rep, bool) or not isinstance(rep, (int, float)) or rep <= 0):
        problems.append(f"repeat_time: got {rep!r}; expected a positive number")
    return problems


@keeps_shape
def run_coco_caption_meta(cfg: dict[str, Any], out_dir: Path) -> list[str]:
    """Write InternVL's training meta file for each caption dataset.

    ``<stem>_meta.json`` holds ``{<stem>: {root, annotation, data_augment, repeat_time,
    length}}`` (InternVL's ``shell/data/coco_caption.json`` layout): ``annotation`` is the
    dataset path relative to ``data_root_path`` (absolute when that is not given), ``length``
    its row count (every row is parsed, so a broken file fails here rather than in training),
    ``root`` (default ``data/coco/``) where InternVL resolves the rows' image paths.
    """
    problems = check_coco_caption_meta(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    inputs = input_paths(cfg)
    outputs = output_paths(inputs, export_dir(cfg, out_dir), lambda p: f"{p.stem}_meta.json")
    data_root = cfg.get("data_root_path")
    from ..jsonl import numbered_rows

    metas = []
    for src in inputs:
        length = sum(1 for _ in numbered_rows(src))
        if length == 0:
            raise ValueError(f"dataset_path: {str(src)!r} has no rows; InternVL cannot train on it")
        # abspath, not resolve(): a symlinked data root must stay in the path InternVL sees
        annotation = (
            os.path.relpath(os.path.abspath(src), os.path.abspath(data_root))
            if data_root
            else os.path.abspath(src)
        )
        metas.append(
            {
                src.stem: {
                    "root": cfg.get("root", "data/coco/"),
                    "annotation": annotation,
                    "data_augment": bool(cfg.get("data_augment", False)),
                    "repeat_time": cfg.get("repeat_time", 1),
                    "length": length,
                }
            }
        )
    with atomic_open(outputs, "w", fsync=True) as handles:
        for meta, fh in zip(metas, handles):
            json.dump(meta, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
    return [str(p) for p in outputs]
