"""The `vllm` ModelInferExecutor: batched chat generation with vLLM on a CUDA GPU.

All requests of a dataset go to `LLM.chat` at once (vLLM schedules them itself), with
`generation` as `SamplingParams` (e.g. max_tokens, temperature, top_p). `model_params` go to
`vllm.LLM` (tensor_parallel_size defaults to the number of visible GPUs). Returns the export
path(s), shaped like `dataset_path`. Without the `vllm` package or a GPU it stops with a clear
error before loading anything.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from ..registry import ComponentSpec
from .messages import Messages
from .rows import COMMON_KEYS, LOCAL_MODEL_ALIASES, RowSpec, canonical, run_datasets

KEYS = ("model_path", "model", "model_params")

SPECS = (
    ComponentSpec(
        "ModelInferExecutor",
        "vllm",
        f"{__name__}:run",
        "vLLM chat generation (needs the vllm extra and a CUDA GPU); returns the export path(s)",
        results=1,
        keys=COMMON_KEYS + KEYS,
        required=("dataset_path",),
        check="djsandbox.inference.checks:check_vllm",
    ),
)
GENERATION_DEFAULTS: dict[str, Any] = {"max_tokens": 256, "temperature": 0.0}
NEEDS = (
    "vllm needs the `vllm` extra and a CUDA GPU; install it with "
    "pip install 'djsandbox[vllm]' on a machine with an NVIDIA GPU, or use "
    "type: huggingface (CPU or GPU) or type: api (any OpenAI-compatible server)"
)


def missing_vllm() -> str | None:
    """Why vLLM cannot run here, cheaply (no import), or None."""
    if importlib.util.find_spec("vllm") is None:
        return f"{NEEDS} (the vllm package is not installed)"
    return None


def run(cfg: dict[str, Any], out_dir: Path) -> Any:
    """Answer every row of `dataset_path` with vLLM; the export path(s)."""
    cfg = canonical(cfg, LOCAL_MODEL_ALIASES)
    spec = RowSpec.from_cfg(cfg)
    llm, sampling = load(cfg)

    def generate(requests: list[Messages]) -> list[str | BaseException]:
        outputs = llm.chat(requests, sampling, use_tqdm=False)
        return [o.outputs[0].text for o in outputs]

    paths, _ = run_datasets(cfg, out_dir, generate, spec)
    return paths


def load(cfg: dict[str, Any]) -> tuple[Any, Any]:
    """(vllm.LLM, SamplingParams) for the config; clear errors for what is missing."""
    problem = missing_vllm()
    if problem:
        raise RuntimeError(problem)
    import torch

    if not torch.cuda.is_available():
        raise RuntimeError(f"{NEEDS} (no CUDA GPU is visible to torch)")
    if not cfg.get("model_path"):
        raise ValueError(
            "model_path: missing; expected a local model folder or a hub id in the local cache"
        )
    model_params = dict(cfg.get("model_params") or {})
    model_params.setdefault("tensor_parallel_size", torch.cuda.device_count())
    generation = {**GENERATION_DEFAULTS, **dict(cfg.get("generation") or {})}
    if "max_new_tokens" in generation:  # the huggingface executor's spelling
        generation["max_tokens"] = generation.pop("max_new_tokens")
    import vllm

    try:
        sampling = vllm.SamplingParams(**generation)
    except TypeError as exc:
        raise ValueError(f"generation: {exc}; keys must be vllm.SamplingParams arguments") from None
    return vllm.LLM(model=str(cfg["model_path"]), **model_params), sampling
