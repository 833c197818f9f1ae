"""Cache keys of the tiny base and of its VAE: a hash of everything that decides the weights.

Shared by `base.py` (the whole pipeline) and `vae_cache.py` (the VAE alone), so both read the
pretraining clips the same way: a clips file counts by its bytes, not its path.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any, Mapping


def packaged_clips() -> Path:
    return Path(str(resources.files("djsandbox") / "resources" / "clipart_videos" / "clips.jsonl"))


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pretrain_material(pretrain: Mapping[str, Any]) -> dict[str, Any]:
    """The pretraining settings with the clips file replaced by its digest."""
    material = dict(pretrain)
    clips = Path(str(material.get("clips") or packaged_clips())).expanduser()
    material["clips"] = _file_digest(clips) if clips.is_file() else str(clips)
    return material


def digest(material: Mapping[str, Any]) -> str:
    """The 20-hex-digit key of a JSON-able mapping (key order does not matter)."""
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]
