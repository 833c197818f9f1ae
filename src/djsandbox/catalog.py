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


def _hook(module: str, name: str, summary: str) -> ComponentSpec:
    return ComponentSpec("Hook", name, f"djsandbox.hooks.{module}:{name}", summary)


HOOK_SPECS = (
    _hook("data_juicer", "ProbeViaAnalyzerHook", "analyse a dataset with Data-Juicer's Analyzer"),
    _hook(
        "model_probe",
        "ProbeViaModelInferHook",
        "sample data, run a ModelInferExecutor on it, analyse the outputs with a DJ recipe",
    ),
    _hook("generic", "GeneralProbeHook", "a GeneralProbe component chosen by extra_configs.type"),
    _hook(
        "data_juicer",
        "RefineRecipeViaKSigmaHook",
        "set filter bounds to mean +- k*std of analysed stats",
    ),
    _hook(
        "data_juicer",
        "RefineRecipeViaModelFeedbackHook",
        "filter bounds that keep the stat ranges of the pools whose models scored well",
    ),
    _hook("data_juicer", "ProcessDataHook", "process a dataset with Data-Juicer's executor"),
    *(
        _hook("generic", f"{kind}Hook", f"a {factory} component chosen by extra_configs.type")
        for kind, factory in (
            ("DataPoolManipulation", "DataPoolManipulator"),
            ("GeneralDataExecutor", "GeneralDataExecutor"),
            ("TrainModel", "ModelTrainExecutor"),
            ("InferModel", "ModelInferExecutor"),
            ("EvaluateData", "DataEvaluator"),
            ("EvaluateModel", "ModelEvaluator"),
        )
    ),
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
    "djsandbox.data.converters.video_clips_to_dj",
    "djsandbox.evaluation.data_evaluators",
    "djsandbox.evaluation.text_quality_classifier",
    "djsandbox.evaluation.dj_text_quality_classifier",
    "djsandbox.evaluation.modelscope_eval",
    "djsandbox.evaluation.vbench",
    "djsandbox.evaluation.video",
    "djsandbox.inference.huggingface",
    "djsandbox.inference.vllm",
    "djsandbox.inference.api",
    "djsandbox.models",
    "djsandbox.models.captioning",
    "djsandbox.models.easyanimate",
    "djsandbox.models.trinity",
)

HOOKS = Registry("Hook", "hook")
FACTORIES: dict[str, Registry] = {
    name: Registry(name)
    for name in (
        "DataPoolManipulator",
        "GeneralDataExecutor",
        "GeneralProbe",
        "DataEvaluator",
        "ModelInferEvaluator",
        "ModelTrainExecutor",
        "ModelInferExecutor",
        "ModelEvaluator",
    )
}


def _register_all() -> None:
    for spec in HOOK_SPECS:
        HOOKS.add(spec)
    for module_name in COMPONENT_MODULES:
        for spec in importlib.import_module(module_name).SPECS:
            FACTORIES[spec.factory].add(spec)


_register_all()


def register(factory: str, name: str, summary: str = "", **fields: Any) -> Callable[[Any], Any]:
    """Decorator for a user component (a module named in `plugins:`), with the fields of a
    built-in spec (`Registry.register`: results, keys, required, check), so its keys
    are checked the same way:
    `@register("DataEvaluator", "my_score", results=2, keys=("dataset_path",))`."""
    if factory not in FACTORIES:
        raise KeyError(
            f"unknown factory '{factory}'.{did_you_mean(factory, FACTORIES, 'sentence')}"
            f" Valid: {', '.join(FACTORIES)}"
        )
    return FACTORIES[factory].register(name, summary, **fields)


def describe() -> str:
    """A plain-text listing of every hook and component, with what is not built yet."""
    lines: list[str] = []
    for title, registry in [("Hooks", HOOKS)] + [(f"{k} types", v) for k, v in FACTORIES.items()]:
        lines.append(f"{title}:")
        for spec in registry:
            state = f"  [{spec.unavailable}]" if spec.unavailable else ""
            summary = f" - {spec.summary}" if spec.summary else ""
            lines.append(f"  {spec.name}{summary}{state}")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
