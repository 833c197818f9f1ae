"""The reference's `hpo_config` (a wandb-sweep style file) as an in-process Optuna study.

The reference DJ-Sandbox accepted `hpo_config: path` but its HPO never ran. Here the file is
translated, not emulated: `method` picks an Optuna sampler, `parameters` become suggestions,
`metric.name` is a context key read with the same objective code as Hydra sweeps. Each trial
rewrites a copy of the plain sandbox config (every job whose recipe has op `op` gets
`local: {dj_configs.process.<i>.<op>.<arg>: value}`, so recipe files keep their own folder for
relative paths), runs it in `work_dir/trial_<n>`, and the study lives in
`work_dir/optuna.db`, so running the same command again continues it.

    sweep_name: min_len_sweep          # the Optuna study name
    sweep_max_count: 8                 # total trials of the study (a resume runs the rest)
    method: bayes                      # bayes -> TPE, random -> RandomSampler, grid -> GridSampler
    metric: {name: pipe.meta.res_1.accuracy, goal: maximize}
    parameters:
      text_length_filter.min_len: {min: 10, max: 200}      # int bounds -> suggest_int
      alphanumeric_filter.min_ratio: {values: [0.1, 0.2]}  # categorical
      vars.k: {distribution: uniform, min: 1.5, max: 4}    # a global `vars` entry
    early_terminate: {type: hyperband}  # logged and ignored: a trial reports once, at its end
"""

from __future__ import annotations

import copy
import json
import logging
import math
from pathlib import Path
from typing import Any

from ..atomic import atomic_write_text
from ..errors import ConfigError, SandboxError
from ..run_folders import resume_folder
from .objective import check_metric_against_plan, objective_from_context, parse_metric_spec
from .reference_config import (
    MAX_FAILURES_IN_A_ROW,
    STUDY_FILE,
    HpoSpec,
    load_hpo_config,
)

log = logging.getLogger("djsandbox")


# -- applying values to a config ----------------------------------------------------------------
def recipe_targets(cfg: dict[str, Any], base_dirs: list[Path]) -> dict[str, list[tuple[Any, int]]]:
    """{op name: [(job body, index in its recipe's process list), ...]} over every job whose
    recipe is known before the run (a mapping or a file); recipes that an earlier job writes
    (e.g. `input: {dj_configs: -1.res_1}`) are produced at run time and are not rewritten."""
    from ..jobs import load_side_config, resolve_interpolated
    from ..plan import build_plan
    from ..planned_context import PlannedContext

    globals_ = {k: v for k, v in cfg.items() if not k.endswith("_job_configs") and k != "pipelines"}
    out: dict[str, list[tuple[Any, int]]] = {}
    for spec in build_plan(cfg).jobs():
        body = spec.body
        if not isinstance(body, dict) or "dj_configs" in (body.get("input") or {}):
            continue
        try:
            recipe = resolve_interpolated(
                body.get("dj_configs"), globals_, spec.label, PlannedContext()
            )
            recipe, _ = load_side_config(recipe, "dj_configs", spec.label, base_dirs)
        except SandboxError:
            continue  # not loadable before the run: validation reports it if it is an error
        process = recipe.get("process") if isinstance(recipe, dict) else None
        for index, item in enumerate(process or []):
            if isinstance(item, dict) and len(item) == 1:
                out.setdefault(str(next(iter(item))), []).append((body, index))
    return out


def check_targets(spec: HpoSpec, cfg: dict[str, Any], base_dirs: list[Path]) -> None:
    """Every `op.arg` parameter must reach at least one job's recipe, or it would sweep nothing."""
    targets = recipe_targets(cfg, base_dirs)
    for param in spec.params:
        root, _ = param.name.split(".")
        if root != "vars" and root not in targets:
            raise ConfigError(
                f"hpo_config {spec.path}: parameters.{param.name}: no job's "
                f"dj_configs recipe has an op '{root}' in its process list; ops "
                f"found: {sorted(targets) or '(no recipe is known before the run)'}"
            )


def apply_values(
    cfg: dict[str, Any], values: dict[str, Any], base_dirs: list[Path]
) -> dict[str, Any]:
    """A copy of the plain config with the sampled values written into it."""
    out = copy.deepcopy(cfg)
    targets = recipe_targets(out, base_dirs)
    for name, value in values.items():
        root, arg = name.split(".")
        if root == "vars":
            out["vars"] = {**(out.get("vars") or {}), arg: value}
            continue
        for body, index in targets.get(root, []):
            local = dict(body.get("local") or {})
            local[f"dj_configs.process.{index}.{root}.{arg}"] = value
            body["local"] = local
    return out


# -- the study ----------------------------------------------------------------------------------
def _sampler(spec: HpoSpec) -> Any:
    import optuna

    if spec.method == "grid":
        missing = [p.name for p in spec.params if p.grid is None]
        if missing:
            raise ConfigError(
                f"hpo_config {spec.path}: method grid needs discrete parameters "
                f"(values, or integer/q_uniform min-max); not discrete: {missing}"
            )
        return optuna.samplers.GridSampler({p.name: p.grid for p in spec.params})
    if spec.method == "random":
        return optuna.samplers.RandomSampler(seed=spec.seed)
    return optuna.samplers.TPESampler(seed=spec.seed)


def _reopen_interrupted(study: Any) -> None:
    """Trials left RUNNING by a killed study are marked failed and queued again with their
    parameters, so a resumed study does not lose them (the study file is this run's own)."""
    import optuna

    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study._storage.set_trial_state(trial._trial_id, optuna.trial.TrialState.FAIL)
        study.enqueue_trial(dict(trial.params))
        log.info("hpo: trial %d was interrupted; its parameters are queued again", trial.number)


