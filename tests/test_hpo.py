"""Sweeps: the HPO configs compose, the objective is read safely, the reference's hpo_config
runs as an Optuna study, and real Optuna sweeps run, fail trials properly and resume."""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import FINE_FOODS, subprocess_env

HPO_CONFIGS = {
    # hpo config -> (directions, optimized_metric)
    "optuna": (["maximize"], "refined.train.train_metrics.val_accuracy"),
    "accuracy_vs_rows": (
        ["maximize", "minimize"],
        ["refined.train.train_metrics.val_accuracy", "refined.train.train_metrics.train_rows"],
    ),
}


# -- composition ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def compose_hpo():
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    import djsandbox.__main__ as app
    from djsandbox.config import register_configs
    from djsandbox.context import register_resolver

    register_configs()
    register_resolver()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=app.CONF_DIR, version_base="1.3"):
        yield lambda overrides: compose("sandbox", overrides=overrides, return_hydra_config=True)
    GlobalHydra.instance().clear()


def test_hpo_group_lists_every_config_tested():
    import djsandbox.__main__ as app

    shipped = sorted(p.stem for p in (Path(app.CONF_DIR) / "hpo").glob("*.yaml"))
    assert shipped == sorted(HPO_CONFIGS)


@pytest.mark.parametrize("name", sorted(HPO_CONFIGS))
def test_each_hpo_config_composes_with_the_sweeper_settings(compose_hpo, name):
    from omegaconf import OmegaConf

    directions, metric = HPO_CONFIGS[name]
    cfg = compose_hpo(["+pipeline=demo_hpo", f"hpo={name}", "hydra.sweeper.study_name=s1"])
    sweeper = cfg.hydra.sweeper
    assert sweeper._target_.endswith("OptunaSweeper")
    assert sweeper.sampler._target_ == "optuna.samplers.TPESampler"
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher")
    assert OmegaConf.to_container(sweeper, resolve=True)["direction"] == (
        directions if len(directions) > 1 else directions[0]
    )
    objective = cfg.optimized_metric  # the pipeline's, or the one the hpo config sets
    assert (objective if isinstance(objective, str) else list(objective)) == metric
    # the study lives in the sweep folder, which has no timestamp, so a re-run finds it
    assert cfg.hydra.sweep.dir == "outputs/demo/fine_foods_hpo/sweep_s1"
    assert sweeper.storage == "sqlite:///outputs/demo/fine_foods_hpo/sweep_s1/optuna.db"
    assert sweeper.n_jobs == cfg.hydra.launcher.n_jobs == 2
    assert 0 < sweeper.max_failure_rate < 1
    assert cfg.hydra.callbacks.sweep_folder._target_ == "djsandbox.hpo.sweep.SweepFolder"
    assert dict(sweeper.params) == {
        "vars.k": "interval(1.5, 4)",
        "vars.min_len": "range(0, 300, 50)",
        "vars.min_words": "choice(1, 10, 30)",
    }


def test_sweeper_settings_are_set_from_the_command_line(compose_hpo):
    cfg = compose_hpo(
        [
            "+pipeline=demo_hpo",
            "hpo=optuna",
            "hydra.sweeper.n_trials=6",
            "hydra.launcher.n_jobs=3",
            "hydra/sweeper/sampler=random",
            "hydra.sweeper.storage=postgresql://u@db/optuna",
            "hydra.sweeper.direction=minimize",
        ]
    )
    sweeper = cfg.hydra.sweeper
    assert (sweeper.n_trials, sweeper.n_jobs) == (6, 3)
    assert sweeper.sampler._target_ == "optuna.samplers.RandomSampler"
    assert sweeper.storage == "postgresql://u@db/optuna" and sweeper.direction == "minimize"
    # The search space is changed on a -m command line as sweep overrides, e.g.
    # 'vars.k=interval(2, 3)' (params keys contain dots; see the sweep test below).


