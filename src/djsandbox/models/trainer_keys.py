"""Validation-time check of `trainer` mappings against lightning.Trainer's arguments (stdlib).

`import lightning` costs seconds, so the argument names are read from the installed source
(`lightning/pytorch/trainer/trainer.py`, parsed with `ast`, once per process): a misspelt key
in a trainer preset or override is reported before the run instead of when the job starts.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
from pathlib import Path
from typing import Any, Mapping

from ..deferred import is_deferred
from ..resource_problems import gpu_needed
from ..suggest import did_you_mean

OWNER = "lightning.Trainer"


@functools.lru_cache(maxsize=1)
def trainer_arguments() -> frozenset[str] | None:
    """The keyword arguments of `lightning.Trainer.__init__`; None when lightning is not
    installed or its source cannot be read (then nothing is checked)."""
    try:
        spec = importlib.util.find_spec("lightning")  # locates the package, imports nothing
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    source = Path(list(spec.submodule_search_locations)[0]) / "pytorch" / "trainer" / "trainer.py"
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == "Trainer":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                    args = item.args
                    names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
                    return frozenset(n for n in names if n != "self") or None
    return None


def trainer_problems(trainer_cfg: Any, where: str = "trainer") -> list[str]:
    """'<where>.<key>: not a setting of lightning.Trainer (did you mean ...?)' per unknown key,
    or one problem when the value is not a mapping; a GPU accelerator on a machine without one
    is a missing resource. Values known only at run time and an absent trainer (None) pass."""
    if trainer_cfg is None or is_deferred(trainer_cfg):
        return []
    if not isinstance(trainer_cfg, Mapping):
        return [
            f"{where}: got {type(trainer_cfg).__name__}; expected a mapping of "
            f"{OWNER} arguments (the `trainer` config group)"
        ]
    gpu = gpu_needed(f"{where}.accelerator", trainer_cfg.get("accelerator"))
    needs = [gpu] if gpu is not None else []
    valid = trainer_arguments()
    if valid is None:
        return needs
    return [
        f"{where}.{key}: not a setting of {OWNER}{did_you_mean(key, sorted(valid))}"
        for key in trainer_cfg
        if key not in valid
    ] + needs
