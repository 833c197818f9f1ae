"""DataEvaluator ``dj_text_quality_classifier`` (the reference's ``Gpt3QualityEvaluator``):
calls Data-Juicer's own ``predict_score`` on a locally available Spark model, and fails up
front, naming the missing model folder or dependency, where Data-Juicer would otherwise
download or exit silently.

Returns ``(mean score, details)``: the mean is what the reference returns (its res_1), the
details dict carries paths and the score distribution.

Module imports are stdlib only: validation imports this module to run the checks.
"""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import Any

from ..atomic import atomic_paths
from ..registry import ComponentSpec
from ..value_checks import strings

DJ = "dj_text_quality_classifier"

SPECS = (
    ComponentSpec(
        "DataEvaluator",
        DJ,
        f"{__name__}:run_dj_text_quality_classifier",
        "Data-Juicer's GPT-3-style quality classifier (needs Spark and its model "
        "locally); returns (mean score, details)",
        results=2,
        keys=(
            "dataset_path",
            "model",
            "model_dir",
            "tokenizer",
            "keep_method",
            "text_key",
            "export_path",
        ),
        check=f"{__name__}:check_dj_text_quality_classifier",
    ),
)

DJ_NAMED_MODELS: dict[str, tuple[str | None, str]] = {
    "gpt3": (None, "gpt3"),
    "chinese": ("zh.sp.model", "label"),
    "code": ("code.sp.model", "label"),
}
"""Data-Juicer's provided models -> (sentencepiece tokenizer, keep method) it forces for them."""

DJ_KEEP_METHODS = ("gpt3", "label")


def check_dj_text_quality_classifier(cfg: dict[str, Any]) -> list[str]:
    """Problems with a ``dj_text_quality_classifier`` config known before the run."""
    problems = []
    if "dataset_path" in cfg:
        v = cfg["dataset_path"]
        if not isinstance(v, str) or not v:
            problems.append(f"dataset_path: got {v!r}; expected one dataset path")
        elif not v.endswith((".json", ".jsonl", ".parquet")) and "${" not in v:
            problems.append(
                f"dataset_path: {v!r}; Data-Juicer's classifier reads only .json, "
                ".jsonl or .parquet files"
            )
    else:
        problems.append("dataset_path: missing; expected the dataset to score")
    problems += strings(cfg, "model", "model_dir", "tokenizer", "text_key", "export_path")
    keep = cfg.get("keep_method")
    if keep is not None and keep not in DJ_KEEP_METHODS:
        problems.append(f"keep_method: got {keep!r}; expected one of {', '.join(DJ_KEEP_METHODS)}")
    model = cfg.get("model", "gpt3")
    if model in DJ_NAMED_MODELS:
        tok, km = DJ_NAMED_MODELS[model]
        if "tokenizer" in cfg and cfg["tokenizer"] != tok:
            problems.append(
                f"tokenizer: Data-Juicer always uses {tok!r} with its {model!r} model; "
                "remove the setting or point model to your own model folder"
            )
        if keep is not None and keep != km:
            problems.append(f"keep_method: Data-Juicer always uses {km!r} with its {model!r} model")
    if not problems:  # what it needs on this machine is known before the run too
        try:
            _, tokenizer, _ = resolve_dj_model(cfg)
        except ValueError as exc:
            problems.append(str(exc))
        else:
            missing = missing_dj_dependencies(sentencepiece=tokenizer is not None)
            if missing:
                problems.append(f"type: {DJ} runs on Spark and needs {'; '.join(missing)}")
    return problems


def dj_models_dir(cfg: dict[str, Any]) -> Path:
    """``model_dir`` or Data-Juicer's models cache (``DATA_JUICER_MODELS_CACHE``)."""
    if cfg.get("model_dir"):
        return Path(cfg["model_dir"]).expanduser()
    from data_juicer.utils.cache_utils import DATA_JUICER_MODELS_CACHE

    return Path(DATA_JUICER_MODELS_CACHE).expanduser()


