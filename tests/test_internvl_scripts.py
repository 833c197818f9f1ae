"""The reference's InternVL keys and its script back end: with `internvl_home`, InternVL's own
fine-tune (under the real torchrun) and evaluate.sh run, and their log lines become results.

The InternVL home here is fake: its `internvl_chat_finetune.py` prints what the transformers
Trainer prints and saves a config.json; its `evaluate.sh` prints what pycocoevalcap's
COCOEvalCap prints. Everything else (script writing, torchrun, environments, parsing, folder
ownership) is the real code path.
"""

from __future__ import annotations

import json
import socket
import sys
import types
from pathlib import Path

import pytest

from djsandbox.hooks.generic import EvaluateModelHook, TrainModelHook
from djsandbox.models.captioning import internvl_scripts as scripts
from djsandbox.models.captioning.internvl_logs import caption_scores, train_metrics
from djsandbox.models.captioning.reference_keys import check_reference, lightning_cfg

TRAINER_LOG = """\
[INFO] trainable params: 8,798,208
{'loss': 2.4, 'learning_rate': 1e-05, 'epoch': 0.25}
  5%|▌         | 1/20 [00:01<00:30]\r{'loss': 2.0, 'grad_norm': 3.5, 'learning_rate': 4e-05, 'epoch': 0.5}
{'loss': 1.6, 'grad_norm': 2.25, 'learning_rate': 3e-05, 'epoch': 0.75}
{'loss': 1.2, 'grad_norm': 1.5, 'learning_rate': 1e-06, 'epoch': 1.0}
{'train_runtime': 12.5, 'train_samples_per_second': 40.9, 'train_loss': 1.8, 'epoch': 1.0}
"""

EVAL_LOG = """\
loading annotations into memory...
tokenization...
setting up scorers...
computing Bleu score...
{'testlen': 9853, 'reflen': 9714, 'guess': [9853, 8853], 'correct': [7322, 4065]}
ratio: 1.0143092443892595
Bleu_1: 0.743
Bleu_2: 0.578
Bleu_3: 0.436
Bleu_4: 0.327
computing METEOR score...
METEOR: 0.262
computing Rouge score...
ROUGE_L: 0.545
computing CIDEr score...
CIDEr: 1.083
dict_items([('Bleu_1', 0.7431), ('CIDEr', 1.0833)])
"""

FINETUNE = """\
import json, os, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
out = args["--output_dir"]
os.makedirs(out, exist_ok=True)
json.dump({"argv": sys.argv[1:], "world": os.environ.get("WORLD_SIZE"),
           "cwd": os.getcwd()}, open(os.path.join(out, "args.json"), "w"))
print(f"run_name={out},", flush=True)
for step, (loss, lr) in enumerate([(2.5, 1e-05), (2.0, 4e-05), (1.5, 2e-05), (1.0, 1e-06)]):
    print({"loss": loss, "grad_norm": 1.0, "learning_rate": lr, "epoch": (step + 1) / 4})
print({"train_runtime": 3.2, "train_loss": 1.75, "epoch": 1.0})
json.dump({"architectures": ["InternVLChatModel"]}, open(os.path.join(out, "config.json"), "w"))
"""

EVALUATE_SH = """\
#!/usr/bin/env bash
set -e
CHECKPOINT="$(pwd)/$1"
test -f "$CHECKPOINT/config.json" || { echo "no model at $CHECKPOINT"; exit 3; }
echo "args: $* GPUS=$GPUS"
cat "$(dirname "$0")/eval_output.txt"
"""


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake InternVL clone; one fake GPU; a free port for torchrun's rendezvous."""
    chat = tmp_path / "InternVL" / "internvl_chat"
    (chat / "internvl" / "train").mkdir(parents=True)
    (chat / "internvl" / "train" / "internvl_chat_finetune.py").write_text(FINETUNE)
    (chat / "evaluate.sh").write_text(EVALUATE_SH)
    (chat / "eval_output.txt").write_text(EVAL_LOG)
    (chat / "pretrained" / "InternVL2-1B").mkdir(parents=True)
    (chat / "pretrained" / "InternVL2-1B" / "config.json").write_text("{}")
    (tmp_path / "InternVL" / "requirements.txt").write_text("")
    monkeypatch.setattr(scripts, "gpu_count", lambda: 1)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        monkeypatch.setenv("MASTER_PORT", str(sock.getsockname()[1]))
    return tmp_path / "InternVL"


