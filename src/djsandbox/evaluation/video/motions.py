"""The camera motion a clipart-video caption asks for: the one parser of the phrase
", the camera pans left" (and the five others) shared by the detector, the evaluators and the
pipelines, so a motion label means the same thing everywhere.

Captions may carry Data-Juicer's special tokens (``<__dj__video> ... <|__dj__eoc|>``) or lose
their punctuation in a file name (``<prompt>-0.mp4``); the phrase is still found. The label
comes from the caption only, never from the dataset's ``shown_motion``/``defect`` fields.
"""

from __future__ import annotations

import re

MOTIONS: tuple[str, ...] = ("pan_left", "pan_right", "pan_up", "pan_down", "zoom_in", "zoom_out")

_PHRASE = re.compile(
    r"\bthe\s+camera\s+(?:(pans)\s+(left|right|up|down)|(zooms)\s+(in|out))\b", re.IGNORECASE
)


def motion_of_caption(text: str) -> str | None:
    """The motion class of the last "the camera pans/zooms ..." phrase in ``text``, or None
    when the text names no camera motion."""
    if not isinstance(text, str):
        return None
    found = list(_PHRASE.finditer(text))
    if not found:
        return None
    m = found[-1]
    if m.group(1):
        return f"pan_{m.group(2).lower()}"
    return f"zoom_{m.group(4).lower()}"


def motion_index(text: str) -> int | None:
    """Position of the caption's motion in ``MOTIONS`` (a class index), or None."""
    motion = motion_of_caption(text)
    return None if motion is None else MOTIONS.index(motion)