def test_search_space_parses_with_the_sweeper_grammar(compose_hpo):
    from hydra_plugins.hydra_optuna_sweeper._impl import create_params_from_overrides
    from optuna.distributions import (
        CategoricalDistribution,
        IntUniformDistribution,
        UniformDistribution,
    )

    cfg = compose_hpo(["+pipeline=demo_hpo", "hpo=optuna"])
    space, fixed = create_params_from_overrides(
        [f"{k}={v}" for k, v in cfg.hydra.sweeper.params.items()]
    )
    assert fixed == {}
    assert space["vars.k"] == UniformDistribution(1.5, 4)
    assert space["vars.min_len"] == IntUniformDistribution(0, 300, step=50)
    assert space["vars.min_words"] == CategoricalDistribution([1, 10, 30])


def test_hpo_pipeline_runs_as_a_single_run_config(compose_hpo):
    """The HPO pipeline validates as a plain run (its job recipes hold the swept values)."""
    cfg = compose_hpo(["+pipeline=demo_hpo", "vars.min_len=120"])
    process = cfg.pipelines.refined.refine_recipe_job_configs[0].dj_configs.process
    assert process[0].text_length_filter.min_len == 120
    # The objective is a validation split carved from the raw training set (the same rows in
    # every trial); the test set is no job of a trial, only the sweep's `final_test`.
    assert cfg.optimized_metric == "refined.train.train_metrics.val_accuracy"
    train = cfg.pipelines.refined.execution_job_configs[1].extra_configs
    assert train.val_from == cfg.vars.train and train.val_ratio == 0.2
    assert "evaluation_job_configs" not in cfg.pipelines.refined
    assert cfg.final_test.checkpoint == "refined.train.checkpoint"
    assert cfg.final_test.dataset_path == cfg.vars.test != cfg.vars.train


# -- the objective ----------------------------------------------------------------------------
def _context(*iterations: dict):
    """A context with one {pipeline: {meta_name: results}} mapping per iteration."""
    from djsandbox.context import Context

    ctx = Context()
    for i, results in enumerate(iterations):
        ctx.start_iteration(i)
        for pipeline, jobs in results.items():
            for name, res in jobs.items():
                ctx.record(pipeline, name, res)
    return ctx


def test_objective_reads_the_final_iteration_as_float():
    from djsandbox.hpo.objective import objective_from_context, parse_metric_spec

    ctx = _context(
        *({"p": {"test": {"res_1": {"accuracy": 0.5 + i}, "rows": 10 + i}}} for i in range(3))
    )
    assert objective_from_context(parse_metric_spec("p.test.res_1.accuracy"), ctx) == 2.5
    both = objective_from_context(parse_metric_spec(["p.test.res_1.accuracy", "p.test.rows"]), ctx)
    assert both == [2.5, 12.0] and all(isinstance(v, float) for v in both)
    assert objective_from_context(None, ctx) is None


def test_missing_metric_names_what_exists():
    from djsandbox.hpo.objective import ObjectiveError, objective_from_context

    ctx = _context({"p": {"test": {"res_1": {"accuracy": 0.5}}, "train": {"checkpoint": "x"}}})
    with pytest.raises(ObjectiveError) as info:
        objective_from_context(["p.test.res_1.acc"], ctx)
    msg = str(info.value)
    assert "p.test.res_1.acc" in msg and "p.test.res_1.accuracy" in msg
    assert "p.train.checkpoint" in msg
    with pytest.raises(ObjectiveError, match=r"no results from pipeline 'q'.*\['p'\]"):
        objective_from_context(["q.test.res_1"], ctx)


@pytest.mark.parametrize("value", [float("nan"), None, float("inf"), "0.5", True])
def test_nan_none_and_non_numbers_are_failures_never_values(value):
    from djsandbox.hpo.objective import ObjectiveError, TrialFailedError, objective_from_context

    ctx = _context({"p": {"test": {"res_1": value}}})
    with pytest.raises(ObjectiveError) as info:
        objective_from_context(["p.test.res_1"], ctx)
    assert isinstance(info.value, TrialFailedError) and "p.test.res_1" in str(info.value)