def meta_file(folder: Path, name: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps({name: {"root": "/", "annotation": "a.jsonl", "length": 3}}))
    return str(path)


def train_cfg(home: Path, tmp_path: Path, **extra) -> dict:
    """The reference's internvl_train_config.yaml, with this test's paths."""
    chat = home / "internvl_chat"
    return {
        "internvl_home": str(home),
        "num_gpus": 8,
        "batch_size_per_device": 4,
        "work_dir": str(tmp_path / "work_dirs"),
        "model_name_or_path": str(chat / "pretrained" / "InternVL2-1B"),
        "conv_style_or_scale": "1B",
        "meta_paths": [meta_file(tmp_path / "metas", "pool_low")],
        "script_dir": str(tmp_path / "scripts"),
        **extra,
    }


def test_trainer_loss_and_lr_lines_are_read() -> None:
    metrics = train_metrics(TRAINER_LOG)
    assert metrics["steps"] == 4 and metrics["loss_window"] == 1
    assert metrics["first_train_loss"] == 2.4 and metrics["last_train_loss"] == 1.2
    assert metrics["last_lr"] == 1e-06 and metrics["epochs"] == 1.0
    assert metrics["train_loss"] == 1.8 and metrics["train_runtime"] == 12.5
    assert train_metrics("no trainer output")["steps"] == 0


def test_caption_scores_are_read_with_the_lightning_names() -> None:
    scores = caption_scores(EVAL_LOG + "Bleu_1: 0.1\n", "eval_log.txt")
    assert scores["BLEU_1"] == 0.743 and scores["BLEU_4"] == 0.327  # the first value of each
    assert scores["METEOR"] == 0.262 and scores["ROUGE_L"] == 0.545 and scores["CIDEr"] == 1.083
    assert scores["avg_score"] == pytest.approx(
        (0.743 + 0.578 + 0.436 + 0.327 + 0.262 + 0.545 + 1.083) / 7
    )
    assert scores["caption_score"] == pytest.approx((0.327 + 0.262 + 0.545 + 0.1083) / 4)
    partial = caption_scores("CIDEr: 0.5\n", "x")
    assert partial["BLEU_1"] is None and partial["avg_score"] == 0.5
    with pytest.raises(ValueError, match="run/eval_log.txt: no caption scores"):
        caption_scores("Traceback: CUDA out of memory\n", "run/eval_log.txt")


def test_reference_trainer_runs_internvl_script_through_torchrun(home: Path, tmp_path: Path):
    from djsandbox.models.captioning.train import run_train

    cfg = train_cfg(home, tmp_path)
    with pytest.warns(UserWarning, match="num_gpus: 8 asked, 1 here"):
        checkpoints, metrics = run_train(cfg, tmp_path / "job")
    out = tmp_path / "work_dirs" / "pool_low_InternVL2-1B"  # the reference's naming
    assert checkpoints == [str(out)]
    [m] = metrics
    assert m["steps"] == 4 and m["first_train_loss"] == 2.5 and m["last_train_loss"] == 1.0
    assert m["last_lr"] == 1e-06 and m["train_loss"] == 1.75 and m["epochs"] == 1.0
    assert (
        m["conv_style"] == "Hermes-2" and m["num_gpus"] == 1 and m["backend"] == "internvl_scripts"
    )
    ran = json.loads((out / "args.json").read_text())
    argv = dict(zip(ran["argv"][::2], ran["argv"][1::2]))
    assert argv["--conv_style"] == "Hermes-2" and argv["--meta_path"] == cfg["meta_paths"][0]
    assert argv["--per_device_train_batch_size"] == "4"
    assert argv["--gradient_accumulation_steps"] == "128"  # 512 / (4 x 1 GPU)
    assert argv["--model_name_or_path"] == cfg["model_name_or_path"]
    assert ran["world"] == "1" and ran["cwd"] == str(home / "internvl_chat")
    script = Path(m["script"])
    assert script.parent == tmp_path / "scripts" and script.read_text().startswith("#!")

    # Again (resume reruns the job): the folder is ours, the log grows, this run is read alone.
    _, again = run_train({**cfg, "num_gpus": 1}, tmp_path / "job")
    assert again[0]["steps"] == 4
    assert (out / "training_log.txt").read_text().count("'train_runtime'") == 2


