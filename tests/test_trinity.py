"""The `trinity-rft` trainer: its config handling, environment, monitor parsing and process
handling (with a fake `trinity` executable; Trinity itself needs GPUs)."""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import pytest
import yaml

from djsandbox.envs import EnvSpec, build_commands
from djsandbox.errors import ConfigError
from djsandbox.models.trinity import config as tconfig
from djsandbox.models.trinity.checks import check_train
from djsandbox.models.trinity.monitor import parse_line, parse_lines
from djsandbox.models.trinity.run import env_spec, requirements, run_train
from djsandbox.resource_problems import Resource

# Lines as Trinity-RFT 0.6.0 prints them (trinity/utils/monitor.py, log.py): Ray's actor
# prefix on stdout, its logger's prefix, the monitor's dict with floats formatted :.6g and
# other values as repr; and the older logger prefix the reference's pattern matched.
RAY_LINE = (
    "(Trainer pid=3839503) INFO 05-08 11:11:13 [monitor.py:97] Step 12: "
    "{'perf/throughput': 1234.57, 'actor/pg_loss': -0.0123, 'critic/score/mean': 0.5, "
    "'response_length/mean': 1.23457e+06}"
)
PLAIN_LINE = (
    "INFO 05-08 11:11:14 [monitor.py:97] Step 13: {'actor/pg_loss': nan, 'lr': 1e-06, "
    "'batch': 32, 'mode': 'train', 'grad/max': -inf}"
)
OLD_LINE = "(Trainer pid=7) INFO 05-08 11:11:13 monitor.py:96] Step 2: {'critic/score/mean': 0.25}"


def test_monitor_lines_are_parsed_with_ray_prefix_and_plain() -> None:
    step, record = parse_line(RAY_LINE)
    assert step == 12
    assert record == {
        "perf/throughput": 1234.57,
        "actor/pg_loss": -0.0123,
        "critic/score/mean": 0.5,
        "response_length/mean": 1.23457e06,
    }
    step, record = parse_line(PLAIN_LINE)
    assert step == 13 and record["lr"] == 1e-06 and record["batch"] == 32.0
    assert str(record["actor/pg_loss"]) == "nan" and record["grad/max"] == float("-inf")
    assert "mode" not in record  # not a number: no curve
    assert parse_line(OLD_LINE) == (2, {"critic/score/mean": 0.25})
    assert parse_line("Step 3: {'a': 2}") == (3, {"a": 2.0})


@pytest.mark.parametrize(
    "line",
    [
        "(Trainer pid=1) INFO 05-08 11:11:13 monitor.py:96] Step 12: {'perf/throughput': 12",
        "(Trainer pid=1) INFO [monitor.py:97] Step 12: {'mode': 'train'}",
        "INFO [monitor.py:97] Step 12: {'a': 1} and more",
        "INFO [monitor.py:97] Step 12: {'a': __import__('os')}",
        "(Trainer pid=1) INFO monitor.py:96] Step x: {'a': 1}",
        "INFO 05-08 11:11:13 trainer.py:20] Step 12 done",
        "Step 4: {}",
        "",
        "Traceback (most recent call last):",
    ],
)
def test_other_and_malformed_lines_are_ignored(line: str) -> None:
    assert parse_line(line) is None


def test_parse_lines_keeps_monitor_lines_in_order() -> None:
    lines = ["starting", RAY_LINE, "noise {'a': 1}", OLD_LINE, PLAIN_LINE]
    assert [step for step, _ in parse_lines(lines)] == [12, 2, 13]


# -- the Trinity config ---------------------------------------------------------------------


