"""Checks the whole run before the first job starts, and names exactly what is wrong.

Validation is a dry run of the runner's own `resolve_job` against a planned context (values
that earlier jobs produce come back as deferred markers), followed by each hook's and
component's checks. Errors are collected so a user fixes a config in one pass; each names the
pipeline, the job (stage index and meta_name), the key and what was expected. A job with an
error still counts as a producer, so one mistake gives one message.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .cache.job import cache_problems
from .catalog import HOOKS
from .config import JOB_KEYS, STAGE_KEYS
from .deferred import is_deferred
from .errors import ConfigError, ResourceError, SandboxError
from .final_test_spec import parse_final_test
from .hooks.base import INPUT_FILE_KEYS, OUTPUT_FILE_KEYS, Hook
from .jobs import CONFIG_KEYS, resolve_job
from .output_safety import OutputGuard
from .paths import candidates, find_existing
from .plan import NAME_RULE, JobSpec, Plan, name_problem
from .planned_context import PlannedContext, Producer
from .redact import redact
from .resource_problems import at, missing_file, not_built, section, split
from .suggest import did_you_mean
from .targets import parse_targets
from .writable import input_file_problem, output_folder_problem


def hook_instance(name: Any) -> Hook | None:
    if not isinstance(name, str) or name not in HOOKS or HOOKS.get(name).unavailable:
        return None
    return HOOKS.get(name).load()()


def _result_count(hook: Hook, job: dict[str, Any]) -> int | None:
    registry = hook.registry()
    if hook.result_count is not None or registry is None:
        return hook.result_count
    kind = (
        (job.get("extra_configs") or {}).get("type")
        if isinstance(job.get("extra_configs"), dict)
        else None
    )
    return registry.get(kind).results if isinstance(kind, str) and kind in registry else None


def _get_dotted(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def validate(
    plan: Plan, cfg: dict[str, Any], base_dirs: list[Path], globals_: dict[str, Any]
) -> None:
    """Raise one ConfigError listing every problem found in the run."""
    problems: list[str] = []
    if cfg.get("hpo_config"):  # the front ends run the study; each trial comes here without it
        problems.append(
            "hpo_config: a study is run by `dj-sandbox --config` or `python -m "
            "djsandbox hpo_config=FILE` (djsandbox.hpo.reference.run_reference_study); "
            "a single run cannot use it: remove hpo_config to run the pipelines once"
        )
    planned = PlannedContext()
    produced_files: set[Path] = set()
    problems += _shared_meta_names(plan)
    guard = OutputGuard(cfg)  # what the run may write (output_safety.py)
    problems += guard.problems
    for spec in plan.jobs():
        problems += _check_job(spec, planned, produced_files, base_dirs, globals_, guard)
    problems += _check_iterations(cfg, planned, plan)
    problems += _check_final_test(cfg.get("final_test"), planned)
    raise_problems(problems)


def _check_final_test(spec: Any, planned: PlannedContext) -> list[str]:
    """`final_test` (a sweep's one test-set score) is read when the sweep ends: its shape and
    its checkpoint source are checked now, so a mistake is found before the first trial."""
    try:
        parsed = parse_final_test(spec)
    except ConfigError as exc:
        return [str(exc)]
    if parsed is None:
        return []
    problem = planned.source_problem(str(parsed["checkpoint"]), allow_previous=False)
    return [f"final_test.checkpoint: {problem}"] if problem else []


def raise_problems(problems: list[str]) -> None:
    """Config problems first (ConfigError, exit 2), then what this machine lacks in its own
    section; a config whose only problems are missing resources raises ResourceError (exit 4)."""
    config, needs = split(problems)
    if config:
        message = "invalid sandbox config:\n  - " + "\n  - ".join(config)
        raise ConfigError(message + ("\n" + section(needs) if needs else ""))
    if needs:
        raise ResourceError(
            "the config is valid (no format error), but this machine lacks what the run "
            "needs; nothing was run.\n" + section(needs),
            needs,
        )


def _shared_meta_names(plan: Plan) -> list[str]:
    """Two jobs of one stage of a pipeline may not share a meta_name: the second's results
    would silently replace the first's. Jobs of *different* stages may (the reference's probe
    + k-sigma convention): their results merge into one context entry, a result name given
    again is the later job's, and a source reads the entry as it stands when the reader
    starts (README, "The config")."""
    problems: list[str] = []
    first: dict[tuple[str, str, str], JobSpec] = {}
    for spec in plan.jobs():
        if spec.meta_name is None:
            continue
        earlier = first.setdefault((spec.pipeline, spec.stage, spec.meta_name), spec)
        if earlier is not spec:
            problems.append(
                f"{spec.label}: meta_name: '{spec.meta_name}' is already the name of "
                f"{STAGE_KEYS[spec.stage]}[{earlier.index}] in the same stage; its results "
                "would replace that job's. Give each job of a stage its own meta_name"
            )
    return problems


def _shape_problems(label: str, body: dict[str, Any]) -> list[str]:
    """The job mapping itself: keys, hook name, meta_name, output, input/local types."""
    problems = [
        f"{label}: unknown job key '{key}'{did_you_mean(key, JOB_KEYS)}; valid: "
        f"{', '.join(JOB_KEYS)}"
        for key in body
        if key not in JOB_KEYS
    ]
    hook_name = body.get("hook")
    if hook_name and not isinstance(hook_name, str):
        problems.append(f"{label}: hook: expected the name of a hook, got {hook_name!r}")
    elif not hook_name:
        problems.append(f"{label}: hook: missing; valid: {', '.join(HOOKS.names())}")
    elif hook_name not in HOOKS:
        problems.append(f"{label}: hook: {HOOKS.unknown_message(hook_name)}")
    elif HOOKS.get(hook_name).unavailable:
        why = HOOKS.get(hook_name).unavailable
        problems.append(not_built(f"{label}: hook: '{hook_name}' is {why}", why))
    meta = body.get("meta_name")
    if meta not in (None, "") and (why := name_problem(meta)):
        problems.append(f"{label}: meta_name: {why}")
    output = body.get("output")
    if output is not None and not (
        isinstance(output, list) and all(name_problem(o) is None for o in output)
    ):
        problems.append(
            f"{label}: output: expected a result name or a list of result names of "
            f"{NAME_RULE}, got {output!r}"
        )
    for field in ("input", "local"):
        value = body.get(field)
        if value is not None and not isinstance(value, dict):
            problems.append(
                f"{label}: {field}: expected a mapping {{target.key: ...}}, "
                f"got {type(value).__name__}"
            )
    return problems


def _check_job(
    spec: JobSpec,
    planned: PlannedContext,
    produced_files: set[Path],
    base_dirs: list[Path],
    globals_: dict[str, Any],
    guard: OutputGuard | None = None,
) -> list[str]:
    label, body = spec.label, spec.body
    if not isinstance(body, dict):
        planned.add(spec.pipeline, spec.context_name, Producer(None, None, anything=True))
        return [f"{label}: expected a job mapping with at least 'hook', got {redact(body)!r:.80}"]
    problems = _shape_problems(label, body) + cache_problems(label, body)
    if problems:
        planned.add(spec.pipeline, spec.context_name, Producer(None, None, anything=True))
        return problems

    # The runner's own resolution, against what earlier jobs will produce.
    seen = len(planned.problems)
    try:
        resolved = resolve_job(spec, globals_, planned, base_dirs, produced=produced_files)
        job = {**body, "dj_configs": resolved.dj_configs, "extra_configs": resolved.extra_configs}
    except ResourceError as exc:  # a side config file this machine lacks
        job = None
        problems += exc.resources or [str(exc)]
    except SandboxError as exc:
        job = None
        problems.append(str(exc))
    problems += planned.problems[seen:]
    if guard is not None:
        dirs = resolved.source_dirs if job is not None else []
        problems += guard.check_job(label, body, job, base_dirs, dirs)

    output = body.get("output")
    hook = hook_instance(body["hook"])
    count = None
    if hook is not None and job is not None:
        work_dir = guard.work_dir if guard is not None else None
        problems += _hook_problems(label, hook, job, base_dirs, produced_files, work_dir)
        planned.settings.setdefault((spec.pipeline, spec.context_name), []).append(
            hook.settings(job)
        )
        count = _result_count(hook, job)
        if output is not None and count is not None and len(output) > count:
            problems.append(
                f"{label}: output: {len(output)} names given but {body['hook']} "
                f"returns {count} result(s)"
            )
    # A job with errors still produces: its readers are checked against what it would give,
    # or against anything when that is unknowable (one mistake, one message).
    planned.add(
        spec.pipeline,
        spec.context_name,
        Producer(output, count, anything=bool(problems) and output is None and count is None),
    )
    return problems


def _hook_problems(
    label: str,
    hook: Hook,
    job: dict[str, Any],
    base_dirs: list[Path],
    produced_files: set[Path],
    work_dir: Path | None = None,
) -> list[str]:
    """The hook's and component's checks, then the files the job reads and writes."""
    for key in CONFIG_KEYS:
        value = job.get(key)
        if value is not None and not isinstance(value, dict) and not is_deferred(value):
            return [
                f"{label}: {key}: expected a mapping or a file path, got {type(value).__name__}"
            ]
    problems = [at(label, p) for p in hook.check(job)]
    files = _file_problems(job, base_dirs, produced_files, work_dir)
    problems += [at(label, p) for p in files]
    return problems


def _file_problems(
    job: dict[str, Any], base_dirs: list[Path], produced: set[Path], work_dir: Path | None = None
) -> list[str]:
    """Inputs exist (or an earlier job writes them) and can be read as datasets; outputs can
    be written. Records the outputs as produced for later jobs. A missing input is a resource;
    one inside the run folder is an earlier run's output (the reference's `iter_1/` files)."""
    problems: list[str] = []
    for dotted in INPUT_FILE_KEYS:
        value = _get_dotted(job, dotted)
        if not _is_plain_path(value) or _is_dj_mixture(value, base_dirs):
            continue
        found = find_existing(value, base_dirs)
        if found is None and not any(c in produced for c in candidates(value, base_dirs)):
            message = f"{dotted}: file {value!r} does not exist and no earlier job writes it"
            inside = work_dir is not None and any(
                work_dir in c.resolve().parents for c in candidates(value, base_dirs)
            )
            written = _reference_layout(value, base_dirs, produced)
            problems.append(
                missing_file(message, value, dotted, earlier_run=inside, written_as=written)
            )
        elif found is not None and (why := input_file_problem(found)):
            problems.append(f"{dotted}: {why}")
    for dotted in OUTPUT_FILE_KEYS:
        value = _get_dotted(job, dotted)
        if _is_plain_path(value) and "://" not in value:
            targets = candidates(value, base_dirs[:1])
            produced.update(targets)
            if why := output_folder_problem(targets[0]):
                problems.append(f"{dotted}: {why}")
    return problems


def _reference_layout(value: str, base_dirs: list[Path], produced: set[Path]) -> str | None:
    """The path an earlier job of this run writes when `value` names it the reference's way:
    it put iteration n's exports under `iter_<n>/` (n from 1), so its configs read
    `out/iter_1/x.jsonl` for the `out/x.jsonl` an earlier job exports."""
    parts = Path(value).parts
    for i, part in enumerate(parts):
        if re.fullmatch(r"iter_[0-9]+", part):
            stripped = str(Path(*parts[:i], *parts[i + 1 :]))
            if any(c in produced for c in candidates(stripped, base_dirs)):
                return stripped
    return None


def _is_dj_mixture(value: str, base_dirs: list[Path]) -> bool:
    """Data-Juicer's `weight path weight path ...` form: left to Data-Juicer. A path with
    spaces that names a file is a file (the adapters pass it so that it loads)."""
    parts = value.split()
    if len(parts) < 2 or find_existing(value, base_dirs) is not None:
        return False
    try:
        float(parts[0])
    except ValueError:
        return False
    return True


def _is_plain_path(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and not is_deferred(value) and "${" not in value


def _check_iterations(cfg: dict[str, Any], planned: PlannedContext, plan: Plan) -> list[str]:
    problems: list[str] = []
    max_iter = cfg.get("max_iter_num", 1)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 0:
        problems.append(f"max_iter_num: expected an integer >= 0, got {max_iter!r}")
    mode = cfg.get("iter_targets_mode", "all")
    if mode not in ("all", "any"):
        problems.append(f"iter_targets_mode: expected 'all' or 'any', got {mode!r}")
    try:
        targets = parse_targets(cfg.get("iter_targets"))
    except ConfigError as exc:
        return problems + [str(exc)]
    if max_iter == 0 and not targets:
        problems.append(
            "max_iter_num: 0 means 'iterate until iter_targets are met', but iter_targets is empty"
        )
    problems += _check_iteration_limits(cfg, max_iter)
    for target in targets:
        if why := planned.source_problem(target.key, allow_previous=False):
            problems.append(f"iter_targets: {target}: {why}")
    updater = cfg.get("iter_updater") or {}
    if not isinstance(updater, dict):
        return problems + [f"iter_updater: expected a mapping, got {type(updater).__name__}"]
    names = {(job.pipeline, job.meta_name) for job in plan.jobs()}
    for source, target in updater.items():
        if why := planned.source_problem(str(source), allow_previous=False):
            problems.append(f"iter_updater: {source}: {why}")
        parts = str(target).split(".")
        if len(parts) < 4 or parts[2] not in CONFIG_KEYS:
            problems.append(
                f"iter_updater.{source}: target {target!r} must be "
                "'pipeline.meta_name.(dj_configs|extra_configs).key'"
            )
        elif (parts[0], parts[1]) not in names:
            problems.append(
                f"iter_updater.{source}: target {target!r}: no job '{parts[1]}' in "
                f"pipeline '{parts[0]}'"
            )
        elif why := _target_key_problem(parts, planned):
            problems.append(f"iter_updater.{source}: target {target!r}: {why}")
    return problems


def _target_key_problem(parts: list[str], planned: PlannedContext) -> str | None:
    """An `iter_updater` target's key checked like a `local` one: against the settings of the
    job(s) of that meta_name (its component's and hook's), or Data-Juicer's recipe keys."""
    from .data.recipe_keys import data_juicer_keys
    from .suggest import unknown_keys

    key = parts[3]
    if parts[2] == "dj_configs":
        valid = data_juicer_keys()
        owner = "a Data-Juicer recipe"
    else:
        accepted = planned.settings.get((parts[0], parts[1]), [None])
        if any(keys is None for keys in accepted):
            return None
        valid = tuple(dict.fromkeys(k for keys in accepted for k in keys or ()))
        owner = "job '" + parts[1] + "'"
    if valid is None or key in valid:
        return None
    return unknown_keys([key], valid, f"{parts[2]}.", owner)[0]


def _check_iteration_limits(cfg: dict[str, Any], max_iter: Any) -> list[str]:
    """`max_iter_num: 0` needs something that changes between iterations (`iter_updater`), and
    no run iterates past `max_iter_cap`."""
    problems: list[str] = []
    cap = cfg.get("max_iter_cap", 100)
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        return [f"max_iter_cap: expected an integer >= 1, got {cap!r}"]
    if max_iter == 0 and not cfg.get("iter_updater"):
        problems.append(
            "max_iter_num: 0 (iterate until iter_targets are met) needs iter_updater: without "
            "it every iteration runs the same configs, so nothing changes between iterations "
            "and the targets are met at once or never; set max_iter_num to a number of "
            "iterations, or add iter_updater {pipeline.meta_name.result: "
            "pipeline.meta_name.extra_configs.key}"
        )
    if isinstance(max_iter, int) and not isinstance(max_iter, bool) and max_iter > cap:
        problems.append(
            f"max_iter_num: {max_iter} is more than max_iter_cap ({cap}); raise max_iter_cap "
            "to run that many iterations"
        )
    return problems
