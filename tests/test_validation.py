"""Every validation error names the pipeline, the job (index and meta_name) and the key."""

from __future__ import annotations

import pytest

from djsandbox.errors import ConfigError


def echo(meta: str, **extra):
    return {
        "hook": "EvaluateDataHook",
        "meta_name": meta,
        "extra_configs": {"type": "test_echo", **extra},
    }


def invalid(run_cfg, cfg) -> str:
    with pytest.raises(ConfigError) as info:
        run_cfg(cfg)
    return str(info.value)


def test_unknown_hook_lists_valid_and_suggests(run_cfg):
    msg = invalid(
        run_cfg,
        {
            "pipelines": {
                "p": {
                    "probe_job_configs": [
                        echo("a"),
                        {"hook": "ProbeViaAnalyserHook", "meta_name": "ana"},
                    ]
                }
            }
        },
    )
    assert "pipeline 'p', probe_job_configs[1] (meta_name 'ana')" in msg
    assert "hook: unknown hook 'ProbeViaAnalyserHook'" in msg
    assert "Did you mean 'ProbeViaAnalyzerHook'?" in msg and "EvaluateModelHook" in msg


def test_unknown_component_type(run_cfg):
    msg = invalid(
        run_cfg,
        {
            "execution_job_configs": [
                {
                    "hook": "TrainModelHook",
                    "meta_name": "t",
                    "extra_configs": {"type": "text_clasifier"},
                }
            ]
        },
    )
    assert "execution_job_configs[0] (meta_name 't'): extra_configs.type" in msg
    assert "Did you mean 'text_classifier'?" in msg


def test_component_config_problem_fails_before_any_job(run_cfg, tmp_path):
    calls = tmp_path / "calls"
    msg = invalid(
        run_cfg,
        {
            "execution_job_configs": [
                echo("first", calls=str(calls), name="first"),
                {
                    "hook": "TrainModelHook",
                    "meta_name": "video",
                    "extra_configs": {"type": "trinity-rft"},
                },
            ]
        },
    )
    assert "meta_name 'video'" in msg and "trinity_config_path" in msg, msg
    assert not calls.exists(), "no job may run when validation fails"


def test_feedback_hook_without_recipe_or_pools(run_cfg):
    msg = invalid(
        run_cfg, {"refine_recipe_job_configs": [{"hook": "RefineRecipeViaModelFeedbackHook"}]}
    )
    assert "refine_recipe_job_configs[0] (meta_name '<no meta_name>'): dj_configs" in msg
    assert "extra_configs.dataset_path: missing" in msg


def test_input_source_no_earlier_job_produces(run_cfg):
    msg = invalid(
        run_cfg,
        {
            "pipelines": {
                "p": {
                    "execution_job_configs": [
                        {**echo("use"), "input": {"extra_configs.value": "q.make.res_1"}}
                    ]
                },
                "q": {"execution_job_configs": [echo("make", value=1)]},
            }
        },
    )
    assert "pipeline 'p', execution_job_configs[0] (meta_name 'use')" in msg
    assert "input.extra_configs.value" in msg and "no earlier job is named 'make'" in msg


def test_input_source_result_name_not_produced(run_cfg):
    msg = invalid(
        run_cfg,
        {
            "execution_job_configs": [
                {**echo("make", value=1), "output": ["path"]},
                {**echo("use"), "input": {"extra_configs.value": "anonymous.make.res_1"}},
                {**echo("use2"), "input": {"extra_configs.value": "-1.nope"}},
            ]
        },
    )
    assert "(meta_name 'use'): input.extra_configs.value" in msg and "it has: path" in msg
    assert "(meta_name 'use2')" in msg and "no result 'nope'" in msg


def test_previous_job_source_on_first_job(run_cfg):
    msg = invalid(
        run_cfg,
        {
            "execution_job_configs": [
                {**echo("first"), "input": {"extra_configs.value": "-1.res_1"}}
            ]
        },
    )
    assert "(meta_name 'first'): input.extra_configs.value" in msg and "first job" in msg


def test_input_target_outside_configs(run_cfg):
    msg = invalid(
        run_cfg,
        {
            "execution_job_configs": [
                echo("a", value=1),
                {**echo("b"), "input": {"meta_name": "-1.res_1"}},
            ]
        },
    )
    assert "(meta_name 'b'): input: target 'meta_name'" in msg


