"""Every hook and component the sandbox knows: the hook list plus the component modules.

Each component module publishes its specs (`SPECS`, see `registry.ComponentSpec`) beside its
code; this file only names the modules, so adding a component is one spec and one line here.
Names are the reference DJ-Sandbox's, so its configs run unchanged. Planned specs are listed
with why they cannot run yet; validation reports them before any job runs.
`dj-sandbox --list` prints this catalog.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from .registry import ComponentSpec, Registry
from .suggest import did_you_mean

_HOOKS = "djsandbox.hooks"
HOOK_SPECS = (
    ComponentSpec("Hook", "ProbeViaAnalyzerHook", f"{_HOOKS}.data_juicer:ProbeViaAnalyzerHook",
                  "analyse a dataset with Data-Juicer's Analyzer"),
    ComponentSpec("Hook", "ProbeViaModelInferHook", f"{_HOOKS}.model_probe:ProbeViaModelInferHook",
                  "sample data, run a ModelInferExecutor on it, analyse the outputs with a DJ "
                  "recipe"),
    ComponentSpec("Hook", "GeneralProbeHook", f"{_HOOKS}.generic:GeneralProbeHook",
                  "a GeneralProbe component chosen by extra_configs.type"),
    ComponentSpec("Hook", "RefineRecipeViaKSigmaHook",
                  f"{_HOOKS}.data_juicer:RefineRecipeViaKSigmaHook",
                  "set filter bounds to mean +- k*std of analysed stats"),
    ComponentSpec("Hook", "RefineRecipeViaModelFeedbackHook", None,
                  "refine a recipe from model feedback",
                  unavailable="not available yet: the reference never implemented it; it arrives "
                              "with the model-feedback issue (#16)"),
    ComponentSpec("Hook", "ProcessDataHook", f"{_HOOKS}.data_juicer:ProcessDataHook",
                  "process a dataset with Data-Juicer's executor"),
    ComponentSpec("Hook", "DataPoolManipulationHook", f"{_HOOKS}.generic:DataPoolManipulationHook",
                  "a DataPoolManipulator component chosen by extra_configs.type"),
    ComponentSpec("Hook", "GeneralDataExecutorHook", f"{_HOOKS}.generic:GeneralDataExecutorHook",
                  "a GeneralDataExecutor component chosen by extra_configs.type"),
    ComponentSpec("Hook", "TrainModelHook", f"{_HOOKS}.generic:TrainModelHook",
                  "a ModelTrainExecutor component chosen by extra_configs.type"),
    ComponentSpec("Hook", "InferModelHook", f"{_HOOKS}.generic:InferModelHook",
                  "a ModelInferExecutor component chosen by extra_configs.type"),
    ComponentSpec("Hook", "EvaluateDataHook", f"{_HOOKS}.generic:EvaluateDataHook",
                  "a DataEvaluator component chosen by extra_configs.type"),
    ComponentSpec("Hook", "EvaluateModelHook", f"{_HOOKS}.generic:EvaluateModelHook",
                  "a ModelEvaluator component chosen by extra_configs.type"),
)

# Modules whose SPECS hold components (each imports only the standard library at import time).
COMPONENT_MODULES = (
    "djsandbox.data.pools.construction",
    "djsandbox.data.pools.combination",
    "djsandbox.data.pools.duplication",
    "djsandbox.data.pools.downsampling",
    "djsandbox.data.pools.ranking",
    "djsandbox.data.pools.merging",
    "djsandbox.data.pools.cartesian_join",
    "djsandbox.data.converters.coco_caption_to_dj",
    "djsandbox.data.converters.coco_caption_meta",
    "djsandbox.data.converters.dj_to_easyanimate",
    "djsandbox.data.converters.captions_to_internvl",
    "djsandbox.evaluation.data_evaluators",
    "djsandbox.evaluation.text_quality_classifier",
    "djsandbox.evaluation.dj_text_quality_classifier",
    "djsandbox.evaluation.modelscope_eval",
    "djsandbox.inference.huggingface",
    "djsandbox.inference.vllm",
    "djsandbox.inference.api",
    "djsandbox.models",
    "djsandbox.models.captioning",
)

_VIDEO = "not available yet: arrives with the text-to-video issue (#14)"
_RFT = "not available yet: arrives with the Trinity-RFT issue (#16)"
PLANNED = (
    ComponentSpec("DataEvaluator", "vbench_video_evaluator", None, unavailable=_VIDEO),
    ComponentSpec("DataEvaluator", "video_inception_evaluator", None, unavailable=_VIDEO),
    ComponentSpec("ModelTrainExecutor", "easyanimate", None, unavailable=_VIDEO),
    ComponentSpec("ModelTrainExecutor", "trinity-rft", None, unavailable=_RFT),
    ComponentSpec("ModelInferExecutor", "easyanimate", None, unavailable=_VIDEO),
)

HOOKS = Registry("Hook", "hook")
FACTORIES: dict[str, Registry] = {name: Registry(name) for name in (
    "DataPoolManipulator", "GeneralDataExecutor", "GeneralProbe", "DataEvaluator",
    "ModelInferEvaluator", "ModelTrainExecutor", "ModelInferExecutor", "ModelEvaluator")}


def _register_all() -> None:
    for spec in HOOK_SPECS:
        HOOKS.add(spec)
    for module_name in COMPONENT_MODULES:
        for spec in importlib.import_module(module_name).SPECS:
            FACTORIES[spec.factory].add(spec)
    for spec in PLANNED:
        FACTORIES[spec.factory].add(spec)


_register_all()


def register(factory: str, name: str, summary: str = "", results: int | None = 1,
             keys: tuple[str, ...] | None = None, required: tuple[str, ...] = (),
             check: str | Callable[[dict[str, Any]], Any] | None = None) -> Callable[[Any], Any]:
    """Decorator for a user component (a module named in `plugins:`), with the fields of a
    built-in spec, so its keys are checked the same way:
    `@register("DataEvaluator", "my_score", results=2, keys=("dataset_path",))`."""
    if factory not in FACTORIES:
        raise KeyError(f"unknown factory '{factory}'.{did_you_mean(factory, FACTORIES, 'sentence')}"
                       f" Valid: {', '.join(FACTORIES)}")
    return FACTORIES[factory].register(name, summary, results, keys, required, check)


def describe() -> str:
    """A plain-text listing of every hook and component, with what is not available yet."""
    lines: list[str] = []
    for title, registry in [("Hooks", HOOKS)] + [(f"{k} types", v) for k, v in FACTORIES.items()]:
        lines.append(f"{title}:")
        for spec in registry:
            state = f"  [{spec.unavailable}]" if spec.unavailable else ""
            summary = f" - {spec.summary}" if spec.summary else ""
            lines.append(f"  {spec.name}{summary}{state}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
