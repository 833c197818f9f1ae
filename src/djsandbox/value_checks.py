"""Small checks of config values shared by components' validation: each returns
["key: got ...; expected ..."] for a bad value and [] for a good or absent one. The value is
echoed through `redact.show`: a secret-looking key's value is given by its type only."""

from __future__ import annotations

from typing import Any, Mapping

from .redact import show
from .shapes import is_list, is_mapping


def number(
    cfg: Mapping[str, Any], key: str, kind: type, low: float, high: float = float("inf")
) -> list[str]:
    value = cfg.get(key)
    if value is None:
        return []
    ok = not isinstance(value, bool) and isinstance(value, (int, float) if kind is float else int)
    if ok and low <= value <= high:
        return []
    what = "an integer" if kind is int else "a number"
    return [f"{key}: got {show(key, value)}; expected {what} in [{low}, {high}]"]


def strings(cfg: Mapping[str, Any], *keys: str, expected: str = "a non-empty string") -> list[str]:
    return [
        f"{k}: got {show(k, cfg[k])}; expected {expected}"
        for k in keys
        if cfg.get(k) is not None and (not isinstance(cfg[k], str) or not cfg[k])
    ]


def mappings(cfg: Mapping[str, Any], *keys: str) -> list[str]:
    return [
        f"{k}: got {type(cfg[k]).__name__}; expected a mapping"
        for k in keys
        if cfg.get(k) is not None and not is_mapping(cfg[k])
    ]


def datasets(cfg: Mapping[str, Any], key: str = "dataset_path") -> list[str]:
    value = cfg.get(key)
    if (
        value is None
        or (isinstance(value, str) and value)
        or ((is_list(value) or is_mapping(value)) and len(value))
    ):
        return []
    return [
        f"{key}: got {show(key, value)}; expected a dataset path, or a non-empty list or mapping "
        "of them"
    ]


def is_positive_int(value: Any) -> bool:
    """An int above zero (a bool is not a count)."""
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def known_keys(
    value: Any, where: str, keys: tuple[str, ...], expected: str = "a mapping"
) -> list[str]:
    """Problems of a nested config mapping: not a mapping, or keys outside `keys` (a typo
    would otherwise be ignored silently). None is fine: the defaults apply."""
    if value is None:
        return []
    if not is_mapping(value):
        return [f"{where}: expected {expected}, got {type(value).__name__}"]
    return [f"{where}.{k}: unknown key; valid: {', '.join(keys)}" for k in value if k not in keys]
