"""Every hook and component the sandbox knows, registered explicitly in one place.

Names are the reference DJ-Sandbox's, so its configs run unchanged. Entries marked
unavailable are part of the spec but built by a later issue (or need an optional extra);
validation reports them before any job runs. `dj-sandbox --list` prints this catalog.
"""

from __future__ import annotations

from typing import Any

from . import inference
from .data import caption_rows, converters, pools
from .evaluation import text_quality
from .models import captioning
from .registry import Registry

_MODELS = "not available yet: arrives with issue #4 (model side on Lightning)"
_VIDEO = "not available yet: arrives with the text-to-video issue (needs the VBench extra)"
_RFT = "not available yet: arrives with the RL (Trinity-RFT) issue"

HOOKS = Registry("hook")
HOOKS.add("ProbeViaAnalyzerHook", "djsandbox.hooks.data_juicer:ProbeViaAnalyzerHook",
          "analyse a dataset with Data-Juicer's Analyzer")
HOOKS.add("ProbeViaModelInferHook", "djsandbox.hooks.model_probe:ProbeViaModelInferHook",
          "sample data, run a ModelInferExecutor on it, analyse the outputs with a DJ recipe")
HOOKS.add("GeneralProbeHook", "djsandbox.hooks.generic:GeneralProbeHook",
          "a GeneralProbe component chosen by extra_configs.type")
HOOKS.add("RefineRecipeViaKSigmaHook", "djsandbox.hooks.data_juicer:RefineRecipeViaKSigmaHook",
          "set filter bounds to mean +- k*std of analysed stats")
HOOKS.add("RefineRecipeViaModelFeedbackHook", None, "refine a recipe from model feedback",
          unavailable="not available: the reference never implemented it; no issue builds it yet")
HOOKS.add("ProcessDataHook", "djsandbox.hooks.data_juicer:ProcessDataHook",
          "process a dataset with Data-Juicer's executor")
HOOKS.add("DataPoolManipulationHook", "djsandbox.hooks.generic:DataPoolManipulationHook",
          "a DataPoolManipulator component chosen by extra_configs.type")
HOOKS.add("GeneralDataExecutorHook", "djsandbox.hooks.generic:GeneralDataExecutorHook",
          "a GeneralDataExecutor component chosen by extra_configs.type")
HOOKS.add("TrainModelHook", "djsandbox.hooks.generic:TrainModelHook",
          "a ModelTrainExecutor component chosen by extra_configs.type")
HOOKS.add("InferModelHook", "djsandbox.hooks.generic:InferModelHook",
          "a ModelInferExecutor component chosen by extra_configs.type")
HOOKS.add("EvaluateDataHook", "djsandbox.hooks.generic:EvaluateDataHook",
          "a DataEvaluator component chosen by extra_configs.type")
HOOKS.add("EvaluateModelHook", "djsandbox.hooks.generic:EvaluateModelHook",
          "a ModelEvaluator component chosen by extra_configs.type")

_POOL_SUMMARIES = {
    "data_pool_construction": "split an analysed dataset into pools per stat (e.g. thirds)",
    "data_pool_combination": "intersections of every non-empty subset of ranked pools",
    "data_pool_duplication": "repeat each pool duplicating_times times",
    "data_pool_downsampling": "shuffle with a seed and cut pools to target_num_samples",
    "data_pool_ranking": "order pools by evaluation metrics (optionally top_n)",
    "data_pool_merging": "concatenate pools into one dataset",
    "data_pool_cartesian_join": "row-wise cartesian join of every pair of pools of two sets",
}


def _add_module_components(registry: Registry, names: dict[str, str], module: object,
                           targets: dict[str, str], checks: dict[str, str]) -> None:
    """Register components whose module publishes its keys, result counts and entry points."""
    for name, summary in names.items():
        registry.add(name, targets[name], summary, results=module.RESULTS[name],  # type: ignore
                     keys=module.COMPONENT_KEYS[name], check=checks[name],  # type: ignore
                     required=getattr(module, "REQUIRED", {}).get(name, ()))


