"""One home for atomic output: a reader never sees a half-written file, and a failure leaves
nothing behind.

Every writer goes through :func:`atomic_paths`: each target gets a private temporary folder
beside it (same file system, so the final rename is atomic) holding a path with the target's
own name (writers that pick a format by suffix, such as Spark or pyarrow, see the real name).
The writer creates that path with a plain ``open()`` (or ``mkdir``), so the result gets the
mode any other file would, ``0666 & ~umask`` (``0777`` for folders); ``tempfile.mkstemp`` and
``mkdtemp`` would leave ``0600``/``0700``, unreadable to the other users of a shared machine.
On success every path is renamed into place; on failure all temporaries are removed.

Standard library only: component modules import it at import time.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Any, Iterable, Iterator

__all__ = ["atomic_paths", "atomic_open", "atomic_write_text", "atomic_write_bytes"]


@contextlib.contextmanager
def atomic_paths(
    paths: Iterable[str | os.PathLike[str]], *, replace_any: bool = False
) -> Iterator[list[Path]]:
    """Temporary paths (not yet created) for ``paths``, moved into place when the block ends
    without error and removed otherwise. Parent folders are created.

    A file replaces a file atomically. A folder, or anything where a folder is, replaces what
    is there only with ``replace_any``: the old one is removed just before the rename, so
    that step alone is not atomic."""
    targets = [Path(p) for p in paths]
    folders: list[Path] = []
    try:
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            folders.append(
                Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
            )
        temps = [folder / target.name for folder, target in zip(folders, targets)]
        yield temps
        for temp, target in zip(temps, targets):
            if not temp.exists() and not temp.is_symlink():
                raise FileNotFoundError(f"internal: nothing was written for {str(target)!r}")
            if replace_any and (temp.is_dir() or target.is_dir()):
                _remove(target)
            os.replace(temp, target)
    finally:
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def atomic_open(
    paths: Iterable[str | os.PathLike[str]], mode: str = "w", *, fsync: bool = False
) -> Iterator[list[IO[Any]]]:
    """Open handles (``mode`` "w" as UTF-8 text, or "wb") for ``paths``; see
    :func:`atomic_paths`. With ``fsync`` the data reaches the disk before the rename."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_open: mode must be 'w' or 'wb', got {mode!r}")
    # the ExitStack ends first: handles are closed before atomic_paths renames the files
    with atomic_paths(paths) as temps, contextlib.ExitStack() as stack:
        handles = [
            stack.enter_context(open(t, mode, encoding=None if "b" in mode else "utf-8"))
            for t in temps
        ]
        yield handles
        for fh in handles:
            fh.flush()
            if fsync:
                os.fsync(fh.fileno())


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (flushed to disk first); returns the path."""
    with atomic_open([path], "wb", fsync=True) as (fh,):
        fh.write(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 to ``path`` atomically (flushed to disk first); returns the path."""
    with atomic_open([path], "w", fsync=True) as (fh,):
        fh.write(text)
    return Path(path)
