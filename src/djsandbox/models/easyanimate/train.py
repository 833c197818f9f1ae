"""`easyanimate` ModelTrainExecutor: a LoRA on EasyAnimate's transformer per dataset.

`run_train(cfg, out_dir)` trains one LoRA per EasyAnimate JSON (or Data-Juicer/clips JSONL)
in `dataset_path`, which may be one path, a list, or pools grouped per stat, and returns
(LoRA folders, metrics) in that shape. The base is the tiny EasyAnimate (pretrained once and
cached, `base.py`) or real weights at `model.path`. Latents and prompt embeddings are computed
once (`encoding.py`), then a Lightning Trainer from the `trainer` group fits the adapters
(`module.py`); curves go to the job's CSV log, the report and the tracker. The reference's
nested keys work too (`reference_keys`); with `env_name`/`easyanimate_home` EasyAnimate's own
`train_lora.sh` runs instead (`scripts.py`).
"""

from __future__ import annotations

import json
import logging
import random
import time
import warnings
from pathlib import Path
from typing import Any, Mapping

from djsandbox.shapes import leaves, map_structure, split_pairs

from .checks import check_train
from .reference_keys import in_process_cfg, uses_scripts
from .settings import resolve_model

LOG = logging.getLogger(__name__)
DEFAULTS_TINY = {"lr": 5e-3, "batch_size": 8, "max_epochs": 8}
DEFAULTS_REAL = {"lr": 1e-4, "batch_size": 8, "max_epochs": 1}
LORA_DIR = "lora"


def precision_of(cfg: Mapping[str, Any], settings: Mapping[str, Any], cuda: bool) -> str:
    """Lightning precision: bf16/fp16 only on a GPU (bf16 on CPU is ~30x slower, measured);
    asked for on CPU it is refused with a warning and float32 is used."""
    asked = cfg.get("precision") or ("bf16" if settings["dtype"] == "bfloat16" else "fp32")
    if asked in ("bf16", "fp16") and not cuda:
        warnings.warn(
            f"precision {asked}: mixed precision needs a GPU (bf16 on CPU is about 30x slower); "
            "training in float32 on CPU",
            stacklevel=2,
        )
        return "32-true"
    return {"bf16": "bf16-mixed", "fp16": "16-mixed"}.get(asked, "32-true")


def _split(n: int, ratio: float, seed: int) -> tuple[list[int], list[int]]:
    order = list(range(n))
    random.Random(seed).shuffle(order)
    held = int(n * ratio) if n >= 10 else 0
    return order[held:], order[:held]


def train_one(cfg: Mapping[str, Any], source: Any, folder: Path, job_dir: Path) -> tuple[str, dict]:
    """Fit one LoRA on `source`, save it into `folder`; (folder, metrics)."""
    import torch

    from ..captioning.cpu import cpu_threads

    settings = resolve_model(cfg.get("model"))
    cuda = torch.cuda.is_available()
    threads = cfg.get("cpu_threads") or (1 if settings["size"] == "tiny" and not cuda else None)
    with cpu_threads(threads):
        return _train(cfg, settings, source, folder, Path(job_dir), cuda)


