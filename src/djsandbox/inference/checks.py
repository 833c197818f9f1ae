"""Validation-time checks of the model components' configs: cheap, stdlib only, no model loaded.

Each `check_*(cfg) -> ["key: problem", ...]` sees only values known before the run (values fed
by `input` or `${...}` are absent). What needs the model, a GPU or the network waits for the run.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from ..models.modelscope_train import missing_modelscope
from ..models.tiny_lm import tiny_settings
from . import api, messages
from .rows import FILE_SUFFIXES, LOCAL_MODEL_ALIASES, canonical
from .vllm import missing_vllm

TRAIN_KEYS = ("dataset_path", "model_path", "tiny_model", "lora", "text_key", "prompt_key",
              "response_key", "max_seq_length", "batch_size", "lr", "weight_decay",
              "warmup_ratio", "val_ratio", "seed", "trainer")
LORA_KEYS = ("r", "alpha", "dropout", "target_modules")


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or type(value).__name__ == "ListConfig"


def _is_map(value: Any) -> bool:
    return isinstance(value, Mapping) or type(value).__name__ == "DictConfig"


def _number(cfg: Mapping[str, Any], key: str, kind: type, low: float,
            high: float = float("inf")) -> list[str]:
    value = cfg.get(key)
    if value is None:
        return []
    ok = not isinstance(value, bool) and isinstance(value, (int, float) if kind is float else int)
    if ok and low <= value <= high:
        return []
    what = "an integer" if kind is int else "a number"
    return [f"{key}: got {value!r}; expected {what} in [{low}, {high}]"]


def _strings(cfg: Mapping[str, Any], *keys: str) -> list[str]:
    return [f"{k}: got {cfg[k]!r}; expected a non-empty string" for k in keys
            if cfg.get(k) is not None and (not isinstance(cfg[k], str) or not cfg[k])]


def _maps(cfg: Mapping[str, Any], *keys: str) -> list[str]:
    return [f"{k}: got {type(cfg[k]).__name__}; expected a mapping" for k in keys
            if cfg.get(k) is not None and not _is_map(cfg[k])]


def _datasets(cfg: Mapping[str, Any], key: str = "dataset_path") -> list[str]:
    value = cfg.get(key)
    if value is None or (isinstance(value, str) and value) or (
            (_is_list(value) or _is_map(value)) and len(value)):
        return []
    return [f"{key}: got {value!r}; expected a dataset path, or a non-empty list or mapping "
            "of them"]


def _canonical(cfg: Mapping[str, Any], aliases: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    try:
        return canonical(dict(cfg), aliases), []
    except ValueError as exc:
        return dict(cfg), [str(exc)]


def _common_infer(cfg: dict[str, Any]) -> list[str]:
    problems = [p for key, default in (("build_messages_fn", messages.DEFAULT_BUILD),
                                       ("parse_output_fn", messages.DEFAULT_PARSE))
                if (p := messages.name_problem(cfg.get(key, default), key))]
    problems += _datasets(cfg) + _number(cfg, "max_rows", int, 1)
    problems += _strings(cfg, "export_path", "infer_res_key", "prompt_key", "text_key",
                         "system_prompt")
    problems += _maps(cfg, "generation", "func_kwargs")
    export, data = cfg.get("export_path"), cfg.get("dataset_path")
    if isinstance(export, str) and export.endswith(FILE_SUFFIXES) and (
            _is_list(data) or _is_map(data)):
        problems.append(f"export_path: {export!r} names a file, but dataset_path holds several "
                        "datasets; give a folder")
    return problems


def _model_path(cfg: Mapping[str, Any]) -> list[str]:
    if cfg.get("model_path") in (None, ""):
        return ["model_path: missing; expected a local model folder written by save_pretrained"]
    return _strings(cfg, "model_path")


def check_huggingface(cfg: dict[str, Any]) -> list[str]:
    cfg, problems = _canonical(cfg, LOCAL_MODEL_ALIASES)
    problems += _common_infer(cfg) + _model_path(cfg) + _maps(cfg, "model_params")
    problems += _number(cfg, "batch_size", int, 1) + _number(cfg, "seed", int, 0)
    device = cfg.get("device")
    if device is not None and (not isinstance(device, str)
                               or device.split(":")[0] not in ("cpu", "cuda", "mps")):
        problems.append(f"device: got {device!r}; expected 'cpu', 'cuda', 'cuda:N' or 'mps'")
    return problems


def check_vllm(cfg: dict[str, Any]) -> list[str]:
    cfg, problems = _canonical(cfg, LOCAL_MODEL_ALIASES)
    if (why := missing_vllm()):
        problems.append(f"type: {why}")
    return problems + _common_infer(cfg) + _model_path(cfg) + _maps(cfg, "model_params")


def check_api(cfg: dict[str, Any], environ: Mapping[str, str] | None = None) -> list[str]:
    cfg, problems = _canonical(cfg, api.API_ALIASES)
    problems += _common_infer(cfg)
    if not cfg.get("model"):
        problems.append("model: missing; expected the model name the server serves")
    problems += api.missing_credentials(cfg, os.environ if environ is None else environ)
    problems += _strings(cfg, "model", "base_url", "api_key")
    problems += _number(cfg, "concurrency", int, 1) + _number(cfg, "max_retries", int, 0)
    problems += _number(cfg, "retry_backoff", float, 0) + _number(cfg, "request_timeout", float, 0.001)
    return problems


def check_hf_train(cfg: dict[str, Any]) -> list[str]:
    problems = _datasets(cfg) + _strings(cfg, "model_path", "text_key", "prompt_key",
                                         "response_key") + _maps(cfg, "trainer")
    if bool(cfg.get("prompt_key")) != bool(cfg.get("response_key")):
        problems.append("prompt_key: give both prompt_key and response_key (prompt masked "
                        "from the loss) or neither (text_key)")
    if cfg.get("tiny_model") is not None:
        if cfg.get("model_path"):
            problems.append("tiny_model: ignored when model_path is set; give one of them")
        try:
            tiny_settings(cfg["tiny_model"])
        except ValueError as exc:
            problems.append(str(exc))
    lora = cfg.get("lora")
    if lora is not None and not isinstance(lora, bool):
        if not _is_map(lora) or set(lora) - set(LORA_KEYS):
            problems.append(f"lora: got {lora!r}; expected true/false or a mapping with keys "
                            f"among {', '.join(LORA_KEYS)}")
    for key, kind, low, high in (("max_seq_length", int, 2, float("inf")),
                                 ("batch_size", int, 1, float("inf")), ("lr", float, 0, 10),
                                 ("weight_decay", float, 0, 10), ("warmup_ratio", float, 0, 1),
                                 ("val_ratio", float, 0, 0.9), ("seed", int, 0, 2 ** 32 - 1)):
        problems += _number(cfg, key, kind, low, high)
    return problems


def check_modelscope_train(cfg: dict[str, Any]) -> list[str]:
    problems = [f"type: {why}"] if (why := missing_modelscope()) else []
    problems += _strings(cfg, "model_name", "trainer_name", "work_dir") + _maps(cfg, "key_remapping")
    return problems


def check_modelscope_eval(cfg: dict[str, Any]) -> list[str]:
    problems = [f"type: {why}"] if (why := missing_modelscope()) else []
    if not (cfg.get("model_name") or cfg.get("model_path")):
        problems.append("model_name: missing; give model_name (or model_path) and task")
    problems += _strings(cfg, "model_name", "model_path", "task", "dataset_path", "text_key",
                         "export_path", "infer_res_key") + _maps(cfg, "model_params")
    return problems + _number(cfg, "max_rows", int, 1)

