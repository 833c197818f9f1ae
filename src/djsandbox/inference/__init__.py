"""Model inference executors (huggingface, vllm, api), the huggingface/modelscope trainers and the
modelscope inference evaluator, published to the catalog through ENTRIES.

ENTRIES: {factory: {type: {"target", "summary", "results", "keys", "required", "check"}}}.
This module must import only the standard library: validation imports it (the key lists come
from submodules that import torch/transformers/openai only inside their functions).
"""

from __future__ import annotations

from typing import Any

from . import api, huggingface, modelscope_eval, vllm
from .checks import TRAIN_KEYS
from .rows import COMMON_KEYS

_CHECKS = "djsandbox.inference.checks"

ENTRIES: dict[str, dict[str, dict[str, Any]]] = {
    "ModelInferExecutor": {
        "huggingface": {
            "target": "djsandbox.inference.huggingface:run",
            "summary": "transformers generate() over a local causal LM (chat template, batches); "
                       "returns the export path(s)",
            "results": 1, "keys": COMMON_KEYS + huggingface.KEYS, "required": ("dataset_path",),
            "check": f"{_CHECKS}:check_huggingface"},
        "vllm": {
            "target": "djsandbox.inference.vllm:run",
            "summary": "vLLM chat generation (needs the vllm extra and a CUDA GPU); returns the "
                       "export path(s)",
            "results": 1, "keys": COMMON_KEYS + vllm.KEYS, "required": ("dataset_path",),
            "check": f"{_CHECKS}:check_vllm"},
        "api": {
            "target": "djsandbox.inference.api:run",
            "summary": "any OpenAI-compatible endpoint, concurrent, retried, failed rows "
                       "recorded; returns (export path(s), {rows, ok, failed})",
            "results": 2, "keys": COMMON_KEYS + api.KEYS, "required": ("dataset_path",),
            "check": f"{_CHECKS}:check_api"},
    },
    "ModelTrainExecutor": {
        "huggingface": {
            "target": "djsandbox.models.causal_lm:run",
            "summary": "Lightning fine-tuning of a causal LM (model_path or a tiny one built "
                       "offline), full or LoRA (merged); returns (checkpoint, metrics)",
            "results": 2, "keys": TRAIN_KEYS, "required": ("dataset_path",),
            "check": f"{_CHECKS}:check_hf_train"},
        "modelscope": {
            "target": "djsandbox.models.modelscope_train:run",
            "summary": "a ModelScope trainer by name (needs the modelscope extra); other keys "
                       "override its config; returns the work dir",
            "results": 1, "keys": None, "required": ("model_name", "trainer_name"),
            "check": f"{_CHECKS}:check_modelscope_train"},
    },
    "ModelInferEvaluator": {
        "modelscope": {
            "target": "djsandbox.inference.modelscope_eval:run",
            "summary": "a ModelScope pipeline over a dataset's texts (needs the modelscope "
                       "extra); returns the export path",
            "results": 1, "keys": modelscope_eval.KEYS, "required": ("dataset_path", "task"),
            "check": f"{_CHECKS}:check_modelscope_eval"},
    },
}