DATA_POOL_MANIPULATORS = Registry("DataPoolManipulator type")
_add_module_components(DATA_POOL_MANIPULATORS, _POOL_SUMMARIES, pools, pools.TARGETS,
                       pools.CHECKS)

GENERAL_PROBES = Registry("GeneralProbe type")
_add_module_components(GENERAL_PROBES, {"data_pool_ranking": _POOL_SUMMARIES["data_pool_ranking"]},
                       pools, pools.TARGETS, pools.CHECKS)

_CONVERTERS = "djsandbox.data.converters"
GENERAL_DATA_EXECUTORS = Registry("GeneralDataExecutor type")
_add_module_components(
    GENERAL_DATA_EXECUTORS,
    {"coco_caption_to_dj_conversion": "InternVL/LLaVA caption JSONL <-> Data-Juicer format "
                                      "(convert_to: dj | internvl)",
     "coco_caption_meta_generation": "InternVL training meta JSON for caption datasets",
     "dj_to_easyanimate_video_dataset_conversion": "Data-Juicer video rows -> EasyAnimate JSON"},
    converters,
    {"coco_caption_to_dj_conversion": f"{_CONVERTERS}:run_coco_caption_to_dj",
     "coco_caption_meta_generation": f"{_CONVERTERS}:run_coco_caption_meta",
     "dj_to_easyanimate_video_dataset_conversion": f"{_CONVERTERS}:run_dj_to_easyanimate"},
    {"coco_caption_to_dj_conversion": f"{_CONVERTERS}:check_coco_caption_to_dj",
     "coco_caption_meta_generation": f"{_CONVERTERS}:check_coco_caption_meta",
     "dj_to_easyanimate_video_dataset_conversion": f"{_CONVERTERS}:check_dj_to_easyanimate"})

_EVAL_DATA_KEYS = ("predicted_dataset_path", "ground_truth_dataset_path")
_CLASSIFIER_DATA_KEYS = ("dataset_path", "text_key", "label_key")
_TRAIN_KEYS = _CLASSIFIER_DATA_KEYS + (
    "val_ratio", "seed", "max_epochs", "batch_size", "lr", "embed_dim", "dropout",
    "weight_decay", "max_vocab", "min_count", "ngram_buckets", "num_workers", "trainer",
    "enable_progress_bar")
_EVAL_KEYS = _CLASSIFIER_DATA_KEYS + ("checkpoint", "predictions_path", "predicted_label_key")

_add_module_components(
    GENERAL_DATA_EXECUTORS,
    {caption_rows.NAME: "caption-list rows ({image, captions: [...]}) -> InternVL conversation "
                        "JSONL, one row per caption, optionally one split"},
    caption_rows, {caption_rows.NAME: "djsandbox.data.caption_rows:run_captions_to_internvl"},
    {caption_rows.NAME: "djsandbox.data.caption_rows:check_captions_to_internvl"})

DATA_EVALUATORS = Registry("DataEvaluator type")
DATA_EVALUATORS.add("accuracy", "djsandbox.components:accuracy",
                    "share of predicted labels equal to the ground truth",
                    keys=_EVAL_DATA_KEYS + ("predicted_label_key", "ground_truth_label_key"),
                    required=("predicted_dataset_path",))
DATA_EVALUATORS.add("mse", "djsandbox.components:mse",
                    "mean squared error between predicted and true values",
                    keys=_EVAL_DATA_KEYS + ("predicted_value_key", "ground_truth_value_key"),
                    required=("predicted_dataset_path",))
_QUALITY = "djsandbox.evaluation.text_quality"
_add_module_components(
    DATA_EVALUATORS,
    {"dj_text_quality_classifier": "Data-Juicer's GPT-3-style quality classifier (needs Spark "
                                   "and its model locally); returns (mean score, details)",
     "text_quality_classifier": "hashed n-gram logistic regression trained offline on positive/"
                                "negative JSONL; returns (mean score, details) or (model, facts)"},
    text_quality,
    {"dj_text_quality_classifier": f"{_QUALITY}:run_dj_text_quality_classifier",
     "text_quality_classifier": f"{_QUALITY}:run_text_quality_classifier"},
    {"dj_text_quality_classifier": f"{_QUALITY}:check_dj_text_quality_classifier",
     "text_quality_classifier": f"{_QUALITY}:check_text_quality_classifier"})
