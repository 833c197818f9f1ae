"""Format details the reference DJ-Sandbox accepts in its shipped configs, each run here on
configs written in the reference's style (small test components, `sandbox_test_plugins.py`):

- `output: 'name'` is one result name (the reference wraps a string in a list);
- an `input` may replace a whole `dj_configs`/`extra_configs`; what the job writes there (and
  under an input-mapped key) is a placeholder, never loaded or checked;
- `meta_name` empty or absent: positional names, `-1` across stages, resume, reports;
- validation tells a wrong config (exit 2) apart from what this machine lacks (exit 4).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
import yaml

from djsandbox import cli
from djsandbox.errors import EXIT_CONFIG, EXIT_RESOURCES, ConfigError, JobFailedError, ResourceError
from djsandbox.resource_problems import Resource


def echo(meta, **extra):
    body = {"hook": "EvaluateDataHook", "extra_configs": {"type": "test_echo", **extra}}
    if meta is not ...:  # `...`: no meta_name key at all
        body["meta_name"] = meta
    return body


def check(cfg: dict, tmp_path: Path) -> str:
    from djsandbox.check import check_run

    full = {"work_dir": str(tmp_path / "run"), "plugins": ["sandbox_test_plugins"], **cfg}
    return check_run(full, [tmp_path])


# -- output: 'name' -------------------------------------------------------------------------


def test_output_string_is_one_result_name_read_back_by_later_jobs(run_cfg):
    out = run_cfg(
        {
            "execution_job_configs": [
                {**echo("score", value=42), "output": "score_value"},
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "pair",
                    "output": "first",  # one name for a two-result component: res_2 stays
                    "extra_configs": {"type": "test_pair", "a": 1, "b": 2},
                },
            ],
            "evaluation_job_configs": [
                {**echo("reader"), "input": {"extra_configs.value": "anonymous.score.score_value"}},
                {**echo("after"), "input": {"extra_configs.value": "-1.res_1"}},
            ],
        }
    )
    results = out.context.iterations[0]["anonymous"]
    assert results["score"] == {"score_value": 42}
    assert results["pair"] == {"first": 1, "res_2": 2}
    assert results["reader"] == {"res_1": 42} and results["after"] == {"res_1": 42}


def test_output_string_is_checked_like_a_list_of_names(run_cfg):
    with pytest.raises(ConfigError) as err:
        run_cfg({"execution_job_configs": [{**echo("bad", value=1), "output": "two words"}]})
    assert "output: expected a result name or a list of result names" in str(err.value)
    assert "'two words'" in str(err.value)
    with pytest.raises(ConfigError, match="source '-1.missing'"):
        run_cfg(
            {
                "execution_job_configs": [
                    {**echo("a", value=1), "output": "present"},
                    {**echo("b"), "input": {"extra_configs.value": "-1.missing"}},
                ]
            }
        )


# -- an input replaces a whole config -----------------------------------------------------


def test_input_replaces_whole_extra_configs_and_its_placeholder_is_never_loaded(run_cfg, tmp_path):
    recipe = tmp_path / "generated" / "eval_config.yaml"
    content = yaml.safe_dump({"type": "test_echo", "value": "from the generated config"})
    out = run_cfg(
        {
            "execution_job_configs": [
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "write_config",
                    "output": "config_path",
                    "extra_configs": {
                        "type": "test_write",
                        "export_path": str(recipe),
                        "content": content,
                    },
                },
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "use_config",
                    "input": {"extra_configs": "-1.config_path"},
                    "extra_configs": "<auto_replaced_with_previous_output>",
                },
            ]
        }
    )
    assert out.context.iterations[0]["anonymous"]["use_config"] == {
        "res_1": "from the generated config"
    }


def test_input_replaces_whole_dj_configs_placeholder_is_not_a_recipe(tmp_path):
    recipe = tmp_path / "refined.yaml"
    writer = {
        "hook": "EvaluateDataHook",
        "meta_name": "refine",
        "output": "refined_recipe_path",
        "extra_configs": {"type": "test_write", "export_path": str(recipe)},
    }
    process = {
        "hook": "ProcessDataHook",
        "meta_name": "process_data_with_refined_recipe",
        "output": "processed_dataset_path",
        "input": {"dj_configs": "-1.refined_recipe_path"},
        "dj_configs": "<auto_replaced_with_previous_output>",
    }
    report = check({"execution_job_configs": [writer, process]}, tmp_path)
    assert report.startswith("check: the config is valid")
    assert "process_data_with_refined_recipe" in report
    # Without the input the same placeholder is what the job runs with: a config error.
    alone = {k: v for k, v in process.items() if k != "input"}
    with pytest.raises(ConfigError) as err:
        check({"execution_job_configs": [writer, alone]}, tmp_path)
    assert "dj_configs: expected a mapping or a path ending in .yaml" in str(err.value)
    assert not isinstance(err.value, ResourceError)


def test_placeholder_under_an_input_mapped_key_is_replaced_not_checked(run_cfg, tmp_path):
    data = tmp_path / "rows.jsonl"
    data.write_text('{"text": "a"}\n')
    out = run_cfg(
        {
            "execution_job_configs": [
                {**echo("source", value=str(data)), "output": "dataset_path"},
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "consumer",
                    "input": {"extra_configs.dataset_path": "-1.dataset_path"},
                    "extra_configs": {
                        "type": "test_checked",
                        "dataset_path": "<updated_by_the_input_mapping>",
                    },
                },
            ]
        }
    )
    assert out.context.iterations[0]["anonymous"]["consumer"]["res_1"] == str(data)


# -- meta_name empty or absent --------------------------------------------------------------


def test_jobs_without_meta_name_get_positional_names_and_minus_one_crosses_stages(
    run_cfg, tmp_path
):
    out = run_cfg(
        {
            "probe_job_configs": [echo(None, value="probe")],
            "execution_job_configs": [echo("", value="x0"), echo(..., value="x1")],
            # `-1` in the first job of a later stage: the last job of the stage before.
            "evaluation_job_configs": [
                {**echo(None), "input": {"extra_configs.value": "-1.res_1"}},
                {**echo("named"), "input": {"extra_configs.value": "anonymous.execution_0.res_1"}},
                echo(None, value={"accuracy": 0.75}),  # metrics the summary reads by name
            ],
        }
    )
    results = out.context.iterations[0]["anonymous"]
    assert results["probe_0"] == {"res_1": "probe"}
    assert results["execution_0"] == {"res_1": "x0"}
    assert results["execution_1"] == {"res_1": "x1"}
    assert results["evaluation_0"] == {"res_1": "x1"}
    assert results["named"] == {"res_1": "x0"}
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["pipelines"][0]["evaluation_2.accuracy"] == 0.75, summary


def test_minus_one_in_a_later_pipeline_reads_the_previous_pipelines_last_job(run_cfg):
    out = run_cfg(
        {
            "pipelines": [
                {"first": {"evaluation_job_configs": [echo(None, value="last of first")]}},
                {
                    "second": {
                        "probe_job_configs": [
                            {**echo(None), "input": {"extra_configs.value": "-1.res_1"}}
                        ]
                    }
                },
            ]
        }
    )
    assert out.context.iterations[0]["second"]["probe_0"] == {"res_1": "last of first"}


def test_resume_keeps_positional_names_and_minus_one(run_cfg, tmp_path):
    marker = tmp_path / "marker"
    cfg = {
        "execution_job_configs": [
            echo(None, value=5),
            {
                "hook": "EvaluateDataHook",
                "extra_configs": {"type": "test_fail_once", "marker": str(marker)},
            },
        ],
        "evaluation_job_configs": [
            {**echo(...), "input": {"extra_configs.value": "-1.res_1"}},
            {**echo(""), "input": {"extra_configs.value": "anonymous.execution_0.res_1"}},
        ],
    }
    with pytest.raises(JobFailedError, match=r"execution_job_configs\[1\]"):
        run_cfg(cfg)
    out = run_cfg(cfg, resume=True)
    assert not any("/execution/0/" in key for key in out.executed)  # finished: kept
    results = out.context.iterations[0]["anonymous"]
    assert results["execution_1"] == {"res_1": "recovered"}
    assert results["evaluation_0"] == {"res_1": "recovered"}
    assert results["evaluation_1"] == {"res_1": 5}


# -- config errors apart from missing resources ----------------------------------------------


def write_config(tmp_path: Path, cfg: dict) -> Path:
    path = tmp_path / "sandbox.yaml"
    full = {"work_dir": str(tmp_path / "run"), "plugins": ["sandbox_test_plugins"], **cfg}
    path.write_text(yaml.safe_dump(full))
    return path


def test_a_config_lacking_only_resources_is_valid_and_exits_4(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")  # no GPU shown: Trinity-RFT lacks one
    config = write_config(
        tmp_path,
        {
            "execution_job_configs": [
                {
                    "hook": "ProcessDataHook",
                    "meta_name": "process",
                    "dj_configs": {
                        "dataset_path": "<data_home>/rows.jsonl",
                        "export_path": "out/rows.jsonl",
                        "process": [{"whitespace_normalization_mapper": {}}],
                    },
                },
                {
                    "hook": "TrainModelHook",
                    "meta_name": "train",
                    "extra_configs": "configs/train_config.yaml",
                },
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "weights",
                    "extra_configs": {"type": "test_needs_weights", "weights": "w/model.bin"},
                },
                {
                    "hook": "TrainModelHook",
                    "meta_name": "rft",
                    "extra_configs": {"type": "trinity-rft", "trinity_config": {"mode": "both"}},
                },
            ]
        },
    )
    assert cli.main(["--config", str(config), "--check"]) == EXIT_RESOURCES
    err = capsys.readouterr().err
    assert "the config is valid (no format error)" in err
    assert "invalid sandbox config" not in err
    assert "missing resources (4;" in err
    assert "[input file] pipeline 'anonymous', execution_job_configs[0]" in err
    assert "fix: replace the placeholder <data_home> in dj_configs.dataset_path" in err
    assert "[side config file]" in err and "configs/train_config.yaml" in err
    assert "[weights]" in err and "fix: download the weights to 'w/model.bin'" in err
    assert "[gpu]" in err and "trinity-rft: this machine shows no GPU" in err
    assert "what would run once they are there" in err and "TrainModelHook" in err
    # A run stops at the same place, before anything is written.
    assert cli.main(["--config", str(config)]) == EXIT_RESOURCES
    assert not (tmp_path / "run").exists()


def test_config_errors_and_missing_resources_are_reported_apart(tmp_path, capsys):
    config = write_config(
        tmp_path,
        {
            "execution_job_configs": [
                {**echo("typo", value=1), "extra_cofigs": {}},
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "weights",
                    "extra_configs": {"type": "test_needs_weights", "weights": "w/model.bin"},
                },
            ]
        },
    )
    assert cli.main(["--config", str(config), "--check"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    head, _, tail = err.partition("missing resources (1;")
    assert "invalid sandbox config" in head and "unknown job key 'extra_cofigs'" in head
    assert "[weights]" in tail and "w/model.bin" not in head


def test_missing_endpoint_is_a_resource(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    data = tmp_path / "rows.jsonl"
    data.write_text('{"text": "a"}\n')
    job = {
        "hook": "InferModelHook",
        "meta_name": "grader",
        "output": "inference_result",
        "extra_configs": {
            "type": "api",
            "model": "qwen2.5-32b-instruct",
            "dataset_path": str(data),
            "export_path": str(tmp_path / "out" / "graded.jsonl"),
        },
    }
    with pytest.raises(ResourceError) as err:
        check({"execution_job_configs": [job]}, tmp_path)
    kinds = {need.kind for need in err.value.resources}
    assert kinds == {"endpoint"} and len(err.value.resources) == 2
    assert all(isinstance(need, Resource) for need in err.value.resources)
    assert "export OPENAI_BASE_URL=" in str(err.value)
    copy = pickle.loads(pickle.dumps(err.value.resources[0]))  # crosses process boundaries
    assert isinstance(copy, Resource) and copy.kind == "endpoint" and copy.fix
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert check({"execution_job_configs": [job]}, tmp_path).startswith(
        "check: the config is valid"
    )


def test_gpu_trainer_on_a_machine_without_one_is_a_resource(monkeypatch):
    from djsandbox import resource_problems
    from djsandbox.models.text_classifier_checks import check_train

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert not resource_problems.gpu_visible()
    [need] = check_train({"trainer": {"accelerator": "gpu", "max_epochs": 1}})
    assert isinstance(need, Resource) and need.kind == "gpu"
    assert need.startswith("trainer.accelerator: 'gpu' but this machine shows no GPU")
    assert check_train({"trainer": {"accelerator": "cpu"}}) == []
    monkeypatch.setattr(resource_problems, "gpu_visible", lambda: True)
    assert check_train({"trainer": {"accelerator": "gpu"}}) == []
    # A typo beside it stays a config error.
    monkeypatch.setattr(resource_problems, "gpu_visible", lambda: False)
    problems = check_train({"trainer": {"accelerator": "cuda", "max_epoch": 1}})
    assert [type(p) for p in problems] == [str, Resource]


def test_a_folder_export_may_be_the_run_folder_itself(tmp_path):
    """The reference's text-to-video configs export into `work_dir` (`export_path: dir/`): the
    files go inside the run folder. A file output there, or a folder holding it, stays refused."""
    run = tmp_path / "run"

    def job(export_path: str) -> dict:
        return {
            "hook": "EvaluateDataHook",
            "meta_name": "export",
            "extra_configs": {"type": "test_write", "export_path": export_path},
        }

    assert check({"execution_job_configs": [job(f"{run}/")]}, tmp_path).startswith(
        "check: the config is valid"
    )
    for refused in (str(run), f"{tmp_path}/"):
        with pytest.raises(ConfigError, match="it is or holds the run folder") as err:
            check({"execution_job_configs": [job(refused)]}, tmp_path)
        assert not isinstance(err.value, ResourceError)


def test_missing_inputs_say_which_earlier_job_or_run_writes_them(tmp_path):
    """The reference's text-to-video configs read `out/iter_1/x.jsonl` for the `out/x.jsonl` an
    earlier job exports (it put iteration n's outputs under iter_<n>/), and files an earlier
    run left in the run folder: each is a missing input whose fix says where it comes from."""
    run = tmp_path / "run"

    def reader(meta: str, path: str) -> dict:
        return {
            "hook": "EvaluateDataHook",
            "meta_name": meta,
            "extra_configs": {"type": "test_checked", "dataset_path": path},
        }

    jobs = [
        {
            "hook": "EvaluateDataHook",
            "meta_name": "export",
            "extra_configs": {"type": "test_write", "export_path": "out/x.jsonl"},
        },
        reader("reference_layout", "out/iter_1/x.jsonl"),
        reader("earlier_run", f"{run}/iter_1/y.jsonl"),
    ]
    with pytest.raises(ResourceError) as err:
        check({"execution_job_configs": jobs}, tmp_path)
    layout, earlier = err.value.resources
    assert "meta_name 'reference_layout'" in layout and layout.kind == "input file"
    assert "an earlier job of this run writes 'out/x.jsonl'" in layout.fix
    assert "set extra_configs.dataset_path to 'out/x.jsonl'" in layout.fix
    assert "meta_name 'earlier_run'" in earlier and "an earlier run writes it" in earlier.fix


def test_an_external_repository_and_weights_named_by_reference_keys_are_resources(tmp_path):
    """InternVL's own keys: `internvl_home` (a clone of InternVL) and `model_name_or_path`
    (weights) name things to fetch, not config mistakes."""
    from djsandbox.models.captioning.checks import check_train

    problems = check_train(
        {
            "internvl_home": str(tmp_path / "InternVL"),
            "model_name_or_path": str(tmp_path / "InternVL2-1B"),
            "meta_paths": [str(tmp_path / "meta.json")],
        }
    )
    needs = {p.kind: p for p in problems if isinstance(p, Resource)}
    assert "git clone https://github.com/OpenGVLab/InternVL" in needs["repository"].fix
    assert needs["weights"].startswith("model_name_or_path: folder")
