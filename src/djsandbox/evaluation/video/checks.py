"""Validation of a ``video_inception_evaluator`` config before the run: stdlib only, no video
is read. Data files are not required to exist yet (an earlier job may write them); a local
detector file is, since nothing in a run creates it, and its absence is a missing resource
naming the file and where it comes from.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from ...deferred import is_deferred
from ...redact import show
from ...resource_problems import Resource
from ...shapes import is_list, is_mapping, leaves
from ...value_checks import mappings, number, strings
from .i3d import I3D_FILE, I3D_SOURCE
from .metric_names import parse_metrics

MOTION = "motion"  # detector_path selecting our motion classifier
KEYS = (
    # the reference's (Data-Juicer tools/mm_eval/inception_metrics/calc_metrics_for_videos)
    "fake_data_path",
    "real_data_path",
    "fake_mm_dir",
    "real_mm_dir",
    "metric",
    "detector_path",
    "result_path",
    "num_runs",
    "height",
    "width",
    "replace_cache",
    "verbose",
    "seed",
    # ours
    "real_split",
    "fake_split",
    "detector_data",
    "detector_options",
)


def _paths(cfg: Mapping[str, Any], key: str) -> list[str]:
    value = cfg.get(key)
    if value is None or is_deferred(value):
        return []
    if isinstance(value, str):
        return [] if value else [f"{key}: empty; expected a JSONL or a folder of videos"]
    nested = (is_list(value) or is_mapping(value)) and len(value)
    if nested and all(isinstance(v, str) and v for v in leaves(value)):
        return []
    return [
        f"{key}: got {show(key, value)}; expected a JSONL or folder of videos, or a list or "
        "mapping of them (one score per item)"
    ]


def _detector(cfg: Mapping[str, Any]) -> list[str]:
    value = cfg.get("detector_path")
    if value is None or value == MOTION or is_deferred(value):
        return []
    if not isinstance(value, str) or not value:
        return [f"detector_path: got {show('detector_path', value)}; expected {MOTION!r} or a path"]
    if not os.path.isfile(os.path.expanduser(value)):
        return [
            Resource(
                f"detector_path: {value!r} does not exist; expected the TorchScript I3D "
                f"({I3D_FILE}), or {MOTION!r} for the motion classifier trained here",
                fix=f"put {I3D_FILE} at {value!r}: it is {I3D_SOURCE}; or set "
                f"detector_path: {MOTION}",
                kind="weights",
            )
        ]
    return []


def check_video_inception(cfg: Mapping[str, Any]) -> list[str]:
    """Problems with a ``video_inception_evaluator`` config known before the run."""
    problems = _paths(cfg, "fake_data_path") + _paths(cfg, "real_data_path")
    metric = cfg.get("metric")
    specs = []
    if not is_deferred(metric):
        try:
            specs = parse_metrics(metric)
        except ValueError as exc:
            problems.append(f"metric: {exc}")
    if any(s.needs_real for s in specs) and cfg.get("real_data_path") in (None, ""):
        names = ", ".join(s.key for s in specs if s.needs_real)
        problems.append(f"real_data_path: missing; {names} compare the fake clips with real ones")
    problems += _detector(cfg)
    problems += strings(
        cfg, "fake_mm_dir", "real_mm_dir", "result_path", "real_split", "fake_split"
    )
    problems += strings(cfg, "detector_data")
    problems += mappings(cfg, "detector_options")
    problems += number(cfg, "num_runs", int, 1, 1000)
    problems += number(cfg, "height", int, 8, 4096) + number(cfg, "width", int, 8, 4096)
    problems += number(cfg, "seed", int, 0, 2**32 - 1)
    for key in ("replace_cache", "verbose"):
        if cfg.get(key) is not None and not isinstance(cfg[key], bool):
            problems.append(f"{key}: got {show(key, cfg[key])}; expected true or false")
    return problems
