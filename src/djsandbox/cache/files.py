"""Digests of input files and folders, remembered per (path, size, mtime) so an unchanged
file is hashed once, whatever the number of runs that read it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..atomic import atomic_write_text
from . import cache_root


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Digests:
    """A memo of file digests, loaded once and saved once (`save`) per key computed."""

    def __init__(self) -> None:
        self.path = cache_root() / "file_digests.json"
        try:
            self.known: dict[str, str] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.known = {}
        self.changed = False

    def file(self, path: Path) -> str:
        stat = path.stat()
        ident = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        if ident not in self.known:
            self.known[ident] = sha256_file(path)
            self.changed = True
        return self.known[ident]

    def tree(self, folder: Path) -> str:
        """One digest of a folder: each file's relative path and digest, in sorted order."""
        digest = hashlib.sha256()
        for root, dirs, names in os.walk(folder):
            dirs.sort()
            for name in sorted(names):
                path = Path(root) / name
                if path.is_file():
                    rel = path.relative_to(folder).as_posix()
                    digest.update(f"{rel}\0{self.file(path)}\n".encode())
        return digest.hexdigest()

    def save(self) -> None:
        """Concurrent writers: the last one wins; a lost memo entry only costs a re-hash."""
        if self.changed:
            atomic_write_text(self.path, json.dumps(self.known))
            self.changed = False
