"""The reference's summary (per-dimension scores and their plain mean) and VBench's own
weighted scores.

VBench's leaderboard scores come from its repository's `scripts/constant.py` and
`scripts/cal_final_score.py` (github.com/Vchitect/VBench; not part of the pip package): each
dimension's raw score is min-max normalised with the ranges below, multiplied by its weight
(`dynamic_degree` 0.5, every other 1), the quality score is the weighted mean over the 7
quality dimensions, the semantic score over the 9 semantic ones, and the total is
(4 * quality + 1 * semantic) / 5. Each is reported only when every dimension it needs was
scored: VBench's script fills an absent dimension with 0, which would rank a partial run low.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from .dimensions import QUALITY, SEMANTIC

NORMALIZE = {
    "subject_consistency": (0.1462, 1.0),
    "background_consistency": (0.2615, 1.0),
    "temporal_flickering": (0.6293, 1.0),
    "motion_smoothness": (0.706, 0.9975),
    "dynamic_degree": (0.0, 1.0),
    "aesthetic_quality": (0.0, 1.0),
    "imaging_quality": (0.0, 1.0),
    "object_class": (0.0, 1.0),
    "multiple_objects": (0.0, 1.0),
    "human_action": (0.0, 1.0),
    "color": (0.0, 1.0),
    "spatial_relationship": (0.0, 1.0),
    "scene": (0.0, 0.8222),
    "appearance_style": (0.0009, 0.2855),
    "temporal_style": (0.0, 0.364),
    "overall_consistency": (0.0, 0.364),
}
WEIGHT = {dim: 0.5 if dim == "dynamic_degree" else 1.0 for dim in NORMALIZE}
QUALITY_WEIGHT = 4.0
SEMANTIC_WEIGHT = 1.0


def normalized(dimension: str, score: float) -> float:
    """VBench's weighted, min-max normalised score of one dimension."""
    low, high = NORMALIZE[dimension]
    return (score - low) / (high - low) * WEIGHT[dimension]


def _group(scores: Mapping[str, float], group: tuple[str, ...]) -> float | None:
    if not all(dim in scores for dim in group):
        return None
    return sum(normalized(d, scores[d]) for d in group) / sum(WEIGHT[d] for d in group)


def summarize(scores: Mapping[str, float]) -> dict[str, Any]:
    """{mean_score, detail} as the reference writes them, plus `normalized` per dimension and
    VBench's `quality_score`, `semantic_score` and `total_score` (None when a dimension they
    need is absent)."""
    if not scores:
        raise ValueError("no dimension was scored")
    bad = sorted(d for d, v in scores.items() if not math.isfinite(v))
    if bad:
        raise ValueError(f"dimension(s) {', '.join(bad)} gave no finite score")
    quality = _group(scores, QUALITY)
    semantic = _group(scores, SEMANTIC)
    total = None
    if quality is not None and semantic is not None:
        total = (QUALITY_WEIGHT * quality + SEMANTIC_WEIGHT * semantic) / (
            QUALITY_WEIGHT + SEMANTIC_WEIGHT
        )
    return {
        "mean_score": sum(scores.values()) / len(scores),
        "detail": dict(scores),
        "normalized": {d: normalized(d, v) for d, v in scores.items()},
        "quality_score": quality,
        "semantic_score": semantic,
        "total_score": total,
    }
