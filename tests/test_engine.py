"""The runner, context, input/output/local and iterations, on small real components."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from djsandbox.errors import ConfigError, ContextLookupError, JobFailedError


def job(meta: str | None, kind: str = "test_echo", **extra):
    body = {"hook": "EvaluateDataHook", "extra_configs": {"type": kind, **extra}}
    if meta:
        body["meta_name"] = meta
    return body


def test_single_pipeline_form_default_names_and_falsy_results(run_cfg, tmp_path):
    out = run_cfg(
        {
            "execution_job_configs": [
                job("none", value=None),
                job("zero", value=0),
                job("empty", value=[]),
                job("blank", value=""),
                job(None, "test_pair", a=1, b={"x": 2}),
            ]
        }
    )
    results = out.context.iterations[0]["anonymous"]
    assert results["none"] == {"res_1": None}
    assert results["zero"] == {"res_1": 0}
    assert results["empty"] == {"res_1": []}
    assert results["blank"] == {"res_1": ""}
    assert results["execution_4"] == {"res_1": 1, "res_2": {"x": 2}}
    saved = json.loads((tmp_path / "run" / "sandbox_state.json").read_text())
    assert saved["context"]["iterations"][0]["anonymous"]["zero"] == {"res_1": 0}
    assert all(s["status"] == "done" for s in saved["jobs"].values())


@pytest.mark.parametrize("form", ["mapping", "list"])
def test_multi_pipeline_forms_and_cross_pipeline_input(run_cfg, form):
    p1 = {"probe_job_configs": [job("make", "test_pair", a="A", b={"deep": {"v": 7}})]}
    p2 = {
        "evaluation_job_configs": [
            {**job("use"), "input": {"extra_configs.value": "p1.make.res_2.deep.v"}}
        ]
    }
    pipelines = {"p1": p1, "p2": p2} if form == "mapping" else [{"p1": p1}, {"p2": p2}]
    out = run_cfg({"pipelines": pipelines})
    assert out.context.iterations[0]["p2"]["use"] == {"res_1": 7}


def test_both_pipeline_forms_is_an_error(run_cfg):
    with pytest.raises(ConfigError, match="both pipeline forms"):
        run_cfg(
            {
                "pipelines": {"p": {"probe_job_configs": [job("a")]}},
                "execution_job_configs": [job("b")],
            }
        )


def test_stages_run_in_fixed_order_whatever_the_written_order(run_cfg, tmp_path):
    calls = tmp_path / "calls.log"
    run_cfg(
        {
            "evaluation_job_configs": [job("e", name="e", calls=str(calls))],
            "execution_job_configs": [
                job("x1", name="x1", calls=str(calls)),
                job("x2", name="x2", calls=str(calls)),
            ],
            "probe_job_configs": [job("p", name="p", calls=str(calls))],
        }
    )
    assert calls.read_text().split() == ["p", "x1", "x2", "e"]


def test_input_previous_job_nested_target_output_names_and_local(run_cfg, tmp_path):
    extra_file = tmp_path / "extra.yaml"
    extra_file.write_text("type: test_echo\nvalue: {a: {b: old, keep: 1}}\narg2: 404\n")
    out = run_cfg(
        {
            "execution_job_configs": [
                {**job("first", "test_pair", a={"k": "from-first"}, b=2), "output": ["one", "two"]},
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "second",
                    "extra_configs": "extra.yaml",
                    "input": {"extra_configs.value.a.b": "-1.one.k"},
                    "local": {"extra_configs.value.a.keep": 42},
                },
            ]
        }
    )
    res = out.context.iterations[0]["anonymous"]
    assert res["first"] == {"one": {"k": "from-first"}, "two": 2}
    assert res["second"] == {"res_1": {"a": {"b": "from-first", "keep": 42}}}


def test_ctx_interpolation_written_directly(run_cfg):
    out = run_cfg(
        {
            "execution_job_configs": [
                job("first", value=5),
                job("second", value="${ctx:anonymous.first.res_1}"),
            ]
        }
    )
    assert out.context.iterations[0]["anonymous"]["second"] == {"res_1": 5}


def test_ctx_lookup_of_missing_result_names_what_exists(run_cfg):
    # A result the job never returns: known before the run (validation is a dry run).
    with pytest.raises(ConfigError, match=r"meta_name 'second'.*no result 'res_9'; it has: res_1"):
        run_cfg(
            {
                "execution_job_configs": [
                    job("first", value={"a": 1}),
                    job("second", value="${ctx:anonymous.first.res_9}"),
                ]
            }
        )
    # A key inside a result: known only when the job has run.
    with pytest.raises(ContextLookupError, match=r"no key 'res_1.b'.*\['a'\]"):
        run_cfg(
            {
                "execution_job_configs": [
                    job("first", value={"a": 1}),
                    job("second", value="${ctx:anonymous.first.res_1.b}"),
                ]
            }
        )


def test_output_names_count_mismatch_fails_at_validation(run_cfg):
    with pytest.raises(ConfigError, match=r"meta_name 'p'.*output: 3 names"):
        run_cfg({"execution_job_configs": [{**job("p", "test_pair"), "output": ["a", "b", "c"]}]})


def test_job_failure_names_the_job_and_resume_reruns_only_it(run_cfg, tmp_path):
    calls = tmp_path / "calls.log"
    cfg = {
        "execution_job_configs": [
            job("ok", name="ok", calls=str(calls), value=1),
            job(
                "flaky",
                "test_fail_once",
                name="flaky",
                calls=str(calls),
                marker=str(tmp_path / "marker"),
            ),
            job("after", name="after", calls=str(calls), value=3),
        ]
    }
    with pytest.raises(JobFailedError, match=r"meta_name 'flaky'.*planned failure"):
        run_cfg(cfg)
    state = json.loads((tmp_path / "run" / "sandbox_state.json").read_text())
    statuses = {v["meta_name"]: v["status"] for v in state["jobs"].values()}
    assert statuses == {"ok": "done", "flaky": "failed"}
    failed = next(v for v in state["jobs"].values() if v["meta_name"] == "flaky")
    assert "planned failure" in Path(failed["error_log"]).read_text()  # the traceback is kept
    out = run_cfg(cfg, resume=True)
    assert calls.read_text().split() == ["ok", "flaky", "flaky", "after"]
    assert [key.split("/")[4] for key in out.executed] == ["flaky", "after"]  # "ok" skipped
    assert out.context.iterations[0]["anonymous"]["flaky"] == {"res_1": "recovered"}


def test_rerun_into_a_finished_run_folder_without_resume_is_refused(run_cfg):
    cfg = {"execution_job_configs": [job("a", value=1)]}
    run_cfg(cfg)
    with pytest.raises(Exception, match="resume=true"):
        run_cfg(cfg)


def test_iterations_stop_when_target_is_met(run_cfg, tmp_path):
    counter = tmp_path / "count"
    out = run_cfg(
        {
            "max_iter_num": 0,
            "iter_targets": ["anonymous.count.res_1.count >= 3"],
            "iter_updater": {"anonymous.count.res_1.count": "anonymous.count.extra_configs.step"},
            "execution_job_configs": [job("count", "test_counter", counter=str(counter))],
        }
    )
    assert out.iterations_run == 3 and out.targets_met is True
    assert [it["anonymous"]["count"]["res_1"]["count"] for it in out.context.iterations] == [
        1,
        2,
        3,
    ]


def test_iterations_any_mode_and_max_iter_cap(run_cfg, tmp_path):
    out = run_cfg(
        {
            "max_iter_num": 2,
            "iter_targets_mode": "any",
            "iter_targets": [
                "anonymous.count.res_1.count > 10",
                "anonymous.count.res_1.count == 99",
            ],
            "execution_job_configs": [job("count", "test_counter", counter=str(tmp_path / "c"))],
        }
    )
    assert out.iterations_run == 2 and out.targets_met is False


def test_iter_updater_feeds_a_result_into_the_next_iteration(run_cfg, tmp_path):
    out = run_cfg(
        {
            "max_iter_num": 3,
            "iter_updater": {"p.count.res_1.count": "p.count.extra_configs.step"},
            "pipelines": {
                "p": {
                    "execution_job_configs": [
                        job("count", "test_counter", counter=str(tmp_path / "c"), step=0)
                    ]
                }
            },
        }
    )
    steps = [it["p"]["count"]["res_1"]["step"] for it in out.context.iterations]
    assert steps == [0, 1, 2]


@pytest.mark.parametrize("target", ["x.y.z < = 2", "x.y.z ~ 2", "x.y.z <= two"])
def test_bad_targets_are_rejected_without_eval(target):
    from djsandbox.targets import parse_target

    with pytest.raises(ConfigError, match="iter_targets"):
        parse_target(target)


def test_target_parsing_and_check():
    from djsandbox.targets import parse_target

    t = parse_target("pipe.meta.key<=0.2")
    assert (t.key, t.op, t.value) == ("pipe.meta.key", "<=", 0.2)
    assert t.met(0.2) and not t.met(0.21)
    with pytest.raises(ConfigError, match="not a number"):
        t.met("abc")


def test_each_iteration_writes_outputs_to_its_own_folder(run_cfg, tmp_path):
    out = run_cfg(
        {
            "max_iter_num": 2,
            "execution_job_configs": [
                job("w", "test_write", export_path=str(tmp_path / "o" / "f.txt"))
            ],
        }
    )
    paths = [it["anonymous"]["w"]["res_1"] for it in out.context.iterations]
    assert paths == [str(tmp_path / "o" / "f.txt"), str(tmp_path / "o" / "iter_1" / "f.txt")]
    assert all(Path(p).exists() for p in paths)


def test_each_iteration_writes_every_output_file_to_its_own_folder(run_cfg, tmp_path):
    """Bug: only export_path moved per iteration; iteration 2's k-sigma recipe overwrote
    iteration 1's."""
    refine = {
        "hook": "RefineRecipeViaKSigmaHook",
        "meta_name": "refine",
        "dj_configs": {"process": [{"text_length_filter": {"min_len": 1}}]},
        "extra_configs": {
            "stats": {"text_len": {"mean": 5, "std": 1}},
            "path_k_sigma_recipe": str(tmp_path / "o" / "recipe.yaml"),
        },
    }
    out = run_cfg({"max_iter_num": 2, "execution_job_configs": [refine]})
    paths = [it["anonymous"]["refine"]["res_1"] for it in out.context.iterations]
    assert paths == [
        str(tmp_path / "o" / "recipe.yaml"),
        str(tmp_path / "o" / "iter_1" / "recipe.yaml"),
    ]
    assert all(Path(p).exists() for p in paths)


