"""Nested lists/mappings of values (pools grouped per stat, one checkpoint per pool): one home
for walking them, keeping their shape, and reading "one path or a list of paths".

Model components given `{stat: [pools]}` run once per leaf and return results of the same
shape, so pools and results stay aligned through the pipeline.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Callable, Iterator


def is_mapping(value: Any) -> bool:
    return isinstance(value, dict) or type(value).__name__ == "DictConfig"


def is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or type(value).__name__ == "ListConfig"


def is_nested(value: Any) -> bool:
    """A mapping, or a list holding lists or mappings (not a flat list of values)."""
    return is_mapping(value) or (is_list(value) and any(is_list(v) or is_mapping(v) for v in value))


def leaves(value: Any) -> list[Any]:
    """The leaves of a nested structure, in a stable order (mappings in insertion order)."""
    if is_mapping(value):
        return [leaf for v in value.values() for leaf in leaves(v)]
    if is_list(value):
        return [leaf for v in value for leaf in leaves(v)]
    return [value]


def rebuild(shape: Any, new_leaves: Iterator[Any]) -> Any:
    """`shape` with its leaves replaced, in `leaves` order."""
    if is_mapping(shape):
        return {k: rebuild(v, new_leaves) for k, v in shape.items()}
    if is_list(shape):
        return [rebuild(v, new_leaves) for v in shape]
    return next(new_leaves)


def map_structure(value: Any, fn: Callable[[Any, Path], Any], out_dir: Path) -> Any:
    """Apply `fn(leaf, folder)` to each leaf, each in its own sub-folder, keeping the shape."""
    if is_list(value) and not isinstance(value, tuple):
        return [map_structure(v, fn, out_dir / str(i)) for i, v in enumerate(value)]
    if is_mapping(value):
        return {
            k: map_structure(v, fn, out_dir / re.sub(r"[^\w.-]", "_", str(k)))
            for k, v in value.items()
        }
    return fn(value, out_dir)


def split_pairs(value: Any) -> tuple[Any, Any]:
    """A structure of (a, b) leaves -> (structure of a, structure of b); tuples are leaves."""
    if is_list(value) and not isinstance(value, tuple):
        pairs = [split_pairs(v) for v in value]
        return [p[0] for p in pairs], [p[1] for p in pairs]
    if is_mapping(value):
        pairs_by_key = {k: split_pairs(v) for k, v in value.items()}
        return (
            {k: p[0] for k, p in pairs_by_key.items()},
            {k: p[1] for k, p in pairs_by_key.items()},
        )
    return value


def as_path_list(value: Any, key: str) -> list[str]:
    """A path, a list of paths, or nested lists/mappings of them, flattened in order; None or
    "" is no path. Anything else is a ValueError naming `key`."""
    if value is None or value == "":
        return []
    out: list[str] = []
    for leaf in leaves(value):
        if not isinstance(leaf, (str, os.PathLike)):
            raise ValueError(
                f"{key}: expected a path or a list of paths, got {type(leaf).__name__}"
            )
        out.append(os.fspath(leaf))
    return out
