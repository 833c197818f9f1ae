"""Reading datasets that travel between jobs as files: one reader, errors naming file and line."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any, Iterator


def numbered_rows(path: Path | str) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, JSON object) of a JSONL file, skipping blank lines."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"dataset file {str(p)!r} does not exist")
    with open(p, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{p}:{lineno}: not valid JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise ValueError(f"{p}:{lineno}: expected a JSON object, got {type(row).__name__}")
            yield lineno, row


def iter_rows(path: Path | str) -> Iterator[dict[str, Any]]:
    for _, row in numbered_rows(path):
        yield row


def read_rows(path: Path | str, limit: int | None = None) -> list[dict[str, Any]]:
    """The first ``limit`` rows (all when None)."""
    return list(itertools.islice(iter_rows(path), limit))


def load_rows(path: Path | str) -> list[dict[str, Any]]:
    """All rows of a JSONL, JSON (a list of objects) or Parquet dataset; empty is an error."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"dataset file {str(p)!r} does not exist")
    if p.suffix == ".parquet":
        import pyarrow.parquet as pq

        rows = pq.read_table(p).to_pylist()
    elif p.suffix == ".json" and p.read_text(encoding="utf-8").lstrip().startswith("["):
        rows = json.loads(p.read_text(encoding="utf-8"))
        for i, row in enumerate(rows):
            if not isinstance(row, dict):
                raise ValueError(f"{p}: row {i} is {type(row).__name__}, not a JSON object")
    else:
        rows = read_rows(p)
    if not rows:
        raise ValueError(f"dataset file {str(p)!r} is empty")
    return rows


def count_rows(path: Path | str) -> int:
    """Number of non-blank lines, without parsing them."""
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip())
