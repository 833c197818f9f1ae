"""Tiny JSONL helpers: count and peek at datasets that travel between stages as files."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, Iterator


def iter_rows(path: Path | str) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSONL file, skipping blank lines."""
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


def read_rows(path: Path | str, limit: int | None = None) -> list[dict[str, Any]]:
    """The first ``limit`` rows (all when None)."""
    return list(itertools.islice(iter_rows(path), limit))


def count_rows(path: Path | str) -> int:
    """Number of non-blank lines, without parsing them."""
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())
