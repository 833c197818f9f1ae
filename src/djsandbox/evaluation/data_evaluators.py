"""Data evaluators of the reference DJ-Sandbox (``accuracy``, ``mse``) as plain functions.

They compare a value stored in each row of a predicted dataset with the ground truth stored in
another dataset (or in the same rows), aligned by position. Kept free of torch and Data-Juicer
so that importing them is cheap.

Semantics follow the reference ``AccuracyEvaluator``/``MSEEvaluator``
(data_juicer_sandbox/evaluators.py): dotted keys reach nested fields (a flat key containing the
dots wins, lists on the way are mapped over); accuracy compares ``str(value)`` exactly, so it is
case-sensitive, ``1`` and ``1.0`` differ, list values match only as whole lists, and an explicit
``null`` compares as ``"None"``; mse converts with ``float()`` (numeric strings are accepted);
a list of predicted paths gives the best pair (max accuracy, min mse). Deviations, all made so that a mistake fails loudly instead of moving
an objective silently:

- a missing file, a row without the key, datasets of different lengths, or an empty dataset
  raise ``ValueError`` naming file, row and key (the reference skips missing files, compares
  the string ``"None"`` for absent keys, truncates to the shorter dataset, and divides by zero);
- mse raises on a non-numeric or non-finite value instead of skipping the row;
- files are read directly (``.jsonl``, ``.json`` lines or array, ``.parquet``) rather than via
  Data-Juicer's dataset builder.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Sequence

from ..data.jsonl import load_rows
from ..registry import ComponentSpec
from ..shapes import as_path_list

_PAIR_KEYS = ("predicted_dataset_path", "ground_truth_dataset_path")
SPECS = (
    ComponentSpec(
        "DataEvaluator",
        "accuracy",
        f"{__name__}:accuracy_evaluator",
        "share of predicted labels equal to the ground truth",
        keys=_PAIR_KEYS + ("predicted_label_key", "ground_truth_label_key"),
        required=("predicted_dataset_path",),
    ),
    ComponentSpec(
        "DataEvaluator",
        "mse",
        f"{__name__}:mse_evaluator",
        "mean squared error between predicted and true values",
        keys=_PAIR_KEYS + ("predicted_value_key", "ground_truth_value_key"),
        required=("predicted_dataset_path",),
    ),
)

_MISSING = object()


def macro_f1(
    y_true: Sequence[Any], y_pred: Sequence[Any], labels: Sequence[Any] | None = None
) -> float:
    """Unweighted mean of per-class F1, computed here so the metric has no sklearn dependency.

    Classes are ``labels`` if given, else every class seen in y_true or y_pred. Values compare as
    strings. A zero division counts as 0, so a true class that is never predicted scores F1 = 0.
    """
    import numpy as np

    t = np.asarray([str(v) for v in y_true])
    p = np.asarray([str(v) for v in y_pred])
    if t.shape != p.shape:
        raise ValueError(f"y_true has {t.size} items, y_pred {p.size}")
    if t.size == 0:
        raise ValueError("macro_f1 of an empty set is undefined")
    classes = sorted(set(t) | set(p)) if labels is None else [str(c) for c in labels]
    scores = []
    for c in classes:
        tp = float(np.sum((t == c) & (p == c)))
        fp = float(np.sum((t != c) & (p == c)))
        fn = float(np.sum((t == c) & (p != c)))
        denom = 2 * tp + fp + fn
        scores.append(2 * tp / denom if denom else 0.0)
    return float(np.mean(scores))


def nested_get(obj: Any, key: str) -> Any:
    """Value under a dotted key, or ``_MISSING``; the longest flat key is tried first, like the
    reference's ``nested_query`` (so ``{"meta.label": x}`` answers ``meta.label``)."""
    if isinstance(obj, list):
        vals = [nested_get(item, key) for item in obj]
        return _MISSING if any(v is _MISSING for v in vals) else vals
    if not isinstance(obj, dict):
        return _MISSING
    if key in obj:
        return obj[key]
    parts = key.split(".")
    for i in range(len(parts) - 1, 0, -1):
        head = ".".join(parts[:i])
        if head in obj:
            found = nested_get(obj[head], ".".join(parts[i:]))
            if found is not _MISSING:
                return found
    return _MISSING


