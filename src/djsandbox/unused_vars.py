"""`vars` that no config uses: `+vars.kk=2` for `vars.k=2` would otherwise change nothing, silently.

A var is used when an interpolation anywhere in the composed config (job configs, global keys,
other vars) refers to it: `${vars.k}`, `${oc.select:vars.k,3}`, or `${vars}` (all of them).
Checked on the config before anything is resolved, so that every reference is still visible.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterator

from .suggest import did_you_mean

log = logging.getLogger("djsandbox")

_NAMED = re.compile(r"(?<![\w.])vars\.([A-Za-z_][\w-]*)")
_WHOLE = re.compile(r"(?<![\w.])vars\s*[}:,]")


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _strings(value)


def unused_vars(config: dict[str, Any]) -> list[str]:
    """Names of top-level `vars` that no interpolation in `config` (unresolved) refers to."""
    defined = config.get("vars")
    if not isinstance(defined, dict) or not defined:
        return []
    used: set[str] = set()
    for text in _strings(config):
        if "${" not in text:
            continue
        if _WHOLE.search(text):
            return []
        used.update(_NAMED.findall(text))
    return [name for name in defined if name not in used]


def warn_unused_vars(config: dict[str, Any]) -> list[str]:
    """One warning line per unused var, with the closest used name; returns the unused."""
    unused = unused_vars(config)
    used = [name for name in config.get("vars") or {} if name not in unused]
    for name in unused:
        log.warning(
            "vars.%s is set but no config uses it (no ${vars.%s} anywhere)%s",
            name,
            name,
            did_you_mean(name, used),
        )
    return unused