def test_a_mapping_metric_suggests_its_numeric_keys():
    from djsandbox.hpo.objective import ObjectiveError, objective_from_context

    ctx = _context({"p": {"test": {"res_1": {"accuracy": 0.5, "labels": ["a"]}}}})
    with pytest.raises(ObjectiveError, match=r"p\.test\.res_1\.accuracy"):
        objective_from_context(["p.test.res_1"], ctx)


@pytest.mark.parametrize("spec", ["accuracy", "p.test", ["p.test.res_1", "bad"], 3, "-1.res_1.x"])
def test_malformed_metric_specs_are_config_errors(spec):
    from djsandbox.errors import ConfigError
    from djsandbox.hpo.objective import parse_metric_spec

    with pytest.raises(ConfigError, match="optimized_metric"):
        parse_metric_spec(spec)


def test_metric_naming_a_missing_job_fails_before_the_run(run_cfg):
    """In a single Hydra run the same check exits 2 before any job; here the function."""
    from djsandbox.errors import ConfigError
    from djsandbox.hpo.objective import check_metric_against_plan
    from djsandbox.plan import build_plan

    plan = build_plan({"execution_job_configs": [{"hook": "EvaluateDataHook", "meta_name": "e"}]})
    check_metric_against_plan(["anonymous.e.res_1"], plan.pipelines)
    with pytest.raises(ConfigError, match=r"no job 'x'; its jobs: \['e'\]"):
        check_metric_against_plan(["anonymous.x.res_1"], plan.pipelines)
    with pytest.raises(ConfigError, match="no pipeline 'p'"):
        check_metric_against_plan(["p.e.res_1"], plan.pipelines)


# -- the reference's hpo_config ---------------------------------------------------------------
def _reference_setup(tmp_path: Path, hpo: dict, rows: int = 60) -> Path:
    lines = (FINE_FOODS / "train.jsonl").read_text(encoding="utf-8").splitlines()[:rows]
    (tmp_path / "data.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "recipe.yaml").write_text(
        yaml.safe_dump(
            {
                "project_name": "hpo_ref",
                "np": 1,
                "text_keys": "text",
                "dataset_path": "data.jsonl",
                "export_path": "${work_dir}/processed.jsonl",
                "process": [
                    {"words_num_filter": {"lang": "en", "min_num": 1, "max_num": 100000}},
                    {"text_length_filter": {"min_len": 10, "max_len": 100000}},
                ],
            }
        )
    )
    (tmp_path / "hpo.yaml").write_text(yaml.safe_dump(hpo))
    cfg = tmp_path / "sandbox.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "project_name": "hpo_ref",
                "experiment_name": "ref",
                "work_dir": str(tmp_path / "work"),
                "hpo_config": "hpo.yaml",
                "plugins": ["hpo_test_plugins"],
                "execution_job_configs": [
                    {"hook": "ProcessDataHook", "meta_name": "process", "dj_configs": "recipe.yaml"}
                ],
                "evaluation_job_configs": [
                    {
                        "hook": "EvaluateDataHook",
                        "meta_name": "count",
                        "input": {"extra_configs.dataset_path": "anonymous.process.res_1"},
                        "extra_configs": {"type": "test_hpo_count_rows"},
                    }
                ],
            },
            sort_keys=False,
        )
    )
    return cfg


REFERENCE_HPO = {
    "sweep_name": "min_len_sweep",
    "sweep_max_count": 2,
    "method": "grid",
    "metric": {"name": "anonymous.count.res_1.rows", "goal": "minimize"},
    "parameters": {"text_length_filter.min_len": {"values": [50, 300]}},
    "early_terminate": {"type": "hyperband", "min_iter": 3},
}