def test_reference_evaluator_runs_evaluate_sh(home: Path, tmp_path: Path):
    from djsandbox.models.captioning.evaluate import run_evaluate

    ckpt = home / "internvl_chat" / "work_dirs" / "pool_low_InternVL2-1B"
    ckpt.mkdir(parents=True)
    (ckpt / "config.json").write_text("{}")
    cfg = {"internvl_home": str(home), "num_gpus": 1, "ckpt_paths": [str(ckpt)]}
    [scores] = run_evaluate(cfg, tmp_path / "job")
    assert scores["BLEU_4"] == 0.327 and scores["CIDEr"] == 1.083
    assert scores["checkpoint"] == str(ckpt)
    log = Path(scores["log_path"]).read_text()
    assert "args: work_dirs/pool_low_InternVL2-1B caption-coco --dynamic GPUS=1" in log

    (ckpt / "config.json").unlink()  # evaluate.sh fails: the exit status is checked
    with pytest.raises(RuntimeError, match=r"exited with status 3 .*eval_log.txt"):
        run_evaluate(cfg, tmp_path / "job2")


def test_script_backend_refuses_what_it_must_not_do(home: Path, tmp_path: Path, monkeypatch):
    from djsandbox.models.captioning.train import run_train

    foreign = tmp_path / "work_dirs" / "pool_low_InternVL2-1B"
    foreign.mkdir(parents=True)
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="already holds files the sandbox did not write"):
        run_train(train_cfg(home, tmp_path, num_gpus=1), tmp_path / "job")
    assert (foreign / "notes.txt").read_text() == "mine"

    cfg = train_cfg(home, tmp_path, num_gpus=1, work_dir=str(tmp_path / "w2"))
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "pool_low_InternVL2-1B.sh").write_text("echo user script\n")
    with pytest.raises(ValueError, match="script_dir: .* was not written by the sandbox"):
        run_train(cfg, tmp_path / "job")

    with pytest.raises(ValueError, match="batch_size_per_device: 3 x 1 GPU"):
        run_train({**cfg, "batch_size_per_device": 3}, tmp_path / "job")
    twice = {**cfg, "meta_paths": cfg["meta_paths"] * 2}
    with pytest.raises(ValueError, match="meta_paths: several meta files would train into"):
        run_train(twice, tmp_path / "job")
    monkeypatch.setattr(scripts, "gpu_count", lambda: 0)
    with pytest.raises(ValueError, match="num_gpus: InternVL's scripts need a CUDA GPU"):
        run_train(cfg, tmp_path / "job")
    with pytest.raises(ValueError, match="internvl_home: .* has no internvl_chat folder"):
        scripts.chat_dir({"internvl_home": str(tmp_path)})


def test_reference_keys_map_onto_the_lightning_path() -> None:
    cfg = {
        "model_name_or_path": "/weights/InternVL2-2B",
        "conv_style_or_scale": "2B",
        "num_gpus": 8,
        "batch_size_per_device": 2,
        "meta_paths": ["a.json", "b.json"],
        "work_dir": "/w",
        "script_dir": "/s",
        "max_epochs": 1,
    }
    out = lightning_cfg(cfg, "train", lambda: 2)
    assert out == {
        "max_epochs": 1,
        "meta_path": ["a.json", "b.json"],
        "batch_size": 2,
        "model": {"path": "/weights/InternVL2-2B", "size": "2B", "template": "internlm2-chat"},
        "trainer": {"accelerator": "gpu", "devices": 2},  # as the reference: all there are
    }
    with pytest.raises(ValueError, match="num_gpus: 8 GPU.* this machine has none"):
        lightning_cfg(cfg, "train", lambda: 0)
    styled = lightning_cfg(
        {"model_name_or_path": "/m/InternVL2-4B", "conv_style_or_scale": "phi3-chat"},
        "train",
        lambda: 0,
    )
    assert styled["model"] == {"path": "/m/InternVL2-4B", "size": "4B", "template": "phi3-chat"}
    assert lightning_cfg({"ckpt_paths": ["/c"]}, "evaluate", lambda: 0) == {"checkpoint": ["/c"]}


