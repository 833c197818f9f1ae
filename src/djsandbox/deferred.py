"""Values validation cannot know yet: results of earlier jobs, and files they will write.

Validation is a dry run of the runner's own `resolve_job`; where the runner would read the live
context, the planned context returns a *deferred marker* naming the source. Every check treats
a value holding a marker the same way: it is skipped, never guessed at.
"""

from __future__ import annotations

from typing import Any

_OPEN, _CLOSE = "\x00<deferred:", ">\x00"


def deferred(source: str) -> str:
    """The marker for a value known only at run time (`source`: what provides it)."""
    return f"{_OPEN}{source}{_CLOSE}"


def is_deferred(value: Any) -> bool:
    """True when a marker appears anywhere in the value (inside strings, lists, mappings)."""
    if isinstance(value, str):
        return _OPEN in value
    if isinstance(value, dict):
        return any(is_deferred(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(is_deferred(v) for v in value)
    return False


def known(mapping: Any) -> dict[str, Any]:
    """The entries of a mapping whose values are known before the run."""
    if not isinstance(mapping, dict):
        return {}
    return {k: v for k, v in mapping.items() if not is_deferred(v)}


def deferred_keys(mapping: Any) -> set[str]:
    """Keys of a mapping whose values are known only at run time."""
    if not isinstance(mapping, dict):
        return set()
    return {str(k) for k, v in mapping.items() if is_deferred(v)}
