"""Shared by both front ends: logging, turning a config into run inputs, error reporting."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from .errors import SandboxError

JOB_FIELDS = ("pipelines", "probe_job_configs", "refine_recipe_job_configs",
              "execution_job_configs", "evaluation_job_configs")


def split_config(cfg: DictConfig) -> dict[str, Any]:
    """Global keys resolved now; pipelines and job lists kept raw for resolution at run time."""
    globals_node = OmegaConf.masked_copy(cfg, [k for k in cfg.keys() if k not in JOB_FIELDS])
    try:
        plain: dict[str, Any] = OmegaConf.to_container(globals_node, resolve=True)  # type: ignore
    except Exception as exc:
        raise SandboxError(f"cannot resolve the global keys: {exc}") from None
    for key in JOB_FIELDS:
        node = cfg.get(key)
        plain[key] = OmegaConf.to_container(node, resolve=False) if OmegaConf.is_config(node) else node
    return plain


def report_and_exit(exc: SandboxError) -> None:
    print(f"djsandbox: error: {exc}", file=sys.stderr, flush=True)
    raise SystemExit(2)


def run_from_hydra(cfg: DictConfig) -> float | None:
    """Body of the Hydra main: validate, run, and exit 2 with one message on a user error."""
    from .app import run_sandbox

    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    logging.getLogger("djsandbox").setLevel(logging.INFO)
    # A single run lives in a new timestamped folder: resume=true looks at its siblings. In a
    # multirun the siblings are other trials, so only an explicit folder resumes there.
    single_run = HydraConfig.get().mode == RunMode.RUN
    try:
        plain = split_config(cfg)
        run_sandbox(plain, [Path.cwd()], snapshot=plain, search_siblings=single_run)
    except SandboxError as exc:
        report_and_exit(exc)
    return None
