"""Cache entries on disk: one read-only folder per key, filled atomically, used under a lock.

An entry holds `meta.json` (the job's results and notes with its paths written as places,
the digest and place of every stored file) and `material.json` (what the key hashes, secrets
masked), and the stored files under `files/`. It is written to a temporary folder and renamed
into place, so a reader sees a whole entry or none. A hit copies each file to where this job
would have written it, checking its digest on the way; a file that does not match makes the
whole entry unusable (it is discarded and the job runs). Nothing of the cache is ever linked
into a run folder.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any, Iterator

from ..atomic import atomic_paths
from . import cache_root
from .rewrite import from_tokens, is_text, to_tokens

log = logging.getLogger("djsandbox")

META = "meta.json"
MATERIAL = "material.json"


class DamagedEntry(Exception):
    """A stored file no longer has its digest (changed or truncated behind the cache)."""


def entry_path(key: str) -> Path:
    return cache_root() / "entries" / key


def lock_path(key: str) -> Path:
    return cache_root() / "locks" / f"{key}.lock"


@contextlib.contextmanager
def locked(key: str, label: str = "", wait: bool = True) -> Iterator[bool]:
    """Hold the key's lock (flock: released by the kernel if the process dies). Another
    process filling the same entry makes this one wait, then hit. `wait=False`: yields
    whether the lock was free, without waiting."""
    path = lock_path(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                yield False
                return
            log.info(
                "job cache: %s waits for another process computing it (key %s)", label, key[:12]
            )
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield True
    finally:
        os.close(fd)


def _copy_checked(
    source: Path, target: Path, item: dict[str, Any], targets: dict[str, Path]
) -> None:
    """A private copy of `source` at `target` (atomic), refused unless its bytes match; a
    text file gets this job's paths in place of its tokens."""
    sha256 = item["sha256"]
    digest = hashlib.sha256()
    with atomic_paths([target]) as (tmp,):
        if item.get("text"):
            data = source.read_bytes()
            digest.update(data)
            tmp.write_bytes(from_tokens(data, targets))
        else:
            with open(source, "rb") as src, open(tmp, "wb") as dst:
                for block in iter(lambda: src.read(1 << 20), b""):
                    digest.update(block)
                    dst.write(block)
        if digest.hexdigest() != sha256:
            raise DamagedEntry(f"{source} does not match its digest")


def discard(entry: Path) -> None:
    """Move an entry out of the way in one rename (readers never see half of it), then
    delete it."""
    trash = entry.with_name(f".{entry.name}.{os.getpid()}.discarded")
    try:
        os.replace(entry, trash)
    except OSError:
        return
    remove_tree(trash)


def remove_tree(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def read_meta(key: str) -> dict[str, Any] | None:
    try:
        return json.loads((entry_path(key) / META).read_text())
    except (OSError, ValueError):
        return None


def restore(key: str, targets: dict[str, Path]) -> dict[str, Any] | None:
    """Copy the entry's files to their places (`targets`: place name -> folder or file) and
    return its meta, or None when there is no usable entry (a damaged one is discarded)."""
    entry = entry_path(key)
    meta = read_meta(key)
    if meta is None:
        return None
    try:
        for item in meta["files"]:
            base = targets.get(item["place"])
            if base is None:
                raise DamagedEntry(f"this job has no place {item['place']!r}")
            target = base / item["rel"] if item["rel"] else base
            _copy_checked(entry / "files" / item["blob"], target, item, targets)
    except (DamagedEntry, OSError, KeyError) as exc:
        log.warning("job cache entry %s is damaged (%s): discarded, the job runs", key[:12], exc)
        discard(entry)
        return None
    with contextlib.suppress(OSError):
        os.utime(entry / META)  # last use, for `prune --older-than`
    return meta


def store(
    key: str,
    meta: dict[str, Any],
    material: dict[str, Any],
    files: list[dict],
    bases: list[tuple[str, str]],
) -> None:
    """Write a new entry: `files` items have `place`, `rel` and `source` (the file now);
    text files are stored with the `bases` paths as tokens (`rewrite.py`)."""
    entry = entry_path(key)
    if entry.exists():
        return
    stored = []
    with atomic_paths([entry]) as (tmp,):
        (tmp / "files").mkdir(parents=True)
        for number, item in enumerate(files):
            source = Path(item["source"])
            blob, text = f"{number:06d}{source.suffix}", is_text(source)
            digest = hashlib.sha256()
            if text:
                data = to_tokens(source.read_bytes(), bases)
                digest.update(data)
                (tmp / "files" / blob).write_bytes(data)
            else:
                with open(item["source"], "rb") as src, open(tmp / "files" / blob, "wb") as dst:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        digest.update(block)
                        dst.write(block)
            size = (tmp / "files" / blob).stat().st_size
            stored.append(
                {
                    "place": item["place"],
                    "rel": item["rel"],
                    "blob": blob,
                    "size": size,
                    "sha256": digest.hexdigest(),
                    "text": text,
                }
            )
        full = {**meta, "key": key, "created": time.time(), "files": stored}
        (tmp / META).write_text(json.dumps(full, indent=1, default=str))
        (tmp / MATERIAL).write_text(json.dumps(material, indent=1, sort_keys=True, default=str))
        _seal(tmp)


def _seal(folder: Path) -> None:
    """Stored files are read-only (a writable shared file would be a shared mutable file);
    folders stay writable so that the entry can be renamed into place and pruned."""
    for root, _, names in os.walk(folder):
        for name in names:
            os.chmod(Path(root) / name, 0o444)
