"""Config keys shared by the pool components: dataset paths, the export folder and format,
output names, seeds, and validation helpers that report every problem before the run.

Module-level imports are stdlib only: validation imports the pool modules.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

from ...redact import show
from ...resource_problems import missing_file
from ...shapes import as_path_list

SUFFIXES = {"jsonl": ".jsonl", "parquet": ".parquet"}


# ----------------------------------------------------------------------------- paths


def name_list(value: Any, key: str, expected: str) -> list[str] | None:
    """A column/stat name or a non-empty list of them (None when unset)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if (
        not isinstance(value, (list, tuple))
        or not value
        or not all(isinstance(k, str) for k in value)
    ):
        raise ValueError(f"{key}: expected {expected}, got {show(key, value)}")
    return list(value)


def missing_paths(paths: Sequence[str]) -> list[str]:
    return [p for p in paths if not Path(p).resolve().is_file()]


def require_paths(value: Any, key: str, *, allow_empty: bool = False) -> list[Path]:
    """Resolved existing dataset files of `key`; a missing file or an empty list is an error."""
    paths = as_path_list(value, key)
    if not paths and not allow_empty:
        raise ValueError(f"{key}: expected at least one dataset path, got none")
    missing = missing_paths(paths)
    if missing:
        raise ValueError(f"{key}: dataset file(s) do not exist: {missing}")
    return [Path(p).resolve() for p in paths]


def export_dir(cfg: dict[str, Any], out_dir: Path) -> Path:
    """`export_path` (a folder) or the job's own folder."""
    target = cfg.get("export_path")
    return Path(target).resolve() if target else Path(out_dir)


def export_suffix(cfg: dict[str, Any]) -> str:
    fmt = str(cfg.get("export_format", "jsonl")).lower().lstrip(".")
    if fmt not in SUFFIXES:
        raise ValueError(f"export_format: expected one of {sorted(SUFFIXES)}, got {fmt!r}")
    return SUFFIXES[fmt]


def stem(path: str | Path) -> str:
    return Path(path).name.rsplit(".", 1)[0] if "." in Path(path).name else Path(path).name


def common_prefix(paths: Sequence[str | Path]) -> str:
    """Longest common prefix of the file stems (the reference names combined files by it),
    without trailing separators; 'default_prefix' when there is none, as in the reference."""
    stems = [stem(p) for p in paths]
    prefix = os.path.commonprefix(stems) if stems else ""
    prefix = prefix.rstrip("_-. ")
    return prefix or "default_prefix"


# ----------------------------------------------------------------------------- checks


def seed_of(cfg: dict[str, Any], default: int = 42) -> int:
    """`shuffle_seed` (the reference's name) or `seed`; both given must agree."""
    given = {k: cfg[k] for k in ("shuffle_seed", "seed") if cfg.get(k) is not None}
    for k, v in given.items():
        if isinstance(v, bool) or not isinstance(v, int):
            raise ValueError(f"{k}: expected an integer seed, got {v!r}")
    if len(set(given.values())) > 1:
        raise ValueError(
            f"seed: shuffle_seed={given['shuffle_seed']} and seed={given['seed']} "
            "disagree; give one"
        )
    return next(iter(given.values()), default)


def path_problems(cfg: dict[str, Any], key: str, *, required: bool = True) -> list[str]:
    """Validation of a dataset-path key, on what is known before the run."""
    if key not in cfg or cfg[key] is None:
        return []  # fed by an earlier job, or absent: checked at run time
    try:
        paths = as_path_list(cfg[key], key)
    except ValueError as exc:
        return [str(exc)]
    if not paths and required:
        return [f"{key}: expected at least one dataset path, got an empty list"]
    missing = missing_paths(paths)
    if not missing:
        return []
    message = f"{key}: dataset file(s) do not exist: {missing}"
    return [missing_file(message, ", ".join(missing), f"extra_configs.{key}")]


def common_problems(cfg: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    if "export_format" in cfg:
        try:
            export_suffix(cfg)
        except ValueError as exc:
            problems.append(str(exc))
    exp = cfg.get("export_path")
    if exp is not None and not isinstance(exp, (str, os.PathLike)):
        problems.append(f"export_path: expected a folder path, got {type(exp).__name__}")
    elif exp is not None and Path(exp).is_file():
        problems.append(f"export_path: expected a folder, but {str(exp)!r} is a file")
    return problems


def collect(*checks: Any) -> list[str]:
    """Messages of the ValueErrors raised by zero-argument checks (validation reports all)."""
    problems = []
    for fn in checks:
        try:
            fn()
        except ValueError as exc:
            problems.append(str(exc))
    return problems
