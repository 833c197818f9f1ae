"""Validation-time checks of the `easyanimate` trainer and generator configs: cheap, stdlib
only. Config mistakes are "key: problem" strings; what this machine lacks (weights, the
EasyAnimate checkout, a GPU for its scripts) is a `Resource` with its fix. Dataset files are
not required to exist (an earlier job may write them).
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from ...deferred import is_deferred
from ...resource_problems import Resource, gpu_needed, gpu_visible, placeholder
from ...value_checks import number, strings
from ..captioning.checks import _paths
from ..trainer_keys import trainer_problems
from .reference_keys import DEFAULT_HOME, check_reference, flat, uses_scripts
from .settings import check_model

_HOME_FIX = (
    "get Data-Juicer's EasyAnimate checkout (bash thirdparty/models/setup_easyanimate.sh in a "
    "Data-Juicer clone) and set easyanimate_home to its thirdparty/models/EasyAnimate, or "
    "remove env_name/easyanimate_home to train the tiny model in-process"
)


def _weights_at(value: Any, key: str, what: str, marker: str | None, home: str | None) -> list[str]:
    """Weights named by `key`: a folder holding `marker` (in-process), or, for EasyAnimate's
    scripts (`marker` None), any file or folder, relative paths taken from `home` as the
    scripts run there."""
    if not isinstance(value, str) or not value or is_deferred(value):
        return []
    if value == "???":  # the model group's mandatory value, left unset
        return [
            Resource(
                f"{key}: not set; give the folder of the local EasyAnimate weights, e.g. "
                f"{key}=/weights/EasyAnimateV5.1-7b-zh-diffusers",
                fix=f"download EasyAnimate weights in diffusers format and set {key} to them",
                kind="weights",
            )
        ]
    path = os.path.expanduser(value)
    if home and not os.path.isabs(path):
        path = os.path.join(os.path.expanduser(home), path)
    hole = placeholder(value) or (value if "/PATH/TO" in value else None)
    if hole:
        fix = f"replace the placeholder {hole!r} in {key} with the weights' local path"
    elif value.count("/") == 1 and not value.startswith((".", "/", "~")):
        fix = f"{value!r} looks like a hub id: download it beforehand and set {key} to the folder"
    else:
        fix = f"put {what} at {value!r} (nothing can be downloaded), or set {key}"
    if marker is None:
        if not os.path.exists(path):
            return [
                Resource(
                    f"{key}: {value!r} does not exist; expected {what}", fix=fix, kind="weights"
                )
            ]
        return []
    if not os.path.isdir(path):
        return [
            Resource(
                f"{key}: {value!r} is not a local folder; expected {what}", fix=fix, kind="weights"
            )
        ]
    if not os.path.exists(os.path.join(path, marker)):
        return [f"{key}: {value!r} has no {marker}; expected {what}"]
    return []


def _weights(cfg: Mapping[str, Any], role: str) -> list[str]:
    model = cfg.get("model") if isinstance(cfg.get("model"), Mapping) else {}
    ref = flat(cfg, role)
    nested = "model.path" in ref or "model.transformer_path" in ref
    keys = (
        ("train.model_path.pretrained_model_name_or_path", "train.model_path.transformer_path")
        if nested
        else ("model.path", "model.transformer_path")
    )
    path = ref.get("model.path", model.get("path"))
    transformer = ref.get("model.transformer_path", model.get("transformer_path"))
    if uses_scripts(cfg):  # EasyAnimate's own formats, from its home folder
        home = cfg.get("easyanimate_home") or DEFAULT_HOME
        what = "the weights EasyAnimate's scripts load"
        return _weights_at(path, keys[0], what, None, home) + _weights_at(
            transformer, keys[1], what, None, home
        )
    problems = _weights_at(
        path, keys[0], "EasyAnimate weights in diffusers format", "model_index.json", None
    )
    return problems + _weights_at(
        transformer, keys[1], "a diffusers EasyAnimate transformer folder", "config.json", None
    )


def _scripts(cfg: Mapping[str, Any], script: str) -> list[str]:
    problems = strings(cfg, "easyanimate_home", "env_name", "env_manager")
    home = cfg.get("easyanimate_home") or DEFAULT_HOME
    if isinstance(home, str) and not is_deferred(home):
        path = os.path.join(os.path.expanduser(home), script)
        if not os.path.isfile(path):
            problems.append(
                Resource(
                    f"easyanimate_home: {home!r} has no {script} (EasyAnimate's own scripts run "
                    "because env_name/easyanimate_home is set)",
                    fix=_HOME_FIX,
                    kind="repository",
                )
            )
    if not gpu_visible():
        problems.append(
            Resource(
                "env_name: EasyAnimate's own scripts need a CUDA GPU and this machine shows none",
                fix="run on a machine with an NVIDIA GPU, or remove env_name/easyanimate_home to "
                "use the in-process path on CPU",
                kind="gpu",
            )
        )
    if cfg.get("env_params") is not None and not isinstance(cfg["env_params"], Mapping):
        problems.append(f"env_params: got {type(cfg['env_params']).__name__}; expected a mapping")
    return problems


def _common(cfg: Mapping[str, Any], role: str) -> list[str]:
    problems = check_reference(cfg, role) + check_model(cfg.get("model")) + _weights(cfg, role)
    problems += number(cfg, "batch_size", int, 1) + number(cfg, "seed", int, -(2**63), 2**63)
    problems += number(cfg, "cpu_threads", int, 1)
    problems += strings(cfg, "video_root", "output_dir", "precision")
    return problems


def check_train(cfg: Mapping[str, Any]) -> list[str]:
    """Problems with an `easyanimate` ModelTrainExecutor config."""
    problems = _common(cfg, "train")
    if uses_scripts(cfg):
        return problems + _scripts(cfg, "train_lora.sh")
    problems += _paths(cfg.get("dataset_path"), "dataset_path", "an EasyAnimate JSON path")
    problems += trainer_problems(cfg.get("trainer"), "trainer")
    trainer = cfg.get("trainer") if isinstance(cfg.get("trainer"), Mapping) else {}
    if need := gpu_needed("trainer.accelerator", trainer.get("accelerator")):
        problems.append(need)
    problems += number(cfg, "lr", float, 1e-12, 10.0)
    problems += number(cfg, "val_ratio", float, 0.0, 0.9)
    for key in ("max_epochs", "max_train_rows", "accumulate_grad_batches"):
        problems += number(cfg, key, int, 1)
    problems += number(cfg, "max_steps", int, -1)
    problems += number(cfg, "num_workers", int, 0)
    return problems


def check_infer(cfg: Mapping[str, Any]) -> list[str]:
    """Problems with an `easyanimate` ModelInferExecutor config."""
    problems = _common(cfg, "infer")
    if uses_scripts(cfg):
        return problems + _scripts(cfg, "infer_lora.sh")
    problems += _paths(cfg.get("checkpoint"), "checkpoint", "a LoRA folder")
    problems += strings(cfg, "prompts_path", "split")
    for key in ("video_num_per_prompt", "num_inference_steps", "max_prompts", "fps"):
        problems += number(cfg, key, int, 1)
    problems += number(cfg, "num_gpus", int, 0)
    problems += number(cfg, "guidance_scale", float, 0.0, 100.0)
    return problems
