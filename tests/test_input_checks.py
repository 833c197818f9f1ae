"""Issue #11, items 13-21: silently wrong answers and errors that came late or as tracebacks.

Each problem is refused before any job runs (when it can be known then) with one message
naming the file, key or job and what was expected.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import subprocess_env

from djsandbox.errors import ConfigError, SandboxError


def echo(meta: str, **extra):
    return {
        "hook": "EvaluateDataHook",
        "meta_name": meta,
        "extra_configs": {"type": "test_echo", **extra},
    }


def validate_only(tmp_path, cfg, **extra):
    from djsandbox.app import prepare

    return prepare(
        {
            "work_dir": str(tmp_path / "run"),
            "plugins": ["sandbox_test_plugins", "input_test_plugins"],
            "max_iter_num": 1,
            **cfg,
            **extra,
        },
        [tmp_path],
    )


def problems_of(tmp_path, cfg, **extra) -> str:
    with pytest.raises(ConfigError) as info:
        validate_only(tmp_path, cfg, **extra)
    return str(info.value)


def data_file(tmp_path, name="data.jsonl", text='{"text": "hello world"}\n'):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- 13: meta_name shared by two jobs ---------------------------------------------------------


def test_same_meta_name_twice_in_one_stage_is_refused(tmp_path):
    msg = problems_of(
        tmp_path, {"pipelines": {"p": {"execution_job_configs": [echo("a"), echo("a")]}}}
    )
    assert "pipeline 'p', execution_job_configs[1] (meta_name 'a'): meta_name" in msg
    assert "execution_job_configs[0]" in msg and "same stage" in msg


def test_same_meta_name_in_different_stages_merges_and_inputs_read_the_latest(run_cfg, tmp_path):
    """The reference's probe + k-sigma convention: later stages may reuse a name; results
    merge into one entry, a result name given again is the later job's."""
    outcome = run_cfg(
        {
            "pipelines": {
                "p": {
                    "probe_job_configs": [
                        {
                            **echo("x", a=1, b=2),
                            "extra_configs": {"type": "test_pair", "a": 1, "b": 2},
                        }
                    ],
                    "refine_recipe_job_configs": [echo("x", value=3)],
                    "execution_job_configs": [
                        {**echo("r1"), "input": {"extra_configs.value": "p.x.res_1"}},
                        {**echo("r2"), "input": {"extra_configs.value": "p.x.res_2"}},
                    ],
                }
            }
        },
        plugins=["sandbox_test_plugins", "input_test_plugins"],
    )
    results = outcome.context.iterations[0]["p"]
    assert results["r1"]["res_1"] == 3 and results["r2"]["res_1"] == 2


def test_input_into_a_shared_name_sees_the_results_of_every_job_of_that_name(tmp_path):
    validate_only(
        tmp_path,
        {
            "pipelines": {
                "p": {
                    "probe_job_configs": [
                        {
                            "hook": "EvaluateDataHook",
                            "meta_name": "x",
                            "extra_configs": {"type": "test_pair"},
                        }
                    ],
                    "refine_recipe_job_configs": [echo("x", value=3)],
                    "execution_job_configs": [
                        {**echo("r"), "input": {"extra_configs.value": "p.x.res_2"}}
                    ],
                }
            }
        },
    )


# -- 14: typos in input and iter_updater targets ----------------------------------------------


def test_input_target_typo_is_refused(tmp_path):
    pred = data_file(tmp_path, "pred.jsonl", '{"label": "a"}\n')
    msg = problems_of(
        tmp_path,
        {
            "execution_job_configs": [
                echo("key", value="label"),
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "acc",
                    "extra_configs": {"type": "accuracy", "predicted_dataset_path": str(pred)},
                    "input": {"extra_configs.predicted_label_kye": "-1.res_1"},
                },
            ]
        },
    )
    assert "meta_name 'acc'): extra_configs.predicted_label_kye: not a setting of 'accuracy'" in msg
    assert "did you mean 'predicted_label_key'" in msg


