"""Pools past memory: the streamed JSONL path (a memory-mapped line index, stats parsed a block
at a time, rows gathered in bounded chunks) writes exactly the bytes an independent in-memory
reference (`json.loads` per row, Python's stable sort) gives, on awkward constructed data:
ties, missing and null stats, list stats, a struct stat, -0.0, integers that turn into floats,
unicode and escapes, CRLF and blank lines, no final newline. Block sizes are shrunk so that the
same small file crosses every block, chunk and map-release boundary.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest

from djsandbox.data.pools import construction, downsampling, duplication, line_file, merging

TEXTS = ["plain", "café ☕ 東京", 'quote " and \\ slash', "tab\tnew\nline", "emoji 🎉🎉", ""]


def _rows(n: int, seed: int) -> list[str]:
    """JSON lines as a writer other than ours would produce them (spacing, key order vary)."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        stats: dict = {}
        if i % 7:  # every 7th row lacks the stat
            stats["ties"] = rng.choice([1, 2, 2, 3]) if i < 150 else rng.choice([1, 2.5, -0.0, 0.0])
        if i % 11 == 0:
            stats["ties"] = None
        stats["ratio"] = rng.random()
        stats["words"] = [rng.randint(0, 9) for _ in range(rng.randint(0, 3))]  # [] = missing
        stats["nested"] = {"a": i}  # not numeric: skipped
        row = {"id": i, "text": rng.choice(TEXTS) + f" {i}", "__dj__stats__": stats}
        if i % 5 == 0:
            row = {"__dj__stats__": stats, "text": row["text"], "id": i}  # stats first
        if i == 3:
            row["text"] = 'says "__dj__stats__": {} inside'
        sep = (", ", ": ") if i % 2 else (",", ":")
        out.append(json.dumps(row, ensure_ascii=bool(i % 3 == 0), separators=sep))
    return out


def _write(path: Path, rows: list[str]) -> list[bytes]:
    """The file, with CRLF, blank lines and no final newline; returns its rows as written out
    (each ending in one newline), the reference's view of the data."""
    parts = []
    for i, r in enumerate(rows):
        parts.append(r + ("\r\n" if i % 13 == 0 else "\n"))
        if i % 17 == 0:
            parts.append("\n" if i % 2 else "\r\n")
    text = "".join(parts).rstrip("\n")  # the last row has no newline
    path.write_bytes(text.encode("utf-8"))
    written = [p.encode("utf-8") for p in parts if p.strip()]
    written[-1] = written[-1].rstrip(b"\n") + b"\n"
    return written


def _value(row: bytes, stat: str) -> float:
    v = json.loads(row)["__dj__stats__"].get(stat)
    if isinstance(v, list):
        v = [x for x in v if x is not None]
        return sum(v) / len(v) if v else math.nan
    return math.nan if v is None else float(v)


def _reference(rows: list[bytes], stat: str, ratios=(1 / 3, 2 / 3)) -> list[bytes]:
    """Pool files of one stat: stable sort by value, NaN last, the reference's split points."""
    values = [_value(r, stat) for r in rows]
    order = sorted(
        range(len(rows)),
        key=lambda i: (math.isnan(values[i]), 0 if math.isnan(values[i]) else values[i]),
    )
    n = len(rows)
    points = [0] + [int(n * r + 0.5) for r in ratios] + [n]
    return [b"".join(rows[i] for i in order[a:b]) for a, b in zip(points, points[1:])]


@pytest.fixture(params=["default", "tiny blocks"])
def blocks(request, monkeypatch):
    if request.param == "tiny blocks":  # every boundary crossed, the big-file path taken
        monkeypatch.setattr(line_file, "BLOCK_BYTES", 1500)
        monkeypatch.setattr(line_file, "GATHER_BYTES", 700)
        monkeypatch.setattr(line_file, "MAPPED_BYTES", 4096)
    return request.param


def test_construction_streamed_matches_in_memory_reference(tmp_path, blocks):
    src = tmp_path / "data.jsonl"
    rows = _write(src, _rows(300, seed=1))
    res = construction.run({"dataset_path": str(src)}, tmp_path / "out")
    assert list(res) == ["ties", "ratio", "words"]  # `nested` is a struct: skipped
    for stat, paths in res.items():
        got = [Path(p).read_bytes() for p in paths]
        assert got == _reference(rows, stat), stat
    assert sum(len(Path(p).read_bytes().splitlines()) for p in res["ties"]) == len(rows)


def test_construction_streamed_equals_whole_table_path(tmp_path, blocks, monkeypatch):
    """Rows in the same order as the path that parses the whole table (no line index)."""
    src = tmp_path / "data.jsonl"
    _write(src, _rows(120, seed=2))
    cfg = {"dataset_path": str(src), "split_num": 50, "stats_keys": ["ratio", "ties"]}
    streamed = construction.run(cfg, tmp_path / "a")
    monkeypatch.setattr(construction.stat_values, "from_lines", lambda *a: None)
    whole = construction.run(cfg, tmp_path / "b")
    assert list(streamed) == list(whole) == ["ratio", "ties"]
    for stat in streamed:
        for a, b in zip(streamed[stat], whole[stat]):
            ids_a = [json.loads(x)["id"] for x in Path(a).read_text("utf-8").splitlines()]
            ids_b = [json.loads(x)["id"] for x in Path(b).read_text("utf-8").splitlines()]
            assert ids_a == ids_b and ids_a


def test_line_file_rows_any_order_and_blocks(tmp_path, blocks):
    src = tmp_path / "data.jsonl"
    rows = _write(src, _rows(200, seed=3))
    lines = line_file.LineFile(src)
    assert len(lines) == len(rows)
    order = np.random.default_rng(0).permutation(len(rows))
    got = "".join(s for c in lines.chunks(order) for s in c.to_pylist()).encode()
    assert got == b"".join(rows[i] for i in order)
    assert "".join(s for b in lines.blocks() for s in b.to_pylist()).encode() == b"".join(rows)


def test_other_manipulators_streamed(tmp_path, blocks):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    rows_a, rows_b = _write(a, _rows(90, seed=4)), _write(b, _rows(40, seed=5))
    merged = merging.run({"dataset_path": [str(a), str(b)]}, tmp_path / "m")
    assert Path(merged).read_bytes() == b"".join(rows_a + rows_b)
    down = downsampling.run({"dataset_path": [str(a), str(b)], "seed": 7}, tmp_path / "d")
    for path, rows in zip(down, (rows_a, rows_b)):
        idx = np.random.default_rng(7).permutation(len(rows))[:40]
        assert Path(path).read_bytes() == b"".join(rows[i] for i in idx)
    dup = duplication.run(
        {"dataset_path": str(b), "duplicating_times": [2], "shuffle": True}, tmp_path / "x"
    )
    idx = np.random.default_rng(42).permutation(np.tile(np.arange(len(rows_b)), 2))
    assert Path(dup[0]).read_bytes() == b"".join(rows_b[i] for i in idx)


def test_line_file_rejects_a_row_that_is_not_an_object(tmp_path):
    src = tmp_path / "bad.jsonl"
    src.write_text('{"a": 1}\n\n[1, 2]\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad.jsonl:3: expected a JSON object per line"):
        line_file.LineFile(src)
