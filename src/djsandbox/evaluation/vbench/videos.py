"""The videos VBench scores, from a folder of clips, one clip, or a Data-Juicer-format JSONL.

VBench reads a folder and takes each video's prompt from its file name, `<prompt>-<k>.mp4`
(its custom-input naming; the standard mode looks its prompts' videos up by that name). A
folder or a file is passed as it is. A JSONL (rows with `videos`, a list, or `video`, a
string; relative paths against the JSONL's folder; the prompt from `prompt`, else the `text`
without Data-Juicer's special tokens, else `caption`) becomes a folder of symbolic links
named that way in the job's own folder, with each link's full prompt passed beside it (a
name is cut at 180 characters).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...data.jsonl import load_rows

# What VBench's custom mode lists in a folder (vbench 0.1.5, `build_full_info_json`).
VIDEO_SUFFIXES = (".mp4", ".gif", ".jpg", ".png")
DATASET_SUFFIXES = (".jsonl", ".json")
MAX_PROMPT_CHARS = 180
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_DJ_TOKEN = re.compile(r"<\|?__dj__\w+\|?>")


def vbench_file_name(prompt: str, k: int, suffix: str = ".mp4") -> str:
    """VBench's custom-input file name of the k-th video of `prompt`: `<prompt>-<k>.mp4`,
    characters unsafe in a file name replaced by a space, at most 180 characters of prompt."""
    safe = " ".join(_UNSAFE.sub(" ", prompt).split())
    return f"{safe[:MAX_PROMPT_CHARS].rstrip()}-{k}{suffix}"


def prompt_of(row: dict[str, Any]) -> str | None:
    """The prompt of a row: `prompt`, else `text` without Data-Juicer's tokens, else `caption`."""
    for key in ("prompt", "text", "caption"):
        value = row.get(key)
        if isinstance(value, str):
            value = " ".join(_DJ_TOKEN.sub(" ", value).split())
            if value:
                return value
    return None


@dataclass
class VideoSet:
    """What VBench is given: `path` (a folder or one video), `prompts` (file name in the
    folder -> full prompt; empty: from the names) and `sources` (a video VBench sees -> the
    video it stands for)."""

    path: str
    count: int
    prompts: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


def _row_videos(row: dict[str, Any], base: Path, where: str) -> list[Path]:
    value = row.get("videos", row.get("video"))
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items or not all(isinstance(v, str) for v in items):
        raise ValueError(f"{where}: expected `videos` (a list of paths) or `video` (a path)")
    out = []
    for item in items:
        path = Path(item).expanduser()
        path = path if path.is_absolute() else base / path
        if not path.is_file():
            raise ValueError(f"{where}: video {str(path)!r} does not exist")
        out.append(path.resolve())
    return out


def _linked(dataset: Path, folder: Path) -> VideoSet:
    links = folder / "videos"
    links.mkdir(parents=True, exist_ok=True)
    for old in links.iterdir():  # an earlier attempt of this job: only its links
        if old.is_symlink():
            old.unlink()
    prompts: dict[str, str] = {}
    sources: dict[str, str] = {}
    per_prompt: dict[str, int] = {}
    for i, row in enumerate(load_rows(dataset)):
        where = f"videos_path: {dataset} row {i}"
        prompt = prompt_of(row)
        if prompt is None:
            raise ValueError(f"{where}: no prompt (expected `prompt`, `text` or `caption`)")
        for video in _row_videos(row, dataset.parent, where):
            k = per_prompt.get(prompt, 0)
            name = vbench_file_name(prompt, k, video.suffix.lower() or ".mp4")
            while name in prompts:  # two prompts alike up to the cut or the unsafe characters
                k += 1
                name = vbench_file_name(prompt, k, video.suffix.lower() or ".mp4")
            per_prompt[prompt] = k + 1
            os.symlink(video, links / name)
            prompts[name] = prompt
            sources[str(links / name)] = str(video)
    return VideoSet(str(links), len(prompts), prompts, sources)


def prepare_videos(source: str, folder: Path) -> VideoSet:
    """The videos of `source` (a folder, a video file or a JSONL) ready for VBench; links,
    when needed, go into `folder` (the job's own)."""
    path = Path(source).expanduser().resolve()
    if path.is_dir():
        count = sum(1 for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
        if not count:
            raise ValueError(
                f"videos_path: folder {str(path)!r} holds no video ({', '.join(VIDEO_SUFFIXES)})"
            )
        return VideoSet(str(path), count)
    if not path.is_file():
        raise ValueError(f"videos_path: {str(path)!r} does not exist")
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return VideoSet(str(path), 1)
    if path.suffix.lower() in DATASET_SUFFIXES:
        return _linked(path, folder)
    raise ValueError(
        f"videos_path: {str(path)!r} is neither a folder of videos, a video "
        f"({', '.join(VIDEO_SUFFIXES)}) nor a Data-Juicer JSONL of videos"
    )
