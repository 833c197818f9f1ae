"""Run Data-Juicer's executor (default, or Ray: `dj_ray`) on a recipe and report how many rows
went in and out."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from djsandbox.data.dj_runtime import (
    build_dj_config,
    dj_log_to,
    forbid_runtime_installs,
    prepare_offline_env,
)

__all__ = ["process"]


def process(
    recipe: Mapping[str, Any], *, work_dir: Path, base_dirs: Sequence[Path] = ()
) -> dict[str, Any]:
    """Apply the recipe's ops to its dataset and export the result.

    Returns {"export_path", "rows_in", "rows_out"}. The dataset is loaded here and handed to
    the executor, so rows_in is known without reading the file twice (None only when the
    recipe resumes from a Data-Juicer checkpoint). Runtime package installs are forbidden.
    """
    from djsandbox.data.dj_ray import ray_job, ray_process, uses_ray

    prepare_offline_env()
    with ray_job(recipe):
        cfg = build_dj_config(recipe, work_dir=work_dir, base_dirs=base_dirs, job="process")
        if uses_ray(cfg):  # same contract: one export file at the same path, rows in and out
            with dj_log_to(cfg, "process"), forbid_runtime_installs():
                return ray_process(cfg)
    from data_juicer.core import DefaultExecutor

    with dj_log_to(cfg, "process"), forbid_runtime_installs():
        executor = DefaultExecutor(cfg)
        ckpt = executor.ckpt_manager
        resuming = bool(cfg.get("use_checkpoint", False) and ckpt and ckpt.ckpt_available)
        # Load here (unless resuming from a DJ checkpoint) to know rows_in without a 2nd read.
        dataset = None if resuming else executor.dataset_builder.load_dataset()
        rows_in = None if dataset is None else int(len(dataset))
        result = executor.run(dataset=dataset)
    return {"export_path": str(cfg.export_path), "rows_in": rows_in, "rows_out": int(len(result))}
