"""The ``metric`` key of ``video_inception_evaluator``: which distances to compute, on which
frames. Stdlib only (validation parses it).

Short names (``FVD``, ``KVD``, ``IS``, any case) score whole clips, each detector taking them
as it needs (ours resamples time to its own frame count). The reference's video names keep
their meaning and their result key: ``fvd2048_16f`` (one random window of 16 consecutive
frames per clip, at most 2048 clips per set), ``fvd2048_128f``, ``fvd2048_128f_subsample8f``
(16 frames 8 apart), ``kvd2048_16f``. The reference's frame-level metrics (``fid50k_full``,
``kid50k_full``, ``is50k``, ``pr50k_3n_full``), its precision/recall of videos
(``prv2048_3n_16f``) and ``isv2048_ucf`` (IS from a C3D trained on UCF-101, a detector not
provided here) are refused with the list of what is supported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SHORT = ("fvd", "kvd", "is")
_REFERENCE = re.compile(r"^(fvd|kvd)(\d+)_(\d+)f(?:_subsample(\d+)f)?$")
NOT_PROVIDED = {
    "isv2048_ucf": "it scores with a C3D trained on UCF-101, a detector not provided here; "
    "use IS (from the detector's class probabilities)",
    "prv2048_3n_16f": "precision/recall of videos is not provided",
}
FRAME_METRICS = ("fid50k_full", "kid50k_full", "is50k", "pr50k_3n_full")
SUPPORTED_TEXT = "FVD, KVD, IS, or fvd<N>_<T>f[_subsample<K>f] / kvd<N>_<T>f (e.g. fvd2048_16f)"


@dataclass(frozen=True)
class MetricSpec:
    """One metric: its result key, kind, frames per clip (None: all) and frame spacing, and
    the most clips per set it reads (None: all)."""

    key: str
    kind: str  # fvd | kvd | is
    frames: int | None = None
    spacing: int = 1
    max_items: int | None = None

    @property
    def needs_real(self) -> bool:
        return self.kind in ("fvd", "kvd")


def parse_metric(name: Any) -> MetricSpec:
    """The spec of one metric name; ValueError with what is supported otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"got {name!r}; expected a metric name: {SUPPORTED_TEXT}")
    text = name.strip()
    low = text.lower()
    if low in SHORT:
        return MetricSpec(low, low)
    match = _REFERENCE.match(low)
    if match:
        kind, items, span, sub = match.groups()
        spacing = int(sub) if sub else 1
        if int(span) % spacing or int(span) < spacing:
            raise ValueError(f"{text!r}: {span} frames cannot be split {spacing} apart")
        return MetricSpec(low, kind, int(span) // spacing, spacing, int(items) or None)
    if low in NOT_PROVIDED:
        raise ValueError(f"{text!r} is not supported: {NOT_PROVIDED[low]}")
    if low in FRAME_METRICS:
        raise ValueError(
            f"{text!r} scores single frames (an image metric) and is not provided by this "
            f"video evaluator; use {SUPPORTED_TEXT}"
        )
    raise ValueError(f"unknown metric {text!r}; expected {SUPPORTED_TEXT}")


def parse_metrics(value: Any) -> list[MetricSpec]:
    """``metric``: one name or a list of names (default FVD, KVD and IS); no duplicates."""
    if value is None:
        names: list[Any] = list(SHORT)
    elif isinstance(value, str):
        names = [value]
    elif isinstance(value, (list, tuple)) or type(value).__name__ == "ListConfig":
        names = list(value)
        if not names:
            raise ValueError(f"got an empty list; expected one or more of {SUPPORTED_TEXT}")
    else:
        raise ValueError(f"got {type(value).__name__}; expected a metric name or a list")
    specs = [parse_metric(n) for n in names]
    keys = [s.key for s in specs]
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if dupes:
        raise ValueError(f"{dupes} given more than once")
    return specs