def study_folder(cfg: dict[str, Any], search_siblings: bool) -> Path:
    """The folder of the study: `work_dir`; with `resume` an earlier study folder (a given
    one, or for Hydra's timestamped run folders the newest sibling holding a study)."""
    work_dir = Path(cfg["work_dir"]).resolve()
    return (
        resume_folder(
            cfg.get("resume"), work_dir, STUDY_FILE, "an earlier hpo_config study", search_siblings
        )
        or work_dir
    )


def study_base(cfg: dict[str, Any], base_dirs: list[Path]) -> tuple[HpoSpec, dict[str, Any]]:
    """The study of `cfg['hpo_config']` and the run config every trial starts from, both
    checked (the metric names a job of the plan, every parameter reaches a recipe)."""
    from ..plan import build_plan

    spec = load_hpo_config(cfg["hpo_config"], base_dirs)
    base = {**cfg, "hpo_config": None, "resume": False, "optimized_metric": spec.metric}
    keys = parse_metric_spec(spec.metric)
    check_metric_against_plan(keys, build_plan(base).pipelines)
    check_targets(spec, base, base_dirs)
    return spec, base


def run_reference_study(
    cfg: dict[str, Any], base_dirs: list[Path], search_siblings: bool = False
) -> Any:
    """Run (or continue) the study described by `cfg['hpo_config']`; returns the best trial."""
    import optuna

    from ..app import run_sandbox

    spec, base = study_base(cfg, base_dirs)
    keys = parse_metric_spec(spec.metric)
    work_dir = study_folder(cfg, search_siblings)
    work_dir.mkdir(parents=True, exist_ok=True)
    storage = f"sqlite:///{work_dir / STUDY_FILE}"
    study = optuna.create_study(
        study_name=spec.study_name,
        storage=storage,
        load_if_exists=True,
        sampler=_sampler(spec),
        direction=spec.goal,
    )
    _reopen_interrupted(study)
    done = [t for t in study.get_trials(deepcopy=False) if t.state.is_finished()]
    count = spec.count
    if spec.method == "grid":
        count = min(count, math.prod(len(p.grid or []) for p in spec.params))
    remaining = max(0, count - len(done))
    log.info(
        "hpo: study '%s' (%s, %s %s) in %s: %d trial(s) finished, %d to run",
        spec.study_name,
        spec.method,
        spec.goal,
        spec.metric,
        storage,
        len(done),
        remaining,
    )
    failures_in_a_row = [0]

    def objective(trial: Any) -> float:
        values = {
            p.name: (
                trial.suggest_categorical(p.name, p.grid)
                if spec.method == "grid"
                else p.suggest(trial)
            )
            for p in spec.params
        }
        trial_cfg = apply_values(base, values, base_dirs)
        trial_cfg["work_dir"] = str(work_dir / f"trial_{trial.number}")
        trial.set_user_attr("work_dir", trial_cfg["work_dir"])
        trial.set_user_attr("values", values)
        log.info("hpo: trial %d: %s", trial.number, values)
        try:
            outcome = run_sandbox(trial_cfg, base_dirs, snapshot=trial_cfg)
            value = objective_from_context(keys, outcome.context)
        except Exception as exc:
            failures_in_a_row[0] += 1
            log.warning("hpo: trial %d failed: %s", trial.number, exc)
            if failures_in_a_row[0] >= MAX_FAILURES_IN_A_ROW:
                log.error(
                    "hpo: %d trials failed in a row; stopping the study (fix the config, "
                    "then run the same command to continue)",
                    failures_in_a_row[0],
                )
                trial.study.stop()
            raise
        failures_in_a_row[0] = 0
        log.info("hpo: trial %d: %s = %s", trial.number, spec.metric, value)
        return float(value)  # type: ignore[arg-type]

    if remaining:
        study.optimize(objective, n_trials=remaining, catch=(Exception,))
    return report_best(study, spec, work_dir)


def report_best(study: Any, spec: HpoSpec, work_dir: Path) -> Any:
    """Print the best trial and write `hpo_result.json` beside the study."""
    import optuna

    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        raise SandboxError(
            f"hpo: none of the {len(trials)} trial(s) of study "
            f"'{spec.study_name}' finished; see the trial folders in {work_dir}"
        )
    best = study.best_trial
    result = {
        "study_name": spec.study_name,
        "metric": spec.metric,
        "goal": spec.goal,
        "best_trial": best.number,
        "best_value": best.value,
        "best_params": best.user_attrs.get("values", best.params),
        "best_work_dir": best.user_attrs.get("work_dir"),
        "trials": len(trials),
        "complete": len(complete),
        "failed": sum(t.state == optuna.trial.TrialState.FAIL for t in trials),
        "storage": f"sqlite:///{work_dir / STUDY_FILE}",
    }
    atomic_write_text(work_dir / "hpo_result.json", json.dumps(result, indent=1, default=str))
    try:
        from ..reporting.sweep_report import write_sweep_report

        study.set_user_attr("metric_names", [spec.metric])
        write_sweep_report(study, work_dir / "sweep_report")
    except Exception as exc:  # noqa: BLE001 - a report never fails a finished study
        log.warning("could not write the sweep report: %s", exc)
    print(
        f"\nHPO study '{spec.study_name}': {result['complete']} of {result['trials']} trials "
        f"complete, {result['failed']} failed\nbest trial #{best.number}: {spec.metric} = "
        f"{best.value} with {result['best_params']}\n  run folder: {result['best_work_dir']}\n"
        f"  study: {result['storage']}",
        flush=True,
    )
    return best
