"""Digests of input files and folders, remembered per (path, size, mtime) so an unchanged
file is hashed once, whatever the number of runs that read it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..atomic import atomic_write_text
from . import cache_root
from .media_refs import ROW_FILES, named_media, resolve_media
from .rewrite import is_text, run_relative, to_tokens


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

    def file(self, path: Path, run: Path | None = None) -> str:
        """A text file inside the run folder `run` is hashed with that folder's path as a
        token (`rewrite.py`): a copy of it in another run folder has the same digest. A JSON or
        JSONL file's digest also covers the bytes of the media files it names
        (`media_refs.py`), looked up afresh each time: a clip re-rendered under the same name
        changes it."""
        own = self._own(path, run)
        media = self._media(path)
        if not media:
            return own
        digest = hashlib.sha256(own.encode())
        for name in media:
            found = resolve_media(name, path)
            shown = name if run is None else run_relative(name, run)
            mark = self.file(found, run) if found.is_file() else "missing"
            digest.update(f"\n{shown}\0{mark}".encode())
        return digest.hexdigest()

    def _media(self, path: Path) -> list[str]:
        """The media names in `path`, remembered per (path, size, mtime) like digests."""
        if path.suffix.lower() not in ROW_FILES:
            return []
        stat = path.stat()
        ident = f"media|{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
        if ident not in self.known:
            self.known[ident] = json.dumps(named_media(path))
            self.changed = True
        return json.loads(self.known[ident])

    def _own(self, path: Path, run: Path | None) -> str:
        """The digest of the file's own bytes (the run folder as a token inside it)."""
        stat = path.stat()
        inside = run is not None and run in path.resolve().parents and is_text(path)
        ident = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}" + (
            f"|{run}" if inside else ""
        )
        if ident not in self.known:
            if inside:
                data = to_tokens(path.read_bytes(), [(str(run), "run")])
                self.known[ident] = hashlib.sha256(data).hexdigest()
            else:
                self.known[ident] = sha256_file(path)
            self.changed = True
        return self.known[ident]

    def tree(self, folder: Path, run: Path | None = None) -> str:
        """One digest of a folder: each file's relative path and digest, in sorted order."""
        digest = hashlib.sha256()
        for root, dirs, names in os.walk(folder):
            dirs.sort()
            for name in sorted(names):
                path = Path(root) / name
                if path.is_file():
                    rel = path.relative_to(folder).as_posix()
                    digest.update(f"{rel}\0{self.file(path, run)}\n".encode())
        return digest.hexdigest()

    def save(self) -> None:
        """Concurrent writers: the last one wins; a lost memo entry only costs a re-hash."""
        if self.changed:
            atomic_write_text(self.path, json.dumps(self.known))
            self.changed = False
