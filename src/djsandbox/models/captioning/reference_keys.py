"""The reference DJ-Sandbox's InternVL keys, mapped onto the captioner's own settings.

Configs written for the reference name their InternVL trainer/evaluator settings differently
(`model_name_or_path`, `conv_style_or_scale`, `num_gpus`, `batch_size_per_device`,
`meta_paths`, `ckpt_paths`, `work_dir`, `script_dir`) and run InternVL's own shell scripts in
an environment (`internvl_home`, `env_name`, `env_manager`, `env_params`). With `internvl_home`
those scripts run (`internvl_scripts`); without it the keys are translated here into the
in-process Lightning path's keys, so one config works both ways.

Stdlib only: validation imports it through `checks`.
"""

from __future__ import annotations

import os
import re
from typing import Any, Callable, Mapping

from ...redact import show
from .settings import SIZES

ENV_KEYS = ("internvl_home", "env_name", "env_manager", "env_params")
TRAIN_REFERENCE_KEYS = (
    "model_name_or_path",
    "conv_style_or_scale",
    "num_gpus",
    "batch_size_per_device",
    "meta_paths",
    "work_dir",
    "script_dir",
    *ENV_KEYS,
)
EVALUATE_REFERENCE_KEYS = ("conv_style_or_scale", "num_gpus", "ckpt_paths", *ENV_KEYS)

SCALES = {
    "1B": "Hermes-2",
    "2B": "internlm2-chat",
    "4B": "phi3-chat",
    "8B": "internlm2-chat",
    "26B": "internlm2-chat",
    "40B": "Hermes-2",
    "76B": "internlm2-chat",
}
"""InternVL2 scale -> conversation template of its fine-tune scripts (as the reference maps
them; `conv_style_or_scale` takes either side)."""

ALIASES = {"meta_paths": "meta_path", "batch_size_per_device": "batch_size"}
EVAL_ALIASES = {"ckpt_paths": "checkpoint"}

# Keys of the Lightning path that InternVL's scripts have no use for (set: a problem, not a
# silent no-op). lr, weight_decay, warmup_ratio, max_epochs and seed are passed to the scripts.
LIGHTNING_ONLY_TRAIN = (
    "dataset_path",
    "image_root",
    "prompt",
    "trainer",
    "val_ratio",
    "max_steps",
    "max_train_rows",
    "num_workers",
    "tokenizer_vocab_size",
    "cpu_threads",
)
# The evaluator's own keys besides `checkpoint` (models/captioning/__init__ builds its key list
# from these).
LIGHTNING_ONLY_EVALUATE = (
    "model",
    "dataset_path",
    "image_root",
    "prompt",
    "batch_size",
    "max_new_tokens",
    "num_beams",
    "max_rows",
    "predictions_path",
    "cpu_threads",
)


def uses_scripts(cfg: Mapping[str, Any]) -> bool:
    """True when InternVL's own scripts run (the reference's way): `internvl_home` is set."""
    return cfg.get("internvl_home") not in (None, "")


def conv_style(value: Any) -> str | None:
    """The conversation template named by `conv_style_or_scale` (None: not recognised)."""
    if value in SCALES:
        return SCALES[value]
    return value if value in SCALES.values() else None


def scale_of(cfg: Mapping[str, Any]) -> str | None:
    """The model scale: `conv_style_or_scale` when it is one, else a trailing `-1B` & co. in
    the model folder's name (InternVL2-1B), else None."""
    value = cfg.get("conv_style_or_scale")
    if value in SCALES:
        return str(value)
    path = cfg.get("model_name_or_path")
    if isinstance(path, str):
        found = re.search(r"(\d+B)$", os.path.basename(path.rstrip("/\\")))
        if found and found.group(1) in SCALES:
            return found.group(1)
    return None


def _positive_int(cfg: Mapping[str, Any], key: str) -> list[str]:
    value = cfg.get(key)
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        return []
    return [f"{key}: got {show(key, value)}; expected a positive integer"]


def _strings(cfg: Mapping[str, Any], keys: tuple[str, ...]) -> list[str]:
    return [
        f"{k}: got {show(k, cfg[k])}; expected a non-empty string"
        for k in keys
        if cfg.get(k) is not None and (not isinstance(cfg[k], str) or not cfg[k])
    ]


def _both(cfg: Mapping[str, Any], aliases: Mapping[str, str]) -> list[str]:
    return [
        f"{ref}: set together with {ours} (the same setting); give one of them"
        for ref, ours in aliases.items()
        if cfg.get(ref) not in (None, "", [])
        and cfg.get(ours) not in (None, "", [])
        and cfg.get(ref) != cfg.get(ours)
    ]