def _train(
    cfg: Mapping[str, Any],
    settings: dict[str, Any],
    source: Any,
    folder: Path,
    job_dir: Path,
    cuda: bool,
) -> tuple[str, dict]:
    import lightning as L
    from torch.utils.data import DataLoader, TensorDataset

    from ..lightning_trainer import log_interval, make_trainer
    from .base import base_key, ensure_base, load_pipeline
    from .clips import read_clips
    from .encoding import encode_prompts, encode_videos
    from .lora import inject_lora, save_lora
    from .module import LoraModule

    started = time.time()
    seed = int(cfg.get("seed", 42))
    defaults = DEFAULTS_TINY if settings["size"] == "tiny" else DEFAULTS_REAL
    clips = read_clips(source, cfg.get("video_root"))
    if cfg.get("max_train_rows"):
        clips = random.Random(seed).sample(clips, min(int(cfg["max_train_rows"]), len(clips)))
    if not clips:
        raise ValueError(f"dataset_path: {str(source)!r} has no video to train on")
    precision = precision_of(cfg, settings, cuda)
    base, built = ensure_base(settings)
    dtype = "float32" if precision == "32-true" else settings["dtype"]
    pipe = load_pipeline(base, dtype, settings.get("transformer_path"))
    on_gpu = cuda and settings["size"] != "tiny"  # the tiny model trains on CPU
    if on_gpu:
        pipe.to("cuda")
    key = base_key(settings)
    size, frames = int(settings["sample_size"]), int(settings["num_frames"])
    latents = encode_videos(pipe, clips, frames, size, key)
    embeds = encode_prompts(pipe, [c.caption for c in clips], int(settings["max_sequence_length"]))
    # Seeded here, after the base is ready: building a tiny base reseeds torch's global RNG, so
    # with a seed set before it, a run that built the base drew other LoRA weights and batches.
    L.seed_everything(seed, workers=True, verbose=False)
    train_idx, val_idx = _split(len(clips), float(cfg.get("val_ratio", 0.1)), seed)
    batch = int(cfg.get("batch_size") or defaults["batch_size"])
    workers = int(cfg.get("num_workers", 0))
    loader = DataLoader(
        TensorDataset(latents[train_idx], embeds[train_idx]),
        batch_size=batch,
        shuffle=True,
        num_workers=workers,
    )
    val_loader = DataLoader(
        TensorDataset(latents[val_idx], embeds[val_idx]), batch_size=batch, num_workers=workers
    )
    trainable = inject_lora(pipe.transformer, settings["lora"])
    overrides: dict[str, Any] = {
        k: int(cfg[k])
        for k in ("max_epochs", "max_steps", "accumulate_grad_batches")
        if cfg.get(k) is not None
    }
    if not val_idx:
        overrides["limit_val_batches"] = 0
    if cfg.get("precision"):  # asked for in the component (the reference's mixed_precision)
        overrides["precision"] = precision
    trainer_defaults = {  # the `trainer` group wins over these, the component's keys over both
        "log_every_n_steps": log_interval(len(train_idx), batch),
        "precision": precision,
        "accelerator": "gpu" if on_gpu else "cpu",
        "max_epochs": defaults["max_epochs"],
    }
    trainer = make_trainer(cfg.get("trainer"), job_dir, trainer_defaults, overrides)
    pipe.transformer.train()  # from_pretrained leaves it in eval mode (no dropout either way)
    module = LoraModule(pipe.transformer, lr=float(cfg.get("lr") or defaults["lr"]))
    with warnings.catch_warnings():  # latents are in memory: workers would only copy them
        warnings.filterwarnings("ignore", message=r".*does not have many workers.*")
        trainer.fit(module, loader, val_loader if val_idx else None)

    from ..captioning.internvl_logs import loss_windows

    first, last, window = loss_windows(module.step_losses)
    val_loss = trainer.callback_metrics.get("val/loss")
    metrics = {
        "train_rows": len(train_idx),
        "val_rows": len(val_idx),
        "steps": len(module.step_losses),
        "epochs": int(trainer.current_epoch),
        "first_train_loss": first,
        "last_train_loss": last,
        "loss_window": window,
        "val_loss": float(val_loss) if val_loss is not None else None,
        "trainable_params": trainable,
        "precision": precision,
        "model": settings["name"],
        "size": settings["size"],
        "base": str(base),
        "base_built": built,
        "seconds": round(time.time() - started, 2),
    }
    for key_name in ("tracker_project", "tracker_experiment"):
        if cfg.get(key_name):
            metrics[key_name] = cfg[key_name]
    info = {
        "model": {k: settings[k] for k in ("name", "size", "path", "transformer_path")},
        "model_settings": dict(cfg.get("model") or {}),
        "lora": settings["lora"],
        "base_key": key,
        "trained_on": str(source),
        "seed": seed,
    }
    if trainer.is_global_zero:
        save_lora(pipe.transformer, folder, info)
        (job_dir / "train_metrics.json").write_text(
            json.dumps(metrics, indent=2) + "\n", encoding="utf-8"
        )
    return str(folder), metrics


def _folders(cfg: Mapping[str, Any], source: Any) -> dict[str, Path]:
    """With `output_dir` (the reference's saving_config.output_dir): one new or sandbox-owned
    folder per input, `<output_dir>` alone or `<output_dir>/<input stem>`; else {}."""
    if not cfg.get("output_dir"):
        return {}
    from ..captioning.internvl_scripts import claim_folder

    base = Path(str(cfg["output_dir"])).expanduser().resolve()
    inputs = [str(s) for s in leaves(source)]
    if len(inputs) == 1:
        folders = {inputs[0]: base}
    else:
        folders = {s: base / Path(s).stem for s in inputs}
        if len(set(folders.values())) < len(inputs):
            raise ValueError(
                f"output_dir: several inputs share a file name under {str(base)!r}; give the "
                "pools distinct names"
            )
    for folder in folders.values():
        claim_folder(folder, "output_dir")
    return folders


def run_train(cfg: dict[str, Any], out_dir: Path) -> tuple[Any, Any]:
    """(LoRA folder(s), metrics) for each dataset in `dataset_path`, in its shape.

    Metrics: train_rows, val_rows, steps, epochs, first_train_loss and last_train_loss (means
    over the first/last `loss_window` steps), val_loss, trainable_params, precision, model,
    size, base (the base folder), base_built, seconds.
    """
    if uses_scripts(cfg):  # the reference's way: EasyAnimate's own script in its environment
        from .scripts import run_train as run_script

        return run_script(cfg, out_dir)
    cfg = in_process_cfg(cfg, "train")
    problems = check_train(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    source = cfg.get("dataset_path")
    if source in (None, "", [], {}):
        raise ValueError(
            "dataset_path: missing; expected the EasyAnimate JSON written by "
            "dj_to_easyanimate_video_dataset_conversion (or a Data-Juicer video JSONL), or "
            "pools of them"
        )
    folders = _folders(cfg, source)
    results = map_structure(
        source,
        lambda src, job: train_one(cfg, src, folders.get(str(src), job / LORA_DIR), job),
        Path(out_dir),
    )
    return split_pairs(results)
