"""VBench's own Python environment, built through EnvManager: vbench 0.1.5 pins `numpy<2`
and `transformers==4.33.2`, which collide with the sandbox's packages.

Default: a `venv` from the sandbox's interpreter (pip reads the machine's pip configuration,
its find-links and indexes) named `djsandbox-vbench` in the sandbox's cache folder, with
torch 2.13.0 and torchvision 0.28.0 pinned beside vbench (unpinned, pip picks torchvision
0.29, which pulls a CUDA torch 2.14.1). `env_name`, `env_manager` and `env_params` (its
`requirements`, `env_py_version`, `env_config_path`) replace any of it; with `uv`, give
the torch wheel's index yourself (uv does not read pip's configuration), e.g.
`requirements: ["torch==2.13.0+cpu --find-links /opt/wheels", "torchvision==0.28.0",
"vbench==0.1.5"]`. Measured on 2 shared cores: the default pip build takes about 11 minutes
(2.2 GB), that uv one about 2; both score the same.
"""

from __future__ import annotations

from typing import Any, Mapping

ENV_NAME = "djsandbox-vbench"
ENV_MANAGER = "venv"
REQUIREMENTS = ("torch==2.13.0", "torchvision==0.28.0", "vbench==0.1.5")


def env_spec(cfg: Mapping[str, Any]) -> Any:
    """The EnvSpec of `cfg`'s environment keys (ConfigError naming the key when bad)."""
    from djsandbox.envs import EnvSpec

    params = dict(cfg.get("env_params") or {})
    given = ("requirements", "env_requirements", "env_config_path")
    if not any(params.get(key) for key in given):
        params["requirements"] = list(REQUIREMENTS)
    return EnvSpec.from_config(
        cfg.get("env_name") or ENV_NAME,
        cfg.get("env_manager") or ENV_MANAGER,
        params,
        where="environment",
    )


def vbench_env(cfg: Mapping[str, Any]) -> Any:
    """The built environment (built on first use, reused after; under `cache_base()`)."""
    from djsandbox.envs import get_env

    return get_env(env_spec(cfg))