def test_iter_updater_target_typo_is_refused(tmp_path):
    pred = data_file(tmp_path, "pred.jsonl", '{"label": "a"}\n')
    job = {
        "hook": "EvaluateDataHook",
        "meta_name": "acc",
        "extra_configs": {"type": "accuracy", "predicted_dataset_path": str(pred)},
    }
    msg = problems_of(
        tmp_path,
        {"execution_job_configs": [job]},
        max_iter_num=2,
        iter_updater={"anonymous.acc.res_1": "anonymous.acc.extra_configs.predicted_label_kye"},
    )
    assert (
        "iter_updater.anonymous.acc.res_1: target 'anonymous.acc.extra_configs.predicted_label_kye'"
        in msg
    )
    assert "not a setting of job 'acc'" in msg and "did you mean 'predicted_label_key'" in msg


def test_iter_updater_target_of_a_hook_setting_is_checked(tmp_path):
    job = {
        "hook": "RefineRecipeViaKSigmaHook",
        "meta_name": "refine",
        "dj_configs": {"dataset_path": str(data_file(tmp_path)), "process": []},
        "extra_configs": {"k": 3, "stats": {}},
    }
    validate_only(
        tmp_path,
        {"execution_job_configs": [job]},
        max_iter_num=2,
        iter_updater={"anonymous.refine.res_1": "anonymous.refine.extra_configs.k"},
    )
    msg = problems_of(
        tmp_path,
        {"execution_job_configs": [job]},
        max_iter_num=2,
        iter_updater={"anonymous.refine.res_1": "anonymous.refine.extra_configs.kk"},
    )
    assert "target 'anonymous.refine.extra_configs.kk'" in msg and "did you mean 'k'" in msg


# -- 15: duplicate keys in recipe files ---------------------------------------------------------


@pytest.mark.parametrize(
    "name, text",
    [
        ("recipe.yaml", "value: 1\nnote: x\nvalue: 2\n"),
        ("recipe.json", '{"value": 1, "note": "x", "value": 2}'),
    ],
)
def test_duplicate_keys_in_a_config_file_are_refused(tmp_path, name, text):
    (tmp_path / name).write_text(text)
    msg = problems_of(
        tmp_path,
        {
            "execution_job_configs": [
                {"hook": "EvaluateDataHook", "meta_name": "e", "extra_configs": name}
            ]
        },
    )
    assert name in msg and "duplicate key 'value'" in msg
    if name.endswith(".yaml"):
        assert "line 3" in msg


# -- 16: names the ${ctx:...} grammar cannot read -------------------------------------------------


@pytest.mark.parametrize("name", ["a}b", "a,b", "a'b", 'a"b', "a b", "naïve", "a:b", "a$b", ""])
def test_names_that_interpolations_cannot_hold_are_refused(tmp_path, name):
    pipelines = {
        "ok": {"execution_job_configs": [echo("x", value=1)]},
        name: {"execution_job_configs": [echo("y")]},
    }
    msg = problems_of(tmp_path, {"pipelines": pipelines})
    assert f"invalid pipeline name {name!r}" in msg


@pytest.mark.parametrize("name", ["a}b", "a b", "naïve"])
def test_meta_names_that_interpolations_cannot_hold_are_refused(tmp_path, name):
    msg = problems_of(tmp_path, {"execution_job_configs": [echo(name, value=1)]})
    assert "meta_name: expected a name of ASCII letters" in msg and repr(name) in msg


def test_names_with_dashes_and_digits_work_through_ctx(run_cfg):
    outcome = run_cfg(
        {
            "pipelines": {
                "pipe-1": {
                    "execution_job_configs": [
                        echo("first-2nd", value=5),
                        echo("read", value="${ctx:pipe-1.first-2nd.res_1}"),
                    ]
                }
            }
        }
    )
    assert outcome.context.iterations[0]["pipe-1"]["read"]["res_1"] == 5


# -- 17: a pipeline with no jobs ------------------------------------------------------------------


