"""GeneralDataExecutor ``video_clips_to_dj_conversion``: a video dataset's clip rows
(``clips.jsonl``: ``{id, video, caption, split, ...}``) -> Data-Juicer's video format.

Data-Juicer's video ops read ``videos`` (a list of paths) and a ``text`` whose video token marks
where each video sits; ``dj_to_easyanimate_video_dataset_conversion`` reads the same rows back.
Each output row is ``{"videos": [<absolute path>], "text": "<__dj__video> <caption>
<|__dj__eoc|>", "id", "split", ...}`` with the row's other fields kept, except the fields a
dataset records for studies only (``defect``, ``shown_motion``: which clips are broken and how),
which a recipe or a model must never see. Optionally one ``split``, the first ``skip_rows`` of it left out (a dev/test cut of one split)
and at most ``max_rows`` rows.
Every video must exist: a missing one fails here, naming file, row and path, rather than as an
empty stat deep inside Data-Juicer. Output ``<stem>[_<split>]_dj_fmt.jsonl``.
Module imports are stdlib only: validation imports it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...atomic import atomic_open
from ...registry import ComponentSpec
from ...value_checks import strings
from .common import (
    PATH_KEYS,
    check_paths,
    dump,
    export_dir,
    input_paths,
    keeps_shape,
    output_paths,
    rows_of,
    special_tokens,
)

NAME = "video_clips_to_dj_conversion"
HIDDEN_FIELDS = ("defect", "shown_motion")
"""Fields that record known defects for studies; never written to a row a model or recipe reads."""

SPECS = (
    ComponentSpec(
        "GeneralDataExecutor",
        NAME,
        f"{__name__}:run_video_clips_to_dj",
        "video clip rows ({video, caption, split}) -> Data-Juicer video rows "
        "(absolute videos, captions with the video token), optionally one split",
        keys=PATH_KEYS
        + ("video_root", "split", "video_key", "caption_key", "max_rows", "skip_rows"),
        required=("dataset_path",),
        check=f"{__name__}:check_video_clips_to_dj",
    ),
)  # one result: the output paths, one per input, in input order (in the input's shape)


def check_video_clips_to_dj(cfg: dict[str, Any]) -> list[str]:
    """Problems with a ``video_clips_to_dj_conversion`` config known before the run."""
    problems = check_paths(cfg)
    problems += strings(cfg, "video_root", expected="a folder path")
    problems += strings(cfg, "split", "video_key", "caption_key")
    limit = cfg.get("max_rows")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        problems.append(f"max_rows: got {limit!r}; expected a positive integer (or null: all)")
    skip = cfg.get("skip_rows")
    if skip is not None and (isinstance(skip, bool) or not isinstance(skip, int) or skip < 0):
        problems.append(f"skip_rows: got {skip!r}; expected an integer >= 0 (or null: none)")
    return problems


def _dj_row(
    row: dict[str, Any], where: str, root: Path, keys: tuple[str, str], tokens: Any
) -> dict[str, Any]:
    video_key, caption_key = keys
    video, caption = row.get(video_key), row.get(caption_key)
    if not isinstance(video, str) or not video:
        raise ValueError(f"{where}: key {video_key!r} is {video!r}; expected a video path")
    if not isinstance(caption, str) or not caption.strip():
        raise ValueError(f"{where}: key {caption_key!r} is {caption!r}; expected a caption")
    path = os.path.abspath(root / video)
    if not os.path.isfile(path):
        raise ValueError(
            f"{where}: key {video_key!r}: video {path!r} does not exist "
            f"(paths are relative to video_root {str(root)!r})"
        )
    out = {k: v for k, v in row.items() if k not in HIDDEN_FIELDS + keys}
    out["videos"] = [path]
    out["text"] = f"{tokens.video} {caption.strip()} {tokens.eoc}"
    return out


@keeps_shape
def run_video_clips_to_dj(cfg: dict[str, Any], out_dir: Path) -> list[str]:
    """Write ``<stem>[_<split>]_dj_fmt.jsonl`` per input; returns the output paths.

    ``video_root`` (default: the input's folder) is what the rows' video paths are relative to;
    ``video_key``/``caption_key`` (default ``video``/``caption``) name the source fields.
    """
    problems = check_video_clips_to_dj(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    inputs = input_paths(cfg)
    split = cfg.get("split")
    tag = f"_{split}" if split else ""
    outputs = output_paths(
        inputs, export_dir(cfg, out_dir), lambda p: f"{p.stem}{tag}_dj_fmt.jsonl"
    )
    keys = (cfg.get("video_key") or "video", cfg.get("caption_key") or "caption")
    limit, skip = cfg.get("max_rows"), cfg.get("skip_rows") or 0
    tokens = special_tokens()
    with atomic_open(outputs, "w", fsync=True) as handles:
        for src, fh in zip(inputs, handles):
            root = Path(cfg.get("video_root") or src.parent)
            n = seen = 0
            for where, row in rows_of(src):
                if split and row.get("split") != split:
                    continue
                seen += 1
                if seen <= skip:
                    continue
                fh.write(dump(_dj_row(row, where, root, keys, tokens)) + "\n")
                n += 1
                if limit and n >= limit:
                    break
            if n == 0:
                raise ValueError(
                    f"dataset_path: {str(src)!r} has no rows"
                    + (f" with split {split!r}" if split else "")
                    + (f" after skip_rows {skip}" if skip else "")
                )
    return [str(p) for p in outputs]
