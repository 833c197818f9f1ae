"""Image captioning on Lightning: the `internvl_coco_caption` trainer and evaluator, published
with their specs (SPECS).
This module must import only the standard library: validation imports it.

Modules: `settings` (the `model` mapping, defaults per size), `templates` (InternVL2 chat
templates), `checks` (validation), `images`, `tokenizer`, `data` (meta/JSONL -> samples),
`adapter` + `loaders` (tiny / HF-format / InternVL2 remote-code models behind one interface),
`cpu` (thread limits), `module` (LightningModule), `train`, `metrics` (pycocoevalcap), `evaluate`.
"""

from __future__ import annotations

from ...registry import ComponentSpec

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
)
EVALUATE_KEYS = (
    "checkpoint",
    "dataset_path",
    "image_root",
    "prompt",
    "model",
    "batch_size",
    "max_new_tokens",
    "num_beams",
    "max_rows",
    "predictions_path",
    "cpu_threads",
)

SPECS = (
    ComponentSpec(
        "ModelTrainExecutor",
        "internvl_coco_caption",
        f"{_PKG}.train:run_train",
        "fine-tune an InternVL captioner (tiny on CPU, or InternVL2 1B-26B weights at "
        "model.path, LoRA on the LM) per meta file; returns (checkpoint, metrics)",
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
        required=("checkpoint", "dataset_path"),
        check=f"{_PKG}.checks:check_evaluate",
    ),
)
