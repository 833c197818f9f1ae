"""Validation of a `trinity-rft` trainer config, before any job runs: cheap (no environment is
built, Trinity is not imported), "key: problem" strings, missing resources as `Resource`s.

What it says: the Trinity config (file or inline, exactly one; the file exists and is a YAML
mapping; `cluster` sizes are positive integers), the environment keys (EnvSpec's own
checks), `trinity_home` is a checkout, and, on a machine that shows no GPU, that real runs
need one (Trinity's explorer imports vLLM and verl's trainer hard-codes CUDA/NCCL).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from ...deferred import is_deferred
from ...errors import ConfigError
from ...resource_problems import Resource, gpu_visible
from .config import cluster_problems, load_file, plain

GPU_NEEDED = Resource(
    "trinity-rft: this machine shows no GPU; a real `trinity run` needs NVIDIA GPUs (its "
    "explorer imports vLLM and verl's trainer hard-codes CUDA/NCCL), so it fails before step 1",
    fix="run on a machine with NVIDIA GPUs (set cluster.gpu_per_node in the Trinity config)",
    kind="gpu",
)


def _config_problems(cfg: Mapping[str, Any]) -> list[str]:
    path, inline = cfg.get("trinity_config_path"), cfg.get("trinity_config")
    if path and inline:
        return [
            "trinity_config_path: set together with trinity_config; give the config file "
            "or the inline config, not both"
        ]
    if path:
        if is_deferred(path):
            return []
        try:
            config = load_file(str(path))
        except ConfigError as exc:
            return [str(exc)]
        return cluster_problems(config, f"trinity_config_path {path!r}")
    if inline:
        if is_deferred(inline):
            return []
        config = plain(inline)
        if not isinstance(config, dict):
            return [f"trinity_config: expected a mapping (a Trinity-RFT config), got {inline!r}"]
        return cluster_problems(config, "trinity_config")
    return []  # neither: the spec's `required` says so


def _env_problems(cfg: Mapping[str, Any]) -> list[str]:
    name = cfg.get("env_name")
    if not name:
        unused = [k for k in ("env_manager", "env_params") if cfg.get(k)]
        return [
            f"{k}: set without env_name; name the environment Trinity-RFT runs in (or drop "
            f"{k} to run in this Python environment)"
            for k in unused
        ]
    if is_deferred(name):
        return []
    from .run import env_spec

    try:
        env_spec(cfg)
    except ConfigError as exc:
        return [line.removeprefix("extra_configs: ") for line in str(exc).splitlines()]
    return []


def _home_problems(cfg: Mapping[str, Any]) -> list[str]:
    home = cfg.get("trinity_home")
    if home in (None, "") or is_deferred(home):
        return []
    if not isinstance(home, str):
        return [f"trinity_home: expected a folder path, got {home!r}"]
    folder = os.path.expanduser(home)
    if not any(os.path.isfile(os.path.join(folder, f)) for f in ("pyproject.toml", "setup.py")):
        return [
            Resource(
                f"trinity_home: {home!r} is not a Trinity-RFT checkout (no pyproject.toml)",
                fix=f"git clone https://github.com/modelscope/Trinity-RFT {home}, or drop "
                "trinity_home to install the trinity-rft package",
                kind="repository",
            )
        ]
    return []


def check_train(cfg: Mapping[str, Any]) -> list[str]:
    """Problems with a `trinity-rft` ModelTrainExecutor config."""
    problems = _config_problems(cfg) + _env_problems(cfg) + _home_problems(cfg)
    if not gpu_visible():
        problems.append(GPU_NEEDED)
    return problems
