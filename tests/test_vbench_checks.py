"""vbench_video_evaluator's validation: config errors (unknown dimension, with the closest
name; a dimension VBench scores only on its own prompts) apart from what this machine lacks
(checkpoint files, a prompt JSON, a GPU), before any job or environment starts."""

from __future__ import annotations

import pytest

from djsandbox.catalog import FACTORIES
from djsandbox.errors import EXIT_RESOURCES, ConfigError
from djsandbox.evaluation.vbench.checks import check_vbench
from djsandbox.evaluation.vbench.dimensions import DIMENSIONS, NEEDS, missing_files
from djsandbox.evaluation.vbench.evaluator import run_vbench
from djsandbox.resource_problems import Resource


def cfg(tmp_path, **extra):
    return {
        "videos_path": str(tmp_path / "videos"),
        "dimension_list": ["temporal_flickering"],
        "vbench_cache_dir": str(tmp_path / "vbench_cache"),
        **extra,
    }


def test_registered_as_a_real_component_with_the_reference_keys():
    spec = FACTORIES["DataEvaluator"].get("vbench_video_evaluator")
    assert spec.unavailable is None and spec.results == 2
    for key in (
        "full_json_dir",
        "videos_path",
        "output_path",
        "eval_name",
        "dimension_list",
        "load_ckpt_from_local",
        "num_gpus",
        "env_name",
        "env_manager",
        "env_params",
    ):
        assert key in spec.keys
    assert spec.load().__name__ == "run_vbench"


def test_temporal_flickering_alone_needs_nothing(tmp_path):
    assert check_vbench(cfg(tmp_path, num_gpus=0)) == []


def test_unknown_dimension_is_a_config_error_with_the_closest_name(tmp_path):
    problems = check_vbench(cfg(tmp_path, dimension_list=["temporal_flickring"]))
    assert len(problems) == 1 and not isinstance(problems[0], Resource)
    assert "dimension_list[0]: 'temporal_flickring' is not a VBench dimension" in problems[0]
    assert "did you mean 'temporal_flickering'?" in problems[0]
    # run directly, the same problem stops it before anything is written
    with pytest.raises(ConfigError, match="did you mean 'temporal_flickering'"):
        run_vbench(cfg(tmp_path, dimension_list=["temporal_flickring"]), tmp_path / "job")
    assert not (tmp_path / "job").exists()


def test_dimensions_of_vbench_own_prompts_are_refused_in_custom_mode(tmp_path):
    problems = check_vbench(cfg(tmp_path, dimension_list=["color", "temporal_flickering"]))
    assert len(problems) == 1 and "'color' only on its own prompt suite" in problems[0]
    # with VBench's prompt JSON (standard mode) they are allowed; their weights are resources
    info = tmp_path / "VBench_full_info.json"
    info.write_text("[]")
    problems = check_vbench(cfg(tmp_path, dimension_list=["color"], full_json_dir=str(info)))
    assert problems and all(isinstance(p, Resource) for p in problems)


def test_bad_values_are_config_errors(tmp_path):
    problems = check_vbench(
        cfg(
            tmp_path,
            dimension_list=[],
            num_gpus=-1,
            load_ckpt_from_local="yes",
            eval_name="a b/c",
            env_manager="cnda",
        )
    )
    text = "\n".join(problems)
    assert not any(isinstance(p, Resource) for p in problems)
    assert "dimension_list: got []" in text
    assert "num_gpus: got -1" in text
    assert "load_ckpt_from_local: got 'yes'" in text
    assert "eval_name: 'a b/c'" in text
    assert "env_manager: 'cnda' is not an environment manager (did you mean 'conda'?)" in text


def test_missing_checkpoints_are_resources_naming_each_file(tmp_path):
    c = cfg(tmp_path, dimension_list=["temporal_flickering", "motion_smoothness"], num_gpus=0)
    problems = check_vbench({**c, "load_ckpt_from_local": True})
    assert len(problems) == 1 and isinstance(problems[0], Resource)
    assert problems[0].kind == "weights"
    wanted = tmp_path / "vbench_cache" / "amt_model" / "amt-s.pth"
    assert str(wanted) in problems[0] and "huggingface.co/lalala125/AMT" in problems[0]
    assert "'motion_smoothness'" in problems[0] and "remove 'motion_smoothness'" in problems[0].fix
    wanted.parent.mkdir(parents=True)
    wanted.write_bytes(b"weights")
    assert check_vbench({**c, "load_ckpt_from_local": True}) == []


