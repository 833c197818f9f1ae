"""GeneralDataExecutor ``dj_to_easyanimate_video_dataset_conversion``: Data-Juicer video rows
to EasyAnimate's training JSON (``<stem>_ea_fmt.json``, a JSON array).

Unlike the reference (``specific_hooks/text_to_video``), it reads JSONL as well as a JSON array
(Data-Juicer exports JSONL), adds ``"type": "video"`` (newer EasyAnimate datasets treat an entry
without it as an image), also strips the chunk-end token, and splits a row with several videos
into one entry per chunk instead of silently keeping only the first video.
Module imports are stdlib only: validation imports it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...atomic import atomic_open
from ...registry import ComponentSpec
from ...shapes import is_list
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
    strip_tokens,
)

NAME = "dj_to_easyanimate_video_dataset_conversion"
SPECS = (
    ComponentSpec(
        "GeneralDataExecutor",
        NAME,
        f"{__name__}:run_dj_to_easyanimate",
        "Data-Juicer video rows -> EasyAnimate JSON",
        keys=PATH_KEYS + ("text_key", "video_key"),
        required=("dataset_path",),
        check=f"{__name__}:check_dj_to_easyanimate",
    ),
)  # one result: the output paths, one per input, in input order (in the input's shape)


def check_dj_to_easyanimate(cfg: dict[str, Any]) -> list[str]:
    """Problems with a ``dj_to_easyanimate_video_dataset_conversion`` config."""
    problems = check_paths(cfg)
    problems += strings(cfg, "text_key", "video_key", expected="a field name")
    return problems


def _easyanimate_entries(
    row: dict[str, Any], where: str, tokens: Any, text_key: str, video_key: str
) -> list[dict[str, Any]]:
    videos, text = row.get(video_key), row.get(text_key)
    if not is_list(videos) or not all(isinstance(v, str) and v for v in videos):
        raise ValueError(
            f"{where}: key {video_key!r} is {videos!r}; expected a list of video paths"
        )
    if not isinstance(text, str):
        got = "missing" if text is None else type(text).__name__
        raise ValueError(f"{where}: key {text_key!r} is {got}; expected the caption text")
    if len(videos) == 0:
        return []  # as the reference: a row without a video has nothing to train on
    if len(videos) == 1:
        captions = [strip_tokens(text, (tokens.video, tokens.eoc))]
    else:
        chunks = [c for c in text.split(tokens.eoc) if c.strip()]
        if len(chunks) != len(videos) or any(c.count(tokens.video) != 1 for c in chunks):
            raise ValueError(
                f"{where}: key {video_key!r} holds {len(videos)} videos but {text_key!r} "
                f"is not {len(videos)} chunks of one {tokens.video} each (ended by "
                f"{tokens.eoc}); cannot tell which caption belongs to which video"
            )
        captions = [strip_tokens(c, (tokens.video,)) for c in chunks]
    out = []
    for video, caption in zip(videos, captions):
        entry = dict(row)
        entry[text_key] = caption
        entry["text"] = caption
        entry["file_path"] = video
        entry["type"] = "video"
        out.append(entry)
    return out


@keeps_shape
def run_dj_to_easyanimate(cfg: dict[str, Any], out_dir: Path) -> list[str]:
    """Convert Data-Juicer video rows to EasyAnimate's training JSON (a JSON array).

    Each row ``{videos: [v], text: "<__dj__video> caption"}`` becomes ``{file_path: v, text:
    "caption", type: "video", ...}`` with its other fields kept (as the reference); rows without
    videos are skipped (as the reference). Output ``<stem>_ea_fmt.json``. ``text_key`` and
    ``video_key`` (default ``text``/``videos``) name the source fields; EasyAnimate always
    reads ``text``.
    """
    problems = check_dj_to_easyanimate(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    inputs = input_paths(cfg)
    outputs = output_paths(inputs, export_dir(cfg, out_dir), lambda p: f"{p.stem}_ea_fmt.json")
    text_key, video_key = cfg.get("text_key", "text"), cfg.get("video_key", "videos")
    tokens = special_tokens()

    with atomic_open(outputs, "w", fsync=True) as handles:
        for src, fh in zip(inputs, handles):
            n = 0
            fh.write("[")
            for where, row in rows_of(src):
                for entry in _easyanimate_entries(row, where, tokens, text_key, video_key):
                    fh.write(("\n" if n == 0 else ",\n") + dump(entry))
                    n += 1
            fh.write("\n]\n")
            if n == 0:
                raise ValueError(
                    f"dataset_path: {str(src)!r} has no row with a video in "
                    f"{video_key!r}; EasyAnimate would get an empty dataset"
                )
    return [str(p) for p in outputs]
