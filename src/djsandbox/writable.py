"""Folders the run writes into and files it reads, checked so that a problem is one message.

A `work_dir` that is a file, or a folder the run cannot write, used to surface as a traceback;
an export folder that cannot be made, a folder or a broken JSON Lines file given as a dataset
used to fail inside Data-Juicer after earlier jobs ran, with a message naming neither the
file nor the line.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .errors import ConfigError


def _can_write(folder: Path) -> bool:
    return os.access(folder, os.W_OK | os.X_OK)


def ensure_work_dir(path: Path) -> None:
    """Create the run folder, or raise one ConfigError saying why it cannot be used."""
    if path.exists() and not path.is_dir():
        raise ConfigError(f"work_dir: {path} is a file; expected a folder for the run")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"work_dir: cannot create {path}: {exc.strerror or exc}") from None
    if not _can_write(path):
        raise ConfigError(f"work_dir: {path} is not writable; choose another work_dir")


def output_folder_problem(path: Path) -> str | None:
    """Why a file cannot be written at `path` (its folder is made when missing), or None."""
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        return f"cannot write {path}: {folder} is not a folder"
    if not _can_write(folder):
        return f"cannot write {path}: {folder} is not writable"
    return None


def input_file_problem(path: Path) -> str | None:
    """Why an existing dataset path cannot be read as one: a folder, or a JSON Lines file that
    is empty or holds a line that is not a JSON object (named by line). A streaming parse."""
    if path.is_dir():
        return f"{path} is a folder; expected a file"
    if path.suffix.lower() != ".jsonl":
        return None
    rows = 0
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    end = "" if line.endswith("\n") else " (the file ends inside this line)"
                    return f"{path}, line {number}: not valid JSON: {exc.msg}{end}"
                if not isinstance(row, dict):
                    return (
                        f"{path}, line {number}: expected a JSON object per line, got "
                        f"{type(row).__name__}"
                    )
                rows += 1
    except UnicodeDecodeError as exc:
        return f"{path}: not UTF-8 text ({exc.reason})"
    except OSError as exc:
        return f"{path}: cannot read: {exc.strerror or exc}"
    return None if rows else f"{path} is empty; expected one JSON object per line"
