"""Validation of a `vbench_video_evaluator` config before any job runs (stdlib only).

Config errors (an unknown dimension, with the closest name; a dimension VBench cannot score
on custom prompts; a wrong type) are told apart from what this machine lacks: checkpoint
files absent from VBench's cache (each named with where it comes from), a prompt JSON that
is not there, GPUs asked for where none is visible. Those are missing resources.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping

from ...deferred import is_deferred
from ...errors import ConfigError
from ...redact import show
from ...resource_problems import Resource, gpu_visible, missing_file
from ...shapes import is_list, is_mapping, leaves
from ...suggest import did_you_mean
from ...value_checks import number, strings
from .dimensions import (
    DIMENSIONS,
    EXTRA_PACKAGES,
    MODES,
    STANDARD_ONLY,
    VBENCH_VERSION,
    missing_files,
    vbench_cache_dir,
)

_NAME = re.compile(r"^[\w.-]{1,100}$")


def mode_of(cfg: Mapping[str, Any]) -> str:
    """`mode`, else `vbench_standard` when `full_json_dir` is given (the reference's CLI
    default), else `custom_input` (prompts read from the file names, VBench's custom mode)."""
    return str(
        cfg.get("mode") or ("vbench_standard" if cfg.get("full_json_dir") else "custom_input")
    )


def dimension_problems(cfg: Mapping[str, Any]) -> list[str]:
    """The config errors of `dimension_list` and `mode`."""
    dims = cfg.get("dimension_list")
    if dims is None or is_deferred(dims):
        return []
    if isinstance(dims, str):
        dims = [dims]
    if not is_list(dims) or not dims:
        return [
            f"dimension_list: got {show('dimension_list', dims)}; expected a non-empty list of "
            f"VBench dimensions ({', '.join(DIMENSIONS)})"
        ]
    problems = []
    mode = cfg.get("mode")
    if mode is not None and mode not in MODES:
        problems.append(f"mode: got {mode!r}{did_you_mean(mode, MODES)}; expected one of {MODES}")
    seen: set[str] = set()
    for i, dim in enumerate(dims):
        if not isinstance(dim, str) or dim not in DIMENSIONS:
            problems.append(
                f"dimension_list[{i}]: {dim!r} is not a VBench dimension"
                f"{did_you_mean(dim, DIMENSIONS)}; valid: {', '.join(DIMENSIONS)}"
            )
        elif dim in seen:
            problems.append(f"dimension_list[{i}]: {dim!r} is listed twice")
        elif dim in STANDARD_ONLY and mode_of(cfg) == "custom_input":
            problems.append(
                f"dimension_list[{i}]: VBench scores {dim!r} only on its own prompt suite "
                "(mode vbench_standard with its full info JSON as full_json_dir); custom "
                f"prompts support {', '.join(d for d in DIMENSIONS if d not in STANDARD_ONLY)}"
            )
        seen.add(str(dim))
    return problems


def dimensions(cfg: Mapping[str, Any]) -> list[str]:
    """`dimension_list` as a list, after `dimension_problems` found none."""
    dims = cfg.get("dimension_list")
    return [dims] if isinstance(dims, str) else [str(d) for d in dims or []]


def weight_problems(cfg: Mapping[str, Any]) -> list[str]:
    """One missing resource per dimension whose checkpoint files are not on this machine."""
    dims = cfg.get("dimension_list")
    if dims is None or is_deferred(dims) or dimension_problems(cfg):
        return []
    cache = vbench_cache_dir(cfg.get("vbench_cache_dir"))
    local = cfg.get("load_ckpt_from_local") is True
    out: list[str] = []
    for dim in dimensions(cfg):
        missing = missing_files(dim, cache, local)
        if not missing:
            continue
        files = "; ".join(f"{path} (from {source})" for path, source in missing)
        extra = (
            f"; the environment also needs {EXTRA_PACKAGES[dim]}" if dim in EXTRA_PACKAGES else ""
        )
        out.append(
            Resource(
                f"dimension_list: {dim!r} needs files absent from this machine (VBench "
                f"{VBENCH_VERSION} would try to download them and abort): {files}",
                fix="download each file to the path named (VBench's cache is "
                "vbench_cache_dir, else $VBENCH_CACHE_DIR, else ~/.cache/vbench; with "
                "load_ckpt_from_local: true every checkpoint is read from there), or remove "
                f"{dim!r} from dimension_list{extra}",
                kind="weights",
            )
        )
    return out


def _paths(cfg: Mapping[str, Any], key: str) -> list[str]:
    value = cfg.get(key)
    if value is None or is_deferred(value):
        return []
    if isinstance(value, str):
        return [] if value else [f"{key}: empty; expected a path"]
    if (is_list(value) or is_mapping(value)) and value:
        bad = [leaf for leaf in leaves(value) if not isinstance(leaf, str) or not leaf]
        return [f"{key}: {bad[0]!r} is not a path"] if bad else []
    return [f"{key}: got {show(key, value)}; expected a path, or a list or mapping of paths"]


def _output_problems(value: Any) -> list[str]:
    """`output_path` must be new, empty, or a folder the sandbox wrote earlier: VBench writes
    `<eval_name>_eval_results.json` and `_full_info.json` there, over what is there."""
    from ...models.captioning.internvl_scripts import OWNED

    if not isinstance(value, str) or not value or is_deferred(value):
        return []
    path = Path(value).expanduser()
    if path.exists() and not path.is_dir():
        return [f"output_path: {value!r} is a file; expected a folder for VBench's results"]
    if path.is_dir() and any(path.iterdir()) and not (path / OWNED).exists():
        return [
            f"output_path: {value!r} already holds files the sandbox did not write; VBench "
            "would write over them: choose a new or empty folder"
        ]
    return []


def _env_problems(cfg: Mapping[str, Any]) -> list[str]:
    from .environment import env_spec

    try:
        env_spec(cfg)
    except ConfigError as exc:
        return str(exc).splitlines()
    return []


def check_vbench(cfg: Mapping[str, Any]) -> list[str]:
    """Problems with a `vbench_video_evaluator` config known before the run."""
    problems = dimension_problems(cfg) + _paths(cfg, "videos_path")
    problems += strings(cfg, "full_json_dir", "output_path", "vbench_cache_dir", "eval_name")
    name = cfg.get("eval_name")
    if isinstance(name, str) and name and not _NAME.match(name):
        problems.append(
            f"eval_name: {name!r}; expected letters, digits, '_', '.' or '-' (it names the "
            "result files)"
        )
    local = cfg.get("load_ckpt_from_local")
    if local is not None and not isinstance(local, bool):
        problems.append(f"load_ckpt_from_local: got {local!r}; expected true or false")
    problems += number(cfg, "num_gpus", int, 0)
    problems += _env_problems(cfg)
    if problems:
        return problems
    if mode_of(cfg) == "custom_input" and cfg.get("full_json_dir"):
        problems.append(
            "full_json_dir: given with mode custom_input, which reads the prompts from the "
            "videos (their file names, or the rows of a JSONL); drop one of them"
        )
    full = cfg.get("full_json_dir")
    if (
        isinstance(full, str)
        and full
        and not is_deferred(full)
        and not Path(full).expanduser().is_file()
    ):
        problems.append(
            missing_file(
                f"full_json_dir: {full!r} does not exist; expected VBench's prompt info JSON",
                full,
                "full_json_dir",
            )
        )
    problems += _output_problems(cfg.get("output_path"))
    gpus = cfg.get("num_gpus")
    if isinstance(gpus, int) and gpus > 0 and not gpu_visible():
        problems.append(
            Resource(
                f"num_gpus: {gpus} but this machine shows no GPU",
                fix="run on a machine with an NVIDIA GPU, or set num_gpus: 0 to score on the CPU",
                kind="gpu",
            )
        )
    return problems + weight_problems(cfg)


def raise_config_problems(cfg: Mapping[str, Any]) -> None:
    """At run time: every problem `check_vbench` finds, as one ConfigError (a missing file or
    GPU included: the run must not start VBench to find it missing)."""
    problems = check_vbench(cfg)
    if problems:
        raise ConfigError("vbench_video_evaluator: " + "\n".join(problems))
