"""Data evaluators of the reference DJ-Sandbox (``accuracy``, ``mse``) as plain functions.

They compare a value stored in each row of a predicted dataset with the ground truth stored in
another dataset (or in the same rows), aligned by position. Kept free of torch and Data-Juicer
so that importing them is cheap.

Results follow the reference ``AccuracyEvaluator``/``MSEEvaluator``
(data_juicer_sandbox/evaluators.py): **two** results, (1) one record per predicted/ground-truth
pair, ``{"pred_path", "gt_path", "accuracy"}`` or ``{"pred_path", "gt_path", "mse",
"format_error"}``, in the order of ``predicted_dataset_path`` (so ``data_pool_ranking`` can rank
the pools that were inferred), and (2) the best value over the pairs (max accuracy, min mse).
Dotted keys reach nested fields (a flat key containing the dots wins, lists on the way are
mapped over); accuracy compares ``str(value)`` exactly, so it is case-sensitive, ``1`` and
``1.0`` differ, list values match only as whole lists, and ``null`` or an absent predicted
value compares as ``"None"``; mse converts with ``float()`` (numeric strings are accepted).
A prediction mse cannot use (absent, ``null``, not a number, a boolean, NaN or infinite) is
model output, not a config error: it is counted in ``format_error`` and skipped, as the
reference skips it. Deviations, all made so that a mistake fails loudly instead of moving an
objective silently:

- a missing file, datasets of different lengths or an empty dataset raise ``ValueError``
  naming the file (the reference skips missing files, truncates to the shorter dataset);
- a predicted key absent from every row of a file, or (mse) no row of any file giving a
  number, raise naming the file and key: that is a wrong key or parser, not a model's answer;
- the ground truth is data, not model output: a row without it (or, for mse, with a
  non-number) raises naming file, row and key (the reference compares ``"None"`` or crashes);
- a file where no prediction parses gets ``mse: null`` (the reference divides by zero); the
  best value is over the files that could be scored, and ``data_pool_ranking`` ranks a null
  last;
- files are read directly (``.jsonl``, ``.json`` lines or array, ``.parquet``) rather than via
  Data-Juicer's dataset builder.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Sequence

from ..data.jsonl import load_rows
from ..registry import ComponentSpec
from ..shapes import as_path_list

_PAIR_KEYS = ("predicted_dataset_path", "ground_truth_dataset_path")
SPECS = (
    ComponentSpec(
        "DataEvaluator",
        "accuracy",
        f"{__name__}:accuracy_evaluator",
        "share of predicted labels equal to the ground truth; returns (one record per "
        "pair, max accuracy)",
        results=2,
        keys=_PAIR_KEYS + ("predicted_label_key", "ground_truth_label_key"),
        required=("predicted_dataset_path",),
    ),
    ComponentSpec(
        "DataEvaluator",
        "mse",
        f"{__name__}:mse_evaluator",
        "mean squared error between predicted and true values, unparsable predictions "
        "counted as format_error; returns (one record per pair, min mse)",
        results=2,
        keys=_PAIR_KEYS + ("predicted_value_key", "ground_truth_value_key"),
        required=("predicted_dataset_path",),
    ),
)

_MISSING = object()
log = logging.getLogger(__name__)


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
            f"ground_truth_dataset_path has {len(gts)} paths but predicted_dataset_path has "
            f"{len(preds)}"
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
    """(prediction or _MISSING, ground truth) per row; the truth must be in every row, the
    prediction in at least one (else the key is wrong, not the model)."""
    pred_rows = load_rows(pred_path)
    gt_rows = pred_rows if gt_path == pred_path else load_rows(gt_path)
    if len(pred_rows) != len(gt_rows):
        raise ValueError(
            f"predicted dataset {pred_path!r} has {len(pred_rows)} rows but ground truth "
            f"{gt_path!r} has {len(gt_rows)}; rows are aligned by position"
        )
    out = []
    for i, (pr, gr) in enumerate(zip(pred_rows, gt_rows)):
        gv = nested_get(gr, gt_key)
        if gv is _MISSING:
            raise ValueError(f"{gt_path}: row {i} has no key {gt_key!r} (the ground truth)")
        out.append((nested_get(pr, pred_key), gv))
    if all(pv is _MISSING for pv, _ in out):
        keys = sorted({k for row in pred_rows[:20] for k in row})
        raise ValueError(
            f"{pred_path}: no row has the predicted key {pred_key!r}; its rows have {keys}"
        )
    return out


def accuracy_evaluator(cfg: dict, out_dir: Path | None = None) -> tuple[list[dict], float]:
    """Share of rows whose ``str(predicted) == str(ground truth)``, per path pair:
    (``[{"pred_path", "gt_path", "accuracy"}, ...]``, max accuracy).

    Keys: ``predicted_dataset_path`` (path or list), optional ``ground_truth_dataset_path``
    (defaults to the predicted dataset), ``predicted_label_key``, ``ground_truth_label_key``.
    """
    pairs, pred_key, gt_key = _pairs(cfg, "predicted_label_key", "ground_truth_label_key")
    records = []
    for pp, gp in pairs:
        vals = _aligned_values(pp, gp, pred_key, gt_key)
        hits = sum(str(None if p is _MISSING else p) == str(g) for p, g in vals)
        records.append({"pred_path": pp, "gt_path": gp, "accuracy": hits / len(vals)})
    return records, max(r["accuracy"] for r in records)


def _number(v: Any) -> float | None:
    """The value as a finite float, or None when it is not one (a format error)."""
    if v is _MISSING or v is None or isinstance(v, bool):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _truth(v: Any, path: str, row: int, key: str) -> float:
    x = _number(v)
    if x is None:
        raise ValueError(f"{path}: row {row} key {key!r} holds {v!r}, not a finite number")
    return x


def mse_evaluator(cfg: dict, out_dir: Path | None = None) -> tuple[list[dict], float]:
    """Mean squared error of predicted vs ground-truth numbers, per path pair:
    (``[{"pred_path", "gt_path", "mse", "format_error"}, ...]``, min mse).

    Keys: ``predicted_dataset_path`` (path or list), optional ``ground_truth_dataset_path``,
    ``predicted_value_key``, ``ground_truth_value_key``. A prediction that is not a finite
    number counts in ``format_error`` and is skipped; ``mse`` is null for a file where none is.
    """
    pairs, pred_key, gt_key = _pairs(cfg, "predicted_value_key", "ground_truth_value_key")
    records: list[dict] = []
    samples: list[Any] = []  # some unparsable predictions, for the message when none parses
    for pp, gp in pairs:
        errors, bad = [], 0
        for i, (p, g) in enumerate(_aligned_values(pp, gp, pred_key, gt_key)):
            truth, pred = _truth(g, gp, i, gt_key), _number(p)
            if pred is None:
                bad += 1
                if len(samples) < 3:
                    samples.append(None if p is _MISSING else p)
                continue
            errors.append((pred - truth) ** 2)
        if bad:
            log.warning(
                "%s: %d of %d predictions under %r are not numbers (format errors)",
                pp,
                bad,
                bad + len(errors),
                pred_key,
            )
        mse = sum(errors) / len(errors) if errors else None
        records.append({"pred_path": pp, "gt_path": gp, "mse": mse, "format_error": bad})
    scored = [r["mse"] for r in records if r["mse"] is not None]
    if not scored:
        files = [r["pred_path"] for r in records]
        raise ValueError(
            f"predicted_value_key {pred_key!r}: no row of {files} holds a number "
            f"(values such as {samples!r}); check the key and the parse function"
        )
    return records, min(scored)
