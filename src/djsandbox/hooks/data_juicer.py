"""The Data-Juicer hooks: analyse, refine a recipe by k-sigma, process.

Data-Juicer is imported only inside the adapters in `djsandbox.data`, when a job runs.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, ClassVar

from ..deferred import known
from ..errors import SandboxError
from ..paths import find_existing, output_path
from .base import Hook, JobRun


def recipe_problems(recipe: Any) -> list[str]:
    """A recipe's top-level keys, then its ops checked with Data-Juicer's own preflight, as
    'dj_configs.key: problem'."""
    from ..data.dj_ray import ray_address_problems
    from ..data.recipe_keys import recipe_key_problems

    problems = recipe_key_problems(recipe)
    if problems or not isinstance(recipe, dict):
        return problems
    problems = ray_address_problems(known(recipe))
    if problems or "process" not in recipe:
        return problems
    from ..data.dj_runtime import RecipeError, check_process

    process = [
        {op: known(args) if isinstance(args, dict) else args for op, args in item.items()}
        if isinstance(item, dict)
        else item
        for item in recipe["process"]
    ]
    try:
        check_process(process, strict=recipe.get("strict_preflight", True) is not False)
    except RecipeError as exc:
        return [f"dj_configs.{exc.key}: {exc}"]
    return []


class DataJuicerHook(Hook):
    """Checks the recipe's ops with Data-Juicer's own preflight before the run starts, so a
    typo in an op name or argument is reported before hours of earlier jobs."""

    needs_dj_configs = True

    def check(self, job: dict[str, Any]) -> list[str]:
        return super().check(job) + recipe_problems(job.get("dj_configs"))


class ProbeViaAnalyzerHook(DataJuicerHook):
    """Returns (path of the dataset with per-sample stats, stats summary)."""

    result_count: ClassVar[int | None] = 2
    keys: ClassVar[tuple[str, ...] | None] = ("cache",)  # false: always analyse afresh

    def run(self, run: JobRun) -> Any:
        from ..data.analysis_cache import cached_analysis
        from ..data.dj_analyze import analyze

        recipe = run.dj_configs or {}

        def compute() -> tuple[str, dict[str, Any]]:
            return analyze(recipe, work_dir=run.job_dir, base_dirs=run.base_dirs)

        if run.extra("cache", True) is False:
            export_path, summary = compute()
        else:
            dataset = (
                find_existing(recipe.get("dataset_path", ""), run.base_dirs)
                if isinstance(recipe.get("dataset_path"), str)
                else None
            )
            export = recipe.get("export_path")  # a hit copies the rows there (default: as dj)
            target = (
                output_path(export, run.base_dirs)
                if export
                else run.job_dir / "dj_export" / "analyze.jsonl"
            )
            export_path, summary = cached_analysis(recipe, dataset, target, compute)
        run.notes["rows"] = summary.get("rows")
        run.notes["analysis_cache"] = summary.get("cache")
        return export_path, summary


class RefineRecipeViaKSigmaHook(DataJuicerHook):
    """Bounds of each analysed filter become mean +- k*std; returns the refined recipe path.

    The stats come from the analysis recorded under the same meta_name in this pipeline (the
    reference's convention), or from `extra_configs.stats` (e.g. set through `input`).
    """

    keys: ClassVar[tuple[str, ...] | None] = ("k", "stats", "path_k_sigma_recipe")

    def check(self, job: dict[str, Any]) -> list[str]:
        problems = super().check(job)
        k = known(job.get("extra_configs")).get("k", 3)  # a `${ctx:...}` k is checked when it runs
        if not isinstance(k, (int, float)) or isinstance(k, bool) or not math.isfinite(k) or k <= 0:
            problems.append(f"extra_configs.k: expected a positive number, got {k!r}")
        return problems

    def run(self, run: JobRun) -> Any:
        from ..data.dj_runtime import write_recipe
        from ..data.k_sigma import refine_recipe_k_sigma

        stats = run.extra("stats")
        if stats is None:
            stats = self._analysed_stats(run)
        target = run.extra("path_k_sigma_recipe")
        path = output_path(target, run.base_dirs) if target else run.job_dir / "k_sigma_recipe.yaml"
        recipe, changes = refine_recipe_k_sigma(
            run.dj_configs or {}, stats, k=float(run.extra("k", 3))
        )
        write_recipe(recipe, Path(path))
        run.notes["changes"] = changes
        return str(path)

    @staticmethod
    def _analysed_stats(run: JobRun) -> dict[str, Any]:
        entry = run.context.iterations[run.iteration].get(run.pipeline, {}).get(run.name, {})
        for value in entry.values():
            if isinstance(value, dict) and isinstance(value.get("stats"), dict):
                return value["stats"]
        raise SandboxError(
            f"{run.label}: no analysed stats found under meta_name '{run.name}' in pipeline "
            f"'{run.pipeline}'. Run a ProbeViaAnalyzerHook with the same meta_name earlier in "
            "the pipeline, or pass the stats summary as extra_configs.stats."
        )


class ProcessDataHook(DataJuicerHook):
    """Runs Data-Juicer's executor; returns the processed dataset path."""

    keys: ClassVar[tuple[str, ...] | None] = ()  # everything is in the recipe (dj_configs)

    def run(self, run: JobRun) -> Any:
        from ..data.dj_process import process

        result = process(run.dj_configs or {}, work_dir=run.job_dir, base_dirs=run.base_dirs)
        run.notes.update(rows_in=result.get("rows_in"), rows_out=result.get("rows_out"))
        return result["export_path"]
