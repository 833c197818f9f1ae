"""A job's cache key: everything that decides its results, and nothing that does not.

Material: the hook, the component type, what the hook says decides its results
(`Hook.cache_material`: by default both configs; the analyser leaves out filter bounds), the
djsandbox version plus the digest of the hook's and the component's source files (a changed
component misses), and the versions of the libraries that compute. Secrets are masked before
anything is hashed or written. Configured output paths count only as "an output is written
there" (the same job writing elsewhere hits). Every string that names an existing file or
folder is replaced by the digest of its content (a JSON/JSONL file's also covers the media
files it names: `media_refs.py`), so a path into an earlier run's folder and one into this
run's folder key alike when their bytes do.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..hooks.base import OUTPUT_FILE_KEYS, Hook, JobRun
from ..paths import find_existing
from ..redact import redact
from .files import Digests
from .rewrite import run_relative

OUTPUT_MARK = "<output>"
LIBRARIES = ("py-data-juicer", "torch", "lightning", "transformers")


@dataclass
class Places:
    """Where this job's files live: paths there key by position, not by content."""

    work_dir: Path
    job_dir: Path
    base_dirs: list[Path]


def _versions() -> dict[str, str | None]:
    from importlib.metadata import PackageNotFoundError, version

    found: dict[str, str | None] = {}
    for name in ("djsandbox", *LIBRARIES):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = None
    return found


def _source_files(hook: Hook, run: JobRun) -> list[Path]:
    """The hook's and the component's modules, found without importing the component (a
    restored job must not pay for importing torch)."""
    files = [inspect.getsourcefile(type(hook))]
    registry = hook.registry()
    name = (run.extra_configs or {}).get("type")
    if registry is not None and isinstance(name, str) and name in registry:
        target = registry.get(name).target
        try:
            if isinstance(target, str):
                spec = importlib.util.find_spec(target.partition(":")[0])
                files.append(spec.origin if spec is not None else None)
            elif target is not None:
                files.append(inspect.getsourcefile(target))
        except (TypeError, ImportError, ValueError):
            pass
    return [Path(f) for f in files if f and Path(f).is_file()]


def _mark_outputs(material: dict[str, Any]) -> dict[str, Any]:
    out = json.loads(json.dumps(material, default=str))
    for dotted in OUTPUT_FILE_KEYS:
        root, _, key = dotted.partition(".")
        node = out.get(root)
        if isinstance(node, dict) and node.get(key) not in (None, ""):
            node[key] = OUTPUT_MARK
    return out


def _as_path(text: str, places: Places) -> Path | None:
    """The existing file or folder a config string names, if it names one."""
    if not text or len(text) > 4096 or "://" in text or "\n" in text or "${" in text:
        return None
    if not (text.startswith(("/", "~", ".")) or "/" in text or Path(text).suffix):
        return None  # a bare word (`text`, `mean`) is a value, not a file
    found = find_existing(text, places.base_dirs)
    return found.resolve() if found is not None else None


def _normalise(value: Any, places: Places, digests: Digests) -> Any:
    if isinstance(value, dict):
        return {str(k): _normalise(v, places, digests) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(v, places, digests) for v in value]
    if not isinstance(value, str):
        return value
    path = _as_path(value, places)
    run = places.work_dir.resolve()
    if path is None or path == run or path in run.parents:  # not a file, or holds the run
        return run_relative(value, run)  # not there yet: keyed by its place in the run
    if path.is_file():
        return {"file": digests.file(path, run)}
    return {"folder": digests.tree(path, run)}


def job_key(hook_name: str, hook: Hook, run: JobRun, places: Places) -> tuple[str, dict[str, Any]]:
    """(the key, the material it hashes: secrets masked, safe to write beside the entry)."""
    digests = Digests()
    material = {
        "hook": hook_name,
        "type": (run.extra_configs or {}).get("type"),
        "config": _normalise(redact(_mark_outputs(hook.cache_material(run))), places, digests),
        "versions": _versions(),
        "sources": {f.name: digests.file(f) for f in _source_files(hook, run)},
    }
    digests.save()
    text = json.dumps(material, sort_keys=True, default=str, allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest(), material
