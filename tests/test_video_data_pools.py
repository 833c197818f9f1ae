"""`+pipeline=video_pools` end to end on the packaged clips: conversion -> Data-Juicer analysis
(ProbeViaAnalyzerHook) -> low/mid/high pools per video and caption stat; the motion score puts
the `static` defect clips at the bottom. And the analysis cache keys on the clips themselves."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import subprocess_env

from djsandbox.data.media_identity import media_identity

CLIPS = Path(__file__).resolve().parents[1] / "src/djsandbox/resources/clipart_videos"
STATS = [
    "video_motion_score",
    "video_width",
    "video_height",
    "video_duration",
    "video_aspect_ratios",
    "text_len",
    "num_words",
]


def _rows(path: str | Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def test_analysis_cache_key_follows_the_videos(tmp_path: Path) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"one")
    data = tmp_path / "rows.jsonl"
    data.write_text(json.dumps({"videos": ["clip.mp4"], "text": "t"}) + "\n")
    recipe = {"video_key": "videos", "process": [{"video_motion_score_filter": {}}]}
    before = media_identity(recipe, data)
    assert before is not None
    assert media_identity({"process": [{"text_length_filter": {}}]}, data) is None
    video.write_bytes(b"other clip")  # re-rendered at the same path
    assert media_identity(recipe, data) != before


@pytest.mark.slow  # 360 clips through Data-Juicer: 7.7 min here under load 18
def test_video_pools_pipeline_on_the_packaged_clips(tmp_path: Path) -> None:
    from sklearn.metrics import roc_auc_score

    cache = tmp_path / "cache"  # a fresh analysis cache: the analysis really runs
    proc = subprocess.run(
        [sys.executable, "-m", "djsandbox", "+pipeline=video_pools"],
        cwd=tmp_path,
        env={**subprocess_env(), "DJSANDBOX_CACHE_DIR": str(cache), "UV_OFFLINE": "1"},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = next((tmp_path / "outputs" / "video_pools").glob("*/*/sandbox_state.json"))
    ctx = json.loads(state.read_text())["context"]["iterations"][0]
    analysed = _rows(ctx["single_op"]["analysis"]["res_1"])
    summary = ctx["single_op"]["analysis"]["res_2"]
    assert len(analysed) == summary["rows"] == 360
    assert set(STATS) <= set(summary["stats"])
    assert all("defect" not in r and "shown_motion" not in r for r in analysed)

    # Pools: thirds per stat, ordered by the stat (list stats: the clip's one value).
    pools = ctx["single_op"]["pools"]["res_1"]
    assert list(pools) == STATS
    motion = {r["id"]: r["__dj__stats__"]["video_motion_score"][0] for r in analysed}
    members = [[r["id"] for r in _rows(p)] for p in pools["video_motion_score"]]
    assert [len(m) for m in members] == [120, 120, 120]
    assert max(motion[i] for i in members[0]) <= min(motion[i] for i in members[1])
    assert max(motion[i] for i in members[1]) <= min(motion[i] for i in members[2])

    # The recorded defects (never in the analysed rows) against the motion score.
    defect = {r["id"]: r["defect"] for r in _rows(CLIPS / "clips.jsonl")}
    static = {i for i in motion if defect[i] == "static"}
    assert len(static) == 34 and static <= set(members[0])  # every static clip in the low pool
    labels = [i in static for i in motion]
    auc = roc_auc_score(labels, [-v for v in motion.values()])
    assert auc >= 0.97, auc
    print(f"motion score vs static defect, packaged train split: AUC {auc:.4f}")
    assert os.path.isdir(cache / "jobs" / "entries")  # the job cache kept it for the next run
