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


def cache_base() -> Path:
    """The sandbox's cache folder: `$DJSANDBOX_CACHE_DIR`, else `$XDG_CACHE_HOME/djsandbox`
    (`~/.cache/djsandbox`). Each cache (analysis results, environments) is a folder in it."""
    base = os.environ.get("DJSANDBOX_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "djsandbox"
    )
    return Path(base)


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
    """Load a YAML or JSON file into plain Python data. A key given twice in one mapping is an
    error naming the file, line and key (as for the main config), never "last one wins"."""
    from .errors import ConfigError

    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".json":

        def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
            seen: dict[str, Any] = {}
            for key, value in pairs:
                if key in seen:
                    raise ConfigError(f"{path}: duplicate key {key!r}; each key may appear once")
                seen[key] = value
            return seen

        return json.loads(text, object_pairs_hook=unique)
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise ConfigError(
                        f"{path}, line {key_node.start_mark.line + 1}: duplicate key {key!r}; "
                        "each key may appear once"
                    )
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
