"""A content-addressed cache of Data-Juicer analyses, so sweep trials never analyse twice.

The key is what decides the stats: the dataset's bytes, the recipe's ops with their
arguments except filter bounds (`min_*`/`max_*` choose rows, they do not change stats), the
other recipe keys that change parsing (e.g. `text_keys`), and the Data-Juicer version. Paths,
`np`, `work_dir`, export settings and `ray_address` (which cluster runs it) do not count. The
executor does: Data-Juicer's default executor rounds stats to about 10 significant digits and
its Ray executor does not, so their summaries differ in the last digits (`dj_ray`), and a
k-sigma bound from one may keep a row the other drops. Entries are written to a temp folder and
renamed into place (`djsandbox.atomic`), so parallel trials never see half an entry. Entries
are read-only and carry the digest of their analysed rows, checked on every hit; a hit gives
the job its own copy of the rows, never a link into the cache.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Mapping

from ..atomic import atomic_paths, atomic_write_text
from ..paths import cache_base

log = logging.getLogger("djsandbox")

_NOT_IN_KEY = {
    "dataset_path",
    "export_path",
    "work_dir",
    "np",
    "project_name",
    "job_id",
    "open_monitor",
    "open_tracer",
    "trace_num",
    "use_cache",
    "ds_cache_dir",
    "cache_compress",
    "export_in_parallel",
    "export_shard_size",
    "skip_op_error",
    "strict_preflight",
    "keep_stats_in_res_ds",
    "export_original_dataset",
    "ray_address",
}


def cache_root() -> Path:
    return cache_base() / "analysis"


def file_digest(path: Path) -> str:
    """sha256 of a file's bytes, remembered per (path, size, mtime) to skip re-hashing."""
    stat = path.stat()
    memo = cache_root() / "file_digests.json"
    ident = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    try:
        known = json.loads(memo.read_text())
    except (OSError, ValueError):
        known = {}
    if ident in known:
        return known[ident]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    known[ident] = digest.hexdigest()
    atomic_write_text(memo, json.dumps(known))
    return known[ident]


def _ops_without_bounds(process: Any) -> Any:
    if not isinstance(process, list):
        return process
    out = []
    for item in process:
        if isinstance(item, dict) and len(item) == 1:
            name, args = next(iter(item.items()))
            args = {
                k: v
                for k, v in (args or {}).items()
                if not (k.startswith("min_") or k.startswith("max_"))
            }
            out.append({name: args})
        else:
            out.append(item)
    return out


def analysis_key(recipe: Mapping[str, Any], dataset: Path) -> str:
    from importlib.metadata import version

    material = {
        "dataset": file_digest(dataset),
        "data_juicer": version("py-data-juicer"),
        "recipe": {
            k: (_ops_without_bounds(v) if k == "process" else v)
            for k, v in sorted(recipe.items())
            if k not in _NOT_IN_KEY
        },
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, default=str).encode()).hexdigest()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _valid_entry(entry: Path) -> bool:
    """An entry is used only when its analysed rows still have the digest stored with them
    (entries are read-only, but a file can be changed through a link made before that)."""
    try:
        meta = json.loads((entry / "summary.json").read_text())
        return meta.get("_analysed_sha256") == _sha256(entry / "analysed.jsonl")
    except (OSError, ValueError, AttributeError):
        return False


def _discard(entry: Path) -> None:
    """Move a bad entry out of the way (one rename, so readers never see half of it)."""
    trash = entry.with_name(f".{entry.name}.{os.getpid()}.bad")
    try:
        os.replace(entry, trash)
    except OSError:
        return
    shutil.rmtree(trash, ignore_errors=True)


def _place(cached: Path, target: Path) -> None:
    """A private copy of the cached analysed dataset where this job exports it; never a link
    to the cache (a later write to the run's copy must not reach the cache or other runs)."""
    with atomic_paths([target]) as (tmp,):
        shutil.copyfile(cached, tmp)


def _seal(folder: Path) -> None:
    """Cache entries are read-only: a writable shared file would be a shared mutable file."""
    for path in folder.rglob("*"):
        if path.is_file():
            path.chmod(0o444)


def cached_analysis(
    recipe: Mapping[str, Any],
    dataset: Path | None,
    export_path: Path | None,
    compute: Callable[[], tuple[str, dict[str, Any]]],
) -> tuple[str, dict[str, Any]]:
    """`compute()` once per key; later calls reuse the stored export and summary."""
    if dataset is None or not dataset.is_file():
        return compute()
    key = analysis_key(recipe, dataset)
    entry = cache_root() / key
    if (entry / "summary.json").exists() and not _valid_entry(entry):
        log.warning("analysis cache entry %s was changed or is incomplete: discarded", key[:12])
        _discard(entry)
    if (entry / "summary.json").exists():
        summary = json.loads((entry / "summary.json").read_text())
        summary.pop("_analysed_sha256", None)
        if (entry / "analysis").is_dir():
            summary["analysis_dir"] = str(entry / "analysis")
        if export_path is not None:
            _place(entry / "analysed.jsonl", export_path)
        log.info("analysis cache hit: %s (key %s)", dataset, key[:12])
        summary = {**summary, "cache": "hit"}
        return str(export_path or entry / "analysed.jsonl"), summary
    export, summary = compute()
    try:
        with atomic_paths([entry]) as (tmp,):
            tmp.mkdir()
            shutil.copyfile(export, tmp / "analysed.jsonl")
            if summary.get("analysis_dir") and Path(summary["analysis_dir"]).is_dir():
                shutil.copytree(summary["analysis_dir"], tmp / "analysis")
            stored = {**summary, "_analysed_sha256": _sha256(tmp / "analysed.jsonl")}
            (tmp / "summary.json").write_text(json.dumps(stored))
            _seal(tmp)
    except OSError:
        pass  # another trial may have stored this entry first (the rename fails): keep theirs
    log.info("analysis cache store: %s (key %s)", dataset, key[:12])
    return export, {**summary, "cache": "miss"}
