"""Study 4 (experiments/caption): its smoke profile through the real sandbox runner."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, subprocess_env


# The same pipeline runs in the default suite (test_internvl_coco_pipeline); the study driver's
# own summary over seeds is what this adds, so it runs with `-m slow`.
@pytest.mark.slow
def test_smoke_profile_writes_the_results_from_the_runs(tmp_path: Path) -> None:
    # In a subprocess, as a user runs it: the driver sets up logging for the whole process.
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.caption.run",
            "--smoke",
            "--runs",
            str(tmp_path / "runs"),
            "--out",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    md = tmp_path / "results.md"
    data = json.loads((tmp_path / "results.json").read_text())
    measured, summary = data["measured"], data["summary"]
    assert list(measured["single_op"]) == ["text_len", "image_sizes"]
    for pools in measured["single_op"].values():
        assert len(pools["CIDEr"]) == 3 and all(len(s) == 1 for s in pools["CIDEr"])
        # the three pools partition the analysed training captions
        assert sum(pools["rows"]) == sum(measured["single_op"]["text_len"]["rows"])
    # every pool's score is the one the run's evaluator wrote
    state = json.loads((tmp_path / "runs" / "seed_0" / "sandbox_state.json").read_text())
    ctx = state["context"]["iterations"][0]
    assert measured["single_op"]["text_len"]["CIDEr"][2] == [
        ctx["single_op"]["test"]["res_1"]["text_len"][2]["CIDEr"]
    ]
    assert measured["baseline"]["CIDEr"] == [ctx["baseline"]["test"]["res_1"]["CIDEr"]]
    arms = measured["multi_op"][0]["arms"]
    assert [a["CIDEr"] for a in arms] == [m["CIDEr"] for m in ctx["multi_op"]["test"]["res_1"]]
    assert len({a["rows"] for a in arms}) == 1  # downsampled to equal size
    for key in ("best_pool_minus_baseline", "best_multi_minus_baseline", "large_minus_small"):
        est = summary[key]
        assert est["low"] <= est["value"] <= est["high"]
    text = md.read_text()
    assert "## Single-op pools" in text and (tmp_path / "pools.png").is_file()
