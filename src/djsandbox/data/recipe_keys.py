"""Top-level keys of a Data-Juicer recipe, checked before the run without importing it.

Data-Juicer itself reports a wrong top-level key (`export_pth`) or value (`np: "two"`) only
when the job starts, after every earlier job ran. Its own list of settings is read from the
`config_all.yaml` it ships (found without importing the package, so a check stays cheap);
where that file is missing the keys are not checked.
"""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import Any

from ..deferred import is_deferred
from ..suggest import did_you_mean

# Settings Data-Juicer's parser takes that its config_all.yaml does not list.
_PARSER_ONLY = ("auto", "config", "partition_size")
_POSITIVE_INT = ("np", "trace_num", "export_shard_size", "auto_num")
_TEXT = ("dataset_path", "export_path", "work_dir", "project_name", "executor_type")


@functools.lru_cache(maxsize=1)
def data_juicer_keys() -> tuple[str, ...] | None:
    """Every top-level recipe key Data-Juicer accepts (None: its key list cannot be found)."""
    import yaml

    spec = importlib.util.find_spec("data_juicer")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "config" / "config_all.yaml"
        if path.is_file():
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                return tuple(sorted({*map(str, loaded), *_PARSER_ONLY}))
    return None


def recipe_key_problems(recipe: Any) -> list[str]:
    """'dj_configs.key: problem' for unknown top-level keys and a few mistyped values."""
    if not isinstance(recipe, dict):
        return []
    problems: list[str] = []
    valid = data_juicer_keys()
    if valid is not None:
        problems += [
            f"dj_configs.{key}: not a Data-Juicer setting{did_you_mean(key, valid)}"
            for key in recipe
            if key not in valid
        ]
    for key in _POSITIVE_INT:
        value = recipe.get(key)
        if value is None or is_deferred(value):
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(f"dj_configs.{key}: expected a positive integer, got {value!r}")
    for key in _TEXT:
        value = recipe.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(f"dj_configs.{key}: expected a string, got {value!r}")
    return problems
