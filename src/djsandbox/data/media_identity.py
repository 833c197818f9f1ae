"""Which media files a dataset's rows name, for cache keys: the stats of image and video ops
come from those files, not from the dataset's bytes, so a clip re-rendered at the same path
must change the key of every job that reads it through those rows."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Mapping

_MEDIA = (("image_key", "images", "image_"), ("video_key", "videos", "video_"))


def media_identity(recipe: Mapping[str, Any], dataset: Path) -> str | None:
    """Identity (path, size, mtime) of the images and videos the rows name, when the recipe has
    image or video ops: their stats come from those files, not the dataset's bytes, so a clip
    re-rendered at the same path must not hit the old entry. Relative paths are taken from the
    dataset's folder, as Data-Juicer does; None when no op reads media."""
    ops = [str(next(iter(i))) for i in recipe.get("process") or [] if isinstance(i, dict) and i]
    keys = [
        str(recipe.get(key) or default)
        for key, default, prefix in _MEDIA
        if any(op.startswith(prefix) for op in ops)
    ]
    if not keys:
        return None
    digest = hashlib.sha256()
    with open(dataset, encoding="utf-8") as fh:
        for line in fh:
            try:
                row = json.loads(line) if line.strip() else {}
            except ValueError:
                return None  # not JSONL: the dataset's bytes alone key it
            for key in keys:
                paths = row.get(key) if isinstance(row, dict) else None
                for name in paths if isinstance(paths, list) else [paths] if paths else []:
                    path = dataset.parent / os.path.expanduser(str(name))
                    try:
                        stat = path.stat()
                        digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
                    except OSError:
                        digest.update(f"{path}|missing\n".encode())
    return digest.hexdigest()
