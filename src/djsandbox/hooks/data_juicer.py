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
    from ..data.video_op_needs import video_op_needs

    return list(video_op_needs(process))


class DataJuicerHook(Hook):
    """Checks the recipe's ops with Data-Juicer's own preflight before the run starts, so a
    typo in an op name or argument is reported before hours of earlier jobs."""

    needs_dj_configs = True

    def cache_material(self, run: JobRun) -> dict[str, Any]:
        """Image and video ops read the media files the rows name: their identity counts."""
        return {**super().cache_material(run), "media": media_of(run)}

    def check(self, job: dict[str, Any]) -> list[str]:
        return super().check(job) + recipe_problems(job.get("dj_configs"))


# Recipe keys that do not change an analysis' stats (paths, parallelism, tracing, export).
NOT_IN_ANALYSIS_KEY = frozenset(
    {
        "export_path",
        "work_dir",
        "np",
        "project_name",
        "job_id",
        "open_monitor",
        "open_tracer",
        "trace_num",
        "use_cache",
        "ds_cache_dir",
        "cache_compress",
        "export_in_parallel",
        "export_shard_size",
        "skip_op_error",
        "strict_preflight",
        "keep_stats_in_res_ds",
        "export_original_dataset",
    }
)


def media_of(run: JobRun) -> str | None:
    from ..data.media_identity import media_identity

    recipe = run.dj_configs or {}
    path = recipe.get("dataset_path")
    found = find_existing(path, run.base_dirs) if isinstance(path, str) else None
    return media_identity(recipe, found) if found is not None and found.is_file() else None


def ops_without_bounds(process: Any) -> Any:
    """The ops with their `min_*`/`max_*` arguments left out: bounds choose rows, they do
    not change the stats an analysis computes."""
    if not isinstance(process, list):
        return process
    out = []
    for item in process:
        if isinstance(item, dict) and len(item) == 1:
            name, args = next(iter(item.items()))
            kept = {k: v for k, v in (args or {}).items() if not k.startswith(("min_", "max_"))}
            out.append({name: kept})
        else:
            out.append(item)
    return out


class ProbeViaAnalyzerHook(DataJuicerHook):
    """Returns (path of the dataset with per-sample stats, stats summary).

    Cached by the job cache under a key that leaves out filter bounds, so a sweep over
    bounds (k-sigma's k) analyses its data once; `extra_configs.cache: false` analyses afresh.
    """

    result_count: ClassVar[int | None] = 2
    keys: ClassVar[tuple[str, ...] | None] = ("cache",)  # false: always analyse afresh

    def cache_material(self, run: JobRun) -> dict[str, Any]:
        recipe = run.dj_configs or {}
        return {
            "recipe": {
                k: (ops_without_bounds(v) if k == "process" else v)
                for k, v in sorted(recipe.items())
                if k not in NOT_IN_ANALYSIS_KEY
            },
            "export": bool(recipe.get("export_path")),
            "media": media_of(run),
        }

    def run(self, run: JobRun) -> Any:
        from ..data.dj_analyze import analyze

        recipe = run.dj_configs or {}
        export_path, summary = analyze(recipe, work_dir=run.job_dir, base_dirs=run.base_dirs)
        run.notes["rows"] = summary.get("rows")
        return export_path, summary


class RefineRecipeViaKSigmaHook(DataJuicerHook):
    """Bounds of each analysed filter become mean +- k*std; returns the refined recipe path.

    The stats come from the analysis recorded under the same meta_name in this pipeline (the
    reference's convention), or from `extra_configs.stats` (e.g. set through `input`).
    """

    keys: ClassVar[tuple[str, ...] | None] = ("k", "stats", "path_k_sigma_recipe")

    def cache_material(self, run: JobRun) -> dict[str, Any]:
        """The stats it reads from the context count too."""
        material = super().cache_material(run)
        try:
            material["stats"] = run.extra("stats") or self._analysed_stats(run)
        except SandboxError:
            pass  # the job fails when it runs, with this message
        return material

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


class RefineRecipeViaModelFeedbackHook(DataJuicerHook):
    """Filter bounds from model feedback: keeps the stat ranges of the single-op pools whose
    models scored well and cuts those that hurt. Returns (refined recipe path, decision table).

    `dataset_path`: the pools {stat: [paths]}; `metrics`: one evaluation result per pool,
    aligned as `data_pool_ranking` aligns them; `ranking_key` (default `accuracy`) the score;
    `strategy` (`best_pool`, `drop_worst`, `noise_aware`: see `data/feedback_decisions.py`);
    `min_gain` and `control_metrics` (results of randomly split pools) set its noise floor.
    """

    result_count: ClassVar[int | None] = 2
    keys: ClassVar[tuple[str, ...] | None] = (
        "dataset_path",
        "metrics",
        "ranking_key",
        "descending",
        "strategy",
        "min_gain",
        "control_metrics",
        "path_feedback_recipe",
    )

    def check(self, job: dict[str, Any]) -> list[str]:
        from ..data.feedback_decisions import STRATEGIES
        from ..suggest import did_you_mean
        from ..value_checks import number, strings

        problems = super().check(job)
        extra = known(job.get("extra_configs"))
        if not isinstance(extra, dict):
            return problems
        for key in ("dataset_path", "metrics"):
            if key not in (job.get("extra_configs") or {}):
                problems.append(
                    f"extra_configs.{key}: missing; the pools' "
                    + ("paths {stat: [paths]}" if key == "dataset_path" else "evaluation results")
                )
        strategy = extra.get("strategy", "noise_aware")
        if strategy not in STRATEGIES:
            problems.append(
                f"extra_configs.strategy: got {strategy!r}; expected one of "
                f"{', '.join(STRATEGIES)}{did_you_mean(strategy, STRATEGIES)}"
            )
        problems += [f"extra_configs.{p}" for p in number(extra, "min_gain", float, 0.0)]
        problems += [f"extra_configs.{p}" for p in strings(extra, "ranking_key")]
        if "descending" in extra and not isinstance(extra["descending"], bool):
            problems.append(
                f"extra_configs.descending: expected true or false, got {extra['descending']!r}"
            )
        target = extra.get("path_feedback_recipe")
        if target is not None and Path(str(target)).suffix.lower() not in (
            ".yaml",
            ".yml",
            ".json",
        ):
            problems.append(
                f"extra_configs.path_feedback_recipe: expected a .yaml/.yml/.json path, got {target!r}"
            )
        return problems

    def run(self, run: JobRun) -> Any:
        from ..data.dj_runtime import write_recipe
        from ..data.feedback_refine import refine_recipe_from_feedback, write_decisions

        key = run.extra("ranking_key", "accuracy")
        try:
            recipe, table = refine_recipe_from_feedback(
                run.dj_configs or {},
                run.extra("dataset_path"),
                run.extra("metrics"),
                strategy=run.extra("strategy", "noise_aware"),
                ranking_key=key,
                descending=run.extra("descending", True),
                min_gain=float(run.extra("min_gain", 0.0)),
                control_metrics=run.extra("control_metrics"),
            )
        except ValueError as exc:
            raise SandboxError(f"{run.label}: extra_configs.{exc}") from None
        target = run.extra("path_feedback_recipe")
        path = (
            output_path(target, run.base_dirs) if target else run.job_dir / "feedback_recipe.yaml"
        )
        write_recipe(recipe, Path(path))
        write_decisions(table, key, run.job_dir / "feedback_decisions.md")
        run.notes["decisions"] = {row["stat"]: row["decision"] for row in table}
        return str(path), table
