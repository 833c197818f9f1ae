"""The reference DJ-Sandbox's EasyAnimate keys, mapped onto the trainer's and generator's own.

Configs written for the reference nest their settings under `train:` (`model_path`,
`dataset_path`, `training_config`, `infer_config`, `saving_config`, `tracker_config`) and run
EasyAnimate's own scripts (`train_lora.sh`, `infer_lora.sh` of Data-Juicer's
`thirdparty/models/EasyAnimate`) in an environment (`env_name`, `env_manager`, `env_params`).
With `env_name` or `easyanimate_home` those scripts run (`scripts.py`); otherwise the nested
keys are translated here into the in-process path's flat keys, so one config works both ways.

Stdlib only: validation imports it through `checks`.
"""

from __future__ import annotations

from typing import Any, Mapping

ENV_KEYS = ("easyanimate_home", "env_name", "env_manager", "env_params")
LABEL_KEYS = ("model_name", "trainer_name", "infer_name")  # the reference's labels: unused
REFERENCE_KEYS = ("train", *LABEL_KEYS, *ENV_KEYS)
DEFAULT_HOME = "thirdparty/models/EasyAnimate"  # the reference's, under the working directory

# section -> {reference key: our key}; "model." keys go into the `model` mapping
TRAIN_MAP = {
    "model_path": {
        "pretrained_model_name_or_path": "model.path",
        "transformer_path": "model.transformer_path",
    },
    "dataset_path": {"dataset_name": "video_root", "dataset_meta_name": "dataset_path"},
    "training_config": {
        "sample_size": "model.sample_size",
        "mixed_precision": "precision",
        "batch_size_per_gpu": "batch_size",
        "gradient_accumulation_steps": "accumulate_grad_batches",
        "num_train_epochs": "max_epochs",
        "dataloader_num_workers": "num_workers",
        "seed": "seed",
    },
    "saving_config": {"output_dir": "output_dir"},
    "tracker_config": {"project_name": "tracker_project", "experiment_name": "tracker_experiment"},
}
INFER_MAP = {
    "model_path": {
        "pretrained_model_name_or_path": "model.path",
        "transformer_path": "model.transformer_path",
        "lora_path": "checkpoint",
    },
    "infer_config": {
        "image_size": "model.sample_size",
        "prompt_info_path": "prompts_path",
        "gpu_num": "num_gpus",
        "batch_size": "batch_size",
        "mixed_precision": "precision",
        "video_num_per_prompt": "video_num_per_prompt",
        "seed": "seed",
    },
    "saving_config": {"output_video_dir": "output_dir"},
}
PRECISIONS = ("no", "fp32", "bf16", "fp16")


def uses_scripts(cfg: Mapping[str, Any]) -> bool:
    """True when EasyAnimate's own scripts run (the reference's way): an environment or an
    EasyAnimate home is named."""
    return any(cfg.get(k) not in (None, "") for k in ("env_name", "easyanimate_home"))


def _map(role: str) -> dict[str, dict[str, str]]:
    return TRAIN_MAP if role == "train" else INFER_MAP


def check_reference(cfg: Mapping[str, Any], role: str) -> list[str]:
    """Problems with the nested `train:` mapping of a trainer (`role` "train") or generator."""
    section = cfg.get("train")
    if section is None:
        return []
    if not isinstance(section, Mapping):
        return [f"train: got {type(section).__name__}; expected the reference's mapping"]
    problems = []
    table = _map(role)
    for name, value in section.items():
        if name not in table:
            problems.append(f"train.{name}: unknown section; valid: {', '.join(table)}")
            continue
        if value is None:
            continue
        if not isinstance(value, Mapping):
            problems.append(f"train.{name}: got {type(value).__name__}; expected a mapping")
            continue
        problems += [
            f"train.{name}.{k}: unknown key; valid: {', '.join(table[name])}"
            for k in value
            if k not in table[name]
        ]
    precision = flat(cfg, role).get("precision")
    if precision is not None and precision not in PRECISIONS:
        problems.append(
            f"train.{'training' if role == 'train' else 'infer'}_config.mixed_precision: got "
            f"{precision!r}; expected one of {', '.join(PRECISIONS)}"
        )
    return problems


def flat(cfg: Mapping[str, Any], role: str) -> dict[str, Any]:
    """The nested reference values as our flat keys ("model.x" kept dotted)."""
    out: dict[str, Any] = {}
    section = cfg.get("train")
    if not isinstance(section, Mapping):
        return out
    for name, keys in _map(role).items():
        values = section.get(name)
        if not isinstance(values, Mapping):
            continue
        for ref, ours in keys.items():
            if values.get(ref) not in (None, ""):
                out[ours] = values[ref]
    return out


def in_process_cfg(cfg: Mapping[str, Any], role: str) -> dict[str, Any]:
    """`cfg` in the in-process path's keys: reference keys translated (a value given both ways
    must agree), then removed."""
    problems = check_reference(cfg, role)
    out = {k: v for k, v in cfg.items() if k not in REFERENCE_KEYS}
    model = dict(out.get("model") or {})
    for key, value in flat(cfg, role).items():
        if key.startswith("model."):
            name = key.split(".", 1)[1]
            if model.get(name) not in (None, value):
                problems.append(
                    f"train: {key} {value!r} differs from {model[name]!r}; give it once"
                )
            model[name] = value
        elif out.get(key) not in (None, "", value):
            problems.append(
                f"train: {key} {value!r} differs from {key}: {out[key]!r}; give it once"
            )
        else:
            out[key] = value
    if problems:
        raise ValueError("; ".join(problems))
    if model:
        out["model"] = model
    return out
