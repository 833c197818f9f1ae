"""Checks the whole run before the first job starts, and names exactly what is wrong.

Errors are collected (not raised one by one) so a user fixes a config in one pass. Each names
the pipeline, the job (stage index and meta_name), the key and what was expected.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

from .catalog import HOOKS
from .config import JOB_KEYS
from .errors import ConfigError
from .hooks.base import INPUT_FILE_KEYS, OUTPUT_FILE_KEYS, Hook
from .jobs import CONFIG_KEYS, apply_local, load_side_config, resolve_interpolated, target_root
from .paths import candidates, find_existing
from .plan import JobSpec, Plan
from .targets import parse_targets

_RES = re.compile(r"^res_(\d+)$")


class _Producer:
    """What a finished job makes available: its result names (None: any res_i)."""

    def __init__(self, names: list[str] | None, count: int | None) -> None:
        self.names = names
        self.count = count

    def has(self, key: str) -> bool:
        m = _RES.match(key)
        if self.names is not None and key in self.names:
            return True
        if m:
            index = int(m.group(1))
            named = len(self.names or [])
            return index > named and (self.count is None or index <= self.count)
        return False

    def describe(self) -> str:
        names = list(self.names or [])
        if self.count is None:
            return ", ".join(names + ["res_<i>"])
        names += [f"res_{i}" for i in range(len(names) + 1, self.count + 1)]
        return ", ".join(names) or "(no results)"


def hook_instance(name: Any) -> Hook | None:
    if not isinstance(name, str) or name not in HOOKS or HOOKS.get(name).unavailable:
        return None
    return HOOKS.get(name).load()()


def _result_count(hook: Hook, job: dict[str, Any]) -> int | None:
    if hook.result_count is not None or hook.registry() is None:
        return hook.result_count
    extra = job.get("extra_configs")
    kind = extra.get("type") if isinstance(extra, dict) else None
    registry = hook.registry()
    return registry.get(kind).results if isinstance(kind, str) and kind in registry else None


def _get_dotted(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        if not isinstance(data, dict) or part not in data:
            return None
        data = data[part]
    return data


def validate(plan: Plan, cfg: dict[str, Any], base_dirs: list[Path],
             globals_: dict[str, Any]) -> None:
    """Raise one ConfigError listing every problem found in the run."""
    problems: list[str] = []
    if cfg.get("hpo_config"):  # the front ends run the study; each trial comes here without it
        problems.append("hpo_config: a study is run by `dj-sandbox --config` or `python -m "
                        "djsandbox hpo_config=FILE` (djsandbox.hpo.reference.run_reference_study); "
                        "a single run cannot use it: remove hpo_config to run the pipelines once")
    producers: dict[tuple[str, str], _Producer] = {}
    produced_files: set[Path] = set()
    first_job = True
    for spec in plan.jobs():
        problems += _check_job(spec, producers, produced_files, base_dirs, first_job, globals_)
        first_job = False
    problems += _check_iterations(cfg, producers, plan)
    if problems:
        raise ConfigError("invalid sandbox config:\n  - " + "\n  - ".join(problems))


def _check_job(spec: JobSpec, producers: dict[tuple[str, str], _Producer],
               produced_files: set[Path], base_dirs: list[Path], first_job: bool,
               globals_: dict[str, Any]) -> list[str]:
    label = spec.label
    body = spec.body
    if not isinstance(body, dict):
        return [f"{label}: expected a job mapping with at least 'hook', got {body!r:.80}"]
    problems: list[str] = []
    for key in body:
        if key not in JOB_KEYS:
            close = difflib.get_close_matches(str(key), JOB_KEYS, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"{label}: unknown job key '{key}'{hint}; valid: {', '.join(JOB_KEYS)}")
    hook_name = body.get("hook")
    if not hook_name:
        problems.append(f"{label}: hook: missing; valid: {', '.join(HOOKS.names())}")
    elif hook_name not in HOOKS:
        problems.append(f"{label}: hook: {HOOKS.unknown_message(hook_name)}")
    elif HOOKS.get(hook_name).unavailable:
        problems.append(f"{label}: hook: '{hook_name}' is {HOOKS.get(hook_name).unavailable}")
    meta = body.get("meta_name")
    if meta is not None and (not isinstance(meta, str) or "." in meta or meta == "-1"):
        problems.append(f"{label}: meta_name: expected a name without dots, got {meta!r}")
    output = body.get("output")
    if output is not None and not (isinstance(output, list) and all(isinstance(o, str) and o and
                                                                    "." not in o for o in output)):
        problems.append(f"{label}: output: expected a list of result names without dots, "
                        f"got {output!r}")
        output = None
    for field in ("input", "local"):
        value = body.get(field)
        if value is not None and not isinstance(value, dict):
            problems.append(f"{label}: {field}: expected a mapping {{target.key: ...}}, "
                            f"got {type(value).__name__}")
    if problems:
        return problems

    # Load file-based configs and apply `local`, as the runner will.
    job = dict(body)
    try:
        for key in CONFIG_KEYS:
            value = resolve_interpolated(job.get(key), globals_, f"{label}: {key}")
            job[key], _ = load_side_config(value, key, label, base_dirs, produced_files)
        job = apply_local(job, body.get("local"), label)
        job = _resolve_known(job, globals_)
    except ConfigError as exc:
        return [str(exc)]
    for key in CONFIG_KEYS:
        value = job.get(key)
        if value is not None and not isinstance(value, (dict, str)):
            problems.append(f"{label}: {key}: expected a mapping or a file path, got "
                            f"{type(value).__name__}")

    # Inputs: every source must be produced by an earlier job.
    input_targets = set()
    for target, source in (body.get("input") or {}).items():
        input_targets.add(str(target))
        if target_root(str(target)) not in CONFIG_KEYS:
            problems.append(f"{label}: input: target {target!r} must start with 'dj_configs' or "
                            "'extra_configs'")
        problems += _check_source(label, f"input.{target}", source, spec.pipeline, producers,
                                  first_job, previous=producers.get(("-1", "-1")))

    hook = hook_instance(hook_name)
    if hook is not None:
        # Input-fed values are only known at run time; check the rest.
        problems += [f"{label}: {p}" for p in hook.check(job)
                     if not _fed_by_input(p.split(":", 1)[0], input_targets)]
        for dotted in INPUT_FILE_KEYS:
            value = _get_dotted(job, dotted)
            if _fed_by_input(dotted, input_targets) or not _is_plain_path(value):
                continue
            if find_existing(value, base_dirs) is None and not any(
                    c in produced_files for c in candidates(value, base_dirs)):
                problems.append(f"{label}: {dotted}: file {value!r} does not exist and no "
                                "earlier job writes it")
        for dotted in OUTPUT_FILE_KEYS:
            value = _get_dotted(job, dotted)
            if _is_plain_path(value):
                produced_files.update(candidates(value, base_dirs[:1]))
        count = _result_count(hook, job)
        if output is not None and count is not None and len(output) > count:
            problems.append(f"{label}: output: {len(output)} names given but {hook_name} returns "
                            f"{count} result(s)")
        producer = _Producer(output, count)
    else:
        producer = _Producer(output, None)
    producers[(spec.pipeline, spec.context_name)] = producer
    producers[("-1", "-1")] = producer
    return problems


def _fed_by_input(key: str, targets: set[str]) -> bool:
    """An `input` sets this key, a part of it (`key.sub`), or a mapping holding it."""
    return any(t == key or t.startswith(key + ".") or key.startswith(t + ".") for t in targets)


def _resolve_known(job: dict[str, Any], globals_: dict[str, Any]) -> dict[str, Any]:
    """Resolve what can be resolved before the run (e.g. `${work_dir}`); keep `${ctx:...}`."""
    from omegaconf import OmegaConf

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str) and "${" in value:
            try:
                node = OmegaConf.create({**globals_, "__v__": value})
                return OmegaConf.to_container(node, resolve=True)["__v__"]  # type: ignore[index]
            except Exception:
                return value
        return value

    return {k: walk(v) if k in CONFIG_KEYS else v for k, v in job.items()}


def _is_plain_path(value: Any) -> bool:
    return isinstance(value, str) and bool(value) and "${" not in value and " " not in value


def _check_source(label: str, where: str, source: Any, pipeline: str,
                  producers: dict[tuple[str, str], _Producer], first_job: bool,
                  previous: _Producer | None) -> list[str]:
    if not isinstance(source, str):
        return [f"{label}: {where}: source must be a string like 'pipeline.meta_name.result', "
                f"got {source!r}"]
    parts = source.split(".")
    if parts[0] == "-1":
        if len(parts) < 2:
            return [f"{label}: {where}: source '{source}' must name a result, e.g. '-1.res_1'"]
        if first_job or previous is None:
            return [f"{label}: {where}: source '{source}' refers to the previous job, but this is "
                    "the first job of the run"]
        if not previous.has(parts[1]):
            return [f"{label}: {where}: source '{source}': the previous job has no result "
                    f"'{parts[1]}'; it has: {previous.describe()}"]
        return []
    if len(parts) < 3:
        return [f"{label}: {where}: source '{source}' must be 'pipeline.meta_name.result' or "
                "'-1.result'"]
    producer = producers.get((parts[0], parts[1]))
    if producer is None:
        known = sorted(f"{p}.{m}" for p, m in producers if p != "-1")
        return [f"{label}: {where}: source '{source}': no earlier job is named '{parts[1]}' in "
                f"pipeline '{parts[0]}'; earlier jobs: {', '.join(known) or 'none'}"]
    if not producer.has(parts[2]):
        return [f"{label}: {where}: source '{source}': job '{parts[0]}.{parts[1]}' has no result "
                f"'{parts[2]}'; it has: {producer.describe()}"]
    return []


def _check_iterations(cfg: dict[str, Any], producers: dict[tuple[str, str], _Producer],
                      plan: Plan) -> list[str]:
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
        problems.append("max_iter_num: 0 means 'iterate until iter_targets are met', but "
                        "iter_targets is empty")
    for target in targets:
        problems += _check_source("iter_targets", str(target), target.key, "", producers,
                                  False, None)
    updater = cfg.get("iter_updater") or {}
    if not isinstance(updater, dict):
        return problems + [f"iter_updater: expected a mapping, got {type(updater).__name__}"]
    names = {(job.pipeline, job.meta_name) for job in plan.jobs()}
    for source, target in updater.items():
        problems += _check_source("iter_updater", str(source), source, "", producers, False, None)
        parts = str(target).split(".")
        if len(parts) < 4 or parts[2] not in CONFIG_KEYS:
            problems.append(f"iter_updater.{source}: target {target!r} must be "
                            "'pipeline.meta_name.(dj_configs|extra_configs).key'")
        elif (parts[0], parts[1]) not in names:
            problems.append(f"iter_updater.{source}: target {target!r}: no job '{parts[1]}' in "
                            f"pipeline '{parts[0]}'")
    return problems
