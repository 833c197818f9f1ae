"""Reading and writing short video clips as uint8 frame arrays (PyAV, which ships its own
FFmpeg): the one place the text-to-video components decode and encode MP4.

Frames are ``(T, H, W, 3)`` uint8 RGB arrays. Writes are atomic (a reader never sees half a
clip) and refuse to replace a file that is already there unless asked.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from ..atomic import atomic_paths
from ..errors import ConfigError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["read_frames", "write_mp4", "video_info"]


def read_frames(path: str | Path, max_frames: int | None = None) -> np.ndarray:
    """All frames of ``path`` (the first ``max_frames`` when given) as ``(T, H, W, 3)`` uint8.

    An unreadable or empty file raises ``ConfigError`` naming it, not PyAV's own error."""
    import av
    import numpy as np

    frames: list[np.ndarray] = []
    try:
        with av.open(str(path)) as container:
            for frame in container.decode(video=0):
                frames.append(frame.to_ndarray(format="rgb24"))
                if max_frames is not None and len(frames) >= max_frames:
                    break
    except (OSError, av.error.FFmpegError, ValueError) as exc:  # type: ignore[attr-defined]
        raise ConfigError(f"{path}: cannot be read as a video ({exc})") from exc
    if not frames:
        raise ConfigError(f"{path}: the video has no frames")
    return np.stack(frames)


def video_info(path: str | Path) -> dict[str, float | int]:
    """Frame count, size, frame rate and duration read from the container's header."""
    import av

    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            rate = float(stream.average_rate or 0)
            frames = int(stream.frames or 0)
            duration = float(container.duration / 1e6) if container.duration else 0.0
            return {
                "frames": frames,
                "width": int(stream.codec_context.width),
                "height": int(stream.codec_context.height),
                "fps": rate,
                "duration": duration or (frames / rate if rate else 0.0),
            }
    except (OSError, av.error.FFmpegError, IndexError) as exc:  # type: ignore[attr-defined]
        raise ConfigError(f"{path}: cannot be read as a video ({exc})") from exc


def write_mp4(
    path: str | Path,
    frames: np.ndarray | Iterable[np.ndarray],
    fps: int = 8,
    *,
    overwrite: bool = False,
) -> Path:
    """Encode ``frames`` (``(T, H, W, 3)`` uint8, H and W even) as H.264 MP4 at ``path``.

    Near-lossless (crf 10) so that metrics on generated clips measure the model, not the codec.
    An existing file is kept and ``FileExistsError`` raised unless ``overwrite``."""
    import av
    import numpy as np

    target = Path(path)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target}: already exists; not replaced")
    clip = np.asarray(list(frames) if not hasattr(frames, "shape") else frames)
    if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != np.uint8:
        raise ValueError(
            f"{target}: frames must be (T, H, W, 3) uint8, got {clip.shape} {clip.dtype}"
        )
    height, width = clip.shape[1:3]
    if height % 2 or width % 2:
        raise ValueError(f"{target}: H.264 needs an even frame size, got {width}x{height}")
    with (
        atomic_paths([target]) as (temp,),
        av.open(str(temp), mode="w", format="mp4") as container,
    ):
        stream = container.add_stream("libx264", rate=int(fps))
        stream.width, stream.height = int(width), int(height)
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "10"}
        for image in clip:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return target