def test_state_file_is_strict_json(run_cfg, tmp_path):
    """Bug: +-inf results were written as `Infinity`, which strict JSON readers reject."""
    run_cfg(
        {
            "execution_job_configs": [
                job("inf", value=float("inf")),
                job("nan", value=[float("-inf"), float("nan"), 1.5]),
            ]
        }
    )

    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    state = json.loads((tmp_path / "run" / "sandbox_state.json").read_text(), parse_constant=refuse)
    results = state["context"]["iterations"][0]["anonymous"]
    assert results == {"inf": {"res_1": None}, "nan": {"res_1": [None, None, 1.5]}}


def test_resume_from_an_explicit_earlier_run_folder(run_cfg, tmp_path):
    calls = tmp_path / "calls.log"
    cfg = {
        "execution_job_configs": [
            job("ok", name="ok", calls=str(calls), value=1),
            job(
                "flaky",
                "test_fail_once",
                name="flaky",
                calls=str(calls),
                marker=str(tmp_path / "marker"),
            ),
        ]
    }
    with pytest.raises(JobFailedError):
        run_cfg(cfg)
    out = run_cfg(cfg, work_dir=str(tmp_path / "elsewhere"), resume=str(tmp_path / "run"))
    assert out.work_dir == tmp_path / "run"
    assert calls.read_text().split() == ["ok", "flaky", "flaky"]
    with pytest.raises(Exception, match="holds no sandbox_state.json"):
        run_cfg(cfg, resume=str(tmp_path / "nothing-here"))


def test_each_job_records_the_configs_it_ran_with(run_cfg, tmp_path):
    out = run_cfg(
        {
            "execution_job_configs": [
                job("a", value=1),
                {**job("b"), "input": {"extra_configs.value": "-1.res_1"}},
            ]
        }
    )
    status = next(v for v in out.state.jobs.values() if v["meta_name"] == "b")
    ran_with = json.loads((Path(status["job_dir"]) / "job_config.json").read_text())
    assert ran_with["extra_configs"] == {"type": "test_echo", "value": 1}