def test_reference_key_problems_are_named() -> None:
    assert check_reference({"conv_style_or_scale": "3B"}, "train") == [
        "conv_style_or_scale: got '3B'; expected a scale (1B, 2B, 4B, 8B, 26B, 40B, 76B) or a "
        "conversation template (Hermes-2, internlm2-chat, phi3-chat)"
    ]
    assert check_reference({"env_name": "internvl"}, "train") == [
        "env_name: only used with internvl_home (the environment InternVL's scripts run in)"
    ]
    assert "runs only through InternVL's scripts" in " ".join(
        check_reference(
            {"model_name_or_path": "/m/InternVL2-8B", "conv_style_or_scale": "8B"}, "train"
        )
    )
    assert check_reference({"internvl_home": "/h", "env_params": {"x": 1}}, "evaluate") == [
        "env_params: given without env_name; name the environment to build with them "
        "(without env_name the scripts run in the current Python environment)"
    ]
    assert check_reference({"internvl_home": "/h", "trainer": {"max_epochs": 1}}, "train") == [
        "trainer: not used when internvl_home is set (InternVL's own scripts train); remove it"
    ]
    assert check_reference({"meta_paths": ["a"], "meta_path": "b"}, "train") == [
        "meta_paths: set together with meta_path (the same setting); give one of them"
    ]
    assert check_reference({"num_gpus": 0, "batch_size_per_device": "4"}, "train") == [
        "num_gpus: got 0; expected a positive integer",
        "batch_size_per_device: got '4'; expected a positive integer",
    ]


def test_reference_configs_validate_through_the_hooks(home: Path, tmp_path: Path) -> None:
    train = {"type": "internvl_coco_caption", **train_cfg(home, tmp_path)}
    assert TrainModelHook().check({"hook": "TrainModelHook", "extra_configs": train}) == []
    evaluate = {"type": "internvl_coco_caption", "internvl_home": str(home), "ckpt_paths": ["/c"]}
    assert EvaluateModelHook().check({"hook": "EvaluateModelHook", "extra_configs": evaluate}) == []
    bare = {"type": "internvl_coco_caption"}
    assert EvaluateModelHook().check({"hook": "EvaluateModelHook", "extra_configs": bare}) == [
        "extra_configs.checkpoint: missing; 'internvl_coco_caption' needs it (or ckpt_paths)",
        "extra_configs.dataset_path: missing; 'internvl_coco_caption' needs it (or internvl_home)",
    ]
    wrong = {**train, "internvl_home": str(tmp_path / "nowhere")}
    problems = TrainModelHook().check({"hook": "TrainModelHook", "extra_configs": wrong})
    assert problems == [
        f"extra_configs.internvl_home: {str(tmp_path / 'nowhere')!r} has no internvl_chat "
        "folder; expected a clone of https://github.com/OpenGVLab/InternVL"
    ]


def test_named_environment_comes_from_envmanager(home: Path, monkeypatch) -> None:
    """With env_name the scripts run in EnvManager's environment, built with InternVL's
    requirements as the reference installs them (unless env_params names its own)."""
    seen = {}

    class Spec:
        @staticmethod
        def from_config(name, manager, params, where):
            seen.update(name=name, manager=manager, params=params, where=where)
            return "spec"

    fake = types.ModuleType("djsandbox.envs")
    fake.EnvSpec = Spec
    fake.get_env = lambda spec, cache_dir=None: ("env", spec)
    monkeypatch.setitem(sys.modules, "djsandbox.envs", fake)
    cfg = {
        "internvl_home": str(home),
        "env_name": "internvl",
        "env_params": {"env_py_version": "3.9"},
    }
    assert scripts.environment(cfg) == ("env", "spec")
    assert seen["name"] == "internvl" and seen["manager"] == "conda"
    assert seen["params"]["env_py_version"] == "3.9"
    assert seen["params"]["requirements"][0] == f"-r {home / 'requirements.txt'}"
    assert "flash-attn==2.3.6 --no-build-isolation" in seen["params"]["requirements"]
    own = {**cfg, "env_manager": "uv", "env_params": {"requirements": ["torch"]}}
    scripts.environment(own)
    assert seen["manager"] == "uv" and seen["params"] == {"requirements": ["torch"]}
    assert isinstance(scripts.environment({"internvl_home": str(home)}), scripts.CurrentPython)