def _pairs(
    cfg: dict, pred_key_name: str, gt_key_name: str
) -> tuple[list[tuple[str, str]], str, str]:
    preds = as_path_list(cfg.get("predicted_dataset_path"), "predicted_dataset_path")
    gts = as_path_list(cfg.get("ground_truth_dataset_path"), "ground_truth_dataset_path")
    if not preds:
        raise ValueError("predicted_dataset_path is required")
    if gts and len(gts) != len(preds):
        raise ValueError(
            f"ground_truth_dataset_path has {len(gts)} paths but predicted_dataset_path has {len(preds)}"
        )
    pred_key, gt_key = cfg.get(pred_key_name), cfg.get(gt_key_name)
    if not pred_key:
        raise ValueError(f"{pred_key_name} is required")
    if not gt_key:
        raise ValueError(f"{gt_key_name} is required")
    return list(zip(preds, gts or preds)), str(pred_key), str(gt_key)


def _aligned_values(
    pred_path: str, gt_path: str, pred_key: str, gt_key: str
) -> list[tuple[Any, Any]]:
    pred_rows = load_rows(pred_path)
    gt_rows = pred_rows if gt_path == pred_path else load_rows(gt_path)
    if len(pred_rows) != len(gt_rows):
        raise ValueError(
            f"predicted dataset {pred_path!r} has {len(pred_rows)} rows but ground truth "
            f"{gt_path!r} has {len(gt_rows)}; rows are aligned by position"
        )
    out = []
    for i, (pr, gr) in enumerate(zip(pred_rows, gt_rows)):
        pv, gv = nested_get(pr, pred_key), nested_get(gr, gt_key)
        if pv is _MISSING:
            raise ValueError(f"{pred_path}: row {i} has no key {pred_key!r}")
        if gv is _MISSING:
            raise ValueError(f"{gt_path}: row {i} has no key {gt_key!r}")
        out.append((pv, gv))
    return out


def _best(
    cfg: dict, pred_key_name: str, gt_key_name: str, score: Callable, pick: Callable
) -> float:
    pairs, pred_key, gt_key = _pairs(cfg, pred_key_name, gt_key_name)
    return float(pick(score(pp, gp, _aligned_values(pp, gp, pred_key, gt_key)) for pp, gp in pairs))


def accuracy_evaluator(cfg: dict, out_dir: Path | None = None) -> float:
    """Share of rows whose ``str(predicted) == str(ground truth)``; best over path pairs.

    Keys: ``predicted_dataset_path`` (path or list), optional ``ground_truth_dataset_path``
    (defaults to the predicted dataset), ``predicted_label_key``, ``ground_truth_label_key``.
    """

    def score(_pp: str, _gp: str, vals: list[tuple[Any, Any]]) -> float:
        return sum(str(p) == str(g) for p, g in vals) / len(vals)

    return _best(cfg, "predicted_label_key", "ground_truth_label_key", score, max)


def _number(v: Any, path: str, row: int, key: str) -> float:
    if isinstance(v, bool):
        raise ValueError(f"{path}: row {row} key {key!r} holds a boolean, not a number")
    try:
        x = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{path}: row {row} key {key!r} holds {v!r}, not a number") from None
    if not math.isfinite(x):
        raise ValueError(f"{path}: row {row} key {key!r} holds non-finite {v!r}")
    return x


def mse_evaluator(cfg: dict, out_dir: Path | None = None) -> float:
    """Mean squared error of predicted vs ground-truth numbers; best (lowest) over path pairs.

    Keys: ``predicted_dataset_path`` (path or list), optional ``ground_truth_dataset_path``,
    ``predicted_value_key``, ``ground_truth_value_key``.
    """
    import numpy as np

    pred_key = str(cfg.get("predicted_value_key"))
    gt_key = str(cfg.get("ground_truth_value_key"))

    def score(pp: str, gp: str, vals: list[tuple[Any, Any]]) -> float:
        errs = [
            (_number(p, pp, i, pred_key) - _number(g, gp, i, gt_key)) ** 2
            for i, (p, g) in enumerate(vals)
        ]
        return float(np.mean(errs))

    return _best(cfg, "predicted_value_key", "ground_truth_value_key", score, min)
