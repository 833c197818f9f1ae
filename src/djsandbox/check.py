"""Validate-only mode (`dj-sandbox --config FILE --check`, `python -m djsandbox ... check=true`).

The run is composed, planned and validated exactly as before a real run (`app.prepare`, the
objective and `hpo_config` checks), then described; no job runs and nothing is written: no run
folder, state or snapshot. Problems raise the usual ConfigError (exit 2 in both front ends); a
valid config whose only problems are resources this machine lacks raises ResourceError (exit 4)
listing them, each with what to fetch or set, then what would run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .config import STAGE_KEYS
from .errors import ResourceError
from .plan import JobSpec, Plan


def component_type(job: JobSpec) -> str:
    """The job's `extra_configs.type` as written (a `local` value wins), or what stands for it."""
    body = job.body if isinstance(job.body, dict) else {}
    local = body.get("local") if isinstance(body.get("local"), dict) else {}
    if "extra_configs.type" in local:
        return str(local["extra_configs.type"])
    extra = body.get("extra_configs")
    if isinstance(extra, dict):
        return str(extra.get("type", "-"))
    if isinstance(extra, str):
        return f"(in {extra})"
    return "-"


def describe_plan(plan: Plan) -> list[str]:
    """One block per pipeline: its jobs in run order with stage, meta_name, hook and type."""
    lines: list[str] = []
    header = ("stage", "meta_name", "hook", "type")
    for pipeline, jobs in plan.pipelines.items():
        lines.append(f"pipeline '{pipeline}': {len(jobs)} job(s)")
        rows = [header] + [
            (
                f"{STAGE_KEYS[j.stage]}[{j.index}]",
                j.meta_name or "-",
                str(j.hook),
                component_type(j),
            )
            for j in jobs
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines += [
            "  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows
        ]
    return lines


def check_run(cfg: dict[str, Any], base_dirs: list[Path], search_siblings: bool = False) -> str:
    """Validate the whole run as the front ends would before running it; return what would run.

    Raises ConfigError (or another SandboxError) with the usual messages when it is invalid.
    """
    from .app import prepare
    from .hpo.objective import check_metric_against_plan, parse_metric_spec
    from .plan import build_plan

    lines: list[str] = []
    if cfg.get("hpo_config"):  # the reference's HPO: check the study and the trials' base config
        from .hpo.reference import study_base

        spec, cfg = study_base(cfg, base_dirs)
        lines.append(
            f"hpo_config {spec.path}: study '{spec.study_name}', {spec.method}, "
            f"{spec.count} trial(s), {spec.goal} {spec.metric}; parameters: "
            f"{', '.join(p.name for p in spec.params)}"
        )
    else:
        keys = parse_metric_spec(cfg.get("optimized_metric"))
        check_metric_against_plan(keys, build_plan(cfg).pipelines)
        if keys:
            lines.append(f"optimized_metric: {', '.join(keys)}")
    try:
        runner = prepare(cfg, base_dirs, search_siblings)
    except ResourceError as exc:  # a valid config: say so, and what would run once supplied
        plan = describe_plan(build_plan(cfg))
        raise ResourceError(
            f"{exc}\nwhat would run once they are there:\n" + "\n".join(plan), exc.resources
        ) from None
    max_iter = runner.cfg.get("max_iter_num", 1)
    iterations = (
        f"until iter_targets are met (at most {runner.cfg.get('max_iter_cap', 100)} iterations)"
        if max_iter == 0
        else f"{max_iter} iteration(s)"
    )
    lines.insert(
        0,
        f"check: the config is valid; nothing was run. project "
        f"'{runner.cfg.get('project_name')}', experiment "
        f"'{runner.cfg.get('experiment_name')}', {iterations}",
    )
    lines.insert(
        1,
        f"run folder: {runner.work_dir}"
        + (" (would be resumed)" if runner.cfg.get("resume") else " (not created)"),
    )
    return "\n".join(lines + describe_plan(runner.plan)) + "\n"
