"""Study 10 (experiments/t2v_transfer): the analysis on constructed pool scores, the pipeline
and the larger model compose and validate, and the smoke profile end to end (slow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from experiments.t2v_transfer import analysis

ROOT = Path(__file__).resolve().parents[1]
STATS = ("video_motion_score", "text_len")


def _context(fvd: list[float], control: list[float]) -> dict:
    def score(v: float) -> dict:
        return {"fvd": v, "kvd": v / 10, "motion_accuracy": 1 / v, "rows": 30}

    pools = {s: [score(v) for v in fvd[3 * i : 3 * i + 3]] for i, s in enumerate(STATS)}
    return {
        "single_op": {
            "fvd_pools": {"res_1": pools},
            "fvd_control": {"res_1": {"ignore_stats": [score(v) for v in control]}},
        }
    }


def _runs(base: list[float], noise: float, seeds: int, rng) -> list[dict]:
    out = []
    for _ in range(seeds):
        values = np.asarray(base) + rng.normal(0, noise, len(base))
        out.append(analysis.pools_of_run(_context(list(values[:6]), list(values[6:]))))
    return out


def test_pools_of_run_names_every_pool_and_the_random_thirds() -> None:
    pools = analysis.pools_of_run(_context([1, 2, 3, 4, 5, 6], [7, 8, 9]))
    assert list(pools) == [
        "video_motion_score/low",
        "video_motion_score/mid",
        "video_motion_score/high",
        "text_len/low",
        "text_len/mid",
        "text_len/high",
        "random/1",
        "random/2",
        "random/3",
    ]
    assert pools["text_len/high"]["fvd"] == 6 and pools["random/1"]["motion_accuracy"] == 1 / 7


def test_same_ranking_agrees_and_a_reversed_one_disagrees() -> None:
    rng = np.random.default_rng(0)
    base = [20, 21, 22, 23, 24, 25, 22.4, 22.5, 22.6]
    small = _runs(base, 0.05, 3, rng)
    same = analysis.summarise(small, _runs(base, 0.05, 3, rng), n_boot=300)["metrics"]["fvd"]
    assert same["spearman_stat_pools"]["value"] == pytest.approx(1.0)
    assert same["spearman_stat_pools"]["low"] > 0.8
    assert (
        same["seed_to_seed"]["small"]["mean"] > 0.9 and same["seed_to_seed"]["small"]["pairs"] == 3
    )
    assert same["best_pool"] == {
        "small": "video_motion_score/low",
        "large": "video_motion_score/low",
    }
    assert same["control_ranks"]["small"] == [4.0, 5.0, 6.0]  # between motion/high and text_len/low
    reversed_ = [50 - v for v in base]
    other = analysis.summarise(small, _runs(reversed_, 0.05, 2, rng), n_boot=300)["metrics"]["fvd"]
    assert other["spearman_stat_pools"]["value"] == pytest.approx(-1.0)
    assert other["seed_to_seed"]["across_models"]["pairs"] == 6
    assert other["best_pool"]["large"] == "text_len/high"
    # motion accuracy: higher is better, so the lowest FVD (highest 1/FVD) ranks first too
    ma = analysis.summarise(small, small, n_boot=300)["metrics"]["motion_accuracy"]
    assert ma["pools"][0]["small_rank"] == 1.0


def test_noise_only_pools_give_a_wide_interval_and_no_reproducible_ranking() -> None:
    rng = np.random.default_rng(1)
    flat = [29.0] * 9
    out = analysis.summarise(_runs(flat, 0.3, 3, rng), _runs(flat, 0.3, 3, rng), n_boot=300)[
        "metrics"
    ]["fvd"]
    rho = out["spearman_stat_pools"]
    assert rho["high"] - rho["low"] > 0.8  # six pools of pure noise: the interval says so
    assert abs(out["seed_to_seed"]["small"]["mean"]) < 0.8
    spread = out["spreads"]["small"]
    assert set(spread) == {"video_motion_score", "text_len", "random"}
    assert all(s["low"] <= s["value"] <= s["high"] for s in spread.values())


def test_pipeline_and_larger_model_validate() -> None:
    from experiments.t2v_transfer.run import MODELS, PIPELINE

    args = [sys.executable, "-m", "djsandbox", f"+pipeline={PIPELINE}", f"model={MODELS['large']}"]
    out = subprocess.run(
        [*args, "check=true", "work_dir=/nonexistent/t2v_check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT / "src")},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "check: the config is valid" in out.stdout
    for job in ("train_pools", "train_control", "fvd_pools", "fvd_control"):
        assert job in out.stdout


def test_larger_model_shares_the_small_models_vae_key() -> None:
    import yaml

    from djsandbox.models.easyanimate.base import base_key
    from djsandbox.models.easyanimate.settings import resolve_model
    from djsandbox.models.easyanimate.vae_cache import vae_key

    conf = ROOT / "src" / "djsandbox" / "conf" / "model"
    small = yaml.safe_load((conf / "easyanimate_tiny.yaml").read_text())
    large = yaml.safe_load((conf / "easyanimate_tiny_large.yaml").read_text())
    assert large["defaults"][0] == "easyanimate_tiny"
    merged = {**small, "name": large["name"], "tiny": {**small["tiny"], **large["tiny"]}}
    s, g = resolve_model(small), resolve_model(merged)
    assert g["tiny"]["heads"] == 2 * s["tiny"]["heads"]
    assert g["tiny"]["layers"] == 2 * s["tiny"]["layers"]
    assert vae_key(s) == vae_key(g) and base_key(s) != base_key(g)


@pytest.mark.slow
def test_smoke_profile_end_to_end(tmp_path: Path) -> None:
    from experiments.t2v_transfer import run

    md = run.main(["--smoke", "--runs", str(tmp_path / "runs"), "--out", str(tmp_path / "out")])
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    assert md.is_file() and (tmp_path / "out" / "t2v_transfer.png").is_file()
    assert [(r["model"], r["seed"]) for r in data["runs"]] == [
        ("small", 0),
        ("small", 1),
        ("large", 0),
        ("large", 1),
    ]
    fvd = data["summary"]["metrics"]["fvd"]
    assert len(fvd["pools"]) == 9 and all(p["small"]["value"] > 0 for p in fvd["pools"])
    assert (
        data["bases"]["large"]["params"]["transformer"]
        > data["bases"]["small"]["params"]["transformer"]
    )
    assert "Rank agreement" in md.read_text()
