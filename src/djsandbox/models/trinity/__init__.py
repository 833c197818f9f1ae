"""Reinforcement fine-tuning with Trinity-RFT: the `trinity-rft` trainer, published with its
spec (SPECS). This module must import only the standard library: validation imports it.

Modules: `config` (the Trinity config: file or inline, written into the job folder, secrets
moved into the environment), `monitor` (its `Step N: {...}` lines as curves), `run` (the
environment and `trinity run`), `checks` (validation).
"""

from __future__ import annotations

from ...registry import ComponentSpec

_PKG = "djsandbox.models.trinity"

TRAIN_KEYS = (
    "env_name",
    "env_manager",
    "env_params",
    "trinity_home",
    "trinity_config_path",
    "trinity_config",
)

SPECS = (
    ComponentSpec(
        "ModelTrainExecutor",
        "trinity-rft",
        f"{_PKG}.run:run_train",
        "reinforcement fine-tuning with Trinity-RFT (`trinity run`, GPUs) in its own "
        "environment; its monitor lines become curves; returns the checkpoint folder",
        keys=TRAIN_KEYS,
        required=("trinity_config_path|trinity_config",),
        check=f"{_PKG}.checks:check_train",
    ),
)
