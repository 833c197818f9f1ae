"""Real Data-Juicer and real Lightning through both front ends, as a user runs them."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import yaml
from conftest import FINE_FOODS, subprocess_env


def test_reference_format_config_runs_unchanged(tmp_path):
    """The reference demo's shape: relative recipe beside the config, k-sigma recipe written
    to ./outputs and then used as the next job's dj_configs, list-form pipelines."""
    configs = tmp_path / "configs" / "demo"
    configs.mkdir(parents=True)
    data = tmp_path / "data"
    data.mkdir()
    rows = FINE_FOODS.joinpath("train.jsonl").read_text().splitlines()[:400]
    (data / "train.jsonl").write_text("\n".join(rows) + "\n")
    (configs / "process.yaml").write_text(
        yaml.safe_dump(
            {
                "project_name": "demo-process",
                "dataset_path": "data/train.jsonl",
                "export_path": "./outputs/demo-process/analysed.jsonl",
                "np": 1,
                "text_keys": "text",
                "process": [
                    {"text_length_filter": {"min_len": 10, "max_len": 100000}},
                    {"words_num_filter": {"lang": "en", "min_num": 1, "max_num": 100000}},
                ],
            }
        )
    )
    sandbox = {
        "project_name": "demo-sandbox",
        "experiment_name": "demo-sandbox-run0",
        "hpo_config": None,
        "work_dir": "./outputs/demo-sandbox",
        "pipelines": [
            {
                "refine": {
                    "probe_job_configs": [
                        {
                            "hook": "ProbeViaAnalyzerHook",
                            "meta_name": "analysis_ori_data",
                            "dj_configs": "process.yaml",
                            "extra_configs": None,
                        }
                    ],
                    "refine_recipe_job_configs": [
                        {
                            "hook": "RefineRecipeViaKSigmaHook",
                            "meta_name": "analysis_ori_data",
                            "dj_configs": "process.yaml",
                            "local": {
                                "dj_configs.export_path": "./outputs/demo-process/processed.jsonl"
                            },
                            "extra_configs": {
                                "path_k_sigma_recipe": "./outputs/demo-process/k_sigma_new_recipe.yaml"
                            },
                        }
                    ],
                    "execution_job_configs": [
                        {
                            "hook": "ProcessDataHook",
                            "meta_name": None,
                            "dj_configs": "./outputs/demo-process/k_sigma_new_recipe.yaml",
                            "extra_configs": None,
                        },
                        {
                            "hook": "TrainModelHook",
                            "meta_name": "train",
                            "input": {"extra_configs.dataset_path": "-1.res_1"},
                            "extra_configs": {"type": "text_classifier", "max_epochs": 2},
                        },
                    ],
                    "evaluation_job_configs": [
                        {
                            "hook": "EvaluateModelHook",
                            "meta_name": "eval_model",
                            "input": {"extra_configs.checkpoint": "refine.train.res_1"},
                            "extra_configs": {
                                "type": "text_classifier",
                                "dataset_path": str(FINE_FOODS / "test.jsonl"),
                                "predictions_path": "./outputs/predictions.jsonl",
                            },
                        },
                        {
                            "hook": "EvaluateDataHook",
                            "meta_name": "eval_data",
                            "extra_configs": {
                                "type": "accuracy",
                                "predicted_dataset_path": "./outputs/predictions.jsonl",
                                "predicted_label_key": "predicted_label",
                                "ground_truth_label_key": "label",
                            },
                        },
                    ],
                }
            }
        ],
    }
    cfg = configs / "sandbox.yaml"
    cfg.write_text(yaml.safe_dump(sandbox, sort_keys=False))
    proc = subprocess.run(
        [sys.executable, "-m", "djsandbox.cli", "--config", str(cfg)],
        cwd=tmp_path,
        env={**subprocess_env(), "UV_OFFLINE": "1", "PIP_NO_INDEX": "1"},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]

    state = json.loads((tmp_path / "outputs" / "demo-sandbox" / "sandbox_state.json").read_text())
    ctx = state["context"]["iterations"][0]["refine"]
    stats = ctx["analysis_ori_data"]["res_2"]["stats"]
    refined = yaml.safe_load(
        (tmp_path / "outputs/demo-process/k_sigma_new_recipe.yaml").read_text()
    )
    ops = {list(op)[0]: list(op.values())[0] for op in refined["process"]}
    for op, stat, low, high in (
        ("text_length_filter", "text_len", "min_len", "max_len"),
        ("words_num_filter", "num_words", "min_num", "max_num"),
    ):
        mean, std = stats[stat]["mean"], stats[stat]["std"]
        assert ops[op][low] == max(math.floor(mean - 3 * std), 0)  # lengths stop at 0
        assert ops[op][high] == math.ceil(mean + 3 * std)
    processed = Path(ctx["execution_0"]["res_1"])
    kept = [json.loads(line) for line in processed.read_text().splitlines()]
    lengths = [len(r["text"]) for r in kept]
    assert 0 < len(kept) < 400 and max(lengths) <= ops["text_length_filter"]["max_len"]
    assert ctx["train"]["res_2"]["train_rows"] + ctx["train"]["res_2"]["val_rows"] == len(kept)
    model_acc = ctx["eval_model"]["res_1"]["accuracy"]
    # same predictions, scored two ways; the evaluator's second result is the best accuracy
    assert ctx["eval_data"]["res_2"] == model_acc
    assert ctx["eval_data"]["res_1"][0]["accuracy"] == model_acc
    assert "| refine |" in (tmp_path / "outputs" / "demo-sandbox" / "summary.md").read_text()


def test_embedded_default_runs_offline_and_prints_the_comparison(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "djsandbox", "vars.epochs=1", "vars.seeds=[1,2]"],
        cwd=tmp_path,
        env={**subprocess_env(), "UV_OFFLINE": "1", "PIP_NO_INDEX": "1"},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (
        "| pipeline | rows kept | train rows | best epoch | test.accuracy | test.macro_f1"
        in proc.stdout
    )
    run = next((tmp_path / "outputs" / "demo" / "fine_foods_k_sigma").iterdir())
    rows = {r["pipeline"]: r for r in json.loads((run / "summary.json").read_text())["pipelines"]}
    assert rows["baseline"]["train rows"] == 3600
    kept, total = map(int, rows["refined"]["rows kept"].split("/"))
    assert total == 4000 and 3000 < kept < 4000
    majority = 0.658  # share of the majority class in test.jsonl
    for name in ("baseline", "refined"):
        assert rows[name]["test.accuracy"] > majority + 0.05
        assert 0 < rows[name]["test.macro_f1"] <= 1
        # Each arm: one model per seed, mean and spread reported (and printed).
        seeds = rows[name]["test.accuracy_seeds"]
        assert len(seeds) == 2 and math.isclose(rows[name]["test.accuracy"], sum(seeds) / 2)
        assert rows[name]["test.accuracy_std"] is not None
        assert rows[name]["best epoch"] == "1/1"  # the epoch kept, per seed
    assert "± " in proc.stdout and "(n=2)" in proc.stdout
    assert "within noise" in proc.stdout or "differ beyond noise" in proc.stdout
