"""The clips a video metric compares: a Data-Juicer-format JSONL (``videos``: a list, or the
clipart dataset's ``video``: a string) or a folder of MP4s, each clip with the text that asked
for it (``prompt``, ``text`` or ``caption`` of its row; a generated file's name
``<prompt>-<k>.mp4`` when there are no rows).

Relative video paths are taken from ``mm_dir`` when given (the reference's
``fake_mm_dir``/``real_mm_dir``), else from the JSONL's own folder. Rows of a ``split`` other
than the one asked for are skipped. Decoding goes through ``data.video_io.read_frames``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
TEXT_KEYS = ("prompt", "text", "caption")
_SAMPLE_SUFFIX = re.compile(r"-\d+$")


@dataclass(frozen=True)
class Clip:
    """One video file and the text that describes (or asked for) it."""

    path: Path
    text: str | None


def _row_videos(row: dict[str, Any], where: str) -> list[str]:
    value = row.get("videos", row.get("video"))
    if isinstance(value, str) and value:
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        return list(value)
    raise ConfigError(
        f"{where}: no video path; expected key 'videos' (a list of paths) or 'video' (a path)"
    )


def _row_text(row: dict[str, Any]) -> str | None:
    for key in TEXT_KEYS:
        value = row.get(key)
        if isinstance(value, str) and value.strip():
            return value
    return None


def _from_jsonl(path: Path, key: str, mm_dir: str | None, split: str | None) -> list[Clip]:
    from ...data.jsonl import numbered_rows

    base = Path(os.path.expanduser(mm_dir)) if mm_dir else path.parent
    clips: list[Clip] = []
    try:
        for lineno, row in numbered_rows(path):
            if split is not None and row.get("split") not in (None, split):
                continue
            text = _row_text(row)
            for video in _row_videos(row, f"{key}: {path}:{lineno}"):
                p = Path(os.path.expanduser(video))
                clips.append(Clip(p if p.is_absolute() else base / p, text))
    except ValueError as exc:  # the JSONL reader's own message names file and line
        raise ConfigError(f"{key}: {exc}") from None
    return clips


def _from_folder(path: Path) -> list[Clip]:
    files = sorted(p for p in path.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    return [Clip(p, _SAMPLE_SUFFIX.sub("", p.stem)) for p in files]


def resolve_clips(
    value: str | os.PathLike[str], key: str, mm_dir: str | None = None, split: str | None = None
) -> list[Clip]:
    """The clips of a JSONL or a folder named by config key ``key``; an error names the key
    when there are none or a listed file is missing."""
    path = Path(os.path.expanduser(os.fspath(value)))
    if path.is_dir():
        clips = _from_folder(path)
    elif path.is_file():
        clips = _from_jsonl(path, key, mm_dir, split)
    else:
        raise ConfigError(f"{key}: {str(path)!r} does not exist; expected a JSONL or a folder")
    if not clips:
        what = f"rows of split {split!r}" if split else "videos"
        raise ConfigError(f"{key}: {str(path)!r} has no {what}")
    missing = [c.path for c in clips if not c.path.is_file()]
    if missing:
        raise ConfigError(
            f"{key}: {len(missing)} of {len(clips)} videos listed in {str(path)!r} do not "
            f"exist, e.g. {str(missing[0])!r} (relative paths are read from "
            f"{'the mm_dir key' if mm_dir else 'the JSONL folder'})"
        )
    return clips


def window(
    frames: np.ndarray, num_frames: int | None, spacing: int, rng: Any, path: Path
) -> np.ndarray:
    """``num_frames`` frames ``spacing`` apart from a random start (all frames when None), as
    the reference samples one window per clip; a clip too short is an error naming it."""
    if num_frames is None:
        return frames
    span = (num_frames - 1) * spacing + 1
    if len(frames) < span:
        raise ConfigError(
            f"{path}: has {len(frames)} frames; the metric needs {num_frames} frames "
            f"{spacing} apart ({span} frames)"
        )
    start = int(rng.integers(0, len(frames) - span + 1))
    return frames[start : start + span : spacing]


def resize(frames: np.ndarray, height: int | None, width: int | None) -> np.ndarray:
    """Frames resized to ``height`` x ``width`` (the reference's ``height``/``width``), area
    interpolation when shrinking; unchanged when neither is given."""
    if height is None and width is None:
        return frames
    import cv2
    import numpy as np

    h = int(height or frames.shape[1])
    w = int(width or frames.shape[2])
    if (h, w) == frames.shape[1:3]:
        return frames
    shrink = h < frames.shape[1] or w < frames.shape[2]
    mode = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
    return np.stack([cv2.resize(f, (w, h), interpolation=mode) for f in frames])


def load_clips(
    clips: list[Clip],
    num_frames: int | None = None,
    spacing: int = 1,
    height: int | None = None,
    width: int | None = None,
    seed: int = 42,
) -> list[np.ndarray]:
    """Each clip decoded, windowed and resized: a list of ``(T, H, W, 3)`` uint8 arrays."""
    import numpy as np

    from ...data.video_io import read_frames

    rng = np.random.default_rng(seed)
    out = []
    for clip in clips:
        frames = window(read_frames(clip.path), num_frames, spacing, rng, clip.path)
        out.append(resize(frames, height, width))
    return out