def check_reference(cfg: Mapping[str, Any], role: str) -> list[str]:
    """Problems with the reference keys of a trainer (`role` "train") or evaluator config."""
    problems = _positive_int(cfg, "num_gpus") + _positive_int(cfg, "batch_size_per_device")
    problems += _strings(
        cfg, ("model_name_or_path", "work_dir", "script_dir", "internvl_home", "env_name")
    )
    value = cfg.get("conv_style_or_scale")
    if value is not None and conv_style(value) is None:
        problems.append(
            f"conv_style_or_scale: got {value!r}; expected a scale ({', '.join(SCALES)}) or a "
            f"conversation template ({', '.join(sorted(set(SCALES.values())))})"
        )
    if cfg.get("model_name_or_path") and value is None and scale_of(cfg) is None:
        problems.append(
            "conv_style_or_scale: missing; with model_name_or_path give the model's scale "
            f"({', '.join(SCALES)}) or its conversation template"
        )
    if cfg.get("env_params") is not None and not isinstance(cfg["env_params"], Mapping):
        problems.append(f"env_params: got {type(cfg['env_params']).__name__}; expected a mapping")
    scripts = uses_scripts(cfg)
    if scripts and cfg.get("env_params") and not cfg.get("env_name"):
        problems.append(
            "env_params: given without env_name; name the environment to build with them "
            "(without env_name the scripts run in the current Python environment)"
        )
    if not scripts:
        problems += [
            f"{k}: only used with internvl_home (the environment InternVL's scripts run in)"
            for k in ("env_name", "env_params")
            if cfg.get(k) not in (None, "", {})
        ]
    if role == "train":
        problems += _both(cfg, ALIASES)
        if isinstance(cfg.get("model"), Mapping) and cfg.get("model_name_or_path"):
            path = cfg["model"].get("path")
            if path and path != cfg["model_name_or_path"]:
                problems.append(
                    "model_name_or_path: differs from model.path; give the model folder once"
                )
    else:
        problems += _both(cfg, EVAL_ALIASES)
    if scripts:
        unused = LIGHTNING_ONLY_TRAIN if role == "train" else LIGHTNING_ONLY_EVALUATE
        problems += [
            f"{k}: not used when internvl_home is set (InternVL's own scripts "
            f"{'train' if role == 'train' else 'evaluate'}); remove it"
            for k in unused
            if cfg.get(k) not in (None, "")
        ]
    elif scale_of(cfg) not in (None, *SIZES):
        problems.append(
            f"conv_style_or_scale: scale {scale_of(cfg)} runs only through InternVL's scripts "
            f"(set internvl_home); the Lightning path has sizes {', '.join(SIZES[1:])}"
        )
    return problems


def _model(cfg: Mapping[str, Any]) -> dict[str, Any] | None:
    """`model` with the reference's model keys folded in (None when neither is set)."""
    if cfg.get("model_name_or_path") is None and cfg.get("conv_style_or_scale") is None:
        return None if cfg.get("model") is None else dict(cfg["model"])
    model = dict(cfg.get("model") or {})
    if cfg.get("model_name_or_path"):
        model["path"] = cfg["model_name_or_path"]
    scale = scale_of(cfg)
    if scale in SIZES and model.get("path"):
        model["size"] = scale
    if cfg.get("conv_style_or_scale") is not None:
        model["template"] = conv_style(cfg["conv_style_or_scale"])
    return model


def _devices(cfg: Mapping[str, Any], gpu_count: Callable[[], int]) -> int | None:
    """GPUs for `num_gpus`, as the reference: fewer here -> all there are; none -> an error."""
    asked = cfg.get("num_gpus")
    if asked is None:
        return None
    have = gpu_count()
    if have <= 0:
        raise ValueError(
            f"num_gpus: {asked} GPU(s) asked, but this machine has none; remove num_gpus to "
            "run on CPU"
        )
    return min(int(asked), have)


def lightning_cfg(
    cfg: Mapping[str, Any], role: str, gpu_count: Callable[[], int]
) -> dict[str, Any]:
    """`cfg` in the Lightning path's keys: reference keys translated, then removed."""
    problems = check_reference(cfg, role)
    if problems:
        raise ValueError("; ".join(problems))
    out = {k: v for k, v in cfg.items() if k not in TRAIN_REFERENCE_KEYS + EVALUATE_REFERENCE_KEYS}
    for ref, ours in (ALIASES if role == "train" else EVAL_ALIASES).items():
        if cfg.get(ref) not in (None, "", []):
            out[ours] = cfg[ref]
    model = _model(cfg)
    if model is not None:
        out["model"] = model
    devices = _devices(cfg, gpu_count)
    if devices is not None and role == "train":
        trainer = dict(cfg.get("trainer") or {})
        trainer.setdefault("accelerator", "gpu")
        trainer.setdefault("devices", devices)
        out["trainer"] = trainer
    return out
