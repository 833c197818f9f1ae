"""Paths inside the files a job writes, made portable between run folders.

A job's text outputs may name its own run folder (a k-sigma recipe's `export_path`, a list of
checkpoints): stored as they are, a hit in a new run would point back into the old run (and a
later job would write there). Stored text files have each place (this job's folder, the run
folder, its outputs) replaced by a token, and a hit writes the new run's paths in. Digests of
input files inside the run folder are taken the same way, so a file restored into a new run
keys like the one it was copied from.
"""

from __future__ import annotations

import re
from pathlib import Path

TEXT_SUFFIXES = frozenset({".json", ".jsonl", ".yaml", ".yml", ".txt", ".csv", ".tsv", ".md"})
MAX_TEXT = 64 << 20  # larger files are stored byte for byte
TOKEN = "<<djsandbox-cache:{}>>"
_TOKENS = re.compile(rb"<<djsandbox-cache:([A-Za-z0-9_.:-]+)>>")


def is_text(path: Path) -> bool:
    try:
        return path.suffix.lower() in TEXT_SUFFIXES and path.stat().st_size <= MAX_TEXT
    except OSError:
        return False


def to_tokens(data: bytes, bases: list[tuple[str, str]]) -> bytes:
    """Each `(path, place)` (longest paths first) written as the place's token, where the path
    is whole (not the start of a longer name)."""
    for base, name in bases:
        pattern = re.escape(base.encode()) + rb"(?![\w.-])"
        data = re.sub(pattern, TOKEN.format(name).encode().replace(b"\\", b"\\\\"), data)
    return data


def from_tokens(data: bytes, targets: dict[str, Path]) -> bytes:
    def place(match: re.Match[bytes]) -> bytes:
        name = match.group(1).decode()
        return str(targets[name]).encode() if name in targets else match.group(0)

    return _TOKENS.sub(place, data)


def run_relative(value: str, run: Path) -> str:
    """A path string into the run folder `run`, keyed by its place in the run (`<run>/...`);
    any other string as it is."""
    if value == str(run) or value.startswith(str(run) + "/"):
        return "<run>" + value[len(str(run)) :]
    return value