DATA_EVALUATORS.add("vbench_video_evaluator", None, unavailable=_VIDEO)
DATA_EVALUATORS.add("video_inception_evaluator", None, unavailable=_VIDEO)

MODEL_INFER_EVALUATORS = Registry("ModelInferEvaluator type")

MODEL_TRAIN_EXECUTORS = Registry("ModelTrainExecutor type")
MODEL_TRAIN_EXECUTORS.add("text_classifier", "djsandbox.components:train_text_classifier",
                          "Lightning EmbeddingBag text classifier (CPU, seconds); "
                          "returns (checkpoint, metrics)", results=2, keys=_TRAIN_KEYS,
                          required=("dataset_path",))
MODEL_TRAIN_EXECUTORS.add("easyanimate", None, unavailable=_VIDEO)
MODEL_TRAIN_EXECUTORS.add("trinity-rft", None, unavailable=_RFT)

MODEL_INFER_EXECUTORS = Registry("ModelInferExecutor type")
MODEL_INFER_EXECUTORS.add("easyanimate", None, unavailable=_VIDEO)

MODEL_EVALUATORS = Registry("ModelEvaluator type")
MODEL_EVALUATORS.add("text_classifier", "djsandbox.components:evaluate_text_classifier",
                     "accuracy and macro-F1 of a text_classifier checkpoint on a labelled set",
                     keys=_EVAL_KEYS, required=("checkpoint", "dataset_path"))

FACTORIES: dict[str, Registry] = {
    "DataPoolManipulator": DATA_POOL_MANIPULATORS,
    "GeneralDataExecutor": GENERAL_DATA_EXECUTORS,
    "GeneralProbe": GENERAL_PROBES,
    "DataEvaluator": DATA_EVALUATORS,
    "ModelInferEvaluator": MODEL_INFER_EVALUATORS,
    "ModelTrainExecutor": MODEL_TRAIN_EXECUTORS,
    "ModelInferExecutor": MODEL_INFER_EXECUTORS,
    "ModelEvaluator": MODEL_EVALUATORS,
}


def _add_published(entries: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Register the entries a component package publishes (see its ENTRIES docstring)."""
    for factory, types in entries.items():
        for name, spec in types.items():
            FACTORIES[factory].add(name, spec["target"], spec.get("summary", ""),
                                   results=spec.get("results", 1), keys=spec.get("keys"),
                                   check=spec.get("check"), required=spec.get("required", ()))


_add_published(inference.ENTRIES)
_add_published(captioning.ENTRIES)
# Spec'd types no package publishes yet stay listed, and validation names why they cannot run.
for _factory, _name in [("ModelTrainExecutor", "internvl_coco_caption"),
                        ("ModelTrainExecutor", "modelscope"), ("ModelEvaluator", "internvl_coco_caption"),
                        ("ModelInferEvaluator", "modelscope"), ("ModelInferExecutor", "huggingface"),
                        ("ModelInferExecutor", "vllm"), ("ModelInferExecutor", "api")]:
    if _name not in FACTORIES[_factory]:
        FACTORIES[_factory].add(_name, None, unavailable=_MODELS)


def describe() -> str:
    """A plain-text listing of every hook and component, with what is not available yet."""
    lines: list[str] = []
    for title, registry in [("Hooks", HOOKS)] + [(f"{k} types", v) for k, v in FACTORIES.items()]:
        lines.append(f"{title}:")
        for entry in registry:
            state = f"  [{entry.unavailable}]" if entry.unavailable else ""
            summary = f" - {entry.summary}" if entry.summary else ""
            lines.append(f"  {entry.name}{summary}{state}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
