"""Validation-time checks of the inference executors' configs: cheap, stdlib only, no model
loaded.

Each `check_*(cfg) -> ["key: problem", ...]` sees only values known before the run (values fed
by `input` or `${...}` are absent). What needs the model, a GPU or the network waits for the run.
"""

from __future__ import annotations

import os
from typing import Any, Mapping

from ..shapes import is_list, is_mapping
from ..value_checks import datasets, mappings, number, strings
from . import api, messages
from .rows import FILE_SUFFIXES, LOCAL_MODEL_ALIASES, canonical
from .vllm import missing_vllm


def _canonical(cfg: Mapping[str, Any], aliases: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    try:
        return canonical(dict(cfg), aliases), []
    except ValueError as exc:
        return dict(cfg), [str(exc)]


def _common_infer(cfg: dict[str, Any]) -> list[str]:
    problems = [
        p
        for key, default in (
            ("build_messages_fn", messages.DEFAULT_BUILD),
            ("parse_output_fn", messages.DEFAULT_PARSE),
        )
        if (p := messages.name_problem(cfg.get(key, default), key))
    ]
    problems += datasets(cfg) + number(cfg, "max_rows", int, 1)
    problems += strings(
        cfg, "export_path", "infer_res_key", "prompt_key", "text_key", "system_prompt"
    )
    problems += mappings(cfg, "generation", "func_kwargs")
    export, data = cfg.get("export_path"), cfg.get("dataset_path")
    if (
        isinstance(export, str)
        and export.endswith(FILE_SUFFIXES)
        and (is_list(data) or is_mapping(data))
    ):
        problems.append(
            f"export_path: {export!r} names a file, but dataset_path holds several "
            "datasets; give a folder"
        )
    return problems


def _model_path(cfg: Mapping[str, Any]) -> list[str]:
    if cfg.get("model_path") in (None, ""):
        return ["model_path: missing; expected a local model folder written by save_pretrained"]
    return strings(cfg, "model_path")


def check_huggingface(cfg: dict[str, Any]) -> list[str]:
    cfg, problems = _canonical(cfg, LOCAL_MODEL_ALIASES)
    problems += _common_infer(cfg) + _model_path(cfg) + mappings(cfg, "model_params")
    problems += number(cfg, "batch_size", int, 1) + number(cfg, "seed", int, 0)
    device = cfg.get("device")
    if device is not None and (
        not isinstance(device, str) or device.split(":")[0] not in ("cpu", "cuda", "mps")
    ):
        problems.append(f"device: got {device!r}; expected 'cpu', 'cuda', 'cuda:N' or 'mps'")
    return problems


def check_vllm(cfg: dict[str, Any]) -> list[str]:
    cfg, problems = _canonical(cfg, LOCAL_MODEL_ALIASES)
    if why := missing_vllm():
        problems.append(f"type: {why}")
    return problems + _common_infer(cfg) + _model_path(cfg) + mappings(cfg, "model_params")


def check_api(cfg: dict[str, Any], environ: Mapping[str, str] | None = None) -> list[str]:
    cfg, problems = _canonical(cfg, api.API_ALIASES)
    problems += _common_infer(cfg)
    if not cfg.get("model"):
        problems.append("model: missing; expected the model name the server serves")
    problems += api.missing_credentials(cfg, os.environ if environ is None else environ)
    problems += strings(cfg, "model", "base_url", "api_key")
    problems += number(cfg, "concurrency", int, 1) + number(cfg, "max_retries", int, 0)
    problems += number(cfg, "retry_backoff", float, 0) + number(
        cfg, "request_timeout", float, 0.001
    )
    return problems