def test_a_pipeline_without_jobs_is_refused(tmp_path):
    msg = problems_of(
        tmp_path,
        {
            "pipelines": {
                "full": {"execution_job_configs": [echo("a")]},
                "empty": {"execution_job_configs": []},
            }
        },
    )
    assert "pipelines.empty: no jobs" in msg


# -- 18: a hook's own settings ------------------------------------------------------------------


def test_k_sigma_setting_typo_is_refused(tmp_path):
    msg = problems_of(
        tmp_path,
        {
            "execution_job_configs": [
                {
                    "hook": "RefineRecipeViaKSigmaHook",
                    "meta_name": "refine",
                    "dj_configs": {"dataset_path": str(data_file(tmp_path)), "process": []},
                    "extra_configs": {"kk": 2, "stats": {}},
                }
            ]
        },
    )
    assert "extra_configs.kk: not a setting of RefineRecipeViaKSigmaHook (did you mean 'k'?)" in msg


@pytest.mark.parametrize("hook", ["ProbeViaAnalyzerHook", "ProcessDataHook"])
def test_data_juicer_hook_setting_typo_is_refused(tmp_path, hook):
    msg = problems_of(
        tmp_path,
        {
            "execution_job_configs": [
                {
                    "hook": hook,
                    "meta_name": "dj",
                    "dj_configs": {"dataset_path": str(data_file(tmp_path)), "process": []},
                    "extra_configs": {"cashe": False},
                }
            ]
        },
    )
    assert f"extra_configs.cashe: not a setting of {hook}" in msg


def test_model_probe_sampling_key_typo_is_refused(tmp_path):
    msg = problems_of(
        tmp_path,
        {
            "probe_job_configs": [
                {
                    "hook": "ProbeViaModelInferHook",
                    "meta_name": "m",
                    "extra_configs": {
                        "type": "huggingface",
                        "dataset_path": str(data_file(tmp_path)),
                        "sample_ration": 0.5,
                    },
                }
            ]
        },
    )
    assert "extra_configs.sample_ration" in msg and "did you mean 'sample_ratio'" in msg


def test_every_hook_declares_its_settings():
    from djsandbox.catalog import HOOKS

    for name in HOOKS.names():
        entry = HOOKS.get(name)
        if entry.unavailable:
            continue
        hook = entry.load()
        assert hook.factory is not None or hook.keys is not None, name


# -- 19: tracebacks instead of messages ---------------------------------------------------------


def test_hook_given_as_a_list_is_a_message(run_cfg):
    with pytest.raises(
        ConfigError, match=r"hook: expected the name of a hook, got \['EvaluateDataHook'\]"
    ):
        run_cfg({"execution_job_configs": [{"hook": ["EvaluateDataHook"], "meta_name": "e"}]})


def test_work_dir_that_is_a_file_is_a_message(run_cfg, tmp_path):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(
        ConfigError, match=r"work_dir: .*afile.* (is a file|exists and is not a folder)"
    ):
        run_cfg({"execution_job_configs": [echo("e")]}, work_dir=str(tmp_path / "afile"))
    with pytest.raises(ConfigError, match=r"work_dir: cannot create .*afile/run"):
        run_cfg({"execution_job_configs": [echo("e")]}, work_dir=str(tmp_path / "afile" / "run"))


def test_unwritable_work_dir_is_a_message(run_cfg, tmp_path, monkeypatch):
    import djsandbox.writable as writable

    monkeypatch.setattr(writable, "_can_write", lambda folder: False)
    with pytest.raises(ConfigError, match=r"work_dir: .* is not writable"):
        run_cfg({"execution_job_configs": [echo("e")]})


