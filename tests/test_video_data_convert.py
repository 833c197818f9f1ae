"""`video_clips_to_dj_conversion` on the packaged clipart videos: Data-Juicer video rows with
absolute paths and the video token, one split, never the study-only defect fields."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from djsandbox.catalog import FACTORIES
from djsandbox.data.converters.video_clips_to_dj import (
    NAME,
    check_video_clips_to_dj,
    run_video_clips_to_dj,
)

CLIPS = Path(__file__).resolve().parents[1] / "src/djsandbox/resources/clipart_videos"
CONF = Path(__file__).resolve().parents[1] / "conf"


def _rows(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def test_registered_as_a_general_data_executor() -> None:
    spec = FACTORIES["GeneralDataExecutor"].get(NAME)
    assert spec is not None and not spec.unavailable


def test_train_split_becomes_dj_video_rows(tmp_path: Path) -> None:
    source = _rows(str(CLIPS / "clips.jsonl"))
    [out] = run_video_clips_to_dj(
        {"dataset_path": str(CLIPS / "clips.jsonl"), "split": "train"}, tmp_path
    )
    assert Path(out).name == "clips_train_dj_fmt.jsonl"
    rows = _rows(out)
    train = [r for r in source if r["split"] == "train"]
    assert [r["id"] for r in rows] == [r["id"] for r in train] and len(rows) == 360
    for row, src in zip(rows, train):
        assert row["videos"] == [str(CLIPS / src["video"])]
        assert os.path.isabs(row["videos"][0]) and os.path.isfile(row["videos"][0])
        assert row["text"] == f"<__dj__video> {src['caption']} <|__dj__eoc|>"
        assert "defect" not in row and "shown_motion" not in row
        assert "video" not in row and "caption" not in row
        assert (row["motion"], row["category"], row["split"]) == (
            src["motion"],
            src["category"],
            "train",
        )


def test_max_rows_and_video_root(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "video": "clips/0035c41b_zoom_in.mp4", "caption": "x, the camera zooms in"},
        {"id": "b", "video": "clips/00834ce8_pan_down.mp4", "caption": "y, the camera pans down"},
    ]
    src = tmp_path / "elsewhere.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    [out] = run_video_clips_to_dj(
        {"dataset_path": str(src), "video_root": str(CLIPS), "max_rows": 1},
        tmp_path / "out",
    )
    assert [r["videos"] for r in _rows(out)] == [[str(CLIPS / rows[0]["video"])]]


def test_missing_video_names_file_row_and_path(tmp_path: Path) -> None:
    src = tmp_path / "clips.jsonl"
    src.write_text(json.dumps({"id": "a", "video": "clips/none.mp4", "caption": "c"}) + "\n")
    with pytest.raises(ValueError, match=r"clips.jsonl: line 1: key 'video'.*none.mp4"):
        run_video_clips_to_dj({"dataset_path": str(src)}, tmp_path / "out")
    assert not (tmp_path / "out" / "clips_dj_fmt.jsonl").exists()  # nothing half-written


def test_empty_split_and_bad_keys(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="has no rows with split 'dev'"):
        run_video_clips_to_dj(
            {"dataset_path": str(CLIPS / "clips.jsonl"), "split": "dev"}, tmp_path
        )
    problems = check_video_clips_to_dj({"dataset_path": "x.jsonl", "max_rows": 0, "split": 3})
    assert any(p.startswith("max_rows: got 0") for p in problems)
    assert any(p.startswith("split: got 3") for p in problems)


def test_dataset_config_paths_feed_the_converter(tmp_path: Path) -> None:
    """`dataset=clipart_videos_subset` resolves (`${pkg:...}`) to the packaged clips."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from djsandbox.config import register_configs
    from djsandbox.context import register_resolver

    register_configs()
    register_resolver()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
            cfg = compose(
                "sandbox",
                overrides=["+pipeline=video_pools", "vars.max_rows=5", f"work_dir={tmp_path}"],
            )
    finally:
        GlobalHydra.instance().clear()
    job = OmegaConf.to_container(cfg.pipelines.data.execution_job_configs[0], resolve=True)
    extra = job["extra_configs"]
    assert Path(extra["dataset_path"]).resolve() == (CLIPS / "clips.jsonl").resolve()
    [out] = run_video_clips_to_dj(extra, tmp_path)
    rows = _rows(out)
    assert Path(out).parent == tmp_path / "data"
    assert len(rows) == 5 and all(os.path.isfile(r["videos"][0]) for r in rows)
