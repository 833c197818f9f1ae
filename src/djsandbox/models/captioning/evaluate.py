"""`internvl_coco_caption` ModelEvaluator: caption a test split and score it like COCO.

`run_evaluate(cfg, out_dir)` loads each checkpoint in `checkpoint` (a folder, a list, or pools
grouped per stat, as `run_train` returns them), captions every image of `dataset_path` (an
InternVL JSONL; all captions of an image, from several rows or several gpt turns, are its
references) and returns, per checkpoint, BLEU_1..BLEU_4, METEOR, ROUGE_L, CIDEr, `avg_score`
(the reference's unweighted mean) and `caption_score` (scale-aware; see `metrics`), with
`rows` (images scored) and `predictions_path` (JSONL of image, prediction, references).
SPICE is not computed: its jar and models cannot be fetched offline.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from djsandbox.atomic import atomic_open
from djsandbox.data.converters.common import DEFAULT_CAPTION_PROMPT
from djsandbox.shapes import map_structure

from .checks import check_evaluate
from .reference_keys import lightning_cfg, uses_scripts
from .settings import resolve_model

NOTE = "SPICE not computed (needs the SPICE jar and models, unavailable offline)"


def _write_predictions(path: Path, items: list[Any], predictions: list[str]) -> None:
    """Atomic: a half-written file never looks finished."""
    with atomic_open([path]) as (fh,):
        for item, pred in zip(items, predictions):
            fh.write(
                json.dumps(
                    {"image": item.image, "prediction": pred, "references": list(item.references)},
                    ensure_ascii=False,
                )
                + "\n"
            )


def generate_captions(
    adapter: Any, items: list[Any], batch_size: int, max_new_tokens: int, num_beams: int = 1
) -> list[str]:
    """One caption per item, batch by batch (greedy unless `num_beams` > 1)."""
    import torch

    from .images import load_image

    size = int(adapter.settings["image_size"])
    out: list[str] = []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        pixels = torch.stack([load_image(it.image, size) for it in chunk])
        out += adapter.generate(pixels, [it.question for it in chunk], max_new_tokens, num_beams)
    return out


def evaluate_one(cfg: dict[str, Any], checkpoint: Any, out_dir: Path) -> dict[str, Any]:
    """Scores of one checkpoint folder on `dataset_path`."""
    import torch

    from .cpu import cpu_threads, default_threads
    from .data import eval_items
    from .loaders import load_checkpoint, saved_facts
    from .metrics import score_captions, start_meteor

    start_meteor()  # Java loads its tables while the captions are generated
    if not isinstance(checkpoint, str) or not checkpoint:
        raise ValueError(
            f"checkpoint: got {checkpoint!r}; expected a model folder written by "
            "the internvl_coco_caption trainer"
        )
    dataset = cfg.get("dataset_path")
    if not dataset:
        raise ValueError("dataset_path: missing; expected an InternVL JSONL test split")
    items = eval_items(dataset, cfg.get("image_root"), cfg.get("prompt") or DEFAULT_CAPTION_PROMPT)
    if cfg.get("max_rows"):
        items = items[: int(cfg["max_rows"])]
    if not items:
        raise ValueError(f"dataset_path: {dataset!r} has no image with a reference caption")
    settings = resolve_model(cfg.get("model"), need_path=False)
    size = saved_facts(checkpoint).get("size") or settings["size"]
    with cpu_threads(default_threads(cfg.get("cpu_threads"), size)):
        adapter = load_checkpoint(checkpoint, settings)
        if torch.cuda.is_available():
            adapter.model.to("cuda")
        predictions = generate_captions(
            adapter,
            items,
            int(cfg.get("batch_size") or 32),
            int(cfg.get("max_new_tokens") or 32),
            int(cfg.get("num_beams") or 1),
        )
    scores = score_captions([list(it.references) for it in items], predictions)
    pred_path = Path(cfg.get("predictions_path") or "predictions.jsonl")
    if not pred_path.is_absolute():
        pred_path = Path(out_dir) / pred_path
    _write_predictions(pred_path, items, predictions)
    return {
        **scores,
        "rows": len(items),
        "predictions_path": str(pred_path),
        "checkpoint": str(checkpoint),
        "note": NOTE,
    }


def run_evaluate(cfg: dict[str, Any], out_dir: Path) -> Any:
    """Scores per checkpoint, in the shape of `checkpoint` (a dict for a single folder). The
    reference's keys work too; with `internvl_home` InternVL's own evaluate.sh scores."""
    if uses_scripts(cfg):
        from .internvl_scripts import run_evaluate as run_scripts

        return run_scripts(cfg, out_dir)
    from .internvl_scripts import gpu_count

    cfg = lightning_cfg(cfg, "evaluate", gpu_count)
    problems = check_evaluate(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    if cfg.get("checkpoint") in (None, "", [], {}):
        raise ValueError(
            "checkpoint: missing; expected the model folder(s) returned by the "
            "internvl_coco_caption trainer"
        )
    pred = cfg.get("predictions_path")
    if pred and Path(pred).is_absolute() and not isinstance(cfg["checkpoint"], str):
        raise ValueError(
            "predictions_path: an absolute path would be overwritten by each of "
            "several checkpoints; give a relative path (one file per sub-folder)"
        )
    return map_structure(
        cfg["checkpoint"], lambda ckpt, folder: evaluate_one(cfg, ckpt, folder), Path(out_dir)
    )
