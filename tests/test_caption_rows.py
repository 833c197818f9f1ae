"""captions_to_internvl_conversion, and caption converters keeping the shape of pool structures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from djsandbox.data.converters.captions_to_internvl import (
    check_captions_to_internvl,
    run_captions_to_internvl,
)
from djsandbox.data.converters.coco_caption_meta import run_coco_caption_meta
from djsandbox.data.converters.coco_caption_to_dj import run_coco_caption_to_dj


def _rows(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_one_row_per_caption_of_one_split_with_absolute_images(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "caps.jsonl",
        [
            {"id": "a", "image": "images/a.png", "captions": ["A cat", " "], "split": "train"},
            {
                "id": "b",
                "image": "images/b.png",
                "captions": ["A dog", "A brown dog"],
                "split": "test",
            },
            {"id": "c", "image": "images/c.png", "captions": "A star", "split": "train"},
        ],
    )
    [train] = run_captions_to_internvl({"dataset_path": str(src), "split": "train"}, tmp_path / "o")
    rows = _rows(train)
    assert Path(train).name == "caps_train_internvl_fmt.jsonl"
    assert [(r["image_id"], r["conversations"][1]["value"]) for r in rows] == [
        ("a", "A cat"),
        ("c", "A star"),
    ]
    assert rows[0]["image"] == str(tmp_path / "images" / "a.png")
    assert rows[0]["conversations"][0]["value"].startswith("<image>\n")
    [test] = run_captions_to_internvl(
        {"dataset_path": str(src), "split": "test", "image_root": "/data/clip"}, tmp_path / "o"
    )
    assert [r["id"] for r in _rows(test)] == ["b_0", "b_1"]
    assert _rows(test)[0]["image"] == "/data/clip/images/b.png"


def test_karpathy_style_json_array_and_internvl_rows(tmp_path: Path) -> None:
    src = tmp_path / "coco_karpathy_test.json"
    src.write_text(json.dumps([{"image": "val2014/x.jpg", "caption": ["one", "two"]}]))
    [out] = run_captions_to_internvl({"dataset_path": str(src), "image_root": "/coco"}, tmp_path)
    assert [r["conversations"][1]["value"] for r in _rows(out)] == ["one", "two"]
    assert {r["image_id"] for r in _rows(out)} == {"/coco/val2014/x.jpg"}
    internvl = _write(
        tmp_path / "iv.jsonl",
        [
            {
                "id": 1,
                "image": "x.jpg",
                "conversations": [
                    {"from": "human", "value": "<image>\nq"},
                    {"from": "gpt", "value": "a caption"},
                ],
            }
        ],
    )
    [back] = run_captions_to_internvl({"dataset_path": str(internvl), "image_root": "/r"}, tmp_path)
    assert _rows(back)[0]["conversations"][1]["value"] == "a caption"


def test_errors_name_the_file_row_and_key(tmp_path: Path) -> None:
    src = _write(tmp_path / "bad.jsonl", [{"id": "a", "captions": ["x"]}])
    with pytest.raises(ValueError, match=r"bad.jsonl.*'image' missing"):
        run_captions_to_internvl({"dataset_path": str(src)}, tmp_path)
    empty = _write(
        tmp_path / "e.jsonl", [{"id": "a", "image": "a.png", "captions": ["x"], "split": "train"}]
    )
    with pytest.raises(ValueError, match="no rows with split 'val'"):
        run_captions_to_internvl({"dataset_path": str(empty), "split": "val"}, tmp_path)
    assert check_captions_to_internvl({"dataset_path": "x", "max_rows": 0}) == [
        "max_rows: got 0; expected a positive integer"
    ]
    assert list(tmp_path.glob("*internvl_fmt*")) == []  # nothing half-written


def test_converters_keep_the_shape_of_pools(tmp_path: Path) -> None:
    pools = {}
    for stat in ("text_len", "image_sizes"):
        pools[stat] = []
        for i in range(2):
            path = tmp_path / f"pool_{stat}_{i}.jsonl"
            _write(
                path,
                [
                    {
                        "id": f"{stat}{i}",
                        "image": "/i/a.png",
                        "conversations": [
                            {"from": "human", "value": "<image>\nq"},
                            {"from": "gpt", "value": "cap"},
                        ],
                    }
                ],
            )
            pools[stat].append(str(path))
    dj = run_coco_caption_to_dj({"dataset_path": pools}, tmp_path / "dj")
    assert list(dj) == ["text_len", "image_sizes"] and all(len(v) == 2 for v in dj.values())
    assert Path(dj["image_sizes"][1]).name == "pool_image_sizes_1_dj_fmt.jsonl"
    back = run_coco_caption_to_dj({"dataset_path": dj, "convert_to": "internvl"}, tmp_path / "b")
    metas = run_coco_caption_meta({"dataset_path": back, "root": "/"}, tmp_path / "m")
    meta = json.loads(Path(metas["text_len"][0]).read_text())
    assert list(meta.values())[0]["annotation"] == back["text_len"][0]
    assert _rows(back["text_len"][0])[0]["id"] == "text_len0"
