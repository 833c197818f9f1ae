"""VBench's `temporal_flickering`, run for real in its managed environment on the packaged
clipart clips: the environment is built once and reused, flickering clips score lower than
clean ones, and VBench's score is the one its definition gives on the decoded frames.

Slow: the first build of the environment (vbench 0.1.5 with torch 2.13.0 CPU, about 2.2 GB)
takes several minutes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from djsandbox.data.jsonl import read_rows
from djsandbox.data.video_io import read_frames, write_mp4
from djsandbox.evaluation.vbench.evaluator import run_vbench
from djsandbox.evaluation.vbench.videos import vbench_file_name

CLIPS = Path(__file__).resolve().parents[1] / "src/djsandbox/resources/clipart_videos"

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _own_job_cache() -> None:
    """Overrides conftest's per-test cache folder: this module keeps the session's, so that
    VBench's environment is built once per session and reused by the text-to-video study and
    pipeline tests (nothing here depends on the job cache being empty)."""


def flicker_score(frames: np.ndarray) -> float:
    """VBench's definition: 1 - mean absolute difference of consecutive frames / 255."""
    diffs = np.abs(np.diff(frames.astype(np.float32), axis=0))
    return float((255.0 - diffs.mean(axis=(1, 2, 3)).mean()) / 255.0)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def built_here():
    """Environments this test built in the session's own cache folder (conftest makes a fresh
    one per session and removes it at exit, 2.2 GB here): kept until then, so that the
    text-to-video pipeline test (tests/test_video_t2v_pipeline.py, collected after this file)
    reuses it instead of building a second one."""
    built: list[Path] = []
    yield built
    session_cache = Path(os.environ["DJSANDBOX_CACHE_DIR"]).resolve()
    assert all(session_cache in path.resolve().parents for path in built), built


def test_temporal_flickering_scores_real_clips_in_the_managed_environment(tmp_path, built_here):
    rows = read_rows(CLIPS / "clips.jsonl")
    clean = [r for r in rows if not r["defect"]][:24]
    flicker = [r for r in rows if r["defect"] == "flicker"]  # studies only: the known defect
    assert len(flicker) >= 5
    data = tmp_path / "data"
    data.mkdir()
    # Data-Juicer-format rows with paths relative to the JSONL's folder (the contract's form)
    for name, group in (("clean", clean), ("flicker", flicker)):
        write_jsonl(
            data / f"{name}.jsonl",
            [
                {
                    "videos": [os.path.relpath(CLIPS / r["video"], data)],
                    "text": f"<__dj__video> {r['caption']} <|__dj__eoc|>",
                }
                for r in group
            ],
        )
    # The session's environment, if an earlier test (a text-to-video study or pipeline) built it
    envs = Path(os.environ["DJSANDBOX_CACHE_DIR"]) / "envs" / "djsandbox-vbench"
    existed = any(envs.glob("*/.djsandbox-env.json"))
    means, details = run_vbench(
        {
            "videos_path": {
                "clean": str(data / "clean.jsonl"),
                "flicker": str(data / "flicker.jsonl"),
            },
            "dimension_list": ["temporal_flickering"],
            "num_gpus": 0,
            "eval_name": "clipart",
        },
        tmp_path / "job1",
    )
    first = details["clean"]
    assert first["environment_built"] is not existed, "built only when the session had none"
    if first["environment_built"]:
        built_here.append(Path(first["environment"]))
    assert first["vbench_version"] == "0.1.5" and first["device"] == "cpu"
    assert first["videos_scored"] == {"temporal_flickering": len(clean)}
    assert details["flicker"]["videos_scored"] == {"temporal_flickering": len(flicker)}
    assert 0.5 < means["flicker"] < means["clean"] <= 1.0
    assert means["clean"] - means["flicker"] > 0.1, means
    assert first["quality_score"] is None and first["total_score"] is None  # 1 of 16 dims
    # VBench's per-video score is its definition on the frames we decode ourselves
    per_video = {r["video"]: r for r in read_rows(first["per_video_path"])}
    assert set(per_video) == {str(CLIPS / r["video"]) for r in clean}
    for r in clean[:5]:
        mine = flicker_score(read_frames(CLIPS / r["video"]))
        assert per_video[str(CLIPS / r["video"])]["temporal_flickering"] == pytest.approx(
            mine, abs=2e-3
        )
        assert per_video[str(CLIPS / r["video"])]["prompt"] == r["caption"]
    assert Path(first["merged_results_path"]).is_file()
    env_path = Path(first["environment"])
    record = env_path / ".djsandbox-env.json"
    stamp = record.stat().st_mtime_ns

    # A constructed flicker: every other frame of clean clips darkened, named the way VBench's
    # standard mode looks videos up (`<prompt>-<k>.mp4`), with VBench's prompt JSON format as
    # full_json_dir. Second call: the environment is reused, nothing is rebuilt.
    made = tmp_path / "made"
    made.mkdir()
    sources = {}
    safe = [r for r in clean if vbench_file_name(r["caption"], 0) == f"{r['caption']}-0.mp4"]
    for r in safe[:6]:
        frames = read_frames(CLIPS / r["video"]).copy()
        frames[1::2] = (frames[1::2].astype(np.float32) * 0.55).astype(np.uint8)
        target = made / vbench_file_name(r["caption"], 0)
        write_mp4(target, frames, fps=8)
        sources[str(target)] = str(CLIPS / r["video"])
    info = tmp_path / "prompts_info.json"
    info.write_text(
        json.dumps(
            [{"prompt_en": r["caption"], "dimension": ["temporal_flickering"]} for r in safe[:6]]
        )
    )
    mean2, second = run_vbench(
        {
            "videos_path": str(made),
            "full_json_dir": str(info),
            "dimension_list": ["temporal_flickering"],
            "num_gpus": 0,
        },
        tmp_path / "job2",
    )
    assert second["mode"] == "vbench_standard"
    assert second["environment_built"] is False and second["environment"] == str(env_path)
    assert record.stat().st_mtime_ns == stamp
    assert second["videos_scored"] == {"temporal_flickering": len(sources)} and len(sources) >= 4
    for row in read_rows(second["per_video_path"]):
        source_score = per_video[sources[row["video"]]]["temporal_flickering"]
        assert row["temporal_flickering"] < source_score - 0.05, row
    assert mean2 < means["clean"]
