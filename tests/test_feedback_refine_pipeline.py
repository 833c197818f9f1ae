"""`+pipeline=feedback_refine` end to end on a small profile: split -> analyse -> pools and
random thirds -> train/score per pool on dev -> refine from feedback -> process -> train ->
test, beside k-sigma and raw."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FINE_FOODS, subprocess_env


@pytest.mark.slow  # 70 s here lightly loaded, 8 min at load 15: CI runs it with -m slow
def test_feedback_refine_pipeline_small_profile(tmp_path):
    rows = FINE_FOODS.joinpath("train.jsonl").read_text().splitlines()[:900]
    train = tmp_path / "train.jsonl"
    train.write_text("\n".join(rows) + "\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "djsandbox",
            "+pipeline=feedback_refine",
            f"vars.train={train}",
            "vars.epochs=1",
            "vars.seeds=[1]",
            "vars.stats=[text_len,special_char_ratio]",
        ],
        cwd=tmp_path,
        env={**subprocess_env(), "UV_OFFLINE": "1", "PIP_NO_INDEX": "1"},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    for arm in ("feedback", "k_sigma", "raw"):
        assert arm in proc.stdout
    state_file = next((tmp_path / "outputs" / "feedback_refine").glob("*/*/sandbox_state.json"))
    ctx = json.loads(state_file.read_text())["context"]["iterations"][0]

    search, dev = ctx["split"]["split"]["res_1"]["ignore_stats"]
    assert len(Path(search).read_text().splitlines()) == 720
    assert len(Path(dev).read_text().splitlines()) == 180
    # every pool was scored on the dev rows, never the test set
    for result in ctx["single_op"]["dev_pools"]["res_1"]["text_len"]:
        assert result["rows"] == 180
    assert len(ctx["single_op"]["dev_control"]["res_1"]["ignore_stats"]) == 3
    table = ctx["feedback"]["refine"]["res_2"]
    assert [row["stat"] for row in table] == ["text_len", "special_char_ratio"]
    for row in table:
        assert row["decision"] in ("keep", "leave") and row["reason"]
        assert len(row["pools"]) == 3 and row["noise_floor"] >= 0
    # the processed rows are exactly those inside the refined bounds of the kept ranges
    processed = Path(ctx["feedback"]["process"]["res_1"]).read_text().splitlines()
    assert 0 < len(processed) <= 720
    for row in table:
        assert (row["decision"] == "keep") == bool(row["changes"])
    for arm in ("feedback", "k_sigma", "raw"):
        assert 0.0 <= ctx[arm]["test"]["res_1"]["accuracy"] <= 1.0
