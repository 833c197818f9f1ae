"""What the runner calls: a job through the cache (a hit restores it, a miss runs and stores).

Results and notes are stored with their paths written as *places* (this job's folder, the
run folder, each configured output), so a hit in a new run folder points at the new run's
own copies. The first process to miss computes the job under the key's lock; a second one
with the same key (a sweep trial sharing a data prefix) waits and then hits.
"""

from __future__ import annotations

import glob
import logging
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from ..hooks.base import OUTPUT_FILE_KEYS, Hook, JobRun
from ..paths import output_path
from ..plan import JobSpec
from ..progress import note_job
from ..progress.base import format_seconds
from .entries import locked, restore, store
from .keys import Places, job_key
from .rewrite import TOKEN

log = logging.getLogger("djsandbox")

_SHOWN = {"progress_line": True}  # the job's done line says it instead, on the terminal
_TOKEN = TOKEN.format("")[:-2]  # "<<djsandbox-cache:"
# The sandbox's own files in a job folder: written for every run, never cached.
BOOKKEEPING = frozenset({"job.log", "job_config.json", "error.log", "interrupted.log"})


def cache_problems(label: str, body: dict[str, Any]) -> list[str]:
    """The job key `cache` (true: cache this job even if it trains or infers)."""
    value = body.get("cache")
    if value is None or isinstance(value, bool):
        return []
    return [f"{label}: cache: expected true or false, got {value!r}"]


def enabled(hook: Hook, run: JobRun, body: dict[str, Any], globals_: dict[str, Any]) -> bool:
    """Global `cache: false` wins; then the job's `cache`; then the analyser's own
    `extra_configs.cache: false`; then the hook's default (off for training and inference)."""
    if globals_.get("cache", True) is False:
        return False
    if isinstance(body.get("cache"), bool):
        return bool(body["cache"])
    if "cache" in (hook.keys or ()) and run.extra("cache") is False:
        return False
    return hook.cache_default


def places(run: JobRun, work_dir: Path) -> dict[str, Path]:
    """Place name -> where this job's files of that place go."""
    found = {"job": run.job_dir, "run": work_dir}
    for dotted in OUTPUT_FILE_KEYS:
        root, _, key = dotted.partition(".")
        cfg = run.dj_configs if root == "dj_configs" else run.extra_configs
        value = cfg.get(key) if isinstance(cfg, dict) else None
        if isinstance(value, str) and value:
            found[f"out:{dotted}"] = path = output_path(value, run.base_dirs)
            found[f"beside:{dotted}"] = path.parent  # e.g. Data-Juicer's `<stem>_stats.jsonl`
    return found


def bases(targets: dict[str, Path]) -> list[tuple[str, str]]:
    pairs = {(str(p), name) for name, p in targets.items()}
    pairs |= {(os.path.realpath(p), name) for name, p in targets.items()}
    # longest first; for one path, the job and run folders before a folder beside an output
    return sorted(pairs, key=lambda pair: (-len(pair[0]), pair[1].startswith("beside:")))


def _rewrite(value: Any, change: Callable[[str], str]) -> Any:
    if isinstance(value, dict):
        return {k: _rewrite(v, change) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_rewrite(v, change) for v in value)
    return change(value) if isinstance(value, str) else value


def to_places(value: Any, targets: dict[str, Path]) -> Any:
    pairs = bases(targets)

    def change(text: str) -> str:
        for base, name in pairs:
            if text == base or text.startswith(base + "/"):
                return f"{_TOKEN}{name}>>{text[len(base) :]}"
        return text

    return _rewrite(value, change)


def from_places(value: Any, targets: dict[str, Path]) -> Any:
    def change(text: str) -> str:
        if not text.startswith(_TOKEN):
            return text
        name, _, rest = text[len(_TOKEN) :].partition(">>")
        return f"{targets[name]}{rest}"

    return _rewrite(value, change)


def _walk(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
    elif path.is_dir():
        for root, dirs, names in os.walk(path):
            dirs.sort()
            yield from (Path(root) / n for n in sorted(names) if (Path(root) / n).is_file())


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, str):
        yield value


def output_files(targets: dict[str, Path], results: Any, started: float) -> list[dict[str, str]]:
    """What the job wrote: its configured outputs and the files it wrote beside them since
    `started` (named after them), its own folder (less the sandbox's files), and the files or
    folders in the run folder its results name."""
    items: list[dict[str, str]] = []
    seen: set[str] = set()

    def add(place: str, base: Path, path: Path) -> None:
        real = os.path.realpath(path)
        if real not in seen:
            seen.add(real)
            rel = "" if path == base else path.relative_to(base).as_posix()
            items.append({"place": place, "rel": rel, "source": str(path)})

    for name, base in targets.items():
        if name.startswith("out:"):
            for path in _walk(base):
                add(name, base, path)
            beside = targets[f"beside:{name[4:]}"]
            for path in sorted(beside.glob(f"{glob.escape(base.stem)}[_-]*")):
                if path.is_file() and path.stat().st_mtime >= started:
                    add(f"beside:{name[4:]}", beside, path)
    job = targets["job"]
    for path in _walk(job):
        if path.relative_to(job).as_posix() not in BOOKKEEPING:
            add("job", job, path)
    run = targets["run"]
    for text in _strings(results):
        path = Path(text)
        if path.is_absolute() and run in path.parents and path.exists():
            for found in _walk(path):
                add("run", run, found)
    return items


def run_cached(
    spec: JobSpec,
    hook: Hook,
    run: JobRun,
    globals_: dict[str, Any],
    work_dir: Path,
    compute: Callable[[], Any],
) -> Any:
    """The job's results: restored from the cache, or computed (and stored)."""
    hook_name = str(spec.hook)
    if not enabled(hook, run, spec.body, globals_):
        return compute()
    try:
        key, material = job_key(hook_name, hook, run, Places(work_dir, run.job_dir, run.base_dirs))
    except (OSError, ValueError, TypeError) as exc:
        log.warning("job cache: %s runs uncached (its key cannot be computed: %s)", run.label, exc)
        return compute()
    targets = places(run, work_dir)
    with locked(key, run.label):
        meta = restore(key, targets)
        if meta is not None:
            results = from_places(meta["results"], targets)
            run.notes.update(from_places(meta["notes"], targets), cache="hit")
            ran = float(meta.get("elapsed", 0.0))
            log.info(
                "job cache hit: %s (key %s; it ran %.1f s)", run.label, key[:12], ran, extra=_SHOWN
            )
            note_job(f"restored from the job cache; it ran {format_seconds(ran)}")
            return results
        started, wall = time.perf_counter(), time.time() - 1.0  # mtime granularity
        results = compute()
        meta = {
            "label": run.label,
            "hook": hook_name,
            "type": material.get("type"),
            "elapsed": time.perf_counter() - started,
            "results": to_places(results, targets),
            "notes": to_places(dict(run.notes), targets),
        }
        try:
            store(key, meta, material, output_files(targets, results, wall), bases(targets))
            log.info("job cache store: %s (key %s)", run.label, key[:12])
        except (OSError, TypeError, ValueError) as exc:
            log.warning("job cache: could not store %s: %s", run.label, exc)
        run.notes["cache"] = "miss"
        return results
