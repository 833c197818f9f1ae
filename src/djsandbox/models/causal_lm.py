"""The `huggingface` ModelTrainExecutor: fine-tune a causal LM on a JSONL dataset with Lightning.

The model comes from `model_path` (a local `save_pretrained` folder) or, without one, is a tiny
Qwen2 built from `tiny_model` sizes with a tokenizer fitted on the training texts (see
`tiny_lm`), so a pipeline can compare data recipes by the LM they train, on a CPU, offline.
Rows are plain text (`text_key`, loss on every token) or prompt/response pairs (`prompt_key`,
`response_key`; chat-formatted when the tokenizer has a template, prompt tokens masked from the
loss). Training is full or LoRA (`lora: {r, alpha, dropout, target_modules}` via peft), AdamW
with cosine decay after a linear warmup, stepped per batch.

The checkpoint (`out_dir/checkpoint`) is a plain `save_pretrained` folder, model plus tokenizer:
LoRA weights are *merged* into it, so the `huggingface` inference executor (or anything else)
loads it without peft; the adapter alone is kept in `out_dir/adapter`. Returns
(checkpoint path, metrics); a list or mapping of datasets gives the same shape of both.
Metrics: train_rows, val_rows, steps, epochs, first_train_loss / last_train_loss (means over
the first / last few steps, up to 5), val_loss_before / val_loss (held-out loss of the
starting and the trained model; None without validation rows), lora, tiny_model.
"""

from __future__ import annotations

import json
import math
import random
import warnings
from pathlib import Path
from typing import Any, Mapping

import lightning as L
import torch

from djsandbox.data.jsonl import load_rows
from djsandbox.models.lightning_trainer import log_interval, make_trainer
from djsandbox.redact import show
from djsandbox.shapes import map_structure, split_pairs

LORA_DEFAULTS: dict[str, Any] = {"r": 8, "alpha": 16, "dropout": 0.05, "target_modules": None}
IGNORE = -100  # label id the loss skips


class CausalLMModule(L.LightningModule):
    """A transformers causal LM with the sandbox's optimiser, schedule and logged curves."""

    def __init__(self, model: Any, lr: float, weight_decay: float, warmup_ratio: float) -> None:
        super().__init__()
        self.model = model
        self.lr, self.weight_decay, self.warmup_ratio = lr, weight_decay, warmup_ratio
        self.train_losses: list[float] = []

    def training_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> torch.Tensor:
        loss = self.model(**batch).loss
        self.train_losses.append(float(loss.detach()))
        n = len(batch["input_ids"])
        self.log("train/loss", loss, on_step=True, on_epoch=True, batch_size=n)
        self.log("lr", self.lr_schedulers().get_last_lr()[0], on_step=True, batch_size=n)
        return loss

    def validation_step(self, batch: dict[str, torch.Tensor], batch_idx: int) -> None:
        self.log(
            "val/loss", self.model(**batch).loss, on_epoch=True, batch_size=len(batch["input_ids"])
        )

    def configure_optimizers(self) -> Any:
        params = [p for p in self.model.parameters() if p.requires_grad]
        groups = [
            {"params": [p for p in params if p.ndim >= 2], "weight_decay": self.weight_decay},
            {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(groups, lr=self.lr)
        total = self.trainer.estimated_stepping_batches
        total = int(total) if math.isfinite(total) else 0  # 0: no decay (unbounded run)
        warmup = int(self.warmup_ratio * total)

        def factor(step: int) -> float:
            if step < warmup:
                return (step + 1) / (warmup + 1)
            if not total:
                return 1.0
            return 0.5 * (
                1 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup)))
            )

        scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }


def _number(
    cfg: dict[str, Any], key: str, default: Any, kind: type, low: float, high: float = math.inf
) -> Any:
    value = cfg.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float) if kind is float else int)
        or not low <= value <= high
    ):
        raise ValueError(
            f"{key}: expected {'an integer' if kind is int else 'a number'} in "
            f"[{low}, {high}], got {show(key, value)}"
        )
    return kind(value)


