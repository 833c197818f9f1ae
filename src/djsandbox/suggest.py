"""The one "did you mean" helper: every unknown name in a message gets the closest valid one."""

from __future__ import annotations

import difflib
from typing import Iterable


def closest(name: object, valid: Iterable[str]) -> str | None:
    """The valid name closest to `name`, if any is close enough to be a likely typo."""
    matches = difflib.get_close_matches(str(name), [str(v) for v in valid], n=1)
    return matches[0] if matches else None


def did_you_mean(name: object, valid: Iterable[str], style: str = "paren") -> str:
    """ " (did you mean 'x'?)" (style "paren") or " Did you mean 'x'?" (style "sentence");
    empty when nothing is close."""
    match = closest(name, valid)
    if match is None:
        return ""
    return f" Did you mean '{match}'?" if style == "sentence" else f" (did you mean '{match}'?)"


def unknown_keys(
    given: Iterable[object], valid: Iterable[str], where: str, owner: str
) -> list[str]:
    """'<where><key>: not a setting of <owner> (did you mean ...?); valid: ...' per unknown key."""
    valid = list(valid)
    return [
        f"{where}{key}: not a setting of {owner}{did_you_mean(key, valid)}; valid: "
        f"{', '.join(valid)}"
        for key in given
        if key not in valid
    ]