def test_config_from_file_or_inline_exactly_one(tmp_path: Path) -> None:
    file = tmp_path / "rft.yaml"
    file.write_text(yaml.safe_dump({"project": "p", "mode": "both"}))
    assert tconfig.source_config({"trinity_config_path": str(file)})["project"] == "p"
    assert tconfig.source_config({"trinity_config": {"name": "n"}}) == {"name": "n"}
    with pytest.raises(ConfigError, match="both given"):
        tconfig.source_config({"trinity_config_path": str(file), "trinity_config": {"a": 1}})
    with pytest.raises(ConfigError, match="trinity_config_path: missing"):
        tconfig.source_config({})
    with pytest.raises(ConfigError, match=r"trinity_config_path: file '.*nope.yaml' not found"):
        tconfig.source_config({"trinity_config_path": str(tmp_path / "nope.yaml")})
    file.write_text("- a list\n")
    with pytest.raises(ConfigError, match="holds list; expected a mapping"):
        tconfig.source_config({"trinity_config_path": str(file)})
    with pytest.raises(ConfigError, match="trinity_config: expected a mapping"):
        tconfig.source_config({"trinity_config": ["x"]})


def test_inline_omegaconf_config_is_plain() -> None:
    from omegaconf import OmegaConf

    inline = OmegaConf.create({"cluster": {"node_num": 1}, "x": "${cluster.node_num}"})
    assert tconfig.source_config({"trinity_config": inline}) == {
        "cluster": {"node_num": 1},
        "x": 1,
    }


def test_cluster_keys_must_be_positive_integers() -> None:
    assert tconfig.cluster_problems({"cluster": {"node_num": 1, "gpu_per_node": 8}}, "c") == []
    problems = tconfig.cluster_problems({"cluster": {"node_num": 0, "gpu_per_node": "8"}}, "c")
    assert problems == [
        "c: cluster.node_num: got 0; expected a positive integer",
        "c: cluster.gpu_per_node: got '8'; expected a positive integer",
    ]
    assert tconfig.cluster_problems({"cluster": 3}, "c") == [
        "c: cluster: expected a mapping (node_num, gpu_per_node)"
    ]


def test_checkpoint_folder_follows_trinity_layout(tmp_path: Path) -> None:
    filled = tconfig.with_checkpoint_root({}, tmp_path)
    assert filled["checkpoint_root_dir"] == str(tmp_path.resolve() / "checkpoints")
    assert tconfig.checkpoint_dir(filled) == tmp_path.resolve() / "checkpoints/Trinity-RFT/rft"
    given = {"checkpoint_root_dir": str(tmp_path / "ck"), "project": "P", "group": "G"}
    given["name"] = "N"
    assert tconfig.checkpoint_dir(tconfig.with_checkpoint_root(given, tmp_path)) == (
        tmp_path.resolve() / "ck/P/G/N"
    )


def test_written_config_holds_no_secret(tmp_path: Path) -> None:
    config = {
        "model": {"model_path": "/m", "api_key": "sk-verysecret123"},
        "explorer": {"auxiliary_models": [{"api_key": "sk-other4567"}]},
    }
    path, secrets = tconfig.write_job_config(config, tmp_path)
    text = path.read_text()
    assert "sk-verysecret123" not in text and "sk-other4567" not in text
    written = yaml.safe_load(text)
    name = written["model"]["api_key"].removeprefix("${oc.env:").removesuffix("}")
    assert secrets[name] == "sk-verysecret123" and written["model"]["model_path"] == "/m"
    assert set(secrets.values()) == {"sk-verysecret123", "sk-other4567"}


# -- the environment ------------------------------------------------------------------------


