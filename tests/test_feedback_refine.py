"""RefineRecipeViaModelFeedbackHook on constructed pools whose right decision is known.

Pools are written with Data-Juicer stats in their rows, as `data_pool_construction` writes
them: `text_len` thirds where the high pool's model is clearly better, `num_words` thirds
whose scores differ only by noise (a random-partition control spreads as much). The refined
recipe is then run by Data-Juicer itself (`dj-process`, and the sandbox's ProcessDataHook).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from djsandbox.data.feedback_decisions import Pool, decide
from djsandbox.data.feedback_refine import refine_recipe_from_feedback
from djsandbox.errors import ConfigError

VENV_BIN = Path(sys.executable).parent
N = 30  # rows; pools of 10


def _rows() -> list[dict]:
    """Row i: i+1 words of 'ab ' (text_len 3*(i+1)-1), so both stats rise with i."""
    out = []
    for i in range(N):
        text = " ".join(["ab"] * (i + 1))
        out.append(
            {
                "id": f"r{i:02d}",
                "text": text,
                "label": "good" if i % 2 else "bad",
                "__dj__stats__": {"text_len": len(text), "num_words": i + 1},
            }
        )
    return out


def _pools(tmp_path: Path) -> dict[str, list[str]]:
    rows = _rows()
    pools: dict[str, list[str]] = {}
    for stat in ("text_len", "num_words"):
        ordered = sorted(rows, key=lambda r: r["__dj__stats__"][stat])
        for i in range(3):
            path = tmp_path / "pools" / stat / f"data_{stat}_{i}.jsonl"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("".join(json.dumps(r) + "\n" for r in ordered[i * 10 : i * 10 + 10]))
            pools.setdefault(stat, []).append(str(path))
    return pools


# text_len: high clearly better; num_words: best - worst 0.01, within the control's 0.02
METRICS = {
    "text_len": [{"accuracy": 0.60}, {"accuracy": 0.62}, {"accuracy": 0.80}],
    "num_words": [{"accuracy": 0.71}, {"accuracy": 0.705}, {"accuracy": 0.70}],
}
CONTROL = {"ignore_stats": [{"accuracy": 0.69}, {"accuracy": 0.71}, {"accuracy": 0.70}]}


def _recipe(tmp_path: Path) -> dict:
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps({k: r[k] for k in ("id", "text")}) + "\n" for r in _rows()))
    return {
        "project_name": "feedback_test",
        "dataset_path": str(data),
        "export_path": str(tmp_path / "out" / "kept.jsonl"),
        "text_keys": "text",
        "np": 1,
        "process": [
            {"text_length_filter": {"min_len": 1, "max_len": 100000}},
            {"words_num_filter": {"lang": "en", "min_num": 1, "max_num": 100000}},
        ],
    }


def _by_stat(table: list[dict]) -> dict[str, dict]:
    return {row["stat"]: row for row in table}


def test_noise_aware_keeps_the_clearly_better_range_and_leaves_noise_alone(tmp_path):
    refined, table = refine_recipe_from_feedback(
        _recipe(tmp_path),
        _pools(tmp_path),
        METRICS,
        strategy="noise_aware",
        control_metrics=CONTROL,
    )
    rows = _by_stat(table)
    assert rows["text_len"]["decision"] == "keep" and rows["text_len"]["keep"] == [2, 2]
    assert rows["text_len"]["noise_floor"] == pytest.approx(0.02)
    assert "random-partition" in rows["text_len"]["noise_floor_source"]
    # high pool: rows 20..29, text_len 3*21-1 = 62 and up; the upper side stays open
    assert refined["process"][0]["text_length_filter"] == {"min_len": 62, "max_len": 100000}
    assert rows["num_words"]["decision"] == "leave"
    assert "within the noise floor" in rows["num_words"]["reason"]
    assert refined["process"][1]["words_num_filter"]["min_num"] == 1
    assert refined["process"][1]["words_num_filter"]["max_num"] == 100000
    # the evidence travels with the decision
    assert [p["score"] for p in rows["text_len"]["pools"]] == [0.60, 0.62, 0.80]
    assert [p["part"] for p in rows["text_len"]["pools"]] == ["low", "mid", "high"]
    assert rows["text_len"]["pools"][2]["min"] == 62


def test_without_a_control_min_gain_is_the_floor(tmp_path):
    _, table = refine_recipe_from_feedback(
        _recipe(tmp_path), _pools(tmp_path), METRICS, strategy="noise_aware", min_gain=0.0
    )
    rows = _by_stat(table)
    assert rows["num_words"]["decision"] == "keep"  # no floor: 0.01 counts
    assert rows["num_words"]["noise_floor_source"] == "min_gain"


def test_best_pool_bounds_both_sides_of_a_middle_pool(tmp_path):
    metrics = {**METRICS, "num_words": [{"accuracy": 0.6}, {"accuracy": 0.9}, {"accuracy": 0.7}]}
    refined, table = refine_recipe_from_feedback(
        _recipe(tmp_path), _pools(tmp_path), metrics, strategy="best_pool"
    )
    # mid pool: rows 10..19, 11..20 words
    assert refined["process"][1]["words_num_filter"]["min_num"] == 11
    assert refined["process"][1]["words_num_filter"]["max_num"] == 20
    assert _by_stat(table)["num_words"]["keep"] == [1, 1]


def test_drop_worst_cuts_only_the_worst_range(tmp_path):
    refined, table = refine_recipe_from_feedback(
        _recipe(tmp_path), _pools(tmp_path), METRICS, strategy="drop_worst"
    )
    rows = _by_stat(table)
    # text_len: the low pool is worst -> min = the mid pool's minimum (row 10: 11 words, len 32)
    assert refined["process"][0]["text_length_filter"] == {"min_len": 32, "max_len": 100000}
    # num_words: the high pool is worst -> max = the mid pool's maximum (20 words)
    assert refined["process"][1]["words_num_filter"]["min_num"] == 1
    assert refined["process"][1]["words_num_filter"]["max_num"] == 20
    assert rows["num_words"]["keep"] == [0, 1]


def test_drop_worst_leaves_a_middle_worst_pool_and_lower_is_better_flips():
    pools = [Pool("a", 0.8, 0, 1), Pool("b", 0.5, 1, 2), Pool("c", 0.7, 2, 3)]
    assert decide(pools, "drop_worst")["decision"] == "leave"
    losses = [Pool("a", 0.2, 0, 1), Pool("b", 0.5, 1, 2), Pool("c", 0.9, 2, 3)]
    row = decide(losses, "best_pool", higher_is_better=False)
    assert row["keep"] == [0, 0] and row["min"] is None and row["max"] == 1


def test_misaligned_or_unscored_results_are_errors_or_left_alone(tmp_path):
    pools = _pools(tmp_path)
    with pytest.raises(ValueError, match="metrics"):
        refine_recipe_from_feedback(_recipe(tmp_path), pools, [{"accuracy": 0.5}] * 5)
    metrics = {**METRICS, "text_len": [{"accuracy": None}, {"accuracy": 0.6}, {"accuracy": 0.7}]}
    _, table = refine_recipe_from_feedback(_recipe(tmp_path), pools, metrics)
    assert _by_stat(table)["text_len"]["decision"] == "leave"
    with pytest.raises(ValueError, match="ranking_key"):
        refine_recipe_from_feedback(_recipe(tmp_path), pools, METRICS, ranking_key="acc")


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines()


def _feedback_job(tmp_path: Path, **extra) -> dict:
    return {
        "hook": "RefineRecipeViaModelFeedbackHook",
        "meta_name": "feedback",
        "dj_configs": _recipe(tmp_path),
        "extra_configs": {
            "dataset_path": _pools(tmp_path),
            "metrics": METRICS,
            "control_metrics": CONTROL,
            "path_feedback_recipe": str(tmp_path / "feedback_recipe.yaml"),
            **extra,
        },
    }


def test_hook_writes_a_recipe_that_process_data_hook_and_dj_process_run(run_cfg, tmp_path):
    cfg = {
        "refine_recipe_job_configs": [_feedback_job(tmp_path)],
        "execution_job_configs": [
            {"hook": "ProcessDataHook", "meta_name": "process", "input": {"dj_configs": "-1.res_1"}}
        ],
    }
    results = run_cfg(cfg).context.iterations[0]["anonymous"]
    recipe_path, table = results["feedback"]["res_1"], results["feedback"]["res_2"]
    assert recipe_path == str(tmp_path / "feedback_recipe.yaml")
    assert _by_stat(table)["text_len"]["decision"] == "keep"
    kept = [json.loads(line)["id"] for line in _lines(Path(results["process"]["res_1"]))]
    assert kept == [f"r{i:02d}" for i in range(20, 30)]  # the high text_len pool's rows

    out = tmp_path / "out" / "kept.jsonl"
    out.unlink()
    env = dict(os.environ, UV_OFFLINE="1", PIP_NO_INDEX="1", HF_HUB_OFFLINE="1")
    proc = subprocess.run(
        [str(VENV_BIN / "dj-process"), "--config", recipe_path],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    assert [json.loads(line)["id"] for line in _lines(out)] == kept


def test_hook_config_is_validated_before_any_job(run_cfg, tmp_path):
    job = _feedback_job(tmp_path, strategy="best_pol", min_gain=-1, descending="yes")
    del job["extra_configs"]["metrics"]
    with pytest.raises(ConfigError) as info:
        run_cfg({"refine_recipe_job_configs": [job]})
    msg = str(info.value)
    assert "extra_configs.strategy: got 'best_pol'" in msg and "did you mean 'best_pool'" in msg
    assert "extra_configs.min_gain: got -1" in msg
    assert "extra_configs.descending: expected true or false" in msg
    assert "extra_configs.metrics: missing" in msg
    assert not (tmp_path / "feedback_recipe.yaml").exists()