def read_examples(path: str, cfg: dict[str, Any]) -> list[tuple[str | None, str]]:
    """(prompt or None, text) pairs: prompt/response mode when both keys are set."""
    prompt_key, response_key = cfg.get("prompt_key"), cfg.get("response_key")
    if bool(prompt_key) != bool(response_key):
        raise ValueError(
            "prompt_key/response_key: give both (prompt masked from the loss) or neither (text_key)"
        )
    keys = [prompt_key, response_key] if prompt_key else [cfg.get("text_key") or "text"]
    out: list[tuple[str | None, str]] = []
    for i, row in enumerate(load_rows(path)):
        missing = [k for k in keys if row.get(k) in (None, "")]
        if missing:
            raise ValueError(
                f"{path}: row {i}: no value under {missing[0]!r} (text_key/"
                f"prompt_key/response_key); it has {sorted(row)}"
            )
        out.append(
            (str(row[prompt_key]), str(row[response_key]))
            if prompt_key
            else (None, str(row[keys[0]]))
        )
    return out


def encode(tokenizer: Any, examples: list[tuple[str | None, str]], max_len: int) -> list[dict]:
    """input_ids/labels per example, truncated; prompt tokens get IGNORE labels."""
    eos = [tokenizer.eos_token_id] if tokenizer.eos_token_id is not None else []
    templated = bool(getattr(tokenizer, "chat_template", None))
    encoded = []
    for prompt, text in examples:
        if prompt is None:
            ids = tokenizer(text)["input_ids"] + eos
            labels = list(ids)
        else:
            user = [{"role": "user", "content": prompt}]
            if templated:
                p_str = tokenizer.apply_chat_template(
                    user, add_generation_prompt=True, tokenize=False
                )
                full = tokenizer.apply_chat_template(
                    user + [{"role": "assistant", "content": text}], tokenize=False
                )
            else:
                p_str, full = prompt + "\n", prompt + "\n" + text
            p_ids = tokenizer(p_str, add_special_tokens=not templated)["input_ids"]
            ids = tokenizer(full, add_special_tokens=not templated)["input_ids"]
            if ids[: len(p_ids)] != p_ids:  # template not prefix-stable: tokenize apart
                ids = p_ids + tokenizer(full[len(p_str) :], add_special_tokens=False)["input_ids"]
            ids = ids + eos
            labels = [IGNORE] * len(p_ids) + ids[len(p_ids) :]
        ids, labels = ids[:max_len], labels[:max_len]
        if any(lbl != IGNORE for lbl in labels[1:]):  # something left to learn
            encoded.append({"input_ids": ids, "labels": labels})
    return encoded


def collate(batch: list[dict], pad_id: int) -> dict[str, torch.Tensor]:
    """Right-pad a batch; padding is masked from attention and loss."""
    width = max(len(b["input_ids"]) for b in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, b in enumerate(batch):
        n = len(b["input_ids"])
        ids[i, :n], labels[i, :n], mask[i, :n] = (
            torch.tensor(b["input_ids"]),
            torch.tensor(b["labels"]),
            1,
        )
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


def load_model(cfg: dict[str, Any], texts: list[str], seed: int) -> tuple[Any, Any, bool]:
    """(model, tokenizer, built tiny?) from `model_path`, else a tiny model fitted on `texts`."""
    if cfg.get("model_path"):
        from djsandbox.inference.huggingface import load_causal_lm

        model, tokenizer = load_causal_lm(cfg["model_path"])
        model.train()  # loaded for inference in eval mode; Lightning keeps modules' modes
        tokenizer.padding_side = "right"
        return model, tokenizer, False
    from transformers.utils import logging as hf_logging

    from djsandbox.models.tiny_lm import build_tiny_lm

    hf_logging.disable_progress_bar()
    model, tokenizer = build_tiny_lm(texts, cfg.get("tiny_model"), seed)
    return model, tokenizer, True


def lora_settings(value: Any) -> dict[str, Any] | None:
    """None (full fine-tuning) or the LoRA settings over their defaults."""
    if value in (None, False):
        return None
    if value is True:
        return dict(LORA_DEFAULTS)
    if not isinstance(value, Mapping) or set(value) - set(LORA_DEFAULTS):
        raise ValueError(
            f"lora: expected true or a mapping with keys among "
            f"{', '.join(LORA_DEFAULTS)}, got {value!r}"
        )
    return {**LORA_DEFAULTS, **dict(value)}


def apply_lora(model: Any, lora: dict[str, Any]) -> Any:
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=int(lora["r"]),
        lora_alpha=lora["alpha"],
        lora_dropout=lora["dropout"],
        target_modules=lora["target_modules"],
        task_type="CAUSAL_LM",
    )
    try:
        return get_peft_model(model, config)
    except ValueError as exc:
        raise ValueError(f"lora.target_modules: {exc}") from None


