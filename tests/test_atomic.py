"""Atomic writes: all or nothing, and files with the mode a plain open() gives (0666 & ~umask),
so pools, recipes and converter outputs stay readable to the other users of a shared machine."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from djsandbox.atomic import atomic_open, atomic_paths, atomic_write_bytes, atomic_write_text
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


def test_atomic_files_are_all_or_nothing_and_leave_no_temporaries(
    tmp_path: Path, umask_022
) -> None:
    old = tmp_path / "a.txt"
    old.write_text("old")
    with pytest.raises(RuntimeError), atomic_open([old, tmp_path / "sub" / "b.txt"]) as (a, b):
        a.write("new")
        b.write("new")
        raise RuntimeError("writer failed")
    assert old.read_text() == "old" and sorted(p.name for p in tmp_path.rglob("*")) == [
        "a.txt",
        "sub",
    ]
    assert _mode(atomic_write_bytes(tmp_path / "c.bin", b"\x00")) == 0o644
    assert _mode(atomic_write_text(old, "newer")) == 0o644 and old.read_text() == "newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "c.bin", "sub"]


def test_atomic_paths_give_writers_the_real_name_and_replace_folders_only_when_asked(
    tmp_path: Path, umask_022
) -> None:
    target = tmp_path / "scores.jsonl"
    target.mkdir()
    with pytest.raises(OSError), atomic_paths([target]) as (tmp,):
        assert tmp.name == "scores.jsonl" and tmp.parent != tmp_path
        tmp.write_text("x")  # a file cannot silently replace a folder
    assert target.is_dir()
    with atomic_paths([target], replace_any=True) as (tmp,):
        tmp.mkdir()
        (tmp / "part-0.json").write_text("{}")
    assert _mode(target) == 0o755 and _mode(target / "part-0.json") == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["scores.jsonl"]
