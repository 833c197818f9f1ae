"""The `easyanimate` trainer/generator configs: the reference's keys, validation, prompts, and
EasyAnimate's own scripts through an environment (no model is built here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from djsandbox.catalog import FACTORIES
from djsandbox.models.easyanimate import checks, prompts, reference_keys, scripts
from djsandbox.resource_problems import Resource

# The reference's configs/easyanimate_text_to_video/model_train.yaml and model_infer.yaml
REF_TRAIN = {
    "type": "easyanimate",
    "env_name": "easyanimate",
    "env_manager": "conda",
    "model_name": "easyanimate",
    "trainer_name": "easyanimate-lora-trainer",
    "train": {
        "tracker_config": {"project_name": "demo-bench", "experiment_name": "demo-train"},
        "model_path": {
            "pretrained_model_name_or_path": "PixArt-alpha/PixArt-XL-2-512x512",
            "transformer_path": "/PATH/TO/EASYANIMATE_MODEL",
        },
        "dataset_path": {"dataset_name": "", "dataset_meta_name": "../demo_ea_fmt.json"},
        "training_config": {
            "sample_size": 256,
            "mixed_precision": "bf16",
            "batch_size_per_gpu": 8,
            "gradient_accumulation_steps": 1,
            "num_train_epochs": 1,
            "dataloader_num_workers": 8,
            "seed": 42,
        },
        "saving_config": {"output_dir": "../models"},
    },
}
REF_INFER = {
    "type": "easyanimate",
    "env_name": "easyanimate",
    "env_manager": "conda",
    "model_name": "easyanimate",
    "infer_name": "easyanimate-lora-generate",
    "train": {
        "model_path": {
            "pretrained_model_name_or_path": "PixArt-alpha/PixArt-XL-2-512x512",
            "transformer_path": "/PATH/TO/EASYANIMATE_MODEL",
            "lora_path": "../models/checkpoint-1.safetensors",
        },
        "infer_config": {
            "image_size": 256,
            "prompt_info_path": "../VBench_mini_info.json",
            "gpu_num": 1,
            "batch_size": 8,
            "mixed_precision": "bf16",
            "video_num_per_prompt": 5,
            "seed": 43,
        },
        "saving_config": {"output_video_dir": "../generated_videos"},
    },
}


def _without_env(cfg: dict) -> dict:
    return {k: v for k, v in cfg.items() if k not in ("env_name", "env_manager", "type")}


def test_registered_not_planned() -> None:
    for factory in ("ModelTrainExecutor", "ModelInferExecutor"):
        spec = FACTORIES[factory]["easyanimate"]
        assert spec.unavailable is None and spec.results == 2


def test_reference_train_keys_map_to_flat_keys() -> None:
    out = reference_keys.in_process_cfg(_without_env(REF_TRAIN), "train")
    assert out["dataset_path"] == "../demo_ea_fmt.json"
    assert out["model"] == {
        "path": "PixArt-alpha/PixArt-XL-2-512x512",
        "transformer_path": "/PATH/TO/EASYANIMATE_MODEL",
        "sample_size": 256,
    }
    assert (out["precision"], out["batch_size"], out["accumulate_grad_batches"]) == ("bf16", 8, 1)
    assert (out["max_epochs"], out["num_workers"], out["seed"]) == (1, 8, 42)
    assert out["output_dir"] == "../models" and out["tracker_project"] == "demo-bench"
    assert "video_root" not in out  # dataset_name "" means absolute paths
    assert "train" not in out and "model_name" not in out


def test_reference_infer_keys_map_to_flat_keys() -> None:
    out = reference_keys.in_process_cfg(_without_env(REF_INFER), "infer")
    assert out["checkpoint"] == "../models/checkpoint-1.safetensors"
    assert out["prompts_path"] == "../VBench_mini_info.json"
    assert (out["video_num_per_prompt"], out["seed"], out["num_gpus"]) == (5, 43, 1)
    assert out["output_dir"] == "../generated_videos"
    assert out["model"]["sample_size"] == 256


def test_reference_key_errors_are_named() -> None:
    bad = {"train": {"training_config": {"num_epochs": 2}, "saving": {}}}
    problems = reference_keys.check_reference(bad, "train")
    assert any("train.training_config.num_epochs: unknown key" in p for p in problems)
    assert any("train.saving: unknown section" in p for p in problems)
    clash = {"seed": 1, "train": {"training_config": {"seed": 2}}}
    with pytest.raises(ValueError, match="seed 2 differs from seed: 1"):
        reference_keys.in_process_cfg(clash, "train")
    bf = {"train": {"training_config": {"mixed_precision": "bf15"}}}
    assert any("mixed_precision: got 'bf15'" in p for p in checks.check_train(bf))


def test_reference_configs_only_lack_resources(tmp_path: Path, monkeypatch) -> None:
    """As shipped (PixArt hub id, /PATH/TO placeholders, conda env, no EasyAnimate checkout, no
    GPU), the reference's configs have only missing-resource problems."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    for cfg, check in ((REF_TRAIN, checks.check_train), (REF_INFER, checks.check_infer)):
        problems = check(cfg)
        assert problems and all(isinstance(p, Resource) for p in problems), problems
        kinds = {p.kind for p in problems}
        assert kinds == {"weights", "repository", "gpu"}, problems
        assert any("thirdparty/models/EasyAnimate" in p for p in problems)
        assert any("replace the placeholder" in p.fix for p in problems)


