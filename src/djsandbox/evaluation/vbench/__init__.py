"""VBench (the `vbench` package, in its own environment) as the DataEvaluator
`vbench_video_evaluator`, with the reference DJ-Sandbox's keys.

Importing this package imports only the standard library: validation reads `SPECS` and runs
`check_vbench` without torch or the environment.
"""

from __future__ import annotations

from ...registry import ComponentSpec

KEYS = (
    "env_name",
    "env_manager",
    "env_params",
    "full_json_dir",
    "videos_path",
    "output_path",
    "eval_name",
    "dimension_list",
    "load_ckpt_from_local",
    "num_gpus",
    "mode",
    "vbench_cache_dir",
)

SPECS = (
    ComponentSpec(
        "DataEvaluator",
        "vbench_video_evaluator",
        f"{__name__}.evaluator:run_vbench",
        "VBench scores of videos (e.g. temporal_flickering), run in VBench's own "
        "environment; returns (mean over the dimensions, details with VBench's total)",
        results=2,
        keys=KEYS,
        required=("videos_path", "dimension_list"),
        check=f"{__name__}.checks:check_vbench",
    ),
)