def test_environment_installs_the_package_or_the_checkout(tmp_path: Path) -> None:
    assert requirements({}) == ["trinity-rft==0.6.0", "pyarrow<26", "greenlet", "fastapi"]
    spec = env_spec({"env_name": "trinity", "env_manager": "venv"})
    assert isinstance(spec, EnvSpec) and spec.requirements[0] == "trinity-rft==0.6.0"
    commands = build_commands(spec, tmp_path / "env", ["virtualenv"])
    install = commands[-1]
    assert install[1:4] == ["-m", "pip", "install"]
    assert install[4:] == ["trinity-rft==0.6.0", "pyarrow<26", "greenlet", "fastapi"]

    home = tmp_path / "Trinity-RFT"
    spec = env_spec(
        {
            "env_name": "trinity",
            "env_manager": "conda",
            "env_params": {"env_py_version": "3.10"},
            "trinity_home": str(home),
        }
    )
    commands = build_commands(spec, tmp_path / "env", ["conda"])
    assert commands[0] == ["conda", "create", "-y", "-p", str(tmp_path / "env"), "python=3.10"]
    assert ["-e", str(home.resolve())] == commands[1][-2:]  # editable, alone (it has a flag)
    assert commands[2][-3:] == ["pyarrow<26", "greenlet", "fastapi"]

    own = env_spec({"env_name": "t", "env_manager": "uv", "env_params": {"requirements": ["x"]}})
    assert own.requirements == ("x",)


# -- validation ------------------------------------------------------------------------------


