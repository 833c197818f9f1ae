"""Separate Python environments for external stacks (InternVL's scripts, EasyAnimate, VBench,
Trinity-RFT) whose pinned packages collide with the sandbox's own.

    spec = EnvSpec.from_config(cfg.get("env_name"), cfg.get("env_manager"),
                               cfg.get("env_params"), where="train.yaml: extra_configs")
    env = get_env(spec)          # built once per spec, reused after, rebuilt when it changes
    env.run(["python", "train.py"], log_path=job_dir / "train.log")

Managers: conda, mamba, micromamba, venv, virtualenv, uv.
"""

from __future__ import annotations

from .commands import build_commands, create_commands, find_tool, install_commands
from .running import EnvError
from .spec import MANAGERS, EnvSpec
from .store import Env, envs_root, get_env, lock_path

__all__ = [
    "MANAGERS",
    "Env",
    "EnvError",
    "EnvSpec",
    "build_commands",
    "create_commands",
    "envs_root",
    "find_tool",
    "get_env",
    "install_commands",
    "lock_path",
]
