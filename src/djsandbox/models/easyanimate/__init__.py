"""Text-to-video with EasyAnimate: the `easyanimate` trainer (LoRA) and generator, published
with their specs (SPECS). This module must import only the standard library: validation
imports it.

Modules: `settings` (the `model` mapping), `tokenizer` + `tiny` (the tiny model built from a
config), `base` (real weights, or the tiny base pretrained once and cached), `clips` +
`encoding` (clips, cached latents, prompt embeddings), `flow` (the flow-matching loss),
`lora` (peft adapters), `module` (LightningModule), `train`, `prompts` + `generate`;
`reference_keys` + `checks` (the reference's keys, validation), `scripts` (EasyAnimate's own
scripts in their environment).
"""

from __future__ import annotations

from ...registry import ComponentSpec
from .reference_keys import REFERENCE_KEYS

_PKG = "djsandbox.models.easyanimate"
_COMMON = ("model", "seed", "batch_size", "precision", "output_dir", "cpu_threads", "video_root")

TRAIN_KEYS = (
    *_COMMON,
    "dataset_path",
    "trainer",
    "lr",
    "val_ratio",
    "max_epochs",
    "max_steps",
    "max_train_rows",
    "accumulate_grad_batches",
    "num_workers",
    "tracker_project",
    "tracker_experiment",
    *REFERENCE_KEYS,
)
INFER_KEYS = (
    *_COMMON,
    "checkpoint",
    "prompts_path",
    "split",
    "max_prompts",
    "video_num_per_prompt",
    "num_inference_steps",
    "guidance_scale",
    "num_gpus",
    "fps",
    *REFERENCE_KEYS,
)

SPECS = (
    ComponentSpec(
        "ModelTrainExecutor",
        "easyanimate",
        f"{_PKG}.train:run_train",
        "LoRA fine-tuning of EasyAnimate's transformer (tiny base pretrained on CPU and "
        "cached, or diffusers weights at model.path) per dataset, or with env_name "
        "EasyAnimate's own train_lora.sh; returns (LoRA folder, metrics)",
        results=2,
        keys=TRAIN_KEYS,
        check=f"{_PKG}.checks:check_train",
    ),
    ComponentSpec(
        "ModelInferExecutor",
        "easyanimate",
        f"{_PKG}.generate:run_infer",
        "generate video_num_per_prompt clips per prompt with a LoRA (MP4s named as VBench's "
        "custom input, plus a Data-Juicer JSONL); returns (videos folder, generated JSONL)",
        results=2,
        keys=INFER_KEYS,
        check=f"{_PKG}.checks:check_infer",
    ),
)
