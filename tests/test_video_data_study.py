"""Study 7 (experiments/video_defects), smoke profile: the driver runs its sandbox config, joins
the recorded defects back in and scores every pool and k-sigma removal as a defect detector."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


@pytest.mark.slow  # Data-Juicer analysis and processing of 60 clips: minutes on a busy machine
def test_video_defects_smoke(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DJSANDBOX_CACHE_DIR", str(tmp_path / "cache"))
    from experiments.video_defects import run

    md = run.main(["--smoke", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out")])
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert data["clips"] == 60
    assert set(data["constant_stats"]) == {
        "video_width",
        "video_height",
        "video_duration",
        "video_aspect_ratios",
    }
    scores = data["result"]["scores"]
    assert "video_width low" not in scores and "k_sigma_3" in scores
    static = scores["video_motion_score low"]["static"]
    # every static clip (7 of the first 60) is in the low-motion third, far above chance
    assert static["recall"]["value"] == 1.0 and static["flagged"] == 20
    assert static["precision"]["value"] == pytest.approx(7 / 20)
    assert data["best"]["static"][0] == "video_motion_score low"
    text = md.read_text()
    assert "## Any defect" in text and "video_motion_score low" in text