def test_missing_config_file_and_missing_dataset(run_cfg):
    msg = invalid(
        run_cfg,
        {
            "execution_job_configs": [
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "e",
                    "extra_configs": "nowhere/extra.yaml",
                },
                {
                    "hook": "TrainModelHook",
                    "meta_name": "t",
                    "extra_configs": {
                        "type": "text_classifier",
                        "dataset_path": "missing/train.jsonl",
                    },
                },
            ]
        },
    )
    assert "(meta_name 'e'): extra_configs: file 'nowhere/extra.yaml' does not exist" in msg
    assert "(meta_name 't'): extra_configs.dataset_path: file 'missing/train.jsonl'" in msg


def test_file_written_by_an_earlier_job_is_a_valid_input(run_cfg, tmp_path):
    """The reference demo points dj_configs at a recipe an earlier job writes."""
    written = tmp_path / "out" / "extra.yaml"
    out = run_cfg(
        {
            "execution_job_configs": [
                echo(
                    "w",
                    **{
                        "type": "test_write",
                        "export_path": str(written),
                        "content": "type: test_echo\nvalue: from-file\n",
                    },
                ),
                {"hook": "EvaluateDataHook", "meta_name": "read", "extra_configs": str(written)},
            ]
        }
    )
    assert out.context.iterations[0]["anonymous"]["read"] == {"res_1": "from-file"}


def test_unknown_job_key_is_named_with_suggestion(run_cfg):
    msg = invalid(run_cfg, {"execution_job_configs": [{**echo("a"), "outputs": ["x"]}]})
    assert "(meta_name 'a'): unknown job key 'outputs' (did you mean 'output'?)" in msg


def test_no_jobs_and_bad_pipeline_shapes(run_cfg):
    assert "no jobs" in invalid(run_cfg, {})
    assert "one-key mapping" in invalid(run_cfg, {"pipelines": [{"a": {}, "b": {}}]})
    assert "without dots" in invalid(run_cfg, {"pipelines": {"a.b": {}}})


def test_iteration_settings(run_cfg):
    msg = invalid(
        run_cfg,
        {
            "max_iter_num": 0,
            "iter_targets_mode": "some",
            "execution_job_configs": [echo("a", value=1)],
        },
    )
    assert "iter_targets is empty" in msg and "iter_targets_mode" in msg
    msg = invalid(
        run_cfg,
        {
            "iter_targets": "anonymous.b.res_1 < 1",
            "iter_updater": {"anonymous.a.res_1": "anonymous.zz.extra_configs.v"},
            "execution_job_configs": [echo("a", value=1)],
        },
    )
    assert "no earlier job is named 'b'" in msg and "no job 'zz'" in msg


def test_hpo_config_reaching_a_single_run_points_to_the_front_ends(run_cfg):
    msg = invalid(
        run_cfg, {"hpo_config": "hpo.yaml", "execution_job_configs": [echo("a", value=1)]}
    )
    assert "hpo_config" in msg and "dj-sandbox --config" in msg


def test_all_problems_are_reported_at_once(run_cfg):
    msg = invalid(
        run_cfg,
        {
            "execution_job_configs": [
                {"hook": "Nope", "meta_name": "a"},
                {"hook": "AlsoNope", "meta_name": "b"},
            ]
        },
    )
    assert "'Nope'" in msg and "'AlsoNope'" in msg


def test_component_setting_typo_is_caught_before_the_run(run_cfg):
    msg = invalid(
        run_cfg,
        {
            "execution_job_configs": [
                {
                    "hook": "TrainModelHook",
                    "meta_name": "t",
                    "extra_configs": {"type": "text_classifier", "max_epoch": 3},
                }
            ]
        },
    )
    assert "(meta_name 't'): extra_configs.max_epoch: not a setting of 'text_classifier'" in msg
    assert "did you mean 'max_epochs'?" in msg


def test_recipe_op_typo_is_caught_before_the_run(run_cfg, tmp_path):
    calls = tmp_path / "calls"
    msg = invalid(
        run_cfg,
        {
            "execution_job_configs": [
                echo("first", calls=str(calls), name="first"),
                {
                    "hook": "ProcessDataHook",
                    "meta_name": "clean",
                    "dj_configs": {
                        "dataset_path": str(tmp_path / "x.jsonl"),
                        "process": [
                            {"text_length_filter": {"min_len": 5}},
                            {"text_lenght_filter": {"min_len": 5}},
                        ],
                    },
                },
            ]
        },
    )
    assert "(meta_name 'clean'): dj_configs.process[1].text_lenght_filter" in msg
    assert not calls.exists()


