"""DataEvaluator ``video_inception_evaluator``: FVD, KVD and IS between generated ("fake") and
real clips from a video detector's outputs, and motion accuracy from our motion classifier.

Keys are the reference's (Data-Juicer ``tools/mm_eval/inception_metrics``): ``fake_data_path``,
``real_data_path`` (a DJ-format JSONL or a folder of MP4s), ``fake_mm_dir``/``real_mm_dir``,
``metric`` (one name or a list), ``detector_path``, ``result_path``, ``num_runs``, ``height``,
``width``, ``replace_cache``, ``verbose``, ``seed``. Ours: ``real_split``/``fake_split`` (only
rows of that ``split``), ``detector_data`` and ``detector_options`` (what trains the motion
classifier; see ``motion_detector``).

``detector_path``: ``motion`` (also when unset: the reference would download the I3D, nothing
is downloaded here) or the local ``i3d_torchscript.pt``. ``fake_data_path`` may be a list or a
mapping of datasets (one per data pool): each is scored against the same real clips and the
result keeps that shape. Each score is one flat dict: a key per metric, ``motion_accuracy``
(share of fake clips whose predicted motion is the one their prompt names; motion detector
only), ``rows`` (fake clips scored), plus the detector's name and the fake path. With
``num_runs`` > 1 each run scores a bootstrap resample of both sets (seeded from ``seed``) and a
metric reads as mean, ``_std``, ``_ci95`` and the per-run values (``_seeds``), the keys the
report shows as mean ± std; with one run the sets are scored as they are. The reference samples
2048 windows per set with replacement and returns ``{results: {...}, metric, total_time}``;
here each clip is read once (one window when the metric names a frame count).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from ...atomic import atomic_write_text
from ...errors import ConfigError
from ...seed_stats import seed_metrics
from ...shapes import map_structure
from .checks import MOTION, check_video_inception
from .clips import Clip, load_clips, resolve_clips
from .metric_names import MetricSpec, parse_metrics
from .motions import MOTIONS, motion_index

log = logging.getLogger(__name__)
RESULT_FILE = "video_inception.json"


def seed_of(cfg: dict[str, Any]) -> int:
    """``seed`` (the reference's default 42 when unset)."""
    return 42 if cfg.get("seed") is None else int(cfg["seed"])


def make_detector(cfg: dict[str, Any]) -> Any:
    """The detector ``detector_path`` names (our motion classifier unless a file is given)."""
    path = cfg.get("detector_path")
    if path in (None, "", MOTION):
        from .motion_detector import MotionDetector, MotionSettings

        return MotionDetector(MotionSettings.from_config(cfg), bool(cfg.get("replace_cache")))
    from .i3d import I3DDetector

    return I3DDetector(path)


class FeatureSet:
    """The detector's outputs for one set of clips, per frame window the metrics ask for."""

    def __init__(self, clips: list[Clip], detector: Any, cfg: dict[str, Any]) -> None:
        self.clips, self.detector, self.cfg = clips, detector, cfg
        self._cache: dict[tuple[Any, ...], tuple[Any, Any]] = {}

    def outputs(self, spec: MetricSpec | None) -> tuple[Any, Any]:
        frames, spacing = (spec.frames, spec.spacing) if spec else (None, 1)
        key = (frames, spacing)
        if key not in self._cache:
            arrays = load_clips(
                self.clips,
                frames,
                spacing,
                self.cfg.get("height"),
                self.cfg.get("width"),
                seed_of(self.cfg),
            )
            self._cache[key] = self.detector.outputs(arrays)
        feats, probs = self._cache[key]
        limit = spec.max_items if spec else None
        if limit is not None and len(feats) > limit:
            import numpy as np

            pick = np.random.default_rng(seed_of(self.cfg)).permutation(len(feats))
            pick = np.sort(pick[:limit])
            return feats[pick], probs[pick]
        return feats, probs


def _one_metric(spec: MetricSpec, fake: Any, real: Any) -> float:
    from .distances import fvd, inception_score, kvd

    if spec.kind == "fvd":
        return fvd(fake[0], real[0])
    if spec.kind == "kvd":
        return kvd(fake[0], real[0])
    return inception_score(fake[1])


def _metric(spec: MetricSpec, fake: Any, real: Any, runs: int, seed: int) -> dict[str, Any]:
    """``{key: value}``, or with several runs the bootstrap mean, spread and values."""
    import numpy as np

    if runs == 1:
        return {spec.key: _one_metric(spec, fake, real)}
    values = []
    for r in range(runs):
        rng = np.random.default_rng(seed + r)
        fi = rng.integers(0, len(fake[0]), len(fake[0]))
        f = (fake[0][fi], fake[1][fi])
        ri = rng.integers(0, len(real[0]), len(real[0])) if real else None
        values.append(_one_metric(spec, f, (real[0][ri], real[1][ri]) if real else None))
    return seed_metrics(spec.key, values)


def motion_accuracy(clips: list[Clip], probs: Any) -> float | None:
    """Share of clips whose most likely motion is the one their text asks for (clips whose
    text names no motion are left out; None when none does)."""
    asked = [motion_index(c.text or "") for c in clips]
    hits = [int(probs[i].argmax()) == y for i, y in enumerate(asked) if y is not None]
    return sum(hits) / len(hits) if hits else None


def score(
    fake_clips: list[Clip], real: FeatureSet | None, detector: Any, cfg: dict[str, Any]
) -> dict[str, Any]:
    """The flat metrics dict of one fake dataset."""
    specs = parse_metrics(cfg.get("metric"))
    fake = FeatureSet(fake_clips, detector, cfg)
    runs, seed = int(cfg.get("num_runs") or 1), seed_of(cfg)
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.needs_real and real is None:
            raise ConfigError(f"metric: {spec.key} needs real_data_path")
        real_out = real.outputs(spec) if spec.needs_real and real else None
        out.update(_metric(spec, fake.outputs(spec), real_out, runs, seed))
    if getattr(detector, "classes", None) == MOTIONS:
        acc = motion_accuracy(fake_clips, fake.outputs(None)[1])
        if acc is None:
            log.warning("motion_accuracy: no fake clip's prompt names a camera motion")
        else:
            out["motion_accuracy"] = acc
    out["rows"] = len(fake_clips)
    out["detector"] = detector.name
    return out


def _result_file(cfg: dict[str, Any], out_dir: Path) -> Path | None:
    value = cfg.get("result_path")
    if not value:
        return None
    path = Path(os.path.expanduser(value))
    path = path if path.is_absolute() else out_dir / path
    if path.exists():
        raise ConfigError(f"result_path: {str(path)!r} already exists; not replaced")
    return path


def run_video_inception(cfg: dict[str, Any], out_dir: Path) -> Any:
    """Score each fake dataset against the real clips; see the module docstring."""
    cfg = dict(cfg)
    problems = [p for p in check_video_inception(cfg)]
    if problems:
        raise ConfigError("; ".join(problems))
    out_dir = Path(out_dir)
    result_file = _result_file(cfg, out_dir)
    if cfg.get("verbose"):
        log.setLevel(logging.INFO)
    detector = make_detector(cfg)
    real = None
    if cfg.get("real_data_path"):
        real_clips = resolve_clips(
            cfg["real_data_path"], "real_data_path", cfg.get("real_mm_dir"), cfg.get("real_split")
        )
        real = FeatureSet(real_clips, detector, cfg)

    def one(path: Any, folder: Path) -> dict[str, Any]:
        clips = resolve_clips(path, "fake_data_path", cfg.get("fake_mm_dir"), cfg.get("fake_split"))
        result = score(clips, real, detector, cfg)
        log.info("video_inception_evaluator %s: %s", path, result)
        return {**result, "fake_data_path": str(path)}

    results = map_structure(cfg["fake_data_path"], one, out_dir)
    record = {
        "results": results,
        "real_data_path": cfg.get("real_data_path"),
        "detector": getattr(detector, "meta", None) or {"path": cfg.get("detector_path")},
    }
    atomic_write_text(out_dir / RESULT_FILE, json.dumps(record, indent=1, default=str))
    if result_file is not None:
        atomic_write_text(result_file, json.dumps(record, default=str) + "\n")
    return results
