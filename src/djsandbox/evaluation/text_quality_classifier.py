"""DataEvaluator ``text_quality_classifier`` (ours): the GPT-3 quality-classifier recipe
(hashed term frequencies + logistic regression, as Data-Juicer's ``tools/quality_classifier``)
rebuilt to train offline in seconds, without Spark or a downloaded model: a positive and a
negative JSONL go in, a small ``.npz`` model comes out, and a dataset is scored as the mean
probability of being "positive" plus a per-row score file.

Returns ``(mean score, details)`` when scoring (the details carry paths, row count and the
score distribution), ``(model path, training facts)`` when only training.

Module imports are stdlib only: validation imports this module to run the checks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..atomic import atomic_open
from ..redact import show
from ..registry import ComponentSpec
from ..shapes import as_path_list, is_list
from ..value_checks import strings
from .hashed_ngram_model import (
    OURS,
    HashedFeatures,
    TextQualityModel,
    _auc,
    fit_logistic,
)
from .text_rows import read_texts, text_rows

SPECS = (
    ComponentSpec(
        "DataEvaluator",
        OURS,
        f"{__name__}:run_text_quality_classifier",
        "hashed n-gram logistic regression trained offline on positive/negative "
        "JSONL; returns (mean score, details) or (model, facts)",
        results=2,
        keys=(
            "positive_path",
            "negative_path",
            "dataset_path",
            "text_key",
            "model_path",
            "export_path",
            "score_key",
            "num_buckets",
            "ngram",
            "l2",
            "max_iter",
            "val_ratio",
            "seed",
            "batch_size",
        ),
        check=f"{__name__}:check_text_quality_classifier",
    ),
)

DEFAULT_MODEL_NAME = "text_quality_model.npz"
DEFAULT_SCORES_NAME = "scores.jsonl"


# --------------------------------------------------------------- text_quality_classifier


def _path_problem(key: str, value: Any) -> str | None:
    if isinstance(value, str) and value:
        return None
    if is_list(value) and value and all(isinstance(v, str) and v for v in value):
        return None
    return f"{key}: got {show(key, value)}; expected a dataset path or a non-empty list of paths"


def check_text_quality_classifier(cfg: dict[str, Any]) -> list[str]:
    """Problems with a ``text_quality_classifier`` config known before the run."""
    problems = []
    for key in ("positive_path", "negative_path"):
        if key in cfg and (msg := _path_problem(key, cfg[key])):
            problems.append(msg)
    if "dataset_path" in cfg and (msg := _path_problem("dataset_path", cfg["dataset_path"])):
        problems.append(msg)
    has_pos, has_neg = "positive_path" in cfg, "negative_path" in cfg
    if has_pos != has_neg:
        missing = "negative_path" if has_pos else "positive_path"
        problems.append(f"{missing}: missing; training needs both positive_path and negative_path")
    training = has_pos or has_neg
    if not training and "dataset_path" not in cfg:
        problems.append(
            "dataset_path: missing; give dataset_path to score, positive_path and "
            "negative_path to train, or all three to train then score"
        )
    if not training and "dataset_path" in cfg and "model_path" not in cfg:
        problems.append("model_path: missing; scoring without training needs a trained model file")
    problems += strings(cfg, "text_key", "score_key", "model_path", "export_path")
    ints = {
        "num_buckets": (2, 2**26),
        "ngram": (1, 4),
        "max_iter": (1, 10_000),
        "seed": (0, 2**32 - 1),
        "batch_size": (1, 10_000_000),
    }
    for key, (lo, hi) in ints.items():
        v = cfg.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi):
            problems.append(f"{key}: got {show(key, v)}; expected an integer in [{lo}, {hi}]")
    l2 = cfg.get("l2")
    if l2 is not None and (isinstance(l2, bool) or not isinstance(l2, (int, float)) or not l2 >= 0):
        problems.append(f"l2: got {l2!r}; expected a number >= 0")
    vr = cfg.get("val_ratio")
    if vr is not None and (
        isinstance(vr, bool) or not isinstance(vr, (int, float)) or not 0 <= vr < 1
    ):
        problems.append(f"val_ratio: got {vr!r}; expected a number in [0, 1)")
    return problems


def train_text_quality(
    cfg: dict[str, Any], model_path: Path
) -> tuple[TextQualityModel, dict[str, Any]]:
    """Train on ``positive_path`` (label 1) vs ``negative_path`` (label 0) and save the model.

    ``val_ratio`` of each class (default 0.1, chosen with ``seed``) is held out and reported
    (accuracy at 0.5, ROC AUC); the model is trained on the rest.
    """
    import numpy as np

    text_key = cfg.get("text_key", "text")
    pos_paths = as_path_list(cfg["positive_path"], "positive_path")
    neg_paths = as_path_list(cfg["negative_path"], "negative_path")
    overlap = {str(Path(p).resolve()) for p in pos_paths} & {
        str(Path(p).resolve()) for p in neg_paths
    }
    if overlap:
        raise ValueError(f"negative_path: {sorted(overlap)} is also a positive_path")
    pos = read_texts(pos_paths, text_key, "positive_path")
    neg = read_texts(neg_paths, text_key, "negative_path")
    texts = pos + neg
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])

    val_ratio = float(cfg.get("val_ratio", 0.1))
    rng = np.random.default_rng(int(cfg.get("seed", 42)))
    val = np.zeros(len(texts), dtype=bool)
    if val_ratio > 0:
        for idx in (np.arange(len(pos)), np.arange(len(pos), len(texts))):
            k = int(round(val_ratio * len(idx)))
            if k >= len(idx):
                k = len(idx) - 1
            val[rng.permutation(idx)[:k]] = True
    train = ~val
    for key, cls in (("positive_path", 1), ("negative_path", 0)):
        if not (y[train] == cls).any():
            raise ValueError(
                f"{key}: no training rows left after holding out val_ratio={val_ratio}"
            )

    features = HashedFeatures(int(cfg.get("num_buckets", 2**18)), int(cfg.get("ngram", 2)))
    X = features.transform(texts)
    weights, bias, fit_info = fit_logistic(
        X[train], y[train], float(cfg.get("l2", 1e-4)), int(cfg.get("max_iter", 100))
    )
    info: dict[str, Any] = {
        "text_key": text_key,
        "positive_path": pos_paths,
        "negative_path": neg_paths,
        "num_positive": len(pos),
        "num_negative": len(neg),
        "train_rows": int(train.sum()),
        "val_rows": int(val.sum()),
        "l2": float(cfg.get("l2", 1e-4)),
        "seed": int(cfg.get("seed", 42)),
        **fit_info,
    }
    model = TextQualityModel(weights, bias, features.num_buckets, features.ngram, info)
    z = X @ weights + bias
    p = 1.0 / (1.0 + np.exp(-z))
    info["train_accuracy"] = float(((p[train] >= 0.5) == (y[train] == 1)).mean())
    if val.any():
        info["val_accuracy"] = float(((p[val] >= 0.5) == (y[val] == 1)).mean())
        info["val_auc"] = _auc(p[val], y[val])
    model.info = info
    model.save(model_path)
    return model, dict(info, model_path=str(model_path))


def score_dataset(
    model: TextQualityModel,
    dataset_paths: list[str],
    text_key: str,
    export_path: Path,
    score_key: str = "doc_score",
    batch_size: int = 4096,
) -> dict[str, Any]:
    """Score every row, streaming; each row is written to ``export_path`` (JSONL) with its
    score under ``score_key`` (``doc_score``, as Data-Juicer's classifier), atomically."""
    import numpy as np

    chunks = []
    with atomic_open([export_path]) as (out,):

        def flush(rows: list[dict[str, Any]], texts: list[str]) -> None:
            scores = model.score(texts)
            chunks.append(scores)
            for row, s in zip(rows, scores):
                out.write(json.dumps(dict(row, **{score_key: float(s)}), ensure_ascii=False) + "\n")

        for path in dataset_paths:
            rows: list[dict[str, Any]] = []
            texts: list[str] = []
            for _, row, text in text_rows(path, text_key):
                rows.append(row)
                texts.append(text)
                if len(rows) >= batch_size:
                    flush(rows, texts)
                    rows, texts = [], []
            if rows:
                flush(rows, texts)
        scores = np.concatenate(chunks) if chunks else np.zeros(0)
        if scores.size == 0:
            raise ValueError(f"dataset_path: {dataset_paths} hold no rows to score")
    q = np.quantile(scores, [0.25, 0.5, 0.75])
    return {
        "dataset_path": dataset_paths,
        "export_path": str(export_path),
        "score_key": score_key,
        "num_rows": int(scores.size),
        "mean": float(scores.mean()),
        "std": float(scores.std()),
        "min": float(scores.min()),
        "25%": float(q[0]),
        "50%": float(q[1]),
        "75%": float(q[2]),
        "max": float(scores.max()),
    }


def run_text_quality_classifier(cfg: dict[str, Any], out_dir: Path) -> tuple[Any, dict[str, Any]]:
    """Train (``positive_path`` + ``negative_path``), score (``dataset_path`` + ``model_path``),
    or both (all three; the fresh model scores).

    Returns ``(mean score, details)`` when scoring: the mean of P(positive) over the rows and a
    dict with the export path, row count, score distribution and, when trained here, the
    training facts under ``training``. Training alone returns ``(model path, training facts)``
    so that a later job can feed res_1 into ``model_path``.
    Defaults: model ``out_dir/text_quality_model.npz`` (or ``model_path``), scores
    ``out_dir/scores.jsonl`` (or ``export_path``).
    """
    problems = check_text_quality_classifier(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    out_dir = Path(out_dir)
    model_path = Path(cfg.get("model_path") or out_dir / DEFAULT_MODEL_NAME)
    training: dict[str, Any] | None = None
    if "positive_path" in cfg:
        model, training = train_text_quality(cfg, model_path)
    else:
        model = TextQualityModel.load(model_path)
    if "dataset_path" not in cfg:
        assert training is not None
        return str(model_path), training
    text_key = cfg.get("text_key", model.info.get("text_key", "text"))
    details = score_dataset(
        model,
        as_path_list(cfg["dataset_path"], "dataset_path"),
        text_key,
        Path(cfg.get("export_path") or out_dir / DEFAULT_SCORES_NAME),
        cfg.get("score_key", "doc_score"),
        int(cfg.get("batch_size", 4096)),
    )
    details["model_path"] = str(model_path)
    if training is not None:
        details["training"] = training
    return details["mean"], details
