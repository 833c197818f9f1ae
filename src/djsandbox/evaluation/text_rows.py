"""Reading the text of dataset rows for the text-quality evaluators: JSONL or Parquet,
streamed, with a missing or non-string text an error naming file, row and key.

Module imports are stdlib only: validation imports the evaluators that use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator


def text_rows(path: str, text_key: str) -> Iterator[tuple[str, dict[str, Any], str]]:
    """(where, row, text) of a JSONL or Parquet dataset, streaming; ``text_key`` may be dotted
    (as the data evaluators read keys)."""
    from ..data.jsonl import numbered_rows
    from .data_evaluators import _MISSING, nested_get

    p = Path(path)
    if not p.is_file():
        raise ValueError(f"dataset file {str(p)!r} does not exist")
    if p.suffix == ".parquet":
        import pyarrow.parquet as pq

        def gen() -> Iterator[tuple[str, dict[str, Any]]]:
            i = 0
            for batch in pq.ParquetFile(p).iter_batches(batch_size=4096):
                for row in batch.to_pylist():
                    yield f"{p}: row {i}", row
                    i += 1

        rows: Iterator[tuple[str, dict[str, Any]]] = gen()
    else:
        rows = ((f"{p}: line {n}", r) for n, r in numbered_rows(p))
    for where, row in rows:
        text = nested_get(row, text_key)
        if text is _MISSING:
            raise ValueError(f"{where}: no key {text_key!r} (text_key)")
        if not isinstance(text, str):
            raise ValueError(f"{where}: key {text_key!r} holds {type(text).__name__}, not text")
        yield where, row, text


def read_texts(paths: list[str], text_key: str, key_name: str) -> list[str]:
    """Every text of ``paths``; none at all is an error naming ``key_name``."""
    texts = [t for path in paths for _, _, t in text_rows(path, text_key)]
    if not texts:
        raise ValueError(f"{key_name}: {paths} hold no rows; training needs both classes")
    return texts
