"""Trainers and model evaluators (LightningModules and the functions the hooks call).

The specs of the single-module components are here, because their modules import torch and
lightning at the top; packages (`captioning/`) keep their specs in their own `__init__`.
"""

from __future__ import annotations

from ..registry import ComponentSpec
from .checks import TRAIN_KEYS

_CLASSIFIER_DATA_KEYS = ("dataset_path", "text_key", "label_key")

SPECS = (
    ComponentSpec(
        "ModelTrainExecutor",
        "text_classifier",
        "djsandbox.models.text_classifier:run_train",
        "Lightning EmbeddingBag text classifier (CPU, seconds), best validation epoch kept; "
        "`seeds: [..]` trains one per seed; returns (checkpoint, metrics)",
        results=2,
        keys=_CLASSIFIER_DATA_KEYS
        + (
            "val_ratio",
            "val_from",
            "seed",
            "seeds",
            "max_epochs",
            "batch_size",
            "lr",
            "embed_dim",
            "dropout",
            "weight_decay",
            "max_vocab",
            "min_count",
            "ngram_buckets",
            "num_workers",
            "trainer",
            "enable_progress_bar",
        ),
        required=("dataset_path",),
        check="djsandbox.models.text_classifier_checks:check_train",
    ),
    ComponentSpec(
        "ModelEvaluator",
        "text_classifier",
        "djsandbox.models.text_classifier:run_evaluate",
        "accuracy and macro-F1 of a text_classifier checkpoint on a labelled set (mean, std "
        "and 95% interval over seeds for a seeds manifest)",
        keys=_CLASSIFIER_DATA_KEYS + ("checkpoint", "predictions_path", "predicted_label_key"),
        required=("checkpoint", "dataset_path"),
    ),
    ComponentSpec(
        "ModelTrainExecutor",
        "huggingface",
        "djsandbox.models.causal_lm:run",
        "Lightning fine-tuning of a causal LM (model_path or a tiny one built "
        "offline), full or LoRA (merged); returns (checkpoint, metrics)",
        results=2,
        keys=TRAIN_KEYS,
        required=("dataset_path",),
        check="djsandbox.models.checks:check_hf_train",
    ),
    ComponentSpec(
        "ModelTrainExecutor",
        "modelscope",
        "djsandbox.models.modelscope_train:run",
        "a ModelScope trainer by name (a local model folder or a cached model id); other keys "
        "override its config; returns the work dir",
        keys=None,
        required=("model_name", "trainer_name"),
        check="djsandbox.models.checks:check_modelscope_train",
    ),
)