@pytest.mark.parametrize(
    "state",
    [
        [],
        {"context": {"iterations": {}, "order": []}, "jobs": {}},
        {"context": {"iterations": [], "order": []}, "jobs": []},
        {"context": {"iterations": [[]], "order": []}, "jobs": {}},
        {"context": [], "jobs": {}},
    ],
)
def test_state_file_of_the_wrong_shape_is_a_message_and_runs_nothing(run_cfg, tmp_path, state):
    work = tmp_path / "run"
    work.mkdir()
    (work / "sandbox_state.json").write_text(json.dumps(state))
    calls = tmp_path / "calls"
    with pytest.raises(SandboxError, match=r"cannot resume from .*sandbox_state.json: expected"):
        run_cfg({"execution_job_configs": [echo("e", calls=str(calls))]}, resume=True)
    assert not calls.exists()


# -- 20: caught only at run time ----------------------------------------------------------------


@pytest.mark.parametrize("k", [float("nan"), float("inf")])
def test_k_sigma_k_not_finite_is_refused(tmp_path, k):
    job = {
        "hook": "RefineRecipeViaKSigmaHook",
        "meta_name": "refine",
        "dj_configs": {"dataset_path": str(data_file(tmp_path)), "process": []},
        "extra_configs": {"k": k, "stats": {}},
    }
    msg = problems_of(tmp_path, {"execution_job_configs": [job]})
    assert f"extra_configs.k: expected a positive number, got {k!r}" in msg


def dj_job(tmp_path, **recipe):
    return {
        "hook": "ProcessDataHook",
        "meta_name": "clean",
        "dj_configs": {"dataset_path": str(data_file(tmp_path)), "process": [], **recipe},
    }


def test_recipe_top_level_keys_are_checked(tmp_path):
    msg = problems_of(
        tmp_path, {"execution_job_configs": [dj_job(tmp_path, np="two", export_pth="x.jsonl")]}
    )
    assert "meta_name 'clean'): dj_configs.np: expected a positive integer, got 'two'" in msg
    assert "dj_configs.export_pth: not a Data-Juicer setting (did you mean 'export_path'?)" in msg
    validate_only(tmp_path, {"execution_job_configs": [dj_job(tmp_path, np=2, text_keys="text")]})


def test_missing_environment_variable_in_a_job_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("DJSANDBOX_NOPE", raising=False)
    msg = problems_of(
        tmp_path, {"execution_job_configs": [echo("e", value="${oc.env:DJSANDBOX_NOPE}")]}
    )
    assert "meta_name 'e')" in msg and "DJSANDBOX_NOPE" in msg


def test_missing_environment_variable_in_a_recipe_file_is_refused(tmp_path, monkeypatch):
    monkeypatch.delenv("DJSANDBOX_NOPE", raising=False)
    data_file(tmp_path)
    (tmp_path / "recipe.yaml").write_text(
        "dataset_path: data.jsonl\nexport_path: ${oc.env:DJSANDBOX_NOPE}/x.jsonl\nprocess: []\n"
    )
    msg = problems_of(
        tmp_path,
        {
            "execution_job_configs": [
                {"hook": "ProcessDataHook", "meta_name": "clean", "dj_configs": "recipe.yaml"}
            ]
        },
    )
    assert "meta_name 'clean')" in msg and "DJSANDBOX_NOPE" in msg


def test_unwritable_export_folder_is_refused(tmp_path):
    (tmp_path / "afile").write_text("x")
    msg = problems_of(
        tmp_path,
        {
            "execution_job_configs": [
                dj_job(tmp_path, export_path=str(tmp_path / "afile" / "out.jsonl"))
            ]
        },
    )
    assert "dj_configs.export_path" in msg and "afile" in msg and "not a folder" in msg


def test_a_directory_given_as_a_dataset_is_refused(tmp_path):
    (tmp_path / "folder").mkdir()
    job = {
        "hook": "ProcessDataHook",
        "meta_name": "clean",
        "dj_configs": {"dataset_path": str(tmp_path / "folder"), "process": []},
    }
    msg = problems_of(tmp_path, {"execution_job_configs": [job]})
    assert "dj_configs.dataset_path" in msg and "is a folder; expected a file" in msg


