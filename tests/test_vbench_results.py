"""vbench_video_evaluator's own parts around VBench: its weighted scores, the layout of the
videos it is given, the result it returns and the error of a runner that fails."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from djsandbox.data.jsonl import read_rows
from djsandbox.envs import EnvError, EnvSpec, get_env
from djsandbox.evaluation.vbench import evaluator
from djsandbox.evaluation.vbench.dimensions import DIMENSIONS, QUALITY
from djsandbox.evaluation.vbench.scores import NORMALIZE, summarize
from djsandbox.evaluation.vbench.videos import (
    VideoSet,
    prepare_videos,
    prompt_of,
    vbench_file_name,
)

CLIPS = Path(__file__).resolve().parents[1] / "src/djsandbox/resources/clipart_videos"


# -- VBench's scores --------------------------------------------------------------------------


def test_mean_is_the_plain_mean_and_totals_need_their_dimensions():
    out = summarize({"temporal_flickering": 0.9, "motion_smoothness": 0.8})
    assert out["mean_score"] == pytest.approx(0.85)
    assert out["detail"] == {"temporal_flickering": 0.9, "motion_smoothness": 0.8}
    # VBench's min-max normalisation (scripts/constant.py)
    assert out["normalized"]["temporal_flickering"] == pytest.approx((0.9 - 0.6293) / 0.3707)
    assert out["quality_score"] is None and out["total_score"] is None


def test_quality_semantic_and_total_follow_vbench_weights():
    top = {d: NORMALIZE[d][1] for d in DIMENSIONS}
    full = summarize(top)
    assert full["quality_score"] == pytest.approx(1.0)
    assert full["semantic_score"] == pytest.approx(1.0)
    assert full["total_score"] == pytest.approx(1.0)
    # dynamic_degree weighs 0.5, every other quality dimension 1: its 0 costs 0.5 / 6.5
    low_dd = {**top, "dynamic_degree": 0.0}
    quality = summarize(low_dd)["quality_score"]
    assert quality == pytest.approx(6 / 6.5)
    assert summarize(low_dd)["total_score"] == pytest.approx((4 * quality + 1) / 5)
    only_quality = summarize({d: top[d] for d in QUALITY})
    assert only_quality["quality_score"] == pytest.approx(1.0)
    assert only_quality["semantic_score"] is None and only_quality["total_score"] is None


def test_a_nan_score_is_an_error_not_a_mean():
    with pytest.raises(ValueError, match="temporal_flickering gave no finite score"):
        summarize({"temporal_flickering": math.nan})


# -- the videos ---------------------------------------------------------------------------------


def test_file_names_follow_vbench_custom_naming():
    assert vbench_file_name("a cat, the camera pans left", 2) == "a cat, the camera pans left-2.mp4"
    assert vbench_file_name('a/b: "c"?', 0) == "a b c-0.mp4"
    long = vbench_file_name("x" * 300, 1)
    assert long == "x" * 180 + "-1.mp4"
    assert prompt_of({"text": "<__dj__video> a cat <|__dj__eoc|>"}) == "a cat"
    assert prompt_of({"prompt": "p", "text": "t"}) == "p"
    assert prompt_of({"caption": "c"}) == "c" and prompt_of({"id": 1}) is None


def test_a_jsonl_becomes_links_named_by_prompt_with_full_prompts(tmp_path):
    rows = read_rows(CLIPS / "clips.jsonl", limit=3)
    data = tmp_path / "clips.jsonl"
    lines = [{"video": str(CLIPS / r["video"]), "caption": r["caption"]} for r in rows]
    lines.append({"videos": [str(CLIPS / rows[0]["video"])], "prompt": "x" * 200})
    lines.append({"videos": [str(CLIPS / rows[1]["video"])], "prompt": "x" * 200})
    data.write_text("".join(json.dumps(r) + "\n" for r in lines))
    videos = prepare_videos(str(data), tmp_path / "job")
    assert videos.count == 5 and Path(videos.path) == tmp_path / "job" / "videos"
    names = sorted(p.name for p in Path(videos.path).iterdir())
    assert vbench_file_name(rows[0]["caption"], 0) in names
    assert "x" * 180 + "-0.mp4" in names and "x" * 180 + "-1.mp4" in names
    assert videos.prompts["x" * 180 + "-1.mp4"] == "x" * 200
    link = Path(videos.path) / vbench_file_name(rows[2]["caption"], 0)
    assert link.is_symlink() and videos.sources[str(link)] == str(CLIPS / rows[2]["video"])
    # a second attempt of the job replaces its own links
    assert prepare_videos(str(data), tmp_path / "job").count == 5


def test_bad_video_inputs_name_the_file_and_row(tmp_path):
    with pytest.raises(ValueError, match="holds no video"):
        prepare_videos(str(tmp_path), tmp_path / "job")
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"video": "gone.mp4", "caption": "c"}) + "\n")
    with pytest.raises(ValueError, match=r"rows.jsonl row 0: video .*gone.mp4' does not exist"):
        prepare_videos(str(data), tmp_path / "job")
    data.write_text(json.dumps({"video": str(CLIPS / "clips.jsonl")}) + "\n")
    with pytest.raises(ValueError, match="row 0: no prompt"):
        prepare_videos(str(data), tmp_path / "job")


# -- the result ---------------------------------------------------------------------------------


def test_details_map_vbench_results_back_to_the_videos(tmp_path):
    link = str(tmp_path / "videos" / "a cat-0.mp4")
    videos = VideoSet(
        str(tmp_path / "videos"), 2, {"a cat-0.mp4": "a cat, long"}, {link: "/d/x.mp4"}
    )
    job = {
        "scores": {"temporal_flickering": 0.9},
        "videos": {
            "temporal_flickering": [
                {"video_path": link, "score": 0.95},
                {"video_path": str(tmp_path / "videos" / "a dog-3.mp4"), "score": 0.85},
            ]
        },
        "eval_results": str(tmp_path / "out" / "e_eval_results.json"),
    }
    out = tmp_path / "out"
    out.mkdir()
    details = evaluator._details(job, videos, out, {"eval_name": "e"}, {"log_path": "L"})
    assert details["mean_score"] == pytest.approx(0.9)
    assert details["videos_scored"] == {"temporal_flickering": 2}
    rows = read_rows(out / "e_per_video.jsonl")
    assert rows == [
        {"video": "/d/x.mp4", "prompt": "a cat, long", "temporal_flickering": 0.95},
        {
            "video": str(tmp_path / "videos" / "a dog-3.mp4"),
            "prompt": "a dog",
            "temporal_flickering": 0.85,
        },
    ]
    merged = json.loads((out / "e_merged_results.json").read_text())
    assert merged["mean_score"] == pytest.approx(0.9) and merged["detail"] == job["scores"]
    unread = {**job, "videos": {"temporal_flickering": []}}
    with pytest.raises(RuntimeError, match="read none of the 2 video"):
        evaluator._details(unread, videos, out, {}, {"log_path": "L"})


def test_a_failing_runner_names_its_log(tmp_path, monkeypatch):
    """A real environment without vbench: the runner fails, and the error names the log."""
    env = get_env(EnvSpec(manager="uv", name="no-vbench"), cache_dir=tmp_path / "envs")
    monkeypatch.setattr(evaluator, "vbench_env", lambda cfg: env)
    clip = CLIPS / read_rows(CLIPS / "clips.jsonl", limit=1)[0]["video"]
    job = tmp_path / "job"
    cfg = {"videos_path": str(clip), "dimension_list": ["temporal_flickering"], "num_gpus": 0}
    with pytest.raises(EnvError) as caught:
        evaluator.run_vbench(cfg, job)
    log = job / "vbench.log"
    assert str(log) in str(caught.value) and "exit status 1" in str(caught.value)
    assert "No module named" in log.read_text()
    assert json.loads((job / "vbench_args.json").read_text())["dimensions"] == [
        "temporal_flickering"
    ]
    assert not (job / "vbench_result.json").exists()