def test_required_component_setting_missing_unless_an_input_feeds_it(run_cfg, tmp_path):
    msg = invalid(
        run_cfg,
        {
            "execution_job_configs": [
                echo("first", value=str(tmp_path)),
                {
                    "hook": "DataPoolManipulationHook",
                    "meta_name": "pools",
                    "extra_configs": {"type": "data_pool_construction"},
                },
                {
                    "hook": "DataPoolManipulationHook",
                    "meta_name": "fed",
                    "input": {"extra_configs.dataset_path": "-1.res_1"},
                    "extra_configs": {"type": "data_pool_merging"},
                },
            ]
        },
    )
    assert "(meta_name 'pools'): extra_configs.dataset_path: missing" in msg
    assert "meta_name 'fed'" not in msg


def test_input_feeding_part_of_a_key_or_a_nested_interpolation_is_not_reported(run_cfg, tmp_path):
    # `input` sets one key inside dataset_path: the required key counts as fed.
    msg = invalid(
        run_cfg,
        {
            "execution_job_configs": [
                echo("make", value=str(tmp_path / "a.jsonl")),
                {
                    "hook": "TrainModelHook",
                    "meta_name": "train",
                    "input": {"extra_configs.dataset_path.a": "-1.res_1"},
                    "extra_configs": {"type": "text_classifier", "epochz": 3},
                },
            ]
        },
    )
    assert "extra_configs.epochz: not a setting" in msg  # the check ran...
    assert "extra_configs.dataset_path: missing" not in msg  # ...and knew dataset_path is fed


def test_deferred_values_at_any_depth_are_left_to_run_time():
    from djsandbox.deferred import deferred, known

    later = deferred("p.j.res_1")
    assert known({"a": ["x", later], "b": {"c": f"{later}/x"}, "d": 1}) == {"d": 1}


def validate_only(tmp_path, cfg):
    """Compose the Runner (it validates) without running anything."""
    from djsandbox.app import prepare

    return prepare(
        {
            "work_dir": str(tmp_path / "run"),
            "plugins": ["sandbox_test_plugins"],
            "max_iter_num": 1,
            **cfg,
        },
        [tmp_path],
    )


def k_sigma_job(tmp_path, k):
    data = tmp_path / "data.jsonl"
    data.write_text('{"text": "hello"}\n')
    return {
        "hook": "RefineRecipeViaKSigmaHook",
        "meta_name": "refine",
        "dj_configs": {
            "dataset_path": str(data),
            "process": [{"text_length_filter": {"min_len": 1}}],
        },
        "extra_configs": {"k": k, "stats": {"text_len": {"mean": 5, "std": 1}}},
    }


def test_a_ctx_value_is_accepted_anywhere_and_checked_when_known(tmp_path):
    """Bug: `extra_configs.k: ${ctx:...}` was rejected at validation (the README says
    `${ctx:}` may be written anywhere); a value known before the run is still checked."""
    validate_only(
        tmp_path,
        {
            "execution_job_configs": [
                echo("k", value=2.5),
                k_sigma_job(tmp_path, "${ctx:anonymous.k.res_1}"),
            ]
        },
    )
    with pytest.raises(
        ConfigError,
        match=r"meta_name 'refine'\): extra_configs.k: expected a "
        r"positive number, got -1",
    ):
        validate_only(
            tmp_path, {"execution_job_configs": [echo("k", value=2.5), k_sigma_job(tmp_path, -1)]}
        )


@pytest.mark.parametrize(
    "bad_job",
    [
        {
            "hook": "TrainModelHook",
            "meta_name": "make",
            "extra_configs": {"type": "text_classifier", "dataset_path": "x.jsonl", "max_epoch": 3},
        },
        {"hook": "TrainModelHok", "meta_name": "make"},
        {**echo("make", value=1), "outputs": ["x"]},
        {"hook": "EvaluateDataHook", "meta_name": "make", "extra_configs": {"type": "acuracy"}},
    ],
)
def test_one_mistake_gives_one_message(tmp_path, bad_job):
    """Bug: a job with an error was not registered as a producer, so every later job reading
    it got a second, false error ("no earlier job is named ...", "first job of the run")."""
    (tmp_path / "x.jsonl").write_text('{"text": "a", "label": "b"}\n')
    with pytest.raises(ConfigError) as info:
        validate_only(
            tmp_path,
            {
                "execution_job_configs": [
                    bad_job,
                    {**echo("named"), "input": {"extra_configs.value": "anonymous.make.res_1"}},
                    {**echo("first_reader"), "input": {"extra_configs.value": "-1.res_1"}},
                ]
            },
        )
    problems = str(info.value).split("\n  - ")[1:]
    assert len(problems) == 1 and "meta_name 'make'" in problems[0], problems