def test_reference_config_files_run_through_the_engine(run_cfg, home: Path, tmp_path: Path):
    """The reference's train/eval config files (its keys, `<internvl_home>` filled in), the
    evaluator fed the trainer's output folders through `input`, as its sandbox config does."""
    import yaml

    train_file, eval_file = tmp_path / "internvl_train_config.yaml", tmp_path / "eval.yaml"
    train = train_cfg(home, tmp_path, num_gpus=1)
    train["meta_paths"] = ["<these_paths_should_be_updated_by_input_mapping>"]
    meta = meta_file(tmp_path / "metas", "pool_high")
    env = {"env_name": None, "env_manager": "conda"}  # no env_name: the current Python
    train_file.write_text(yaml.safe_dump({"type": "internvl_coco_caption", **train, **env}))
    eval_file.write_text(
        yaml.safe_dump(
            {
                "type": "internvl_coco_caption",
                "internvl_home": str(home),
                "num_gpus": 1,
                "ckpt_paths": ["<these_paths_should_be_replaced_by_the_previous_hook>"],
                **env,
            }
        )
    )
    out = run_cfg(
        {
            "pipelines": {
                "single_op_exps": {
                    "execution_job_configs": [
                        {
                            "hook": "TrainModelHook",
                            "meta_name": "train",
                            "local": {"extra_configs.meta_paths": [meta]},
                            "output": ["trained_model_paths"],
                            "extra_configs": str(train_file),
                        }
                    ],
                    "evaluation_job_configs": [
                        {
                            "hook": "EvaluateModelHook",
                            "meta_name": "eval",
                            "input": {
                                "extra_configs.ckpt_paths": "single_op_exps.train.trained_model_paths"
                            },
                            "output": ["eval_results"],
                            "extra_configs": str(eval_file),
                        }
                    ],
                }
            }
        }
    )
    results = out.context.iterations[0]["single_op_exps"]
    assert results["train"]["trained_model_paths"] == [
        str(tmp_path / "work_dirs" / "pool_high_InternVL2-1B")
    ]
    assert results["train"]["res_2"][0]["last_train_loss"] == 1.0
    scores = results["eval"]["eval_results"]  # one checkpoint: its scores, as the reference
    assert scores["CIDEr"] == 1.083 and scores["avg_score"] == pytest.approx(0.5677, abs=1e-4)


def test_evaluate_sh_runs_in_a_real_envmanager_environment(home: Path, tmp_path: Path):
    """env_name + env_manager: uv builds a real environment (from the package index) and
    InternVL's evaluate.sh runs with its python first on PATH; the scores come back as usual."""
    chat = home / "internvl_chat"
    (chat / "evaluate.sh").write_text(
        EVALUATE_SH.replace('echo "args:', 'echo "python=$(command -v python)"\necho "args:')
    )
    ckpt = chat / "work_dirs" / "pool_low_InternVL2-1B"
    ckpt.mkdir(parents=True)
    (ckpt / "config.json").write_text("{}")
    cfg = {
        "internvl_home": str(home),
        "num_gpus": 1,
        "ckpt_paths": [str(ckpt)],
        "env_name": "internvl-eval-test",
        "env_manager": "uv",
        "env_params": {"requirements": ["six"]},
    }
    from djsandbox.models.captioning.evaluate import run_evaluate

    [scores] = run_evaluate(cfg, tmp_path / "job")
    assert scores["CIDEr"] == 1.083
    log = Path(scores["log_path"]).read_text()
    python = next(line for line in log.splitlines() if line.startswith("python="))
    assert "internvl-eval-test" in python and str(Path(sys.executable).parent) not in python
