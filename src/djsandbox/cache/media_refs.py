"""The media files a JSON or JSONL file names (clips, images, audio), for cache keys.

A job that reads such a file computes from the media, not from the names: an FVD of generated
clips, a LoRA trained on clips, a captioner trained on images. Two runs whose generated.jsonl
read alike (same prompts, seeds, places in their run folders) but whose clips differ must not
share a cache entry, so the key covers each named file's own digest. Only strings that end in
a media suffix are taken (rows name their media as plain JSON strings); blocks without one are
skipped by a single scan, so a text-only dataset costs one pass over its bytes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

MEDIA_SUFFIXES = (
    "mp4", "avi", "mov", "mkv", "webm", "gif", "png", "jpg", "jpeg", "bmp", "webp", "tif",
    "tiff", "wav", "mp3", "flac",
)  # fmt: skip
ROW_FILES = frozenset({".json", ".jsonl"})
_END = re.compile(rb"\.(?:" + b"|".join(s.encode() for s in MEDIA_SUFFIXES) + rb')"', re.I)
BLOCK = 16 << 20


def _names_in(chunk: bytes, found: dict[str, None]) -> None:
    for match in _END.finditer(chunk):
        start = chunk.rfind(b'"', 0, match.start())
        if start < 0 or (start > 0 and chunk[start - 1 : start] == b"\\"):
            continue  # not the opening quote of a JSON string
        try:
            name = json.loads(chunk[start : match.end()])
        except ValueError:
            continue
        if isinstance(name, str) and name.strip():
            found.setdefault(name, None)


def named_media(path: Path) -> list[str]:
    """The media names in a `.json`/`.jsonl` file (unique, first-seen order); [] otherwise."""
    if path.suffix.lower() not in ROW_FILES:
        return []
    found: dict[str, None] = {}
    rest = b""
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(BLOCK), b""):
            data = rest + block
            cut = data.rfind(b"\n") + 1  # whole lines only: a JSON string holds no newline
            chunk, rest = (data[:cut], data[cut:]) if cut else (b"", data)
            if chunk and _END.search(chunk):
                _names_in(chunk, found)
    if rest and _END.search(rest):
        _names_in(rest, found)
    return list(found)


def resolve_media(name: str, text_file: Path) -> Path:
    """Where a named media file is: absolute, or relative to the file naming it (as
    Data-Juicer and the converters read rows)."""
    path = Path(name).expanduser()
    return path if path.is_absolute() else text_file.parent / path
