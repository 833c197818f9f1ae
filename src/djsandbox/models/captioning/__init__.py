"""Image captioning on Lightning: the `internvl_coco_caption` trainer and evaluator, published
with their specs (SPECS).
This module must import only the standard library: validation imports it.

Modules: `settings` (the `model` mapping, defaults per size), `templates` (InternVL2 chat
templates), `checks` (validation), `images`, `tokenizer`, `data` (meta/JSONL -> samples),
`adapter` + `loaders` (tiny / HF-format / InternVL2 remote-code models behind one interface),
`cpu` (thread limits), `module` (LightningModule), `train`, `metrics` (pycocoevalcap), `evaluate`;
`reference_keys` (the reference's keys), `internvl_scripts` + `internvl_logs` (InternVL's own
scripts, run in their environment when `internvl_home` is set).
"""

from __future__ import annotations

from ...registry import ComponentSpec
from .reference_keys import (
    EVALUATE_REFERENCE_KEYS,
    LIGHTNING_ONLY_EVALUATE,
    TRAIN_REFERENCE_KEYS,
)

_PKG = "djsandbox.models.captioning"

TRAIN_KEYS = (
    "meta_path",
    "dataset_path",
    "image_root",
    "prompt",
    "model",
    "trainer",
    "batch_size",
    "lr",
    "weight_decay",
    "warmup_ratio",
    "val_ratio",
    "seed",
    "max_epochs",
    "max_steps",
    "max_train_rows",
    "num_workers",
    "tokenizer_vocab_size",
    "cpu_threads",
    *TRAIN_REFERENCE_KEYS,
)
EVALUATE_KEYS = ("checkpoint", *LIGHTNING_ONLY_EVALUATE, *EVALUATE_REFERENCE_KEYS)

SPECS = (
    ComponentSpec(
        "ModelTrainExecutor",
        "internvl_coco_caption",
        f"{_PKG}.train:run_train",
        "fine-tune an InternVL captioner (tiny on CPU, or InternVL2 1B-26B weights at "
        "model.path, LoRA on the LM) per meta file, or with internvl_home InternVL's own "
        "script; returns (checkpoint, metrics)",
        results=2,
        keys=TRAIN_KEYS,
        required=(),  # meta_path or dataset_path, checked when the job runs
        check=f"{_PKG}.checks:check_train",
    ),
    ComponentSpec(
        "ModelEvaluator",
        "internvl_coco_caption",
        f"{_PKG}.evaluate:run_evaluate",
        "caption a test split with each checkpoint; BLEU-1..4, METEOR, ROUGE_L, "
        "CIDEr (pycocoevalcap), avg_score and caption_score",
        keys=EVALUATE_KEYS,
        # the reference's ckpt_paths will do; InternVL's evaluate.sh has its own test split
        required=("checkpoint|ckpt_paths", "dataset_path|internvl_home"),
        check=f"{_PKG}.checks:check_evaluate",
    ),
)
