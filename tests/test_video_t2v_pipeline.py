"""`+pipeline=easyanimate_t2v` end to end on the packaged clipart clips: the reference's three
text-to-video flows with a barely pretrained tiny EasyAnimate (one batch per LoRA), real
Data-Juicer analysis, our FVD/motion-accuracy detector and VBench's temporal_flickering in its
managed environment. Slow: the VBench environment is built on first use (reused when
tests/test_vbench_real.py ran first in the session)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import subprocess_env

from djsandbox.data.video_io import read_frames

PROFILE = [
    "+pipeline=easyanimate_t2v",
    "trainer=debug",
    "vars.max_train_rows=60",
    "vars.dev_prompts=6",
    "vars.fresh_rows=40",
    "vars.num_inference_steps=2",
    "model.pretrain.vae_steps=2",
    "model.pretrain.transformer_steps=2",
]


@pytest.fixture(autouse=True)
def _own_job_cache() -> None:
    """Overrides conftest's per-test cache folder: this module keeps the session's, so that
    the VBench environment test_vbench_real built is reused (nothing here depends on the job cache being empty)."""


def _pipelines(summary: dict) -> dict[str, dict]:
    return {row["pipeline"]: row for row in summary["pipelines"]}


@pytest.mark.slow
def test_easyanimate_t2v_runs_all_flows_and_reports_per_pool_scores(tmp_path: Path) -> None:
    run = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "djsandbox", *PROFILE, f"work_dir={run}"],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = _pipelines(json.loads((run / "summary.json").read_text()))
    assert set(rows) == {"data", "baseline", "single_op", "multi_op", "duplication"}
    base = rows["baseline"]
    assert base["fvd.fvd"] > 0 and 0 <= base["fvd.motion_accuracy"] <= 1
    assert 0 < base["vbench.detail.temporal_flickering"] <= 1
    # one score per data pool, for both stats (dev prompts: selection never sees the test ones)
    items = json.loads((run / "summary.json").read_text())["items"]
    per_pool = {(i["pipeline"], i["job"], i["item"]) for i in items}
    for stat in ("video_motion_score", "text_len"):
        for k in range(3):
            assert ("single_op", "fvd.res_1", f"{stat}[{k}]") in per_pool
    assert rows["single_op"]["vbench.video_motion_score"] and rows["single_op"]["vbench.text_len"]
    dup = rows["duplication"]
    assert dup["fvd_repeated.rows"] == dup["fvd_fresh.rows"] == base["fvd.rows"]
    report = (run / "report" / "report.md").read_text()
    assert "motion_accuracy" in report and "temporal_flickering" in report
    # generated clips decode; no file the run wrote carries the study-only defect fields
    generated = [
        json.loads(line)
        for line in next(run.rglob("baseline/execution_2_generate/generated.jsonl")).open()
    ]
    # 54 test rows; prompts repeated in them give one clip each (VBench names clips by prompt)
    assert len(generated) == base["fvd.rows"] and 40 < len(generated) <= 54
    assert read_frames(generated[0]["videos"][0]).shape == (16, 64, 64, 3)
    for path in run.rglob("*.json*"):
        text = path.read_text(errors="replace")
        assert '"defect"' not in text and '"shown_motion"' not in text, path
