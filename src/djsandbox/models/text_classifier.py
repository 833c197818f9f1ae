"""A fastText-style text classifier and the train/evaluate entry points the sandbox calls.

It is the demo's "model feedback": small enough to train on CPU in seconds, yet sensitive to
the data a recipe keeps, so the sandbox can rank recipes by the model they produce. The saved
checkpoint carries the vocabulary and label names, so evaluation needs nothing else.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any, Mapping

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from djsandbox.evaluation.data_evaluators import macro_f1
from djsandbox.models.lightning_trainer import log_interval, make_trainer
from djsandbox.models.text_data import (
    UNKNOWN_LABEL,
    EncodedTextDataset,
    TextClassificationDataModule,
    Tokenizer,
    collate_bags,
    read_labelled_jsonl,
)
from djsandbox.models.text_seeds import evaluate_seeds, is_manifest, seed_ensemble
from djsandbox.shapes import map_structure, split_pairs

CHECKPOINT_NAME = "model.ckpt"
DEFAULT_LR = 0.02


class TextClassifier(L.LightningModule):
    """Mean of word/bigram embeddings -> dropout -> linear layer, trained with AdamW.

    The tokenizer state rides in the checkpoint through ``on_save_checkpoint`` rather than in
    the hyperparameters, so the (large) vocabulary is not also written to the logger's
    ``hparams.yaml``.
    """

    def __init__(
        self,
        vocab_size: int,
        label_names: list[str],
        embed_dim: int = 64,
        dropout: float = 0.2,
        lr: float = DEFAULT_LR,
        weight_decay: float = 0.0,
        tokenizer_state: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["tokenizer_state"])
        self.tokenizer_state = tokenizer_state
        self.label_names = list(label_names)
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, mode="mean")
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(embed_dim, len(self.label_names))
        nn.init.uniform_(self.embedding.weight, -0.1, 0.1)
        self._val_preds: list[torch.Tensor] = []
        self._val_targets: list[torch.Tensor] = []

    def forward(self, ids: torch.Tensor, offsets: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.embedding(ids, offsets)))

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        logits = self(batch["ids"], batch["offsets"])
        loss = nn.functional.cross_entropy(logits, batch["labels"])
        self.log("train/loss", loss, on_step=True, on_epoch=True, batch_size=len(batch["labels"]))
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        logits = self(batch["ids"], batch["offsets"])
        # Rows of unseen labels (only possible outside training) are ignored by the loss but
        # still count as errors in accuracy and F1.
        loss = nn.functional.cross_entropy(logits, batch["labels"], ignore_index=UNKNOWN_LABEL)
        self.log("val/loss", loss, on_epoch=True, batch_size=len(batch["labels"]))
        self._val_preds.append(logits.argmax(dim=1).cpu())
        self._val_targets.append(batch["labels"].cpu())

    def on_validation_epoch_end(self) -> None:
        # Macro-F1 is not an average of per-batch values, so it is computed over the whole epoch.
        if not self._val_preds:
            return
        preds = torch.cat(self._val_preds).numpy()
        targets = torch.cat(self._val_targets).numpy()
        self._val_preds.clear()
        self._val_targets.clear()
        self.log("val/accuracy", float(np.mean(preds == targets)))
        self.log("val/macro_f1", macro_f1(targets, preds))

    def configure_optimizers(self) -> torch.optim.Optimizer:
        # fused: one kernel over the large embedding table, about 5x faster per CPU step than the
        # default loop and numerically the same. Lightning cannot clip the gradients of a fused
        # optimizer under mixed precision (e.g. trainer=gpu: bf16-mixed, gradient_clip_val 1.0):
        # the default loop then.
        trainer = self._trainer
        clips_mixed = (
            trainer is not None
            and "mixed" in str(trainer.precision)
            and bool(trainer.gradient_clip_val)
        )
        return torch.optim.AdamW(
            self.parameters(),
            lr=self.hparams.lr,
            weight_decay=self.hparams.weight_decay,
            fused=not clips_mixed,
        )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        checkpoint["djsandbox_tokenizer"] = self.tokenizer_state

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        self.tokenizer_state = checkpoint.get("djsandbox_tokenizer")

    @property
    def tokenizer(self) -> Tokenizer:
        if self.tokenizer_state is None:
            raise ValueError(
                "this model carries no tokenizer; was it saved by train_text_classifier?"
            )
        return Tokenizer.from_dict(self.tokenizer_state)

    @torch.no_grad()
    def predict_ids(self, dataset: EncodedTextDataset, batch_size: int = 256) -> np.ndarray:
        """Predicted label ids for every row, in order (eval mode, no Trainer needed)."""
        was_training = self.training
        self.eval()
        out = []
        for batch in DataLoader(
            dataset, batch_size=batch_size, shuffle=False, collate_fn=collate_bags
        ):
            out.append(self(batch["ids"], batch["offsets"]).argmax(dim=1))
        self.train(was_training)
        return torch.cat(out).numpy() if out else np.zeros(0, dtype=np.int64)


def _scores(
    pred_ids: np.ndarray, target_ids: np.ndarray, label_names: list[str], true_names: list[str]
) -> dict:
    """Accuracy and macro-F1 over label names (unseen true labels can never match)."""
    pred_names = [label_names[i] for i in pred_ids]
    accuracy = float(np.mean(pred_ids == target_ids)) if len(target_ids) else float("nan")
    return {
        "accuracy": accuracy,
        "macro_f1": macro_f1(true_names, pred_names),
        "pred_names": pred_names,
    }


def _require(cfg: dict, key: str) -> Any:
    if cfg.get(key) in (None, ""):
        raise ValueError(f"config key {key!r} is required")
    return cfg[key]


def _datamodule(cfg: dict) -> TextClassificationDataModule:
    dm = TextClassificationDataModule(
        train_path=_require(cfg, "dataset_path"),
        text_key=cfg.get("text_key", "text"),
        label_key=cfg.get("label_key", "label"),
        val_ratio=float(cfg.get("val_ratio", 0.1)),
        seed=int(cfg.get("seed", 42)),
        batch_size=int(cfg.get("batch_size", 64)),
        max_vocab=int(cfg.get("max_vocab", 20000)),
        min_count=int(cfg.get("min_count", 1)),
        ngram_buckets=int(cfg.get("ngram_buckets", 2**16)),
        num_workers=int(cfg.get("num_workers", 0)),
        val_from=cfg.get("val_from"),
    )
    dm.setup("fit")
    return dm


def _keep_best(model: TextClassifier, callback: Any) -> int | None:
    """Load the best validation epoch's weights into `model`; its 1-based epoch (None when
    Lightning saved none, e.g. under fast_dev_run)."""
    path = getattr(callback, "best_model_path", "") if callback is not None else ""
    if not path or not Path(path).is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(state["state_dict"])
    return int(state["epoch"]) + 1


def _fit_one(cfg: dict, dm: TextClassificationDataModule, seed: int, out_dir: Path) -> dict:
    """Train one model (initialisation and batch order from `seed`) on the datamodule's split,
    keep the epoch with the best validation accuracy, save `out_dir/model.ckpt`."""
    from lightning.pytorch.callbacks import ModelCheckpoint

    out_dir.mkdir(parents=True, exist_ok=True)
    L.seed_everything(seed, workers=True, verbose=False)
    dm.shuffle_seed = seed
    assert dm.tokenizer is not None and dm.train_set is not None and dm.val_set is not None
    model = TextClassifier(
        vocab_size=dm.tokenizer.num_ids,
        label_names=dm.label_names,
        embed_dim=int(cfg.get("embed_dim", 64)),
        dropout=float(cfg.get("dropout", 0.2)),
        lr=float(cfg.get("lr", DEFAULT_LR)),
        weight_decay=float(cfg.get("weight_decay", 0.0)),
        tokenizer_state=dm.tokenizer.to_dict(),
    )
    has_val = len(dm.val_set) > 0
    # Settings: the classifier's defaults <- the `trainer` group (extra_configs.trainer) <- its
    # own max_epochs and, without a validation split, no validation batches.
    overrides: dict[str, Any] = (
        {"max_epochs": int(cfg["max_epochs"])} if cfg.get("max_epochs") is not None else {}
    )
    best, scratch = None, None
    if has_val:
        # The epoch with the best validation accuracy is kept, never the test split's: the
        # classifier overfits after an epoch or two. Lightning writes it to a scratch folder of
        # this job's own; the model is saved once, below.
        scratch = Path(tempfile.mkdtemp(prefix=".best-", dir=out_dir))
        best = ModelCheckpoint(
            dirpath=str(scratch),
            filename="best",
            monitor="val/accuracy",
            mode="max",
            save_top_k=1,
            save_weights_only=True,
            enable_version_counter=False,
        )
        group = cfg.get("trainer")
        user_callbacks = list(group.get("callbacks") or []) if isinstance(group, Mapping) else []
        overrides.update(enable_checkpointing=True, callbacks=[*user_callbacks, best])
    else:
        overrides["limit_val_batches"] = 0
    trainer = make_trainer(
        cfg.get("trainer"),
        out_dir,
        {
            "deterministic": True,
            "max_epochs": 5,
            "enable_progress_bar": bool(cfg.get("enable_progress_bar", False)),
            "log_every_n_steps": log_interval(len(dm.train_set), dm.batch_size),
        },
        overrides,
    )
    try:
        with warnings.catch_warnings():
            # With num_workers=0 by design, Lightning's "consider more workers" advice is noise.
            warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
            trainer.fit(model, datamodule=dm)
        best_epoch = _keep_best(model, best)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)  # created above by this job

    ckpt = out_dir / CHECKPOINT_NAME
    trainer.save_checkpoint(
        str(ckpt), weights_only=True
    )  # evaluation needs no optimizer state (3x smaller)
    result: dict[str, Any] = {
        "checkpoint": str(ckpt),
        "seed": seed,
        "train_rows": len(dm.train_set),
        "val_rows": len(dm.val_set),
        "val_accuracy": None,
        "val_macro_f1": None,
        "epochs": int(trainer.current_epoch),
        "best_epoch": best_epoch,
        "kept": "best val/accuracy epoch" if best_epoch else "last epoch",
        "labels": list(dm.label_names),
    }
    if has_val:
        targets = dm.val_set.label_ids.numpy()
        s = _scores(
            model.predict_ids(dm.val_set),
            targets,
            dm.label_names,
            [dm.label_names[i] for i in targets],
        )
        result["val_accuracy"], result["val_macro_f1"] = s["accuracy"], s["macro_f1"]
    return result


def train_text_classifier(cfg: dict, out_dir: Path) -> dict:
    """Train on ``cfg['dataset_path']`` (JSONL), save ``out_dir/model.ckpt``, report val metrics.

    The validation split (``val_ratio`` of the training file, or of ``val_from``) picks the
    epoch that is kept (``best_epoch``, 1-based); the returned val metrics are recomputed with
    those weights on the whole split. With ``val_ratio: 0`` the last epoch is kept and they
    are None. With ``seeds: [..]`` one model per seed is trained on the same split (drawn with
    ``seed``) and the checkpoint is a manifest of them (`text_seeds.py`).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    seeds = cfg.get("seeds")
    dm = _datamodule(cfg)
    if seeds is None:
        return _fit_one(cfg, dm, int(cfg.get("seed", 42)), out_dir)
    runs = [_fit_one(cfg, dm, int(s), out_dir / f"seed_{int(s)}") for s in seeds]
    return seed_ensemble(runs, out_dir)