def test_reference_hpo_config_runs_as_an_optuna_study(tmp_path, monkeypatch, capsys, caplog):
    import optuna

    from djsandbox.cli import main

    cfg = _reference_setup(tmp_path, REFERENCE_HPO)
    monkeypatch.chdir(tmp_path)
    caplog.set_level("INFO", logger="djsandbox")
    assert main(["--config", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert "best trial #" in out and "text_length_filter.min_len': 300" in out
    assert "early_terminate" in caplog.text and "ignored" in caplog.text
    work = tmp_path / "work"
    study = optuna.load_study(study_name="min_len_sweep", storage=f"sqlite:///{work / 'optuna.db'}")
    trials = sorted(study.trials, key=lambda t: t.params["text_length_filter.min_len"])
    assert [t.state.name for t in trials] == ["COMPLETE", "COMPLETE"]
    assert trials[0].value > trials[1].value  # a higher min_len keeps fewer rows
    for trial in trials:  # each trial ran in its own folder, with the value in its recipe
        folder = work / f"trial_{trial.number}"
        recipe = json.loads(next(folder.rglob("job_config.json")).read_text())["dj_configs"]
        assert (
            recipe["process"][1]["text_length_filter"]["min_len"]
            == trial.params["text_length_filter.min_len"]
        )
        assert recipe["process"][0]["words_num_filter"]["min_num"] == 1
    result = json.loads((work / "hpo_result.json").read_text())
    assert result["best_params"] == {"text_length_filter.min_len": 300}
    report = (work / "sweep_report" / "report.md").read_text()
    assert "Best trial" in report or "best trial" in report.lower()
    # running the same command again continues the stored study: nothing left to run
    assert main(["--config", str(cfg)]) == 0
    assert (
        len(
            optuna.load_study(
                study_name="min_len_sweep", storage=f"sqlite:///{work / 'optuna.db'}"
            ).trials
        )
        == 2
    )


def test_check_validates_a_reference_hpo_config_without_opening_the_study(
    tmp_path, monkeypatch, capsys
):
    from djsandbox.cli import main

    cfg = _reference_setup(tmp_path, REFERENCE_HPO)
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(cfg), "--check"]) == 0
    out = capsys.readouterr().out
    assert "study 'min_len_sweep'" in out and "text_length_filter.min_len" in out
    assert "check: the config is valid" in out
    assert not (tmp_path / "work").exists(), "no study, no trial folder"


@pytest.mark.parametrize(
    "change, message",
    [
        ({"method": "hyperopt"}, "method: 'hyperopt' is not one of bayes, random, grid"),
        ({"metric": {"name": "rows", "goal": "maximize"}}, "metric.name: optimized_metric: 'rows'"),
        ({"metric": {"name": "a.b.c", "goal": "target"}}, "metric.goal: 'target'"),
        (
            {"parameters": {"text_length_filter.min_len": {"distribution": "normal", "mu": 1}}},
            "parameters.text_length_filter.min_len: distribution 'normal' is not supported",
        ),
        (
            {"parameters": {"text_length_filter": {"min": 1, "max": 2}}},
            "parameters.text_length_filter: the name must be 'op_name.argument'",
        ),
        ({"parameters": {"text_length_filter.min_len": {"min": 9, "max": 2}}}, "min 9 is greater"),
        ({"sweep_max_count": 0}, "sweep_max_count: expected a positive integer"),
        ({"sweep_cont": 3}, "unknown key(s) ['sweep_cont']"),
        (
            {
                "method": "grid",
                "parameters": {
                    "text_length_filter.min_len": {"distribution": "uniform", "min": 1, "max": 2}
                },
            },
            "method grid needs discrete parameters",
        ),
        (
            {"parameters": {"perplexity_filter.max_ppl": {"values": [1, 2]}}},
            "no job's dj_configs recipe has an op 'perplexity_filter'",
        ),
    ],
)
def test_bad_hpo_config_names_the_file_and_key(tmp_path, monkeypatch, change, message):
    from djsandbox.cli import load_reference_config
    from djsandbox.errors import ConfigError
    from djsandbox.hpo.reference import run_reference_study

    cfg_path = _reference_setup(tmp_path, {**REFERENCE_HPO, **change})
    monkeypatch.chdir(tmp_path)
    cfg = load_reference_config(cfg_path, [])
    with pytest.raises(ConfigError) as info:
        run_reference_study(cfg, [tmp_path])
    assert str(tmp_path / "hpo.yaml") in str(info.value) and message in str(info.value)
    assert not (tmp_path / "work" / "trial_0").exists()  # nothing ran