def test_local_mode_reads_every_checkpoint_from_the_vbench_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("TORCH_HOME", raising=False)
    cache = tmp_path / "vbench_cache"
    local = [str(p) for p, _ in missing_files("subject_consistency", cache, local=True)]
    remote = [str(p) for p, _ in missing_files("subject_consistency", cache, local=False)]
    assert local == [
        str(cache / "dino_model" / "facebookresearch_dino_main"),
        str(cache / "dino_model" / "dino_vitbase16_pretrain.pth"),
    ]
    hub = tmp_path / "xdg" / "torch" / "hub"
    assert remote == [
        str(hub / "facebookresearch_dino_main"),
        str(hub / "checkpoints" / "dino_vitbase16_pretrain.pth"),
    ]
    # every dimension but temporal_flickering needs at least one file
    assert {d for d in DIMENSIONS if not NEEDS[d]} == {"temporal_flickering"}


def test_gpus_asked_on_a_machine_without_one_are_a_resource(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    problems = check_vbench(cfg(tmp_path, num_gpus=1))
    assert len(problems) == 1 and isinstance(problems[0], Resource)
    assert problems[0].kind == "gpu" and "num_gpus: 0" in problems[0].fix


def test_a_missing_prompt_json_is_a_resource(tmp_path):
    problems = check_vbench(
        cfg(tmp_path, num_gpus=0, full_json_dir=str(tmp_path / "VBench_mini_info.json"))
    )
    assert len(problems) == 1 and problems[0].kind == "input file"


def test_the_reference_config_checks_with_only_missing_resources(tmp_path, monkeypatch):
    """configs/easyanimate_text_to_video/vbench_eval.yaml of the reference, as a job."""
    import yaml

    from djsandbox import cli

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("VBENCH_CACHE_DIR", str(tmp_path / "empty_cache"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    evaluator = {
        "type": "vbench_video_evaluator",
        "env_name": "vbench",
        "env_manager": "conda",
        "full_json_dir": "./thirdparty/mm_eval/vbench_metrics/VBench_mini_info.json",
        "videos_path": "./outputs/demo-bench/generated_videos",
        "output_path": "./outputs/demo-bench/eval_results",
        "eval_name": "mini_test",
        "load_ckpt_from_local": False,
        "num_gpus": 1,
        "dimension_list": ["subject_consistency", "dynamic_degree"],
    }
    (tmp_path / "vbench_eval.yaml").write_text(yaml.safe_dump(evaluator))
    config = tmp_path / "sandbox.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "work_dir": str(tmp_path / "run"),
                "evaluation_job_configs": [
                    {
                        "hook": "EvaluateDataHook",
                        "meta_name": "vbench_eval",
                        "extra_configs": "./vbench_eval.yaml",
                    }
                ],
            }
        )
    )
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        status = cli.main(["--config", str(config), "--check"])
    text = err.getvalue()
    assert status == EXIT_RESOURCES, text
    assert "missing resources (4;" in text
    assert "[input file]" in text and "VBench_mini_info.json" in text
    assert "[gpu]" in text and "num_gpus: 1" in text
    assert text.count("[weights]") == 2 and "raft-things.pth" in text
    assert "dino_vitbase16_pretrain.pth" in text


def test_an_output_folder_of_someone_else_is_refused(tmp_path):
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("mine")
    problems = check_vbench(cfg(tmp_path, num_gpus=0, output_path=str(theirs)))
    assert len(problems) == 1 and "already holds files the sandbox did not write" in problems[0]
    (theirs / ".djsandbox-output").touch()  # a folder an earlier run of ours wrote
    assert check_vbench(cfg(tmp_path, num_gpus=0, output_path=str(theirs))) == []
