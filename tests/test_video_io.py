"""Video clips decode and encode through the one helper (PyAV)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from djsandbox.data.video_io import read_frames, video_info, write_mp4
from djsandbox.errors import ConfigError

CLIPS = Path(__file__).parents[1] / "src/djsandbox/resources/clipart_videos"


def test_packaged_clips_decode_as_64x64x16() -> None:
    rows = [json.loads(line) for line in (CLIPS / "clips.jsonl").open()]
    assert len(rows) == 420 and {r["split"] for r in rows} == {"train", "test"}
    frames = read_frames(CLIPS / rows[0]["video"])
    assert frames.shape == (16, 64, 64, 3) and frames.dtype == np.uint8
    info = video_info(CLIPS / rows[0]["video"])
    assert (info["width"], info["height"], info["fps"]) == (64, 64, 8.0)


def test_written_clip_reads_back_close_and_is_never_overwritten(tmp_path: Path) -> None:
    ramp = np.linspace(0, 255, 32, dtype=np.uint8)
    image = np.stack(
        [np.tile(ramp, (32, 1)), np.tile(ramp[:, None], (1, 32)), np.zeros((32, 32), np.uint8)], -1
    )
    clip = np.repeat(image[None].astype(np.uint8), 9, axis=0)
    clip[4:] = 255 - clip[4:]
    out = write_mp4(tmp_path / "a.mp4", clip, fps=8)
    back = read_frames(out)
    assert back.shape == clip.shape
    assert np.abs(back.astype(int) - clip.astype(int)).mean() < 4
    with pytest.raises(FileExistsError):
        write_mp4(out, clip)
    assert not [p for p in tmp_path.iterdir() if p.name != "a.mp4"]  # no temporaries left


def test_unreadable_file_names_itself(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(ConfigError, match="bad.mp4"):
        read_frames(bad)