@torch.no_grad()
def mean_loss(model: Any, loader: Any) -> float | None:
    """Token-weighted mean loss over a loader (None when empty), in eval mode."""
    model.eval()
    total, tokens = 0.0, 0
    for batch in loader:
        n = int((batch["labels"][:, 1:] != IGNORE).sum())
        total += float(model(**batch).loss) * n
        tokens += n
    return total / tokens if tokens else None


def train_causal_lm(cfg: dict[str, Any], out_dir: Path) -> tuple[str, dict[str, Any]]:
    """Fine-tune on one dataset; (checkpoint folder, metrics)."""
    from torch.utils.data import DataLoader

    out_dir = Path(out_dir)
    if not cfg.get("dataset_path"):
        raise ValueError("dataset_path: missing; expected a JSONL file of training rows")
    seed = _number(cfg, "seed", 42, int, 0)
    L.seed_everything(seed, verbose=False)
    examples = read_examples(str(cfg["dataset_path"]), cfg)
    lora = lora_settings(cfg.get("lora"))
    model, tokenizer, tiny = load_model(cfg, [p + "\n" + t if p else t for p, t in examples], seed)
    if lora:
        model = apply_lora(model, lora)
    data = encode(tokenizer, examples, _number(cfg, "max_seq_length", 256, int, 2))
    if not data:
        raise ValueError(
            f"dataset_path: {cfg['dataset_path']}: no row has a token to learn "
            "after truncation to max_seq_length"
        )
    random.Random(seed).shuffle(data)
    val_ratio = _number(cfg, "val_ratio", 0.1, float, 0.0, 0.9)
    n_val = min(len(data) - 1, round(len(data) * val_ratio)) if val_ratio else 0
    val, train = data[:n_val], data[n_val:]
    batch_size = _number(cfg, "batch_size", 8, int, 1)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def loader(rows: list[dict], shuffle: bool) -> DataLoader:
        return DataLoader(
            rows, batch_size=batch_size, shuffle=shuffle, collate_fn=lambda b: collate(b, pad)
        )

    module = CausalLMModule(
        model,
        _number(cfg, "lr", 1e-3 if tiny else 1e-4, float, 0.0),
        _number(cfg, "weight_decay", 0.0, float, 0.0),
        _number(cfg, "warmup_ratio", 0.0, float, 0.0, 1.0),
    )
    defaults: dict[str, Any] = {
        "log_every_n_steps": log_interval(len(train), batch_size),
        "gradient_clip_val": 1.0,
    }
    trainer = make_trainer(cfg.get("trainer"), out_dir, defaults)
    val_loss_before = mean_loss(module.model, loader(val, False)) if val else None
    module.model.train()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
        warnings.filterwarnings("ignore", message=r".*no `val_dataloader`.*")  # val_ratio: 0
        trainer.fit(module, loader(train, True), loader(val, False) if val else None)

    ckpt = out_dir / "checkpoint"
    val_loss = mean_loss(module.model, loader(val, False)) if val else None
    if lora:
        module.model.save_pretrained(out_dir / "adapter")
        model = module.model.merge_and_unload()
    else:
        model = module.model
    model.save_pretrained(ckpt)
    tokenizer.save_pretrained(ckpt)
    losses = module.train_losses
    k = max(1, min(5, len(losses) // 4))  # smooth over a few steps: one batch is noisy
    metrics = {
        "train_rows": len(train),
        "val_rows": len(val),
        "steps": len(losses),
        "epochs": int(trainer.current_epoch),
        "first_train_loss": sum(losses[:k]) / k if losses else None,
        "last_train_loss": sum(losses[-k:]) / k if losses else None,
        "val_loss_before": val_loss_before,
        "val_loss": val_loss,
        "lora": bool(lora),
        "tiny_model": tiny,
    }
    (ckpt / "djsandbox_training.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return str(ckpt), metrics


def run(cfg: dict[str, Any], out_dir: Path) -> tuple[Any, Any]:
    """(checkpoint path(s), metrics), one per dataset of `dataset_path` (a path, list or map)."""
    return split_pairs(
        map_structure(
            cfg.get("dataset_path"),
            lambda ds, folder: train_causal_lm({**cfg, "dataset_path": ds}, folder),
            Path(out_dir),
        )
    )
