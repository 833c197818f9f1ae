"""Listing and pruning the job cache. Only entries (folders named by a 64-hex key under
`<cache>/jobs/entries`), their lock files and the temporary folders of interrupted writes
are ever deleted; an entry whose lock another process holds is left alone."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from . import cache_root
from .entries import META, discard, entry_path, lock_path, locked, read_meta, remove_tree

_KEY = re.compile(r"^[0-9a-f]{64}$")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_SPANS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
STALE_TEMP_S = 3600  # a temporary entry folder this old belongs to a write that died


@dataclass
class Entry:
    key: str
    label: str
    hook: str
    size: int
    files: int
    created: float
    used: float  # last hit (or creation)
    elapsed: float  # seconds the job took when it ran


def entries() -> list[Entry]:
    """Every complete entry, least recently used first."""
    folder = cache_root() / "entries"
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        meta = read_meta(path.name) if _KEY.match(path.name) else None
        if meta is None:
            continue
        files = meta.get("files", [])
        found.append(
            Entry(
                path.name,
                str(meta.get("label", "")),
                f"{meta.get('hook')}" + (f" ({meta['type']})" if meta.get("type") else ""),
                sum(int(f.get("size", 0)) for f in files),
                len(files),
                float(meta.get("created", 0)),
                (path / META).stat().st_mtime,
                float(meta.get("elapsed", 0.0)),
            )
        )
    return sorted(found, key=lambda e: e.used)


def parse_size(text: str) -> int:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([kmgt]?)i?b?\s*", text.lower())
    if not match:
        raise ValueError(f"expected a size like 500M or 10G, got {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2)])


def parse_age(text: str) -> float:
    match = re.fullmatch(r"\s*([0-9.]+)\s*([smhdw])\s*", text.lower())
    if not match:
        raise ValueError(f"expected an age like 30m, 12h, 7d or 2w, got {text!r}")
    return float(match.group(1)) * _SPANS[match.group(2)]


def human_size(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def human_age(seconds: float) -> str:
    for unit, span in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= span:
            return f"{seconds / span:.1f}{unit}"
    return f"{seconds:.0f}s"


def choose(
    found: list[Entry], older_than: float | None, max_size: int | None, now: float
) -> list[Entry]:
    """Entries to remove: unused for longer than `older_than`, then the least recently used
    until the rest fit in `max_size`."""
    chosen = [e for e in found if older_than is not None and now - e.used > older_than]
    if max_size is not None:
        kept = [e for e in found if e not in chosen]
        total = sum(e.size for e in kept)
        for entry in kept:  # least recently used first
            if total <= max_size:
                break
            chosen.append(entry)
            total -= entry.size
    return chosen


def remove(entry: Entry) -> bool:
    """Remove one entry unless a run is using it now (its lock is held)."""
    with locked(entry.key, wait=False) as free:
        if not free:
            return False
        discard(entry_path(entry.key))
    lock_path(entry.key).unlink(missing_ok=True)
    return True


def remove_stale_temporaries(now: float) -> int:
    """Folders left by writes that died (`.KEY.*.tmp`, `.KEY.*.discarded`)."""
    folder = cache_root() / "entries"
    count = 0
    for path in folder.glob(".*") if folder.is_dir() else []:
        name = path.name
        stale = now - path.stat().st_mtime > STALE_TEMP_S
        if path.is_dir() and stale and (name.endswith(".tmp") or name.endswith(".discarded")):
            remove_tree(path)
            count += 1
    return count


def now() -> float:
    return time.time()