def test_wandb_parameter_forms_translate_to_optuna_suggestions():
    import optuna

    from djsandbox.hpo.reference_config import _param

    specs = {
        "a.int": {"min": 1, "max": 9},
        "a.float": {"min": 0.1, "max": 0.9},
        "a.cat": {"values": ["x", "y"]},
        "a.const": {"value": 7},
        "a.q": {"distribution": "q_uniform", "min": 0, "max": 100, "q": 25},
        "a.logv": {"distribution": "log_uniform_values", "min": 1e-3, "max": 1.0},
        "a.qlog": {"distribution": "q_log_uniform_values", "min": 256, "max": 8192},
        "a.log": {"distribution": "log_uniform", "min": 0, "max": 1},
    }
    params = {name: _param(name, spec, name, "bayes") for name, spec in specs.items()}
    assert params["a.q"].grid == [0, 25, 50, 75, 100] and params["a.cat"].grid == ["x", "y"]
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(5):
        trial = study.ask()
        v = {name: p.suggest(trial) for name, p in params.items()}
        assert isinstance(v["a.int"], int) and 1 <= v["a.int"] <= 9
        assert 0.1 <= v["a.float"] <= 0.9 and v["a.cat"] in ("x", "y") and v["a.const"] == 7
        assert v["a.q"] in (0, 25, 50, 75, 100) and 1e-3 <= v["a.logv"] <= 1
        assert isinstance(v["a.qlog"], int) and 256 <= v["a.qlog"] <= 8192
        assert 1 <= v["a.log"] <= math.e + 1e-9
        study.tell(trial, 0.0)


def test_values_reach_every_recipe_that_has_the_op(tmp_path):
    from djsandbox.hpo.reference import apply_values

    recipe = {"process": [{"clean_email_mapper": None}, {"text_length_filter": {"min_len": 1}}]}
    cfg = {
        "work_dir": str(tmp_path),
        "vars": {"k": 3},
        "pipelines": {
            "a": {
                "probe_job_configs": [{"hook": "ProbeViaAnalyzerHook", "dj_configs": recipe}],
                "execution_job_configs": [
                    {"hook": "ProcessDataHook", "input": {"dj_configs": "-1.res_1"}}
                ],
            }
        },
    }
    out = apply_values(cfg, {"text_length_filter.min_len": 40, "vars.k": 2}, [tmp_path])
    probe = out["pipelines"]["a"]["probe_job_configs"][0]
    assert probe["local"] == {"dj_configs.process.1.text_length_filter.min_len": 40}
    assert "local" not in out["pipelines"]["a"]["execution_job_configs"][0]  # recipe from input
    assert out["vars"] == {"k": 2} and cfg["vars"] == {"k": 3}  # the original is untouched
    assert "local" not in cfg["pipelines"]["a"]["probe_job_configs"][0]


def test_validation_redirects_hpo_config_to_the_front_ends(run_cfg):
    from djsandbox.errors import ConfigError

    with pytest.raises(ConfigError, match="hpo_config: a study is run by `dj-sandbox --config`"):
        run_cfg(
            {
                "hpo_config": "hpo.yaml",
                "execution_job_configs": [
                    {
                        "hook": "EvaluateDataHook",
                        "meta_name": "a",
                        "extra_configs": {"type": "test_echo", "value": 1},
                    }
                ],
            }
        )


# -- real Hydra sweeps ------------------------------------------------------------------------
HPO_ECHO = """# @package _global_
project_name: hpoecho
experiment_name: e
plugins: [hpo_test_plugins]
optimized_metric: anonymous.score.res_1.score
vars: {value: 1}
hydra:
  sweeper:
    params:
      vars.value: choice(1, 2, 3, -1)
execution_job_configs:
  - hook: EvaluateDataHook
    meta_name: score
    extra_configs: {type: test_hpo_score, value: '${vars.value}'}
"""