def test_in_process_checks(tmp_path: Path) -> None:
    assert checks.check_train({"dataset_path": "x.json", "model": {"size": "tiny"}}) == []
    problems = checks.check_train(
        {"model": {"tiny": {"head_dim": 20}, "colour": 1}, "lr": -1, "max_epochs": 0}
    )
    text = "\n".join(problems)
    assert "model.tiny.head_dim: got 20; expected a multiple of 16" in text
    assert "model.colour: unknown key" in text
    assert "lr: got -1" in text and "max_epochs: got 0" in text
    missing = checks.check_train({"model": {"path": str(tmp_path / "none")}})
    assert len(missing) == 1 and missing[0].kind == "weights"
    unset = checks.check_infer({"model": {"size": "real", "path": "???"}})
    assert len(unset) == 1 and unset[0].kind == "weights" and "model.path: not set" in unset[0]
    infer = checks.check_infer({"video_num_per_prompt": 0, "guidance_scale": "x"})
    assert any("video_num_per_prompt" in p for p in infer)
    assert any("guidance_scale" in p for p in infer)


def test_bf16_on_cpu_falls_back_with_a_warning() -> None:
    from djsandbox.models.easyanimate.settings import resolve_model
    from djsandbox.models.easyanimate.train import precision_of

    settings = resolve_model(None)
    with pytest.warns(UserWarning, match="bf16: mixed precision needs a GPU"):
        assert precision_of({"precision": "bf16"}, settings, cuda=False) == "32-true"
    assert precision_of({"precision": "bf16"}, settings, cuda=True) == "bf16-mixed"
    assert precision_of({}, settings, cuda=False) == "32-true"


def test_prompts_in_every_format(tmp_path: Path) -> None:
    vbench = tmp_path / "VBench_mini_info.json"
    vbench.write_text(
        json.dumps(
            [
                {"prompt_en": "a cat/dog, the camera pans left", "dimension": ["x"]},
                {"prompt_en": "a cat/dog, the camera pans left", "dimension": ["y"]},
                {"prompt_en": "a tree", "dimension": ["x"]},
            ]
        )
    )
    found = prompts.read_prompts(vbench)
    assert [p.text for p in found] == ["a cat/dog, the camera pans left", "a tree"]
    assert prompts.file_stem(found[0].text) == "a cat dog, the camera pans left"
    assert len(prompts.file_stem("x" * 300)) == 180
    txt = tmp_path / "p.txt"
    txt.write_text("one\n\ntwo\n")
    assert [p.text for p in prompts.read_prompts(txt)] == ["one", "two"]
    clips = tmp_path / "clips.jsonl"
    rows = [
        {
            "id": "a",
            "caption": "x, the camera zooms in",
            "split": "test",
            "motion": "zoom_in",
            "defect": "static",
            "shown_motion": "zoom_in",
        },
        {"id": "b", "caption": "y", "split": "train"},
    ]
    clips.write_text("".join(json.dumps(r) + "\n" for r in rows))
    test = prompts.read_prompts(clips, split="test")
    assert [(p.text, p.fields) for p in test] == [
        ("x, the camera zooms in", {"id": "a", "motion": "zoom_in"})
    ]
    with pytest.raises(ValueError, match="no prompt in split 'dev'"):
        prompts.read_prompts(clips, split="dev")
    dj = tmp_path / "dj.jsonl"
    dj.write_text(json.dumps({"videos": ["v.mp4"], "text": "<__dj__video> z <|__dj__eoc|>"}))
    assert [p.text for p in prompts.read_prompts(dj)] == ["z"]


def _fake_home(tmp_path: Path) -> Path:
    """A stand-in for Data-Juicer's thirdparty/models/EasyAnimate: scripts that record their
    arguments and write what the real ones write (a folder; MP4-named files)."""
    home = tmp_path / "EasyAnimate"
    home.mkdir()
    (home / "requirements.txt").write_text("diffusers\n")
    (home / "train_lora.sh").write_text(
        'printf "%s\\n" "$@" > "$PWD/train_args.txt"\nmkdir -p "${12}"\necho "step 1 loss 0.5"\n'
    )
    (home / "infer_lora.sh").write_text(
        'printf "%s\\n" "$@" > "$PWD/infer_args.txt"\nmkdir -p "${11}"\n'
        'touch "${11}/a cat-0.mp4" "${11}/a cat-1.mp4"\n'
    )
    return home


