"""`internvl_coco_caption` ModelTrainExecutor: fine-tune an InternVL captioner per dataset.

`run_train(cfg, out_dir)` trains one model per meta file (or JSONL) in `meta_path` (or
`dataset_path`), which may be one path, a list, or pools grouped per stat; it returns
(checkpoint folders, metrics) in the same shape. Each checkpoint is a folder that
`run_evaluate` loads alone. Defaults follow the reference recipe for real InternVL2 sizes
(lr 4e-5, weight decay 0.01, 3% warmup then cosine) and are tuned for the tiny model so that a
few hundred clipart rows train in seconds on CPU (lr 2e-3, batch 16, 64 px).
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

from djsandbox.data.converters.common import DEFAULT_CAPTION_PROMPT
from djsandbox.shapes import leaves, map_structure, split_pairs

from .checks import check_train
from .internvl_logs import loss_windows
from .reference_keys import lightning_cfg, uses_scripts
from .settings import resolve_model

DEFAULTS_TINY = {"lr": 2e-3, "batch_size": 16}
DEFAULTS_REAL = {"lr": 4e-5, "batch_size": 4}
CHECKPOINT_DIR = "checkpoint"


def _samples(source: Any, cfg: dict[str, Any], use_meta: bool, seed: int) -> list[Any]:
    from .data import samples_from_jsonl, samples_from_meta

    prompt = cfg.get("prompt") or DEFAULT_CAPTION_PROMPT
    if use_meta:
        samples = samples_from_meta(source, seed, prompt)
    else:
        samples = samples_from_jsonl(source, cfg.get("image_root"), prompt)
    if not samples:
        raise ValueError(
            f"{'meta_path' if use_meta else 'dataset_path'}: {source!r} has no "
            "row with a caption to train on"
        )
    limit = cfg.get("max_train_rows")
    if limit:
        import random

        samples = random.Random(seed).sample(samples, min(int(limit), len(samples)))
    return samples


def train_one(
    cfg: dict[str, Any], source: Any, out_dir: Path, use_meta: bool = True
) -> tuple[str, dict[str, Any]]:
    """Train on one meta file (or JSONL) and save `out_dir/checkpoint`; (folder, metrics)."""
    from .cpu import cpu_threads, default_threads

    settings = resolve_model(cfg.get("model"))
    with cpu_threads(default_threads(cfg.get("cpu_threads"), settings["size"])):
        return _train(cfg, settings, source, Path(out_dir), use_meta)


def _train(
    cfg: dict[str, Any], settings: dict[str, Any], source: Any, out_dir: Path, use_meta: bool
) -> tuple[str, dict[str, Any]]:
    import lightning as L
    from torch.utils.data import DataLoader

    from ..lightning_trainer import log_interval, make_trainer
    from .data import CaptionDataset, Collate, split
    from .loaders import load_for_training
    from .module import CaptionModule

    started = time.time()
    out_dir.mkdir(parents=True, exist_ok=True)
    seed = int(cfg.get("seed", 42))
    L.seed_everything(seed, workers=True, verbose=False)
    defaults = DEFAULTS_TINY if settings["size"] == "tiny" else DEFAULTS_REAL
    samples = _samples(source, cfg, use_meta, seed)
    train_set, val_set = split(samples, float(cfg.get("val_ratio", 0.1)), seed)
    if not train_set:
        raise ValueError(
            f"val_ratio: {cfg.get('val_ratio')} holds out every image of "
            f"{source!r}; nothing is left to train on"
        )
    texts = sorted({s.question for s in train_set}) + [s.caption for s in train_set]
    adapter = load_for_training(settings, texts, cfg.get("tokenizer_vocab_size"))
    image_size = int(adapter.settings["image_size"])
    batch_size = int(cfg.get("batch_size") or defaults["batch_size"])
    workers = int(cfg.get("num_workers", 0))
    loader = DataLoader(
        CaptionDataset(train_set, image_size),
        batch_size=batch_size,
        shuffle=True,
        collate_fn=Collate(adapter),
        num_workers=workers,
    )
    val_loader = DataLoader(
        CaptionDataset(val_set, image_size),
        batch_size=batch_size,
        collate_fn=Collate(adapter),
        num_workers=workers,
    )

    overrides: dict[str, Any] = {
        k: int(cfg[k]) for k in ("max_epochs", "max_steps") if cfg.get(k) is not None
    }
    if not val_set:
        overrides["limit_val_batches"] = 0
    trainer = make_trainer(
        cfg.get("trainer"),
        out_dir,
        {"log_every_n_steps": log_interval(len(train_set), batch_size)},
        overrides,
    )
    module = CaptionModule(
        adapter,
        lr=float(cfg.get("lr") or defaults["lr"]),
        weight_decay=float(cfg.get("weight_decay", 0.01)),
        warmup_ratio=float(cfg.get("warmup_ratio", 0.03)),
    )
    with warnings.catch_warnings():  # num_workers=0 is deliberate: images are cached in memory
        warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
        trainer.fit(
            module, train_dataloaders=loader, val_dataloaders=val_loader if val_set else None
        )

    trainable = sum(p.numel() for p in adapter.model.parameters() if p.requires_grad)
    folder = out_dir / CHECKPOINT_DIR
    if trainer.is_global_zero:
        adapter.save(folder)  # merges LoRA: count the trainable parameters before
    first, last, window = loss_windows(module.step_losses)
    val_loss = trainer.callback_metrics.get("val/loss")
    metrics = {
        "train_rows": len(train_set),
        "val_rows": len(val_set),
        "train_images": len({s.image for s in train_set}),
        "steps": len(module.step_losses),
        "epochs": int(trainer.current_epoch),
        "first_train_loss": first,
        "last_train_loss": last,
        "loss_window": window,
        "val_loss": float(val_loss) if val_loss is not None else None,
        "trainable_params": trainable,
        "model": settings["name"],
        "size": settings["size"],
        "seconds": round(time.time() - started, 2),
    }
    (out_dir / "train_metrics.json").write_text(
        json.dumps(metrics, indent=2) + "\n", encoding="utf-8"
    )
    return str(folder), metrics


def run_train(cfg: dict[str, Any], out_dir: Path) -> tuple[Any, Any]:
    """(checkpoint folder(s), metrics) for each meta file in `meta_path` (or JSONL in
    `dataset_path` with `image_root`), keeping the input's shape. The reference's keys work
    too (`reference_keys`); with `internvl_home` InternVL's own script trains instead.

    Metrics: train_rows, val_rows, train_images, steps, epochs, first_train_loss and
    last_train_loss (means over the first/last `loss_window` steps), val_loss (final epoch,
    None without a held-out slice), trainable_params, model, size, seconds.
    """
    if uses_scripts(cfg):  # the reference's way: InternVL's own script in its environment
        from .internvl_scripts import run_train as run_scripts

        return run_scripts(cfg, out_dir)
    from .internvl_scripts import gpu_count

    work_dir = cfg.get("work_dir")
    cfg = lightning_cfg(cfg, "train", gpu_count)
    problems = check_train(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    use_meta = cfg.get("meta_path") not in (None, "", [], {})
    source = cfg.get("meta_path") if use_meta else cfg.get("dataset_path")
    if source in (None, "", [], {}):
        raise ValueError(
            "meta_path: missing; expected the InternVL meta JSON(s) written by "
            "coco_caption_meta_generation (or dataset_path: an InternVL JSONL "
            "with image_root)"
        )
    folders = _work_dir_folders(cfg, source, work_dir)
    results = map_structure(
        source,
        lambda src, folder: train_one(cfg, src, folders.get(str(src), folder), use_meta),
        Path(out_dir),
    )
    return split_pairs(results)


def _work_dir_folders(cfg: dict[str, Any], source: Any, work_dir: Any) -> dict[str, Path]:
    """With the reference's `work_dir`: `<work_dir>/<meta name>_<model name>` per input (as
    InternVL's scripts name them), each new or the sandbox's own; else {} (the job folder)."""
    if not work_dir:
        return {}
    from .internvl_scripts import claim_folder, output_folders

    model = cfg.get("model") or {}
    name = model.get("path") or model.get("name") or "internvl_tiny"
    folders = output_folders(
        [str(s) for s in leaves(source)], Path(str(work_dir)).expanduser(), str(name)
    )
    for folder in folders.values():
        claim_folder(folder, "work_dir")
    return folders
