"""Where relative paths point, and loading of `dj_configs`/`extra_configs` files.

As in the reference, a relative path is taken from the working directory; a path that does
not exist there is also looked up beside the sandbox config file (`base_dirs`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable

CONFIG_SUFFIXES = (".yaml", ".yml", ".json")


def candidates(path: str | os.PathLike[str], base_dirs: Iterable[Path]) -> list[Path]:
    p = Path(os.path.expanduser(str(path)))
    if p.is_absolute():
        return [p]
    return [(Path(b) / p).resolve() for b in base_dirs]


def find_existing(path: str | os.PathLike[str], base_dirs: Iterable[Path]) -> Path | None:
    """The first candidate that exists, or None."""
    for c in candidates(path, base_dirs):
        if c.exists():
            return c
    return None


def output_path(path: str | os.PathLike[str], base_dirs: Iterable[Path]) -> Path:
    """Where a relative output path lands: the first base dir (the working directory)."""
    return candidates(path, list(base_dirs)[:1] or [Path.cwd()])[0]


def looks_like_config_file(value: Any) -> bool:
    return isinstance(value, str) and value.lower().endswith(CONFIG_SUFFIXES)


def load_config_file(path: Path) -> Any:
    """Load a YAML or JSON file into plain Python data."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":
        return json.loads(text)
    import yaml

    return yaml.safe_load(text)