def load_text_classifier(checkpoint: str | Path) -> TextClassifier:
    """The model of a checkpoint written by ``train_text_classifier``, in eval mode on CPU."""
    path = Path(checkpoint)
    if not path.is_file():
        raise ValueError(f"checkpoint {str(path)!r} does not exist")
    model = TextClassifier.load_from_checkpoint(str(path), map_location="cpu", weights_only=True)
    model.eval()
    return model


def evaluate_text_classifier(cfg: dict, out_dir: Path) -> dict:
    """Accuracy and macro-F1 of a checkpoint on a labelled JSONL set; optionally write predictions.

    Labels are compared as strings; a test label unseen in training is always an error and is
    a class of its own in macro-F1 (F1 = 0). With ``predictions_path`` every input row is
    written back with the prediction under ``predicted_label_key`` (default
    ``predicted_label``), ready for the ``accuracy`` data evaluator. A relative
    ``predictions_path`` is resolved against ``out_dir``. A seeds manifest (``seeds: [..]``
    at training) scores every seed's model: mean, std, 95% interval and per-seed values.
    """
    if is_manifest(cfg.get("checkpoint")):
        return evaluate_seeds(
            cfg["checkpoint"],
            lambda ckpt, write: evaluate_text_classifier(
                {**cfg, "checkpoint": ckpt, **({} if write else {"predictions_path": None})},
                out_dir,
            ),
        )
    model = load_text_classifier(_require(cfg, "checkpoint"))
    data_path = Path(_require(cfg, "dataset_path"))
    text_key, label_key = cfg.get("text_key", "text"), cfg.get("label_key", "label")
    rows = read_labelled_jsonl(data_path, text_key, label_key)
    texts, true_names = [t for t, _ in rows], [str(lbl) for _, lbl in rows]
    ds = EncodedTextDataset.encode(texts, true_names, model.tokenizer, model.label_names)
    s = _scores(model.predict_ids(ds), ds.label_ids.numpy(), model.label_names, true_names)

    pred_path = cfg.get("predictions_path")
    if pred_path:
        pred_path = Path(pred_path)
        if not pred_path.is_absolute():
            pred_path = Path(out_dir) / pred_path
        pred_path.parent.mkdir(parents=True, exist_ok=True)
        key = cfg.get("predicted_label_key", "predicted_label")
        tmp = pred_path.with_name(pred_path.name + ".tmp")
        with data_path.open(encoding="utf-8") as src, tmp.open("w", encoding="utf-8") as dst:
            originals = (json.loads(line) for line in src if line.strip())
            for row, pred in zip(originals, s["pred_names"]):
                row[key] = pred
                dst.write(json.dumps(row, ensure_ascii=False) + "\n")
        tmp.replace(pred_path)  # a half-written file never looks finished
    return {
        "accuracy": s["accuracy"],
        "macro_f1": s["macro_f1"],
        "rows": len(rows),
        "predictions_path": str(pred_path) if pred_path else None,
    }


def run_train(cfg: dict[str, Any], out_dir: Path) -> tuple[Any, Any]:
    """The component: (checkpoint path(s), training facts and validation metrics), one per
    dataset, in the shape `dataset_path` was given."""

    def one(dataset: Any, folder: Path) -> tuple[str, dict[str, Any]]:
        result = train_text_classifier({**cfg, "dataset_path": dataset}, folder)
        return result["checkpoint"], {k: v for k, v in result.items() if k != "checkpoint"}

    return split_pairs(map_structure(cfg.get("dataset_path"), one, out_dir))


def run_evaluate(cfg: dict[str, Any], out_dir: Path) -> Any:
    """The component: accuracy and macro-F1 of each checkpoint on the labelled `dataset_path`."""
    return map_structure(
        cfg.get("checkpoint"),
        lambda ckpt, folder: evaluate_text_classifier({**cfg, "checkpoint": ckpt}, folder),
        out_dir,
    )
