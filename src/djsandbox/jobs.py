"""Turning a raw job into the configs its hook runs with.

Order (DESIGN.md): job body <- files loaded <- `local` (OmegaConf.update) <- `input` (written as
`${ctx:source}` interpolations) <- resolved against the live context and the global keys.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .context import Context
from .deferred import deferred, is_deferred
from .errors import ConfigError, ContextLookupError, ResourceError
from .hooks.base import INPUT_FILE_KEYS, OUTPUT_FILE_KEYS
from .paths import (
    candidates,
    find_existing,
    load_config_file,
    looks_like_config_file,
    output_path,
)
from .plan import JobSpec
from .resource_problems import missing_file

CONFIG_KEYS = ("dj_configs", "extra_configs")


def target_root(target: str) -> str:
    return str(target).split(".", 1)[0]


def load_side_config(
    value: Any, key: str, label: str, base_dirs: list[Path], produced: set[Path] | None = None
) -> tuple[Any, Path | None]:
    """Load `dj_configs`/`extra_configs` when given as a file path; (content, file's folder).

    `produced` (validation only): files earlier jobs will write. Such a file that does not
    exist yet is a deferred value: it is loaded when the job runs.
    """
    if not isinstance(value, str) or "${" in value or is_deferred(value):
        return value, None
    if not looks_like_config_file(value):
        raise ConfigError(
            f"{label}: {key}: expected a mapping or a path ending in .yaml, .yml "
            f"or .json, got {value!r}"
        )
    found = find_existing(value, base_dirs)
    if found is None:
        if produced is not None and any(c in produced for c in candidates(value, base_dirs)):
            return deferred(f"file {value}"), None
        tried = ", ".join(str(c) for c in candidates(value, base_dirs))
        message = (
            f"{label}: {key}: file {value!r} does not exist (looked at: {tried}) and "
            "no earlier job writes it"
        )
        need = missing_file(message, value, key, kind="side config file")
        raise ResourceError(message, [need])
    try:
        return load_config_file(found), found.parent
    except ConfigError as exc:  # a duplicate key: the message names file, line and key
        raise ConfigError(f"{label}: {key}: {exc}") from None
    except Exception as exc:  # yaml/json syntax errors: name the file
        raise ConfigError(f"{label}: {key}: cannot parse {found}: {exc}") from None


def apply_local(body: dict[str, Any], local: dict[str, Any] | None, label: str) -> dict[str, Any]:
    """`local: {target.key: value}` as OmegaConf updates on a copy of the job body."""
    if not local:
        return body
    node = OmegaConf.create(copy.deepcopy(body), flags={"allow_objects": True})
    for target, value in local.items():
        _check_target(target, "local", label)
        _ensure_mapping(node, target)
        OmegaConf.update(node, str(target), value, merge=False)
    return OmegaConf.to_container(node, resolve=False)  # type: ignore[return-value]


def _check_target(target: Any, field: str, label: str) -> None:
    if not isinstance(target, str) or target_root(target) not in CONFIG_KEYS:
        raise ConfigError(
            f"{label}: {field}: target {target!r} must start with 'dj_configs' or "
            "'extra_configs' (e.g. extra_configs.dataset_path)"
        )


def _set_dotted(job: dict[str, Any], target: str, value: Any) -> None:
    """Write `value` at a dotted target of plain dicts, creating mappings on the way (a None
    config becomes {}); a config that is still a path cannot take a nested key."""
    root, *rest = target.split(".")
    if not rest:
        job[root] = value
        return
    node = job.get(root)
    if node is None:
        node = job[root] = {}
    if isinstance(node, str) and is_deferred(node):
        return  # validation: the whole config is known only at run time
    if isinstance(node, str):
        raise ConfigError(
            f"cannot set {target!r}: {root} is still a path ({node!r}); it is "
            "loaded before local/input apply, so this means it could not be loaded"
        )
    for part in rest[:-1]:
        if not isinstance(node.get(part), dict):
            node[part] = {}
        node = node[part]
    node[rest[-1]] = value


def _ensure_mapping(node: Any, target: str) -> None:
    """A None config becomes {} so `local` can write a nested key into it."""
    root = target_root(target)
    if "." in target and node.get(root) is None:
        node[root] = {}
    if "." in target and isinstance(node.get(root), str) and not is_deferred(node.get(root)):
        raise ConfigError(
            f"cannot set {target!r}: {root} is still a path ({node.get(root)!r}); "
            "it is loaded before local/input apply, so this means it could not be "
            "loaded"
        )


def whole_config_inputs(body: dict[str, Any]) -> list[str]:
    """The configs an `input` replaces whole (`input: {dj_configs: '-1.refined_recipe_path'}`):
    what the job body writes there is a placeholder, never loaded or checked as a recipe."""
    inputs = body.get("input")
    return [key for key in CONFIG_KEYS if isinstance(inputs, dict) and key in inputs]


class ResolvedJob:
    """A job's final configs plus the folder its recipe file came from (for relative paths)."""

    def __init__(self, dj_configs: Any, extra_configs: Any, source_dirs: list[Path]) -> None:
        self.dj_configs = dj_configs
        self.extra_configs = extra_configs
        self.source_dirs = source_dirs


def resolve_interpolated(value: Any, globals_: dict[str, Any], label: str, context: Context) -> Any:
    """Resolve a config given as one interpolation (e.g. `${pkg:recipes/x.yaml}`)."""
    if not (isinstance(value, str) and "${" in value):
        return value
    node = OmegaConf.create({**globals_, "__value__": value}, flags={"allow_objects": True})
    return _resolve(node, "__value__", label, context)


def _resolve(node: Any, key: str, label: str, context: Context) -> Any:
    try:
        with context.active(label):
            return OmegaConf.to_container(node, resolve=True)[key]  # type: ignore[index]
    except OmegaConfBaseException as exc:
        if context.last_error is not None:
            raise ContextLookupError(str(context.last_error)) from None
        raise ConfigError(
            f"{label}: cannot resolve {key if key != '__value__' else 'a value'}: {exc}"
        ) from None


def resolve_job(
    spec: JobSpec,
    globals_: dict[str, Any],
    context: Context,
    base_dirs: list[Path],
    extra_local: dict[str, Any] | None = None,
    produced: set[Path] | None = None,
) -> ResolvedJob:
    """Produce the configs a job runs with, reading `input` sources from the context.

    The runner passes the live context; validation passes a planned one (and the files earlier
    jobs will write, `produced`), so both go through this one path: values known only at run
    time come back as deferred markers (see `deferred.py`).
    """
    label = spec.label
    body = dict(spec.body)
    source_dirs: list[Path] = []
    for key in whole_config_inputs(body):
        body[key] = None  # a placeholder (e.g. '<auto_replaced_with_previous_output>')
    for key in CONFIG_KEYS:
        body[key] = resolve_interpolated(body.get(key), globals_, f"{label}: {key}", context)
        body[key], folder = load_side_config(body.get(key), key, label, base_dirs, produced)
        if folder is not None:
            source_dirs.append(folder)
    local = dict(body.get("local") or {})
    local.update(extra_local or {})
    body = apply_local(body, local, label)
    inputs: dict[str, Any] = {}
    for target, source in (body.get("input") or {}).items():
        _check_target(target, "input", label)
        if not isinstance(source, str):
            raise ConfigError(
                f"{label}: input.{target}: source must be a string like "
                f"'pipeline.meta_name.result', got {source!r}"
            )
        where = f"{label}: input.{target}"
        source = str(resolve_interpolated(source, globals_, where, context))  # `${vars.x}` parts
        with context.active(where):
            inputs[str(target)] = context.lookup(source, where=where)
    node = OmegaConf.create(
        {**globals_, "__job__": {k: body.get(k) for k in CONFIG_KEYS}},
        flags={"allow_objects": True},
    )
    resolved = _resolve(node, "__job__", label, context)
    for target, value in inputs.items():
        _set_dotted(resolved, target, copy.deepcopy(value))
    out: dict[str, Any] = {}
    for key in CONFIG_KEYS:
        value = resolved.get(key)
        if isinstance(value, str):  # a path that came from the context or an earlier job
            value, folder = load_side_config(value, key, label, base_dirs, produced)
            if folder is not None:
                source_dirs.append(folder)
        if value is not None and not isinstance(value, dict) and not is_deferred(value):
            raise ConfigError(
                f"{label}: {key}: expected a mapping after loading, got {type(value).__name__}"
            )
        out[key] = value
    return ResolvedJob(out["dj_configs"], out["extra_configs"], source_dirs)


def absolute_paths(extra: dict[str, Any], base_dirs: list[Path]) -> dict[str, Any]:
    """Components get absolute paths: inputs as found (cwd, then beside the config), outputs
    under the working directory, as the reference resolved them."""
    out = dict(extra)
    for dotted in INPUT_FILE_KEYS + OUTPUT_FILE_KEYS:
        root, _, key = dotted.partition(".")
        value = out.get(key)
        if root != "extra_configs" or not isinstance(value, str) or not value:
            continue
        if dotted in INPUT_FILE_KEYS:
            found = find_existing(value, base_dirs)
            out[key] = str(found) if found is not None else str(output_path(value, base_dirs))
        else:
            out[key] = str(output_path(value, base_dirs))
    return out


def iteration_path(value: Any, iteration: int) -> Any:
    """Put iteration > 0 outputs in an `iter_<n>` subfolder so iterations never overwrite."""
    if not isinstance(value, str) or iteration == 0:
        return value
    p = Path(value)
    return str(p.parent / f"iter_{iteration}" / p.name)
