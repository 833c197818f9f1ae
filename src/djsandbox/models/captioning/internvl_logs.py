"""Reading what InternVL's own scripts print: the trainer's loss/lr lines, the evaluation's
caption scores; and the loss summary both training back ends report.

InternVL fine-tunes with the transformers `Trainer`, which prints one Python dict per logging
step (`{'loss': 2.055, 'learning_rate': 3e-05, 'epoch': 0.02}`, newer versions add
`grad_norm`) and a final `{'train_runtime': ..., 'train_loss': ...}`. Its caption evaluation
(pycocoevalcap's COCOEvalCap) prints one `Bleu_1: 0.812` line per metric. Both are read from
the log the run streamed, so a log of an earlier run reads the same.

Stdlib only.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from .metrics import METRICS, caption_score

_DICT = re.compile(r"\{'(?:loss|train_runtime)':[^{}]*\}")
COCO_NAMES = {
    "Bleu_1": "BLEU_1",
    "Bleu_2": "BLEU_2",
    "Bleu_3": "BLEU_3",
    "Bleu_4": "BLEU_4",
    "METEOR": "METEOR",
    "ROUGE_L": "ROUGE_L",
    "CIDEr": "CIDEr",
}
"""COCOEvalCap's metric names -> the names the Lightning evaluator reports."""
_SCORE = re.compile(rf"^\s*({'|'.join(COCO_NAMES)}):\s*([-+0-9.eE]+)\s*$", re.MULTILINE)


def loss_windows(losses: list[float]) -> tuple[float | None, float | None, int]:
    """Mean loss of the first and the last k steps (k = a quarter of the steps, 1..10)."""
    if not losses:
        return None, None, 0
    k = max(1, min(10, len(losses) // 4))
    return sum(losses[:k]) / k, sum(losses[-k:]) / k, k


def _number(value: Any) -> Any:
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def trainer_records(text: str) -> list[dict[str, Any]]:
    """Every dict the transformers Trainer logged (steps and the final summary), in order;
    values as floats. Carriage returns (progress bars) split lines too."""
    records = []
    for match in _DICT.finditer(text.replace("\r", "\n")):
        try:
            record = ast.literal_eval(match.group(0))
        except (ValueError, SyntaxError):
            continue  # a line cut by another process's output
        if isinstance(record, dict):
            records.append({str(k): _number(v) for k, v in record.items()})
    return records


def train_metrics(text: str) -> dict[str, Any]:
    """Loss and learning-rate facts of one InternVL training log, in the Lightning trainer's
    metric names where they mean the same (`steps`, `first_train_loss`, `last_train_loss`,
    `loss_window`, `epochs`) plus `last_lr`, `train_loss` and `train_runtime`."""
    records = trainer_records(text)
    steps = [r for r in records if isinstance(r.get("loss"), float)]
    summary = next((r for r in reversed(records) if "train_runtime" in r), {})
    first, last, window = loss_windows([r["loss"] for r in steps])
    lrs = [r["learning_rate"] for r in steps if isinstance(r.get("learning_rate"), float)]
    epochs = [r["epoch"] for r in records if isinstance(r.get("epoch"), float)]
    return {
        "steps": len(steps),
        "epochs": max(epochs) if epochs else None,
        "first_train_loss": first,
        "last_train_loss": last,
        "loss_window": window,
        "last_lr": lrs[-1] if lrs else None,
        "train_loss": summary.get("train_loss"),
        "train_runtime": summary.get("train_runtime"),
    }


def caption_scores(text: str, source: str) -> dict[str, Any]:
    """BLEU_1..4, METEOR, ROUGE_L, CIDEr from an evaluation log (the first value printed for
    each, as the reference reads them), `avg_score` (their unweighted mean, the reference's
    ranking key) and `caption_score` (see `metrics`). `source` names the log in errors."""
    found: dict[str, float] = {}
    for name, value in _SCORE.findall(text):
        found.setdefault(COCO_NAMES[name], float(value))
    if not found:
        raise ValueError(
            f"{source}: no caption scores in InternVL's evaluation log (expected lines such "
            "as 'Bleu_1: 0.81' and 'CIDEr: 1.12'); see the log for what it printed"
        )
    scores: dict[str, Any] = {m: found.get(m) for m in METRICS}
    scores["avg_score"] = sum(found.values()) / len(found)
    scores["caption_score"] = caption_score(scores)
    return scores


def read_log(path: Path, offset: int = 0) -> str:
    """A log's text from byte `offset` (what one run appended; undecodable bytes replaced)."""
    if not Path(path).is_file():
        return ""
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read().decode("utf-8", errors="replace")