def resolve_dj_model(cfg: dict[str, Any]) -> tuple[Path, str | None, str]:
    """(model folder, tokenizer file or None, keep method) that must exist locally.

    Data-Juicer itself would download a missing provided model (and exit with status 0 on a
    missing custom one); here a missing one is a ValueError naming the path and where the
    model comes from, since the sandbox never downloads at run time.
    """
    model = cfg.get("model", "gpt3")
    if model in DJ_NAMED_MODELS:
        models_dir = dj_models_dir(cfg)
        path = models_dir / f"{model}_quality_model"
        tokenizer, keep = DJ_NAMED_MODELS[model]
        origin = (
            f"Data-Juicer's {model!r} quality classifier is downloaded from its model store "
            f"as {model}_quality_model.zip; unzip it into {str(models_dir)!r}, or set "
            "`model_dir` to the folder holding it, or `model` to the model folder itself"
        )
    else:
        path = Path(model).expanduser()
        tokenizer, keep = cfg.get("tokenizer"), cfg.get("keep_method", "gpt3")
        models_dir = dj_models_dir(cfg) if tokenizer else path.parent
        origin = "a model trained with Data-Juicer's tools/quality_classifier/train.py"
    if not path.is_dir():
        raise ValueError(f"model: no Spark PipelineModel folder at {str(path)!r} ({origin})")
    missing = [d for d in ("metadata", "stages") if not (path / d).is_dir()]
    if missing:
        raise ValueError(
            f"model: {str(path)!r} is not a Spark PipelineModel folder (no "
            f"{' or '.join(missing)} inside)"
        )
    tok_path = None
    if tokenizer:
        candidates = [Path(tokenizer).expanduser(), models_dir / tokenizer]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise ValueError(
                f"tokenizer: sentencepiece model {tokenizer!r} not found at "
                f"{', '.join(repr(str(c)) for c in candidates)}"
            )
        tok_path = str(found.resolve())
    return path.resolve(), tok_path, str(keep)


def missing_dj_dependencies(sentencepiece: bool = False) -> list[str]:
    """What Data-Juicer's classifier needs that this environment lacks (it runs on Spark).

    Checked up front because Data-Juicer's lazy loader would otherwise try to pip-install a
    missing package in the middle of the run."""
    import importlib.util

    missing = []
    needed = {
        "pyspark": "pip install pyspark",
        "wget": "imported by Data-Juicer's qc_utils",
        "tabulate": "writes overall.md",
    }
    if sentencepiece:
        needed["sentencepiece"] = "the tokenizer of the chinese and code models"
    for module, why in needed.items():
        if importlib.util.find_spec(module) is None:
            missing.append(f"the Python package {module!r} ({why})")
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (
        java_home and (Path(java_home) / "bin" / "java").exists()
    ):
        missing.append("a Java runtime for Spark ('java' on PATH or JAVA_HOME)")
    return missing


def _dj_predict_score() -> Any:
    from data_juicer.tools.quality_classifier.predict import predict_score

    return predict_score


def summarize_overall(overall: Any, score_column: str = "doc_score") -> dict[str, float]:
    """Data-Juicer's ``describe()`` of the doc scores -> plain floats (count, mean, std, ...)."""
    col = overall[score_column] if score_column in getattr(overall, "columns", []) else overall
    out = {}
    for stat in ("count", "mean", "std", "min", "25%", "50%", "75%", "max"):
        if stat in col.index:
            out[stat] = float(col.loc[stat])
    if "mean" not in out or math.isnan(out["mean"]):
        raise ValueError("Data-Juicer's classifier returned no mean doc_score (empty dataset?)")
    return out


def run_dj_text_quality_classifier(
    cfg: dict[str, Any], out_dir: Path
) -> tuple[float, dict[str, Any]]:
    """Score ``dataset_path`` with Data-Juicer's GPT-3-style quality classifier.

    ``model``: ``gpt3`` (default), ``chinese``, ``code`` (looked up in ``model_dir``, default
    Data-Juicer's models cache) or the folder of a model trained with Data-Juicer's tools;
    ``tokenizer``/``keep_method`` only for such a folder. Per-row results (Spark's JSON part
    files with ``doc_score`` and ``should_keep``, plus ``overall.csv``) go to ``export_path``
    (default ``out_dir/dj_quality_scores.jsonl``, a folder as Spark writes it).
    Returns ``(mean doc_score, details)``; the reference returned the mean alone.
    """
    problems = check_dj_text_quality_classifier(cfg)
    if problems:
        raise ValueError("; ".join(problems))
    dataset = Path(cfg["dataset_path"])
    if not dataset.is_file():
        raise ValueError(f"dataset_path: file {str(dataset)!r} does not exist")
    model_path, tokenizer, keep = resolve_dj_model(cfg)
    missing = missing_dj_dependencies(sentencepiece=tokenizer is not None)
    if missing:
        raise ValueError(
            f"{DJ}: Data-Juicer's quality classifier runs on Spark and needs {'; '.join(missing)}"
        )
    export = Path(cfg.get("export_path") or Path(out_dir) / "dj_quality_scores.jsonl")
    # Spark writes the result folder itself (picking the output format from the export's
    # suffix); it lands in a fresh temporary place and replaces the export when done.
    with atomic_paths([export], replace_any=True) as (result,):
        overall = _dj_predict_score()(
            str(dataset),
            str(result),
            model=str(model_path),
            tokenizer=tokenizer,
            keep_method=keep,
            text_key=cfg.get("text_key", "text"),
            overall_stats=True,
        )
        stats = summarize_overall(overall)
    details = {
        "dataset_path": str(dataset),
        "model": cfg.get("model", "gpt3"),
        "model_path": str(model_path),
        "export_path": str(export),
        **stats,
    }
    return stats["mean"], details