def _sweep(
    tmp_path: Path, *overrides: str, pipeline: str = "hpo_echo", timeout: int = 300
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "djsandbox",
            "-m",
            f"+pipeline={pipeline}",
            "hpo=optuna",
            f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
            *overrides,
        ],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=tmp_path,
        timeout=timeout,
    )


def _trials(storage: str, study_name: str) -> list:
    import optuna

    return optuna.load_study(study_name=study_name, storage=storage).trials


def test_optuna_sweep_counts_nan_as_failure_and_resumes(tmp_path):
    """One of the values makes the objective NaN: that trial is FAIL (not a value) and the
    sweep goes on (one failure in a batch of two is within max_failure_rate 0.5); the same
    command then adds trials to the stored study.

    Seeded random sampling, not the grid sampler: hydra-optuna-sweeper 1.3.0 crashes when the
    very last grid trial fails (optuna raises from `Study.stop` outside an objective), so a
    grid test would pass or fail depending on the grid's random order."""
    (tmp_path / "conf" / "pipeline").mkdir(parents=True)
    (tmp_path / "conf" / "pipeline" / "hpo_echo.yaml").write_text(HPO_ECHO)
    args = ("hydra.sweeper.study_name=s", "hydra.launcher.n_jobs=2")
    first = _sweep(
        tmp_path,
        *args,
        "hydra/sweeper/sampler=random",
        "hydra.sweeper.sampler.seed=0",
        "hydra.sweeper.n_trials=4",
    )
    assert first.returncode == 0, first.stderr[-3000:]
    sweep_dir = tmp_path / "outputs" / "hpoecho" / "e" / "sweep_s"
    storage = f"sqlite:///{sweep_dir / 'optuna.db'}"
    trials = _trials(storage, "s")
    assert len(trials) == 4
    assert any(t.params["vars.value"] == -1 for t in trials), "seed 0 should draw -1"
    for trial in trials:
        if trial.params["vars.value"] == -1:
            assert trial.state.name == "FAIL" and trial.values is None
        else:
            assert trial.state.name == "COMPLETE" and trial.value == trial.params["vars.value"]
    logs = first.stdout + first.stderr
    assert "Failed experiment" in logs and "is None (a NaN" in logs
    for trial in trials:  # each trial knows its run folder, which holds that run
        state = json.loads(
            (tmp_path / trial.user_attrs["run_dir"] / "sandbox_state.json").read_text()
        )
        assert (
            state["context"]["iterations"][0]["anonymous"]["score"]["res_1"]["value"]
            == trial.params["vars.value"]
        )
    results = yaml.safe_load((sweep_dir / "optimization_results.yaml").read_text())
    assert results["best_value"] == max(t.value for t in trials if t.state.name == "COMPLETE")

    # Continue with random sampling, never stopping on failures; the search space given on
    # the command line (the same as the pipeline's: a stored study keeps its distributions).
    second = _sweep(
        tmp_path,
        *args,
        "hydra/sweeper/sampler=random",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.max_failure_rate=1.0",
        "vars.value=choice(1,2,3,-1)",
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert "already holds 4 trial(s)" in second.stdout + second.stderr
    trials = _trials(storage, "s")
    assert len(trials) == 6
    run_dirs = {t.user_attrs["run_dir"] for t in trials}
    assert len(run_dirs) == 6  # the resumed trials did not reuse the first ones' folders
    assert len({Path(d).parent for d in run_dirs}) == 2  # one subfolder per invocation


def test_sweep_stops_when_a_whole_batch_fails(tmp_path):
    (tmp_path / "conf" / "pipeline").mkdir(parents=True)
    (tmp_path / "conf" / "pipeline" / "hpo_echo.yaml").write_text(
        HPO_ECHO.replace("choice(1, 2, 3, -1)", "choice(-1, -2)")
    )
    proc = _sweep(
        tmp_path,
        "hydra.sweeper.study_name=f",
        "hydra.sweeper.n_trials=4",
        "hydra.launcher.n_jobs=2",
    )
    assert proc.returncode != 0
    assert "max_failure_rate=0.5" in proc.stdout + proc.stderr
    storage = f"sqlite:///{tmp_path / 'outputs/hpoecho/e/sweep_f/optuna.db'}"
    assert [t.state.name for t in _trials(storage, "f")] == ["FAIL", "FAIL"]


def test_single_run_with_missing_metric_exits_2_naming_the_keys(tmp_path):
    (tmp_path / "conf" / "pipeline").mkdir(parents=True)
    (tmp_path / "conf" / "pipeline" / "hpo_echo.yaml").write_text(HPO_ECHO)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "djsandbox",
            "+pipeline=hpo_echo",
            "optimized_metric=anonymous.score.res_1.acc",
            f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
        ],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "anonymous.score.res_1.acc" in proc.stderr
    assert "anonymous.score.res_1.score" in proc.stderr  # the keys that do exist
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_real_sweep_on_the_demo_with_two_workers_then_resume(tmp_path):
    """4 trials with 2 joblib workers on demo_hpo, then the same command resumes to 6."""
    env_cache = tmp_path / "cache"
    os.environ["DJSANDBOX_CACHE_DIR"] = str(env_cache)  # inherited by the subprocesses
    try:
        args = (
            "hydra.sweeper.study_name=t",
            "hydra.launcher.n_jobs=2",
            "hydra.sweeper.sampler.seed=1",
        )
        (tmp_path / "conf").mkdir()
        first = _sweep(
            tmp_path, *args, "hydra.sweeper.n_trials=4", pipeline="demo_hpo", timeout=900
        )
        assert first.returncode == 0, first.stderr[-3000:]
        second = _sweep(
            tmp_path, *args, "hydra.sweeper.n_trials=2", pipeline="demo_hpo", timeout=900
        )
        assert second.returncode == 0, second.stderr[-3000:]
    finally:
        os.environ.pop("DJSANDBOX_CACHE_DIR", None)
    sweep_dir = tmp_path / "outputs" / "demo" / "fine_foods_hpo" / "sweep_t"
    trials = _trials(f"sqlite:///{sweep_dir / 'optuna.db'}", "t")
    assert len(trials) == 6 and all(t.state.name == "COMPLETE" for t in trials)
    assert all(0.5 < t.value <= 1 for t in trials)
    # The analysis (same data, same ops) is computed once: the first batch's two trials start
    # together, one waits on the job cache's lock and restores it; every later trial does.
    logs = "".join(p.read_text() for p in sweep_dir.rglob("__main__.log"))
    analysis = r"job cache {}: pipeline 'refined', probe_job_configs\[0\]"
    assert len(re.findall(analysis.format("hit"), logs)) >= 5, logs[-3000:]
    assert len(re.findall(analysis.format("store"), logs)) == 1
    report = (sweep_dir / "report" / "report.md").read_text()  # written when the sweep ends
    assert "refined.train.train_metrics.val_accuracy" in report
    assert "Test set (scored once, after the sweep)" in report
    final = json.loads((sweep_dir / "final_test.json").read_text())
    assert final[0]["trial"] == min(trials, key=lambda t: -t.value).number
    assert 0.5 < final[0]["metrics"]["accuracy"] <= 1