@pytest.mark.parametrize(
    "text, where",
    [
        ("", "is empty"),
        ('{"text": "a"}\n{"text": oops}\n', "line 2"),
        ('{"text": "a"}\n{"text": "b"', "line 2"),
        ('{"text": "a"}\n[1, 2]\n', "line 2"),
    ],
)
def test_broken_jsonl_input_is_named_with_file_and_line(tmp_path, text, where):
    path = data_file(tmp_path, "broken.jsonl", text)
    job = {
        "hook": "ProcessDataHook",
        "meta_name": "clean",
        "dj_configs": {"dataset_path": str(path), "process": []},
    }
    msg = problems_of(tmp_path, {"execution_job_configs": [job]})
    assert "dj_configs.dataset_path" in msg and str(path) in msg and where in msg


def test_a_missing_dataset_with_a_space_in_its_path_is_refused(tmp_path):
    job = {
        "hook": "ProcessDataHook",
        "meta_name": "clean",
        "dj_configs": {"dataset_path": str(tmp_path / "a b.jsonl"), "process": []},
    }
    msg = problems_of(tmp_path, {"execution_job_configs": [job]})
    assert "a b.jsonl" in msg and "does not exist" in msg


def test_a_dataset_path_with_a_space_loads(run_cfg, tmp_path):
    path = data_file(tmp_path, "my data.jsonl", '{"text": "hello world"}\n{"text": "bye"}\n')
    outcome = run_cfg(
        {
            "execution_job_configs": [
                {
                    "hook": "ProcessDataHook",
                    "meta_name": "clean",
                    "dj_configs": {"dataset_path": str(path), "process": []},
                }
            ]
        }
    )
    out = Path(outcome.context.iterations[0]["anonymous"]["clean"]["res_1"])
    assert len(out.read_text().splitlines()) == 2


def test_ctrl_c_inside_a_library_is_reported_as_an_interruption(run_cfg):
    with pytest.raises(KeyboardInterrupt):
        run_cfg(
            {
                "execution_job_configs": [
                    {
                        "hook": "EvaluateDataHook",
                        "meta_name": "i",
                        "extra_configs": {"type": "test_swallow_interrupt"},
                    }
                ]
            },
            plugins=["input_test_plugins"],
        )


# -- 21: exit statuses ----------------------------------------------------------------------------


def test_dj_sandbox_exit_statuses(tmp_path, capsys):
    from djsandbox import cli

    config = tmp_path / "c.yaml"
    job = {
        "hook": "EvaluateDataHook",
        "meta_name": "f",
        "extra_configs": {"type": "test_fail_once", "marker": str(tmp_path / "m")},
    }
    config.write_text(
        json.dumps(
            {
                "plugins": ["sandbox_test_plugins"],
                "work_dir": str(tmp_path / "run"),
                "execution_job_configs": [job],
            }
        )
    )
    assert cli.main(["--config", str(config)]) == 1
    assert "meta_name 'f'" in capsys.readouterr().err
    config.write_text(json.dumps({"execution_job_configs": [{"hook": "Nope", "meta_name": "f"}]}))
    assert cli.main(["--config", str(config)]) == 2


def test_hydra_single_run_job_failure_exits_1(tmp_path):
    pipeline_dir = tmp_path / "conf" / "pipeline"
    pipeline_dir.mkdir(parents=True)
    (pipeline_dir / "fails.yaml").write_text(
        "# @package _global_\nproject_name: st\nplugins: [sandbox_test_plugins]\n"
        "execution_job_configs:\n"
        f"  - {{hook: EvaluateDataHook, meta_name: f, extra_configs: {{type: test_fail_once, "
        f"marker: '{tmp_path / 'marker'}'}}}}\n"
    )
    command = [sys.executable, "-m", "djsandbox", "+pipeline=fails"]
    command.append(f"hydra.searchpath=[file://{tmp_path / 'conf'}]")
    proc = subprocess.run(
        command, capture_output=True, text=True, env=subprocess_env(), cwd=tmp_path
    )
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "meta_name 'f'" in proc.stderr and "Traceback" not in proc.stderr
