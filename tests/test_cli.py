"""The two front ends as a user runs them: subprocesses, kill -9, resume, fast start-up."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml
from conftest import heavy_modules_after, subprocess_env

DJ_SANDBOX = [sys.executable, "-m", "djsandbox.cli"]


def write_config(path: Path, cfg: dict) -> Path:
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def echo(meta: str, calls: Path, **extra) -> dict:
    return {
        "hook": "EvaluateDataHook",
        "meta_name": meta,
        "extra_configs": {"type": "test_echo", "calls": str(calls), "name": meta, **extra},
    }


def test_list_prints_every_hook_and_factory():
    out = subprocess.run(
        DJ_SANDBOX + ["--list"], capture_output=True, text=True, check=True, env=subprocess_env()
    ).stdout
    for name in (
        "ProbeViaAnalyzerHook",
        "RefineRecipeViaKSigmaHook",
        "EvaluateModelHook",
        "DataPoolManipulator types:",
        "data_pool_cartesian_join",
        "text_classifier",
        "RefineRecipeViaModelFeedbackHook",
        "easyanimate",
        "vbench_video_evaluator",
        "video_inception_evaluator",
        "trinity-rft",
    ):
        assert name in out
    assert "not built yet" not in out  # every hook and component of the reference is built


def test_config_error_exits_nonzero_with_one_message(tmp_path):
    cfg = write_config(
        tmp_path / "bad.yaml",
        {"execution_job_configs": [{"hook": "TrainModelHok", "meta_name": "train"}]},
    )
    proc = subprocess.run(
        DJ_SANDBOX + ["--config", str(cfg)],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "execution_job_configs[0] (meta_name 'train'): hook" in proc.stderr
    assert "Did you mean 'TrainModelHook'?" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_top_level_key_is_named(tmp_path):
    cfg = write_config(tmp_path / "bad.yaml", {"project_nam": "x", "execution_job_configs": []})
    proc = subprocess.run(
        DJ_SANDBOX + ["--config", str(cfg)],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "'project_nam' (did you mean 'project_name'?)" in proc.stderr


def _state(work: Path) -> dict:
    try:
        return json.loads((work / "sandbox_state.json").read_text())
    except (OSError, json.JSONDecodeError):
        return {}


def test_kill_9_loses_no_finished_job_and_resume_reruns_the_interrupted_one(tmp_path):
    calls = tmp_path / "calls.log"
    work = tmp_path / "run"
    cfg = write_config(
        tmp_path / "sandbox.yaml",
        {
            "project_name": "kill-test",
            "work_dir": str(work),
            "plugins": ["sandbox_test_plugins"],
            "vars": {"sleep": 120},
            "execution_job_configs": [
                echo("first", calls, value=1),
                {
                    "hook": "EvaluateDataHook",
                    "meta_name": "slow",
                    "extra_configs": {
                        "type": "test_sleep",
                        "seconds": "${vars.sleep}",
                        "calls": str(calls),
                        "name": "slow",
                    },
                },
                echo("last", calls, value=3),
            ],
        },
    )
    proc = subprocess.Popen(
        DJ_SANDBOX + ["--config", str(cfg)],
        env=subprocess_env(),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        jobs = _state(work).get("jobs", {})
        started = calls.exists() and "slow" in calls.read_text().split()  # inside the component
        if started and any(
            j.get("meta_name") == "slow" and j.get("status") == "running" for j in jobs.values()
        ):
            break
        time.sleep(0.1)
    else:
        proc.kill()
        raise AssertionError("the slow job never started")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    before = _state(work)
    first = next(j for j in before["jobs"].values() if j["meta_name"] == "first")
    assert first["status"] == "done"

    subprocess.run(
        DJ_SANDBOX + ["--config", str(cfg), "resume=true", "vars.sleep=0"],
        env=subprocess_env(),
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    after = _state(work)
    statuses = {j["meta_name"]: j for j in after["jobs"].values()}
    assert {k: v["status"] for k, v in statuses.items()} == {
        "first": "done",
        "slow": "done",
        "last": "done",
    }
    assert statuses["first"]["finished"] == first["finished"], "finished job was rerun"
    assert calls.read_text().split() == ["first", "slow", "slow", "last"]
    assert after["context"]["iterations"][0]["anonymous"]["slow"] == {"res_1": 0.0}
    assert (work / "summary.md").exists() and (work / "config_snapshot.json").exists()


def test_hydra_help_and_cfg_do_not_import_heavy_libraries(tmp_path):
    for args in (["--help"], ["--cfg", "job", "+pipeline=demo"]):
        heavy, out = heavy_modules_after(args, ("torch", "lightning", "data_juicer"), tmp_path)
        assert heavy == [], (args, out[-500:])
    assert "pipelines:" in out and "RefineRecipeViaKSigmaHook" in out


def test_multirun_runs_each_override(tmp_path):
    pipeline_dir = tmp_path / "conf" / "pipeline"
    pipeline_dir.mkdir(parents=True)
    (pipeline_dir / "echo.yaml").write_text(
        "# @package _global_\nproject_name: mr\nplugins: [sandbox_test_plugins]\n"
        "vars: {value: 1}\nexecution_job_configs:\n"
        "  - {hook: EvaluateDataHook, meta_name: e, extra_configs: {type: test_echo, "
        "value: '${vars.value}'}}\n"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "djsandbox",
            "-m",
            "+pipeline=echo",
            "vars.value=1,2",
            f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
        ],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    states = sorted(
        (tmp_path / "outputs" / "mr").glob("*/multirun_*/*/sandbox_state.json")
    ) or sorted((tmp_path / "outputs" / "mr").glob("**/sandbox_state.json"))
    values = sorted(
        json.loads(p.read_text())["context"]["iterations"][0]["anonymous"]["e"]["res_1"]
        for p in states
    )
    assert values == [1, 2]


def test_hydra_resume_true_continues_the_newest_run(tmp_path):
    pipeline_dir = tmp_path / "conf" / "pipeline"
    pipeline_dir.mkdir(parents=True)
    (pipeline_dir / "flaky.yaml").write_text(
        "# @package _global_\nproject_name: rs\nplugins: [sandbox_test_plugins]\n"
        f"execution_job_configs:\n"
        f"  - {{hook: EvaluateDataHook, meta_name: ok, extra_configs: {{type: test_echo, "
        f"value: 1, calls: '{tmp_path / 'calls'}', name: ok}}}}\n"
        f"  - {{hook: EvaluateDataHook, meta_name: flaky, extra_configs: {{type: test_fail_once, "
        f"marker: '{tmp_path / 'marker'}', calls: '{tmp_path / 'calls'}', name: flaky}}}}\n"
    )
    base = [
        sys.executable,
        "-m",
        "djsandbox",
        "+pipeline=flaky",
        f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
    ]
    first = subprocess.run(base, capture_output=True, text=True, env=subprocess_env(), cwd=tmp_path)
    assert first.returncode == 1 and "meta_name 'flaky'" in first.stderr  # a job failed
    time.sleep(1.1)  # a new timestamped run folder
    second = subprocess.run(
        base + ["resume=true"], capture_output=True, text=True, env=subprocess_env(), cwd=tmp_path
    )
    assert second.returncode == 0, second.stderr[-2000:]
    assert (tmp_path / "calls").read_text().split() == ["ok", "flaky", "flaky"]


def test_default_pipeline_is_added_only_when_none_is_chosen():
    from djsandbox.__main__ import with_default_pipeline

    assert with_default_pipeline([]) == ["+pipeline=demo"]
    assert with_default_pipeline(["vars.k=2"]) == ["vars.k=2", "+pipeline=demo"]
    assert with_default_pipeline(["+pipeline=x"]) == ["+pipeline=x"]
    assert with_default_pipeline(["pipeline=x"]) == ["+pipeline=x"]
    assert with_default_pipeline(["--help"]) == ["--help"]


# -- validate-only mode -----------------------------------------------------------------------
def _pipelines() -> list[str]:
    from djsandbox.__main__ import CONF_DIR

    return sorted(p.stem for p in (Path(CONF_DIR) / "pipeline").glob("*.yaml"))


def test_check_true_validates_every_shipped_pipeline_and_writes_nothing(tmp_path):
    """Both spellings choose the pipeline; no run folder (not even Hydra's) is left behind."""
    from djsandbox.__main__ import CONF_DIR

    for i, name in enumerate(_pipelines()):
        choice = [] if name == "demo" else [("pipeline=" if i % 2 else "+pipeline=") + name]
        if name == "demo_hpo":  # a sweep: its base config is checked, no study is opened
            choice += ["-m", "hpo=optuna", "vars.k=2,3"]  # a swept key: its first value
        proc = subprocess.run(
            [sys.executable, "-m", "djsandbox", *choice, "check=true"],
            capture_output=True,
            text=True,
            # auto_prompt needs an OpenAI-compatible endpoint; validation checks one is set
            env={
                **subprocess_env(),
                "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
                "OPENAI_API_KEY": "x",
            },
            cwd=tmp_path,
        )
        assert proc.returncode == 0, (choice, proc.stderr[-2000:])
        assert name != "demo_hpo" or "check=true checks one run: vars.k=2" in proc.stderr
        shipped = yaml.safe_load((Path(CONF_DIR) / "pipeline" / f"{name}.yaml").read_text())
        assert (
            f"project '{shipped['project_name']}', experiment '{shipped['experiment_name']}'"
        ) in proc.stdout, choice
        for pipeline in shipped["pipelines"]:
            assert f"pipeline '{pipeline}'" in proc.stdout
        hooks = {
            job["hook"]
            for p in shipped["pipelines"].values()
            for jobs in p.values()
            for job in jobs
        }
        assert all(hook in proc.stdout for hook in hooks) and "(not created)" in proc.stdout
        assert ("-m ignored" in proc.stderr) == ("-m" in choice)
    assert list(tmp_path.iterdir()) == [], "a check leaves no run folder"


def test_misspelt_trainer_key_exits_2_before_any_job(tmp_path):
    (tmp_path / "conf" / "trainer").mkdir(parents=True)
    (tmp_path / "conf" / "trainer" / "typo.yaml").write_text(
        "defaults: [default, _self_]\nmax_epoch: 3\n"
    )
    base = [
        sys.executable,
        "-m",
        "djsandbox",
        "trainer=typo",
        f"hydra.searchpath=[file://{tmp_path / 'conf'}]",
    ]
    message = (
        "pipeline 'baseline', execution_job_configs[0] (meta_name 'train'): "
        "extra_configs.trainer.max_epoch: not a setting of lightning.Trainer (did you "
        "mean 'max_epochs'?)"
    )
    for extra in (["check=true"], []):
        proc = subprocess.run(
            base + extra, capture_output=True, text=True, env=subprocess_env(), cwd=tmp_path
        )
        assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
        assert "Traceback" not in proc.stderr
        if extra:
            assert not (tmp_path / "outputs").exists(), "a failed check leaves no run folder"
    assert not list(tmp_path.glob("outputs/**/sandbox_state.json")), "a job ran"
    assert not list(tmp_path.glob("outputs/**/iter_0")), "a job ran"


def test_dj_sandbox_check_prints_the_plan_and_runs_nothing(tmp_path):
    calls = tmp_path / "calls"
    ok = write_config(
        tmp_path / "ok.yaml",
        {
            "work_dir": str(tmp_path / "run"),
            "plugins": ["sandbox_test_plugins"],
            "pipelines": {
                "p": {
                    "execution_job_configs": [echo("first", calls, value=1)],
                    "evaluation_job_configs": [echo("second", calls, value=2)],
                }
            },
        },
    )
    proc = subprocess.run(
        DJ_SANDBOX + ["--config", str(ok), "--check"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "pipeline 'p': 2 job(s)" in proc.stdout
    lines = [line.split() for line in proc.stdout.splitlines() if "EvaluateDataHook" in line]
    assert lines == [
        ["execution_job_configs[0]", "first", "EvaluateDataHook", "test_echo"],
        ["evaluation_job_configs[0]", "second", "EvaluateDataHook", "test_echo"],
    ]
    bad = write_config(
        tmp_path / "bad.yaml",
        {
            "work_dir": str(tmp_path / "run"),
            "plugins": ["sandbox_test_plugins"],
            "execution_job_configs": [{**echo("first", calls), "hook": "EvaluateDataHok"}],
        },
    )
    proc = subprocess.run(
        DJ_SANDBOX + ["--config", str(bad), "--check"],
        capture_output=True,
        text=True,
        env=subprocess_env(),
        cwd=tmp_path,
    )
    assert proc.returncode == 2 and "Did you mean 'EvaluateDataHook'?" in proc.stderr
    assert not calls.exists() and not (tmp_path / "run").exists()


def test_dj_sandbox_check_accepts_every_shipped_pipeline(tmp_path, capsys, monkeypatch):
    """Each shipped pipeline, composed and written out as a reference-format file. auto_prompt
    gets an endpoint: without one it lacks a resource (exit 4, test_reference_format.py)."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from djsandbox import cli
    from djsandbox.__main__ import CONF_DIR
    from djsandbox.config import register_configs

    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "x")
    register_configs()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=CONF_DIR, version_base="1.3"):
        for name in _pipelines():
            cfg = compose(
                "sandbox", overrides=[f"+pipeline={name}", f"work_dir={tmp_path / 'run'}"]
            )
            path = tmp_path / f"{name}.yaml"
            OmegaConf.save(cfg, path)
            assert cli.main(["--config", str(path), "--check"]) == 0, name
            assert "check: the config is valid" in capsys.readouterr().out
    GlobalHydra.instance().clear()
    assert not (tmp_path / "run").exists()
