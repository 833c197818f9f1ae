"""Video evaluation: the caption's camera motion, features of a video detector, and the
Fréchet/kernel/Inception distances of the ``video_inception_evaluator``.

Imports only the standard library at import time (validation imports ``SPECS``).
"""

from __future__ import annotations

from ...registry import ComponentSpec
from .checks import KEYS

SPECS = (
    ComponentSpec(
        "DataEvaluator",
        "video_inception_evaluator",
        "djsandbox.evaluation.video.evaluator:run_video_inception",
        "FVD/KVD between generated and real clips, IS, and motion accuracy (share of clips "
        "showing the camera motion their prompt asks for) from the motion classifier "
        "trained here or a local I3D; returns one dict of metrics per fake dataset",
        results=1,
        keys=KEYS,
        required=("fake_data_path",),
        check="djsandbox.evaluation.video.checks:check_video_inception",
    ),
)
