"""GeneralDataExecutor converters on real caption rows (a clipart sample) and small video rows."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from djsandbox.data import converters as cv

SAMPLE = Path(__file__).resolve().parent / "data" / "clipart_sample.jsonl"
IMAGE_TOKEN = "<__dj__image>"
VIDEO_TOKEN = "<__dj__video>"
EOC = "<|__dj__eoc|>"


def _jsonl(path: Path) -> list[dict]:
    return [
        json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def _write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


@pytest.fixture
def internvl_rows() -> list[dict]:
    """InternVL caption rows built from the real clipart captions (title as the caption)."""
    rows = []
    for r in _jsonl(SAMPLE):
        rows.append(
            {
                "id": r["id"],
                "image": r["image"],
                "category": r["category"],
                "conversations": [
                    {"from": "human", "value": cv.DEFAULT_CAPTION_PROMPT},
                    {"from": "gpt", "value": r["captions"][0]},
                ],
            }
        )
    return rows


@pytest.fixture
def internvl_file(tmp_path: Path, internvl_rows: list[dict]) -> Path:
    return _write_jsonl(tmp_path / "clipart_train.jsonl", internvl_rows)


def test_special_tokens_match_data_juicer() -> None:
    from data_juicer.utils.mm_utils import SpecialTokens

    assert (SpecialTokens.image, SpecialTokens.video, SpecialTokens.eoc) == (
        IMAGE_TOKEN,
        VIDEO_TOKEN,
        EOC,
    )


def test_coco_caption_to_dj_and_back_round_trips(
    tmp_path: Path, internvl_file: Path, internvl_rows: list[dict]
) -> None:
    out = cv.run_coco_caption_to_dj({"dataset_path": str(internvl_file)}, tmp_path / "job1")
    assert out == [str(tmp_path / "job1" / "clipart_train_dj_fmt.jsonl")]
    dj = _jsonl(Path(out[0]))
    assert len(dj) == 30
    for src, row in zip(internvl_rows, dj):
        assert row["images"] == [src["image"]]
        assert row["text"] == f"{IMAGE_TOKEN} {src['conversations'][1]['value']}"
        assert {k: v for k, v in row.items() if k not in ("images", "text")} == src

    back = cv.run_coco_caption_to_dj(
        {"dataset_path": out[0], "convert_to": "internvl", "export_path": str(tmp_path / "back")},
        tmp_path / "job2",
    )
    assert back == [str(tmp_path / "back" / "clipart_train_dj_fmt_internvl_fmt.jsonl")]
    assert _jsonl(Path(back[0])) == internvl_rows


def test_image_root_makes_dj_paths_absolute_and_back(
    tmp_path: Path, internvl_file: Path, internvl_rows: list[dict]
) -> None:
    root = "/data/clipart_captions"
    [dj_path] = cv.run_coco_caption_to_dj(
        {"dataset_path": str(internvl_file), "image_root": root}, tmp_path / "a"
    )
    dj = _jsonl(Path(dj_path))
    assert dj[0]["images"] == [f"{root}/{internvl_rows[0]['image']}"]
    [back] = cv.run_coco_caption_to_dj(
        {"dataset_path": dj_path, "image_root": root, "convert_to": "internvl"}, tmp_path / "b"
    )
    assert _jsonl(Path(back)) == internvl_rows


def test_reverse_takes_processed_text_and_builds_missing_conversation(tmp_path: Path) -> None:
    """After Data-Juicer processing the text may have changed and carry chunk-end tokens."""
    src = _write_jsonl(
        tmp_path / "processed.jsonl",
        [
            {"images": ["img/a.png"], "text": f"{IMAGE_TOKEN} a red  car {EOC}", "id": 1},
            {
                "images": ["img/b.png"],
                "text": f"{IMAGE_TOKEN} old",
                "image": "img/b.png",
                "conversations": [
                    {"from": "human", "value": "<image>\nDescribe."},
                    {"from": "gpt", "value": "stale caption"},
                ],
            },
        ],
    )
    [out] = cv.run_coco_caption_to_dj(
        {"dataset_path": str(src), "convert_to": "internvl", "prompt": "<image>\nCaption it."},
        tmp_path / "o",
    )
    rows = _jsonl(Path(out))
    assert rows[0] == {
        "id": 1,
        "image": "img/a.png",
        "conversations": [
            {"from": "human", "value": "<image>\nCaption it."},
            {"from": "gpt", "value": "a red  car"},
        ],
    }
    assert rows[1]["conversations"] == [
        {"from": "human", "value": "<image>\nDescribe."},
        {"from": "gpt", "value": "old"},
    ]


def test_several_inputs_give_one_output_each_in_order(
    tmp_path: Path, internvl_rows: list[dict]
) -> None:
    a = _write_jsonl(tmp_path / "a.jsonl", internvl_rows[:10])
    b = _write_jsonl(tmp_path / "b.jsonl", internvl_rows[10:])
    out = cv.run_coco_caption_to_dj({"dataset_path": [str(b), str(a)]}, tmp_path / "o")
    assert [Path(p).name for p in out] == ["b_dj_fmt.jsonl", "a_dj_fmt.jsonl"]
    assert [len(_jsonl(Path(p))) for p in out] == [20, 10]


def test_meta_generation_content(tmp_path: Path, internvl_file: Path) -> None:
    out = cv.run_coco_caption_meta(
        {"dataset_path": str(internvl_file), "data_root_path": str(tmp_path)}, tmp_path / "meta"
    )
    assert out == [str(tmp_path / "meta" / "clipart_train_meta.json")]
    assert json.loads(Path(out[0]).read_text()) == {
        "clipart_train": {
            "root": "data/coco/",
            "annotation": "clipart_train.jsonl",
            "data_augment": False,
            "repeat_time": 1,
            "length": 30,
        }
    }

    [out2] = cv.run_coco_caption_meta(
        {
            "dataset_path": [str(internvl_file)],
            "root": "/data/clipart/",
            "repeat_time": 2,
            "data_augment": True,
        },
        tmp_path / "meta2",
    )
    meta = json.loads(Path(out2).read_text())["clipart_train"]
    assert meta == {
        "root": "/data/clipart/",
        "annotation": os.path.abspath(internvl_file),
        "data_augment": True,
        "repeat_time": 2,
        "length": 30,
    }


def _video_rows() -> list[dict]:
    return [
        {"videos": ["/v/cat.mp4"], "text": f"{VIDEO_TOKEN} a cat jumps {EOC}", "id": 0},
        {"videos": [], "text": "no video here", "id": 1},
        {
            "videos": ["/v/dog.mp4"],
            "text": f"{VIDEO_TOKEN}a dog runs",
            "id": 2,
            "__dj__stats__": {"video_duration": [3.5]},
        },
        {
            "videos": ["/v/a.mp4", "/v/b.mp4"],
            "text": f"{VIDEO_TOKEN} first clip {EOC} {VIDEO_TOKEN} second clip {EOC}",
            "id": 3,
        },
    ]


@pytest.mark.parametrize("fmt", ["jsonl", "json"])
def test_dj_to_easyanimate(tmp_path: Path, fmt: str) -> None:
    src = tmp_path / f"videos.{fmt}"
    if fmt == "jsonl":
        _write_jsonl(src, _video_rows())
    else:
        src.write_text(json.dumps(_video_rows()), encoding="utf-8")
    out = cv.run_dj_to_easyanimate({"dataset_path": str(src)}, tmp_path / "ea")
    assert out == [str(tmp_path / "ea" / "videos_ea_fmt.json")]
    entries = json.loads(Path(out[0]).read_text())
    assert [(e["file_path"], e["text"], e["type"], e["id"]) for e in entries] == [
        ("/v/cat.mp4", "a cat jumps", "video", 0),
        ("/v/dog.mp4", "a dog runs", "video", 2),
        ("/v/a.mp4", "first clip", "video", 3),
        ("/v/b.mp4", "second clip", "video", 3),
    ]
    assert entries[1]["__dj__stats__"] == {"video_duration": [3.5]}


def test_easyanimate_unpairable_chunks_name_the_row(tmp_path: Path) -> None:
    src = _write_jsonl(
        tmp_path / "v.jsonl",
        [
            {"videos": ["/v/a.mp4"], "text": "ok"},
            {"videos": ["/v/a.mp4", "/v/b.mp4"], "text": f"{VIDEO_TOKEN}{VIDEO_TOKEN} both"},
        ],
    )
    with pytest.raises(ValueError, match=r"v\.jsonl: line 2: key 'videos' holds 2 videos"):
        cv.run_dj_to_easyanimate({"dataset_path": str(src)}, tmp_path / "ea")
    assert list((tmp_path / "ea").iterdir()) == []


@pytest.mark.parametrize(
    "row, match",
    [
        ({"conversations": [{"from": "gpt", "value": "x"}]}, r"line 2: key 'image'"),
        ({"image": "a.png"}, r"line 2: key 'conversations' is missing"),
        (
            {"image": "a.png", "conversations": [{"from": "human", "value": "<image>"}]},
            r"line 2: key 'conversations' has 0 gpt turns",
        ),
    ],
)
def test_bad_caption_rows_name_file_row_and_key(
    tmp_path: Path, internvl_rows: list[dict], row: dict, match: str
) -> None:
    good = _write_jsonl(tmp_path / "good.jsonl", internvl_rows[:3])
    bad = _write_jsonl(tmp_path / "bad.jsonl", [internvl_rows[0], row])
    out_dir = tmp_path / "out"
    with pytest.raises(ValueError, match=match) as info:
        cv.run_coco_caption_to_dj({"dataset_path": [str(good), str(bad)]}, out_dir)
    assert "bad.jsonl" in str(info.value)
    # Nothing is left behind, not even the output of the good input converted first.
    assert list(out_dir.iterdir()) == []


def test_bad_dj_rows_name_the_key(tmp_path: Path) -> None:
    src = _write_jsonl(tmp_path / "dj.jsonl", [{"images": ["a.png", "b.png"], "text": "x"}])
    with pytest.raises(ValueError, match=r"dj\.jsonl: line 1: key 'images'.*exactly one"):
        cv.run_coco_caption_to_dj(
            {"dataset_path": str(src), "convert_to": "internvl"}, tmp_path / "o"
        )
    src = _write_jsonl(tmp_path / "v.jsonl", [{"videos": ["/v/a.mp4"]}])
    with pytest.raises(ValueError, match=r"v\.jsonl: line 1: key 'text' is missing"):
        cv.run_dj_to_easyanimate({"dataset_path": str(src)}, tmp_path / "o")


def test_missing_inputs_and_empty_results_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"dataset_path: file '.*nope\.jsonl' does not exist"):
        cv.run_coco_caption_meta({"dataset_path": str(tmp_path / "nope.jsonl")}, tmp_path / "o")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="dataset_path: .*has no rows"):
        cv.run_coco_caption_meta({"dataset_path": str(empty)}, tmp_path / "o")
    novideo = _write_jsonl(tmp_path / "nv.jsonl", [{"videos": [], "text": "t"}])
    with pytest.raises(ValueError, match="no row with a video"):
        cv.run_dj_to_easyanimate({"dataset_path": str(novideo)}, tmp_path / "o")
    assert list((tmp_path / "o").iterdir()) == []


def test_same_output_name_from_two_inputs_is_an_error(
    tmp_path: Path, internvl_rows: list[dict]
) -> None:
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    a = _write_jsonl(tmp_path / "x" / "train.jsonl", internvl_rows[:2])
    b = _write_jsonl(tmp_path / "y" / "train.jsonl", internvl_rows[2:4])
    with pytest.raises(ValueError, match="dataset_path: .* would both be written to"):
        cv.run_coco_caption_to_dj({"dataset_path": [str(a), str(b)]}, tmp_path / "o")


def test_checks_report_keys_before_the_run() -> None:
    assert (
        cv.check_coco_caption_to_dj(
            {"type": "coco_caption_to_dj_conversion", "dataset_path": "a.jsonl"}
        )
        == []
    )
    assert cv.check_coco_caption_to_dj({}) == [
        "dataset_path: missing; expected a dataset path or a list of paths"
    ]
    problems = cv.check_coco_caption_to_dj(
        {
            "dataset_path": ["a.jsonl", 3],
            "convert_to": "llava",
            "prompt": "no token",
            "export_path": 5,
        }
    )
    assert [p.split(":")[0] for p in problems] == [
        "dataset_path",
        "export_path",
        "convert_to",
        "prompt",
    ]
    problems = cv.check_coco_caption_meta(
        {"dataset_path": [], "repeat_time": 0, "data_augment": "yes"}
    )
    assert [p.split(":")[0] for p in problems] == ["dataset_path", "data_augment", "repeat_time"]
    assert cv.check_dj_to_easyanimate({"dataset_path": "v.jsonl", "video_key": ""}) == [
        "video_key: got ''; expected a field name"
    ]


def test_component_tables_cover_every_type() -> None:
    names = {cv.COCO_TO_DJ, cv.META, cv.DJ_TO_EASYANIMATE}
    assert {s.name for s in cv.SPECS} == names
    for spec in cv.SPECS:
        assert {"dataset_path", "export_path"} <= set(spec.keys) and spec.results == 1