def test_interrupted_reference_trials_are_queued_again(tmp_path):
    import optuna

    from djsandbox.hpo.reference import _reopen_interrupted

    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    study = optuna.create_study(study_name="s", storage=storage)
    trial = study.ask()
    trial.suggest_int("text_length_filter.min_len", 0, 100)  # then the process was killed
    study = optuna.load_study(study_name="s", storage=storage)
    _reopen_interrupted(study)
    states = [t.state.name for t in study.get_trials()]
    assert states == ["FAIL", "WAITING"]
    assert study.get_trials()[1].system_attrs["fixed_params"] == trial.params


# -- the test set, scored once after the sweep ----------------------------------------------------
def _fake_trial_run(folder: Path, score: float) -> Path:
    """A trial's run folder whose context holds a 'checkpoint' (a file with its test score)."""
    from djsandbox.context import STATE_FILE, Context, RunState

    folder.mkdir(parents=True)
    (folder / "model.txt").write_text(str(score))
    ctx = Context()
    ctx.start_iteration(0)
    ctx.record("refined", "train", {"checkpoint": str(folder / "model.txt")})
    RunState(folder / STATE_FILE, ctx).save()
    return folder


def test_final_test_scores_only_the_best_trial_once_and_the_report_keeps_it_apart(tmp_path):
    import hpo_test_plugins  # noqa: F401 - registers the test evaluator
    import optuna

    from djsandbox.hpo.final_test import score_final_test
    from djsandbox.reporting.sweep_report import write_sweep_report

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(direction="maximize")
    vals = {0: 0.70, 1: 0.81, 2: 0.75}  # validation objective; best: trial 1
    for n, v in vals.items():
        trial = study.ask({"k": optuna.distributions.UniformDistribution(1, 4)})
        run = _fake_trial_run(tmp_path / f"trial{n}", 0.5 + n / 100)  # its test score
        trial.set_user_attr("run_dir", str(run))
        study.tell(trial, v)
    spec = {"checkpoint": "refined.train.checkpoint", "type": "test_hpo_checkpoint_score"}
    scored = score_final_test(study, spec, tmp_path / "sweep")
    assert [(r["trial"], r["metrics"]["accuracy"]) for r in scored] == [(1, 0.51)]
    assert json.loads((tmp_path / "sweep" / "final_test.json").read_text()) == scored
    # A resumed sweep with the same best trial does not score the test set again.
    (tmp_path / "trial1" / "model.txt").unlink()
    assert score_final_test(study, spec, tmp_path / "sweep") == scored
    text = write_sweep_report(study, tmp_path / "sweep" / "report").read_text()
    section = text.split("## Test set (scored once, after the sweep)")[1].split("\n## ")[0]
    assert "| 1 | 0.51 |" in section and "0.52" not in section and "0.5 |" not in section
    # 3 trials: importances come with a caveat and 2 decimals.
    importances = text.split("## Parameter importances")[1].split("\n## ")[0]
    assert "only 3 completed trials" in importances
    assert not re.search(r"\d\.\d{3}", importances)


