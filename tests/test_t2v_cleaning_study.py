"""Study 9 (experiments/t2v_cleaning): its analysis on constructed numbers, the pipeline it runs
(`+pipeline=easyanimate_cleaning`) validating, and (slow) its smoke profile end to end."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import subprocess_env

from experiments.t2v_cleaning import analysis
from experiments.t2v_cleaning.analysis import ARMS, METRICS


def _per_seed(offsets: dict[str, float]) -> dict[int, dict[str, dict[str, float]]]:
    """Three seeds; every arm's scores are raw's plus its offset (seed noise shared by arms)."""
    out = {}
    for seed, noise in ((1, 0.0), (2, 1.0), (3, -1.0)):
        raw = {"fvd": 20.0 + noise, "kvd": 2.0, "motion_accuracy": 0.4, "temporal_flickering": 0.99}
        out[seed] = {arm: {m: v + offsets.get(arm, 0.0) for m, v in raw.items()} for arm in ARMS}
    return out


def test_summary_pairs_arms_by_seed_and_reads_the_direction_of_each_metric():
    data = analysis.summarise_arms(_per_seed({"k_sigma": -2.0, "feedback": 0.0}))
    assert data["seeds"] == [1, 2, 3]
    assert data["arms"]["raw"]["fvd"]["values"] == [20.0, 21.0, 19.0]
    assert data["arms"]["raw"]["fvd"]["ci"]["value"] == pytest.approx(20.0)
    diff = data["differences"]["k_sigma - raw"]["fvd"]
    # the seed noise is shared, so the paired difference is exactly -2 with no spread
    assert diff == {
        "value": pytest.approx(-2.0),
        "low": pytest.approx(-2.0),
        "high": pytest.approx(-2.0),
    }
    assert analysis.verdict(diff, METRICS["fvd"]) == "better"  # lower FVD is better
    acc = data["differences"]["k_sigma - raw"]["motion_accuracy"]
    assert analysis.verdict(acc, METRICS["motion_accuracy"]) == "worse"  # lower accuracy
    assert analysis.verdict(data["differences"]["feedback - raw"]["fvd"], True) == "null"
    assert set(data["differences"]) == {f"{a} - {b}" for a, b in analysis.PAIRS}


def test_verdict_is_null_when_the_interval_holds_zero():
    assert analysis.verdict({"value": -1.0, "low": -3.0, "high": 0.5}, True) == "null"
    assert analysis.verdict({"value": 1.0, "low": 0.2, "high": 2.0}, True) == "worse"
    assert analysis.verdict({"value": 1.0, "low": 0.2, "high": 2.0}, False) == "better"


def test_strategy_ranges_count_the_rows_they_keep():
    rows = [{"__dj__stats__": {"m": m, "t": [t]}} for m, t in ((0.0, 5), (1.0, 9), (2.0, 20))]
    table = [
        {"stat": "m", "decision": "keep", "min": 0.5, "max": None},
        {"stat": "t", "decision": "leave", "min": None, "max": None},
    ]
    ranges = analysis.kept_ranges(table)
    assert ranges == {"m": (0.5, None)}
    assert [analysis.within(r, ranges) for r in rows] == [False, True, True]
    both = {"m": (0.5, None), "t": (None, 10)}  # list-valued stats read their first value
    assert [analysis.within(r, both) for r in rows] == [False, True, False]
    assert analysis.within({"__dj__stats__": {}}, ranges) is False  # no stat: not kept


def test_defect_counts_by_kind():
    defects = {"a": "", "b": "static", "c": "static", "d": "flicker"}
    assert analysis.defect_counts(["a", "b", "d", "e"], defects) == {
        "clips": 4,
        "any": 2,
        "static": 1,
        "flicker": 1,
    }


def test_the_pipeline_validates_without_running(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "djsandbox",
            "+pipeline=easyanimate_cleaning",
            "check=true",
            f"work_dir={tmp_path / 'run'}",
        ],
        cwd=tmp_path,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for pipeline in ("data", "single_op", "k_sigma", "feedback", *ARMS):
        assert f"pipeline '{pipeline}'" in done.stdout
    assert "RefineRecipeViaModelFeedbackHook" in done.stdout
    assert not (tmp_path / "run").exists()


@pytest.fixture(autouse=True)
def _own_job_cache() -> None:
    """Overrides conftest's per-test cache folder: the session's is kept, so the VBench
    environment and motion detector other slow tests built are reused."""


@pytest.mark.slow
def test_smoke_profile_end_to_end(tmp_path):
    from experiments.t2v_cleaning import run

    md = run.main(["--smoke", "--out", str(tmp_path), "--runs", str(tmp_path / "runs")])
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["meta"]["profile"] == "smoke" and data["train_clips"] == 60
    assert data["seeds"] == [101] and data["same_selection_every_seed"] is True
    assert set(data["pools"]) == {"video_motion_score", "text_len"}
    assert len(data["control"]["fvd"]) == 3
    fvds = data["control"]["fvd"]
    assert data["noise_floor"] == pytest.approx(max(fvds) - min(fvds))
    assert set(data["decisions"]) == {"noise_aware", "best_pool", "drop_worst"}
    raw_rows = data["rows"]["raw"][0]["file"]
    assert raw_rows == 60
    for arm in ARMS:
        assert 0 < data["rows"][arm][0]["file"] <= 60
        for metric in METRICS:
            ci = data["arms"][arm][metric]["ci"]
            assert ci["low"] <= ci["value"] <= ci["high"]
    assert data["rows"]["random_like_k_sigma"] == data["rows"]["k_sigma"]
    assert data["rows"]["random_like_feedback"] == data["rows"]["feedback"]
    removed = data["removed"]["removed by k_sigma"]["clips"]
    assert removed == 60 - data["rows"]["k_sigma"][0]["file"]
    text = md.read_text()
    assert "Noise floor" in text and "random_like_k_sigma" in text
