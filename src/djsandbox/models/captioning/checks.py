"""Validation-time checks of the captioner's configs: cheap, stdlib only, no file is read.

Each returns "key: problem" strings for values known before the run. Dataset files are not
required to exist (an earlier job may write them); a local model folder (`model.path`) is,
since nothing in a run creates it.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Mapping

from ...deferred import is_deferred
from ...redact import show
from ...resource_problems import Resource, carry
from ..trainer_keys import trainer_problems
from .reference_keys import check_reference, uses_scripts
from .settings import check_model


def _paths(value: Any, key: str, what: str) -> list[str]:
    """A path, a list of paths, or a mapping of them (pools per stat), all non-empty strings."""
    if value is None or is_deferred(value):
        return []
    if isinstance(value, str):
        return [] if value else [f"{key}: empty; expected {what}"]
    if isinstance(value, Mapping):
        items = list(value.values())
    elif isinstance(value, (list, tuple)) or type(value).__name__ == "ListConfig":
        items = list(value)
    else:
        return [f"{key}: got {type(value).__name__}; expected {what}, a list or a mapping of them"]
    if not items:
        return [f"{key}: empty; expected at least one path"]
    return [p for item in items for p in _paths(item, key, what)]


def _number(
    cfg: Mapping[str, Any],
    key: str,
    ok: Callable[[float], bool],
    expected: str,
    integer: bool = False,
) -> list[str]:
    value = cfg.get(key)
    if value is None or is_deferred(value):
        return []
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or not ok(value):
        return [f"{key}: got {show(key, value)}; expected {expected}"]
    return []


def _model_folder(model: Any) -> list[str]:
    if not isinstance(model, Mapping):
        return []
    path = model.get("path")
    if path == "???":  # the model group's mandatory value, left unset: weights to fetch
        return [
            Resource(
                "model.path: not set; give the folder of the local weights, e.g. "
                "model.path=/weights/InternVL2-1B",
                fix="download the InternVL weights to a folder and set model.path to it",
                kind="weights",
            )
        ]
    if isinstance(path, str) and path and not is_deferred(path):
        if not os.path.isdir(os.path.expanduser(path)):
            return [
                Resource(
                    f"model.path: folder {path!r} does not exist; expected local InternVL "
                    "weights (nothing can be downloaded)",
                    fix=f"download the InternVL weights to {path!r}, or set model.path",
                    kind="weights",
                )
            ]
        if not os.path.isfile(os.path.join(os.path.expanduser(path), "config.json")):
            return [f"model.path: {path!r} has no config.json; expected a model folder"]
    return []


def _common(cfg: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    problems += _number(cfg, "batch_size", lambda v: v > 0, "a positive integer", True)
    problems += _number(cfg, "cpu_threads", lambda v: v > 0, "a positive integer", True)
    for key in ("image_root", "prompt"):
        value = cfg.get(key)
        if value is not None and (not isinstance(value, str) or not value):
            problems.append(f"{key}: got {show(key, value)}; expected a non-empty string")
    return problems


def _internvl_home(cfg: Mapping[str, Any]) -> list[str]:
    home = cfg.get("internvl_home")
    if not isinstance(home, str) or not home or is_deferred(home):
        return []
    if not os.path.isdir(os.path.join(os.path.expanduser(home), "internvl_chat")):
        return [
            Resource(
                f"internvl_home: {home!r} has no internvl_chat folder; expected a clone of "
                "https://github.com/OpenGVLab/InternVL",
                fix=f"git clone https://github.com/OpenGVLab/InternVL {home}, or set "
                "internvl_home to an existing clone",
                kind="repository",
            )
        ]
    return []


def _reference(cfg: Mapping[str, Any], role: str) -> list[str]:
    """The reference's keys: their values, and the folders they name that must exist."""
    problems = check_reference(cfg, role) + _internvl_home(cfg)
    path = cfg.get("model_name_or_path")
    if isinstance(path, str) and path:
        problems += [
            carry(p, p.replace("model.path", "model_name_or_path", 1))
            for p in _model_folder({"path": path})
        ]
    key = "meta_paths" if role == "train" else "ckpt_paths"
    return problems + _paths(cfg.get(key), key, "a path")


def check_train(cfg: Mapping[str, Any]) -> list[str]:
    """Problems with an `internvl_coco_caption` ModelTrainExecutor config."""
    problems = _reference(cfg, "train")
    if uses_scripts(cfg):  # InternVL's script trains: the Lightning settings are not read
        return problems
    problems += check_model(cfg.get("model"), need_path=not cfg.get("model_name_or_path"))
    problems += _model_folder(cfg.get("model")) + _common(cfg)
    problems += _paths(cfg.get("meta_path"), "meta_path", "a meta JSON path")
    problems += _paths(cfg.get("dataset_path"), "dataset_path", "an InternVL JSONL path")
    if cfg.get("meta_path") not in (None, "") and cfg.get("dataset_path") not in (None, ""):
        problems.append(
            "dataset_path: set together with meta_path; give one of them (meta_path "
            "names its images' root itself)"
        )
    problems += trainer_problems(cfg.get("trainer"), "trainer")
    problems += _number(cfg, "lr", lambda v: v > 0, "a positive number")
    problems += _number(cfg, "weight_decay", lambda v: v >= 0, "a number >= 0")
    problems += _number(cfg, "warmup_ratio", lambda v: 0 <= v < 1, "a number in [0, 1)")
    problems += _number(cfg, "val_ratio", lambda v: 0 <= v < 1, "a number in [0, 1)")
    problems += _number(cfg, "seed", lambda v: True, "an integer", True)
    for key in ("max_epochs", "max_train_rows"):
        problems += _number(cfg, key, lambda v: v > 0, "a positive integer", True)
    problems += _number(
        cfg, "max_steps", lambda v: v > 0 or v == -1, "a positive integer (or -1: no limit)", True
    )
    problems += _number(cfg, "num_workers", lambda v: v >= 0, "an integer >= 0", True)
    problems += _number(
        cfg,
        "tokenizer_vocab_size",
        lambda v: v > 7,
        "an integer > 7 (room for the special tokens)",
        True,
    )
    return problems


def check_evaluate(cfg: Mapping[str, Any]) -> list[str]:
    """Problems with an `internvl_coco_caption` ModelEvaluator config (`model.path` unused)."""
    problems = _reference(cfg, "evaluate")
    if uses_scripts(cfg):
        return problems
    problems += check_model(cfg.get("model"), need_path=False) + _common(cfg)
    problems += _paths(cfg.get("checkpoint"), "checkpoint", "a model folder")
    value = cfg.get("dataset_path")
    if value is not None and not is_deferred(value) and (not isinstance(value, str) or not value):
        problems.append(f"dataset_path: got {value!r}; expected one InternVL JSONL test file")
    for key in ("max_new_tokens", "num_beams", "max_rows"):
        problems += _number(cfg, key, lambda v: v > 0, "a positive integer", True)
    pred = cfg.get("predictions_path")
    if pred is not None and (not isinstance(pred, str) or not pred):
        problems.append(f"predictions_path: got {pred!r}; expected a file path")
    return problems