def test_final_test_spec_is_checked():
    from djsandbox.errors import ConfigError
    from djsandbox.final_test_spec import parse_final_test

    assert parse_final_test(None) is None
    with pytest.raises(ConfigError, match="final_test: missing type"):
        parse_final_test({"checkpoint": "refined.train.checkpoint"})
    with pytest.raises(ConfigError, match="expected a mapping"):
        parse_final_test("refined.train.checkpoint")


def test_a_sweep_scores_its_best_trial_on_the_test_set_when_it_ends(tmp_path):
    """Through Hydra: SweepFolder scores `final_test` for the best trial after the sweep."""
    (tmp_path / "conf" / "pipeline").mkdir(parents=True)
    (tmp_path / "conf" / "pipeline" / "hpo_echo.yaml").write_text(
        HPO_ECHO.replace("vars.value: choice(1, 2, 3, -1)", "vars.value: choice(1, 2, 3)")
        + "final_test: {checkpoint: anonymous.score.res_1.value, type: test_hpo_checkpoint_score}\n"
    )
    proc = _sweep(
        tmp_path,
        "hydra.sweeper.study_name=f",
        "hydra.launcher.n_jobs=1",
        "hydra/sweeper/sampler=random",
        "hydra.sweeper.sampler.seed=0",
        "hydra.sweeper.n_trials=3",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    sweep_dir = tmp_path / "outputs" / "hpoecho" / "e" / "sweep_f"
    trials = _trials(f"sqlite:///{sweep_dir / 'optuna.db'}", "f")
    best = max(trials, key=lambda t: t.value)
    (final,) = json.loads((sweep_dir / "final_test.json").read_text())
    assert final["trial"] == best.number and final["metrics"]["accuracy"] == best.value
    report = (sweep_dir / "report" / "report.md").read_text()
    assert "## Test set (scored once, after the sweep)" in report