def test_user_components_get_the_same_key_checking(run_cfg, tmp_path):
    """`register` takes a spec's fields: unknown keys, required keys and the check apply."""
    (tmp_path / "d.jsonl").write_text("{}\n")
    msg = invalid(
        run_cfg,
        {
            "execution_job_configs": [
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "typo",
                    "extra_configs": {
                        "type": "test_checked",
                        "dataset_path": "d.jsonl",
                        "min_scor": 1,
                    },
                },
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "missing",
                    "extra_configs": {"type": "test_checked"},
                },
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "bad",
                    "extra_configs": {
                        "type": "test_checked",
                        "dataset_path": "d.jsonl",
                        "min_score": -1,
                    },
                },
            ]
        },
    )
    assert (
        "(meta_name 'typo'): extra_configs.min_scor: not a setting of 'test_checked' "
        "(did you mean 'min_score'?)"
    ) in msg
    assert "(meta_name 'missing'): extra_configs.dataset_path: missing" in msg
    assert "(meta_name 'bad'): extra_configs.min_score: expected >= 0" in msg
    out = run_cfg(
        {
            "execution_job_configs": [
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "ok",
                    "extra_configs": {
                        "type": "test_checked",
                        "dataset_path": "d.jsonl",
                        "min_score": 2,
                    },
                }
            ]
        }
    )
    assert out.context.iterations[0]["anonymous"]["ok"]["res_2"] == 2


def test_several_inputs_into_one_mapping_all_count(tmp_path):
    """Found while merging: once one input had put a deferred value into extra_configs, the
    next input into the same mapping was dropped, and its required key reported missing."""
    validate_only(
        tmp_path,
        {
            "execution_job_configs": [
                echo("a", value="a.jsonl"),
                echo("b", value="b.jsonl"),
                {
                    "hook": "DataPoolManipulationHook",
                    "meta_name": "join",
                    "input": {
                        "extra_configs.dataset_path_1": "anonymous.a.res_1",
                        "extra_configs.dataset_path_2": "anonymous.b.res_1",
                    },
                    "extra_configs": {"type": "data_pool_cartesian_join"},
                },
            ]
        },
    )


def test_input_sources_may_hold_interpolations(run_cfg):
    """A source like `p.${vars.job}.res_1` is resolved before it is looked up, at validation
    and when the job runs."""
    out = run_cfg(
        {
            "vars": {"job": "a"},
            "execution_job_configs": [
                echo("a", value=7),
                {**echo("use"), "input": {"extra_configs.value": "anonymous.${vars.job}.res_1"}},
            ],
        }
    )
    assert out.context.iterations[0]["anonymous"]["use"] == {"res_1": 7}
    msg = invalid(
        run_cfg,
        {
            "vars": {"job": "zz"},
            "execution_job_configs": [
                echo("a", value=7),
                {**echo("use"), "input": {"extra_configs.value": "anonymous.${vars.job}.res_1"}},
            ],
        },
    )
    assert "no earlier job is named 'zz'" in msg


def test_final_test_is_checked_before_any_job_runs(run_cfg):
    """A sweep's `final_test` is read only when the sweep ends; its mistakes are found with the
    rest of the config (shape, and a checkpoint source no job produces), not after the trials."""
    pipelines = {"p": {"execution_job_configs": [echo("train", value=1)]}}
    msg = invalid(run_cfg, {"pipelines": pipelines, "final_test": {"checkpoint": "p.train.res_1"}})
    assert "final_test: missing type" in msg
    msg = invalid(
        run_cfg,
        {"pipelines": pipelines, "final_test": {"checkpoint": "p.trian.res_1", "type": "x"}},
    )
    assert "final_test.checkpoint" in msg and "no earlier job is named 'trian'" in msg
