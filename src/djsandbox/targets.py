"""Iteration targets like "pipe.meta.key <= 0.2", parsed without eval."""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Any, Callable

from .errors import ConfigError

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
_PATTERN = re.compile(r"^\s*(?P<key>[^\s<>=!]+)\s*(?P<op><=|>=|==|!=|<|>)\s*(?P<value>\S+)\s*$")


@dataclass(frozen=True)
class Target:
    key: str
    op: str
    value: float

    def met(self, current: Any) -> bool:
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise ConfigError(
                f"iter_targets: '{self}': the value of {self.key} is {current!r}, not a number"
            )
        return _OPS[self.op](float(current), self.value)

    def __str__(self) -> str:
        return f"{self.key} {self.op} {self.value:g}"


def parse_target(text: Any) -> Target:
    match = _PATTERN.match(str(text))
    if not match:
        raise ConfigError(
            f"iter_targets: cannot parse {text!r}; expected 'pipeline.meta_name.key "
            f"OP number' with OP one of {', '.join(_OPS)}"
        )
    try:
        value = float(match["value"])
    except ValueError:
        raise ConfigError(f"iter_targets: {text!r}: {match['value']!r} is not a number") from None
    return Target(match["key"], match["op"], value)


def parse_targets(raw: Any) -> list[Target]:
    if raw in (None, "", []):
        return []
    items = raw if isinstance(raw, (list, tuple)) else [raw]
    return [parse_target(item) for item in items]
