"""Atomic writes: all or nothing, and files with the mode a plain open() gives (0666 & ~umask),
so pools, recipes and converter outputs stay readable to the other users of a shared machine."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from djsandbox.data.converters.coco_caption_meta import run_coco_caption_meta
from djsandbox.data.dj_runtime import write_recipe
from djsandbox.data.pools import io


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _mode(path: str | Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_pools_recipes_and_converter_outputs_get_the_umask_mode(tmp_path: Path, umask_022) -> None:
    import pyarrow as pa

    table = pa.table({"id": [1, 2], "text": ["a", "b"]})
    assert _mode(io.write_table(table, tmp_path / "pool.jsonl")) == 0o644
    assert _mode(io.write_table(table, tmp_path / "pool.parquet")) == 0o644
    assert _mode(write_recipe({"process": []}, tmp_path / "refined.yaml")) == 0o644
    src = tmp_path / "caps.jsonl"
    src.write_text(json.dumps({"image": "a.png", "conversations": []}) + "\n")
    (out,) = run_coco_caption_meta({"dataset_path": str(src)}, tmp_path / "meta")
    assert _mode(out) == 0o644
