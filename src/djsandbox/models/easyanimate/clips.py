"""Training clips: (video, caption) pairs from any of the text-to-video formats, and clips as
the tensors the VAE takes.

Formats read (JSON array or JSONL): EasyAnimate's (`file_path`, `text`: what
`dj_to_easyanimate_video_dataset_conversion` writes), Data-Juicer's video rows (`videos`: a
list, `text` with Data-Juicer's special tokens) and the clipart dataset's own rows (`video`,
`caption`). Relative video paths are taken from `video_root` (the reference's `dataset_name`),
else the file's folder. Fields such as `defect` are never read.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from djsandbox.data.converters.common import rows_of, special_tokens, strip_tokens


@dataclass(frozen=True)
class Clip:
    video: str  # absolute path
    caption: str


def _resolve(path: str, base: Path) -> str:
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (base / p).resolve())


def _clips_of_row(row: dict[str, Any], where: str, base: Path) -> list[Clip]:
    if "file_path" in row:
        if row.get("type", "video") != "video":
            return []  # EasyAnimate's image entries: a text-to-video LoRA skips them
        videos, text = [row["file_path"]], row.get("text")
    elif "videos" in row:
        videos, text = row["videos"], row.get("text")
        if isinstance(text, str):
            tokens = special_tokens()
            text = strip_tokens(text, (tokens.video, tokens.eoc))
        if isinstance(videos, list) and len(videos) > 1:
            raise ValueError(
                f"{where}: {len(videos)} videos in one row; convert the rows with "
                "dj_to_easyanimate_video_dataset_conversion first (one caption per video)"
            )
    elif "video" in row:
        videos, text = [row["video"]], row.get("caption", row.get("text"))
    else:
        raise ValueError(
            f"{where}: no video; expected `file_path` (EasyAnimate), `videos` (Data-Juicer) "
            "or `video` (clips) with its caption"
        )
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: no caption text; expected a non-empty `text` or `caption`")
    if not isinstance(videos, list) or not all(isinstance(v, str) and v for v in videos):
        raise ValueError(f"{where}: video paths {videos!r}; expected path strings")
    return [Clip(_resolve(v, base), text.strip()) for v in videos]


def read_clips(
    path: str | Path, video_root: str | None = None, split: str | None = None
) -> list[Clip]:
    """Every (video, caption) of `path`, in file order; `split` keeps rows of that split only
    (rows without a `split` field are kept)."""
    path = Path(str(path)).expanduser()
    if not path.is_file():
        raise ValueError(f"dataset_path: {str(path)!r} does not exist; expected a dataset file")
    base = Path(video_root).expanduser() if video_root else path.parent
    out: list[Clip] = []
    for where, row in rows_of(path):
        if split is not None and row.get("split", split) != split:
            continue
        out.extend(_clips_of_row(row, where, base))
    missing = [c.video for c in out if not Path(c.video).is_file()]
    if missing:
        raise ValueError(
            f"dataset_path: {str(path)!r} names {len(missing)} video(s) that do not exist, "
            f"e.g. {missing[0]!r}; set video_root (the reference's dataset_name) to their folder"
        )
    return out


def clip_tensor(path: str, num_frames: int, size: int) -> Any:
    """A clip as a (3, 1 + num_frames, size, size) float tensor in [-1, 1]: the first frame is
    repeated in front (the VAE's causal first chunk holds one frame, so it needs 1 + 4k).
    Shorter clips repeat their last frame; other sizes are resized."""
    import numpy as np
    import torch

    from djsandbox.data.video_io import read_frames

    frames = read_frames(path, max_frames=num_frames)
    if len(frames) < num_frames:
        frames = np.concatenate([frames, np.repeat(frames[-1:], num_frames - len(frames), 0)])
    x = torch.from_numpy(np.ascontiguousarray(frames)).permute(3, 0, 1, 2).float() / 127.5 - 1
    if x.shape[-1] != size or x.shape[-2] != size:
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
    return torch.cat([x[:, :1], x], dim=1)
