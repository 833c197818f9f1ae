"""Hooks that only dispatch to a component chosen by `extra_configs.type`.

A component is a callable `(cfg: dict, out_dir: Path) -> results`; `out_dir` is the job's own
folder. Returning a tuple records several results (res_1, res_2, ...).
"""

from __future__ import annotations

from typing import Any, ClassVar

from .base import Hook, JobRun


class ComponentHook(Hook):
    result_count: ClassVar[int | None] = None
    keys: ClassVar[tuple[str, ...] | None] = ()  # every setting is the component's

    def run(self, run: JobRun) -> Any:
        entry, cfg = self.component(run)
        return entry.load()(cfg, run.job_dir)


class GeneralProbeHook(ComponentHook):
    factory = "GeneralProbe"


class DataPoolManipulationHook(ComponentHook):
    factory = "DataPoolManipulator"


class GeneralDataExecutorHook(ComponentHook):
    factory = "GeneralDataExecutor"


class TrainModelHook(ComponentHook):
    factory = "ModelTrainExecutor"
    cache_default: ClassVar[bool] = False  # seeded CPU training repeats; GPU kernels may not


class InferModelHook(ComponentHook):
    factory = "ModelInferExecutor"
    cache_default: ClassVar[bool] = False  # sampling and API endpoints answer differently


class EvaluateDataHook(ComponentHook):
    factory = "DataEvaluator"


class EvaluateModelHook(ComponentHook):
    factory = "ModelEvaluator"