def test_validation_says_real_runs_need_a_gpu(monkeypatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    problems = check_train({"trinity_config": {"mode": "both"}})
    assert len(problems) == 1 and isinstance(problems[0], Resource)
    assert problems[0].kind == "gpu" and "needs NVIDIA GPUs" in problems[0]


def test_validation_names_bad_keys(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    bad = tmp_path / "rft.yaml"
    bad.write_text(yaml.safe_dump({"cluster": {"gpu_per_node": -1}}))
    problems = [str(p) for p in check_train({"trinity_config_path": str(bad)}) if p]
    assert f"trinity_config_path {str(bad)!r}: cluster.gpu_per_node: got -1" in problems[0]
    problems = check_train(
        {
            "trinity_config_path": str(tmp_path / "missing.yaml"),
            "env_name": "trinity",
            "env_manager": "condaa",
            "trinity_home": str(tmp_path),
        }
    )
    text = "\n".join(problems)
    assert "trinity_config_path: file" in text and "missing.yaml' not found" in text
    assert "env_manager: 'condaa' is not an environment manager" in text
    assert "did you mean 'conda'" in text
    home = [p for p in problems if isinstance(p, Resource) and p.kind == "repository"]
    assert home and "not a Trinity-RFT checkout" in home[0]
    assert check_train({"env_params": {"env_py_version": "3.10"}, "trinity_config": {"a": 1}})[
        0
    ].startswith("env_params: set without env_name")


def test_registry_serves_the_real_trainer() -> None:
    from djsandbox.catalog import FACTORIES

    spec = FACTORIES["ModelTrainExecutor"].get("trinity-rft")
    assert spec.unavailable is None and spec.load() is run_train


# -- the run, with a fake `trinity` on PATH ----------------------------------------------------

FAKE_TRINITY = """#!{python}
import os, sys, yaml
args = sys.argv[1:]
assert args[:2] == ["run", "--config"], args
cfg = yaml.safe_load(open(args[2]))
secret = cfg["model"]["api_key"].removeprefix("${{oc.env:").removesuffix("}}")
print("secret seen:", os.environ[secret] == "sk-abcdefgh12345", os.environ[secret], flush=True)
print("INFO 05-08 11:11:10 launcher.py:12] starting", flush=True)
print("(Trainer pid=41) INFO 05-08 11:11:13 monitor.py:96] Step 1: "
      "{{'actor/pg_loss': 0.5, 'perf/throughput': 100}}", flush=True)
print("(Trainer pid=41) INFO 05-08 11:11:14 monitor.py:96] Step 2: {{'actor/pg_loss': 0.25", flush=True)
print("(Trainer pid=41) INFO 05-08 11:11:15 monitor.py:96] Step 2: "
      "{{'actor/pg_loss': 0.25, 'perf/throughput': 120}}", flush=True)
job = os.path.join(cfg["checkpoint_root_dir"], cfg["project"], cfg.get("group", ""), cfg["name"])
if os.environ.get("FAKE_TRINITY_FAIL"):
    sys.exit(3)
for step in (1, 2):
    os.makedirs(os.path.join(job, f"global_step_{{step}}", "actor"), exist_ok=True)
"""


@pytest.fixture
def fake_trinity(tmp_path: Path, monkeypatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    exe = bin_dir / "trinity"
    exe.write_text(FAKE_TRINITY.format(python=sys.executable))
    exe.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return exe


def metrics_rows(job: Path) -> list[dict]:
    with open(job / "logs/version_0/metrics.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def _cfg() -> dict:
    return {
        "trinity_config": {
            "project": "djs",
            "group": "g",
            "name": "run1",
            "model": {"model_path": "/m", "api_key": "sk-abcdefgh12345"},
            "cluster": {"node_num": 1, "gpu_per_node": 1},
        }
    }


def test_run_streams_curves_and_returns_the_checkpoint_folder(tmp_path, fake_trinity) -> None:
    job = tmp_path / "job"
    folder = run_train(_cfg(), job)
    assert folder == str(job.resolve() / "checkpoints/djs/g/run1")
    assert (Path(folder) / "global_step_2").is_dir()
    log = (job / "trinity_train.log").read_text()
    assert "secret seen: True ***" in log and "Step 2:" in log  # printed, masked
    assert "sk-abcdefgh12345" not in log
    assert "sk-abcdefgh12345" not in (job / "trinity_config.yaml").read_text()
    rows = metrics_rows(job)
    assert [(r["step"], r["actor/pg_loss"], r["perf/throughput"]) for r in rows] == [
        ("1", "0.5", "100.0"),
        ("2", "0.25", "120.0"),
    ]


def test_a_failed_run_is_an_error_naming_the_log(tmp_path, fake_trinity, monkeypatch) -> None:
    monkeypatch.setenv("FAKE_TRINITY_FAIL", "1")
    with pytest.raises(RuntimeError, match=r"failed with exit status 3.*trinity_train.log"):
        run_train(_cfg(), tmp_path / "job")
    rows = metrics_rows(tmp_path / "job")
    assert len(rows) == 2  # the curves read before it failed are kept


def test_a_run_without_checkpoint_is_an_error(tmp_path, fake_trinity) -> None:
    fake_trinity.write_text("#!/bin/sh\necho 'Step 1: {\"a\": 1}'\n")
    with pytest.raises(RuntimeError, match="wrote no checkpoint"):
        run_train(_cfg(), tmp_path / "job")


def test_a_taken_experiment_name_returns_the_renamed_folder(tmp_path, fake_trinity) -> None:
    # Trinity renames an experiment whose folder holds files to <name>_<timestamp>
    fake_trinity.write_text(
        fake_trinity.read_text().replace(
            'job = os.path.join(cfg["checkpoint_root_dir"], cfg["project"], '
            'cfg.get("group", ""), cfg["name"])',
            'job = os.path.join(cfg["checkpoint_root_dir"], cfg["project"], '
            'cfg.get("group", ""), cfg["name"] + "_20260508111113")',
        )
    )
    job = tmp_path / "job"
    taken = job / "checkpoints/djs/g/run1/global_step_9"
    taken.mkdir(parents=True)
    folder = run_train(_cfg(), job)
    assert folder == str(job.resolve() / "checkpoints/djs/g/run1_20260508111113")


# -- Trinity-RFT's own validation of the config we write (builds its 5 GB environment) --------

CHECK_SCRIPT = """
import json, sys
from trinity.common.config import load_config
config = load_config(sys.argv[1])
config.check_and_update()
json.dump({"job_dir": config.checkpoint_job_dir, "api_key": config.explorer.rollout_model.api_key,
           "gpus": config.cluster.gpu_per_node}, open(sys.argv[2], "w"))
"""


@pytest.mark.slow
def test_trinity_accepts_the_config_we_write(tmp_path: Path) -> None:
    from djsandbox.envs import get_env
    from djsandbox.models.trinity.run import job_config

    data = tmp_path / "tasks"
    data.mkdir()
    (data / "train.jsonl").write_text('{"question": "1+1?", "answer": "2"}\n')
    inline = {
        "mode": "both",
        "project": "djs",
        "name": "check",
        "ignore_validator_suggestions": True,  # its GPU memory estimate loads the weights
        "model": {"model_path": str(tmp_path / "model"), "max_prompt_tokens": 64},
        "cluster": {"node_num": 1, "gpu_per_node": 2},  # no Ray cluster to ask
        "algorithm": {"algorithm_type": "grpo", "repeat_times": 2},
        "explorer": {"rollout_model": {"api_key": "sk-checkme12345"}},
        "buffer": {
            "total_epochs": 1,
            "batch_size": 2,
            "explorer_input": {
                "taskset": {
                    "name": "tasks",
                    "storage_type": "file",
                    "path": str(data),
                    "split": "train",
                    "format": {"prompt_key": "question", "response_key": "answer"},
                    "default_workflow_type": "math_workflow",
                }
            },
        },
    }
    inline["model"]["max_response_tokens"] = 64
    job = tmp_path / "job"
    job.mkdir()
    config = job_config({"trinity_config": inline}, job)
    path, secrets = tconfig.write_job_config(config, job)
    env = get_env(env_spec({"env_name": "trinity-rft-check", "env_manager": "uv"}))
    script = tmp_path / "check.py"
    script.write_text(CHECK_SCRIPT)
    out = tmp_path / "checked.json"
    env.run(
        ["python", str(script), str(path), str(out)], log_path=job / "check.log", env_vars=secrets
    )
    import json

    checked = json.loads(out.read_text())
    assert checked == {
        "job_dir": str(tconfig.checkpoint_dir(config)),
        "api_key": "sk-checkme12345",
        "gpus": 2,
    }
    assert "sk-checkme12345" not in path.read_text() + (job / "check.log").read_text()


def test_reference_config_runs_through_the_engine(run_cfg, tmp_path, fake_trinity, monkeypatch):
    """A reference-format TrainModelHook job (its extra_configs file, a Trinity config file);
    the GPU check is answered yes, as on a GPU machine."""
    monkeypatch.setattr("djsandbox.models.trinity.checks.gpu_visible", lambda: True)
    rft = tmp_path / "rft.yaml"
    rft.write_text(yaml.safe_dump(_cfg()["trinity_config"]))
    train = tmp_path / "trinity_train.yaml"
    train.write_text(yaml.safe_dump({"type": "trinity-rft", "trinity_config_path": str(rft)}))
    job = {"hook": "TrainModelHook", "meta_name": "rft", "extra_configs": str(train)}
    out = run_cfg({"pipelines": {"rl": {"execution_job_configs": [job]}}})
    folder = Path(out.context.iterations[0]["rl"]["rft"]["res_1"])
    assert folder.parts[-4:] == ("checkpoints", "djs", "g", "run1")
    assert (folder / "global_step_2").is_dir()
    assert len(metrics_rows(folder.parents[3])) == 2  # the job folder's curves


def test_a_missing_config_is_named_once_by_the_hook(monkeypatch) -> None:
    from djsandbox.hooks.generic import TrainModelHook

    monkeypatch.setattr("djsandbox.models.trinity.checks.gpu_visible", lambda: True)
    problems = TrainModelHook().check(
        {"hook": "TrainModelHook", "extra_configs": {"type": "trinity-rft", "trinity_hom": "x"}}
    )
    missing = [p for p in problems if "trinity_config_path" in p and "missing" in p]
    assert missing == [
        "extra_configs.trinity_config_path: missing; 'trinity-rft' needs it (or trinity_config)"
    ]
    assert any("did you mean 'trinity_home'" in p for p in problems)  # the typo