def test_reference_scripts_run_with_the_reference_arguments(tmp_path: Path) -> None:
    home = _fake_home(tmp_path)
    cfg = {**REF_TRAIN, "easyanimate_home": str(home), "env_name": None}
    folder, metrics = scripts.run_train(
        {**cfg, "dataset_path": str(tmp_path / "pool_ea_fmt.json")},
        tmp_path / "job",
        env=scripts.CurrentPython(),
        count=lambda: 1,
    )
    args = (home / "train_args.txt").read_text().splitlines()
    assert args == [
        "PixArt-alpha/PixArt-XL-2-512x512",
        "/PATH/TO/EASYANIMATE_MODEL",
        "",
        str(tmp_path / "pool_ea_fmt.json"),  # the flat dataset_path (fed by input) wins
        "256",
        "bf16",
        "8",
        "1",
        "1",
        "8",
        "42",
        str((home / "../models").resolve()),  # relative to the EasyAnimate home, as the reference
        "demo-bench",
        "demo-train",
    ]
    assert folder == str((home / "../models").resolve()) and Path(folder).is_dir()
    assert "step 1 loss 0.5" in Path(metrics["log_path"]).read_text()
    videos, jsonl = scripts.run_infer(
        {**REF_INFER, "easyanimate_home": str(home), "env_name": None},
        tmp_path / "job2",
        env=scripts.CurrentPython(),
        count=lambda: 1,
    )
    args = (home / "infer_args.txt").read_text().splitlines()
    assert args[2] == "../models/checkpoint-1.safetensors" and args[8] == "5" and args[9] == "43"
    rows = [json.loads(line) for line in Path(jsonl).read_text().splitlines()]
    assert [(r["prompt"], r["sample"]) for r in rows] == [("a cat", 0), ("a cat", 1)]
    assert rows[0]["text"] == "<__dj__video> a cat <|__dj__eoc|>"
    assert Path(videos) == (home / "../generated_videos").resolve()


def test_reference_scripts_need_a_gpu_and_a_checkout(tmp_path: Path) -> None:
    home = _fake_home(tmp_path)
    with pytest.raises(ValueError, match="need a CUDA GPU"):
        scripts.run_train({**REF_TRAIN, "easyanimate_home": str(home)}, tmp_path, count=lambda: 0)
    with pytest.raises(ValueError, match="has no train_lora.sh"):
        scripts.run_train({**REF_TRAIN, "easyanimate_home": str(tmp_path)}, tmp_path)


def test_environment_is_built_from_env_keys(tmp_path: Path, monkeypatch) -> None:
    import djsandbox.envs as envs

    home = _fake_home(tmp_path)
    seen = {}
    monkeypatch.setattr(envs, "get_env", lambda spec, cache_dir=None: seen.setdefault("s", spec))
    scripts.environment({"env_name": "easyanimate", "env_manager": "uv"}, home)
    spec = seen["s"]
    assert (spec.manager, spec.name) == ("uv", "easyanimate")
    assert spec.requirements == (
        f"-r {home / 'requirements.txt'}",
        "deepspeed",
        "func_timeout",
        "wandb",
    )
    assert isinstance(scripts.environment({}, home), scripts.CurrentPython)


def test_reference_sandbox_config_checks_with_only_missing_resources(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    """A sandbox config whose train and infer jobs load the reference's two files: --check
    exits 4 (valid, resources missing) and names each missing resource."""
    import yaml

    from djsandbox.cli import main
    from djsandbox.errors import EXIT_RESOURCES

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    (tmp_path / "model_train.yaml").write_text(yaml.safe_dump(REF_TRAIN))
    (tmp_path / "model_infer.yaml").write_text(yaml.safe_dump(REF_INFER))
    config = tmp_path / "sandbox.yaml"
    jobs = [
        {"hook": "TrainModelHook", "meta_name": None, "extra_configs": "./model_train.yaml"},
        {"hook": "InferModelHook", "meta_name": None, "extra_configs": "./model_infer.yaml"},
    ]
    config.write_text(yaml.safe_dump({"work_dir": "./out", "execution_job_configs": jobs}))
    assert main(["--config", str(config), "--check"]) == EXIT_RESOURCES
    err = capsys.readouterr().err
    assert "missing resources (8;" in err and "looks like a hub id" in err
    assert err.count("[gpu]") == 2 and err.count("[repository]") == 2
