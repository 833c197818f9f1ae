"""Every shipped pipeline composes, plans and validates with every `trainer` and `tracker` option
(the check mode's validation, no job runs, no lightning import), and the presets that extend a
base compose to the values they had when each was written out in full."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import djsandbox.__main__ as app

CONF = Path(app.CONF_DIR)
PIPELINES = sorted(p.stem for p in (CONF / "pipeline").glob("*.yaml"))
TRAINERS = sorted(p.stem for p in (CONF / "trainer").glob("*.yaml"))
TRACKERS = sorted(p.stem for p in (CONF / "tracker").glob("*.yaml"))

# The composed presets as they were before they extended one base (written out in full).
TRAINER_VALUES = {
    "cpu": {
        "accelerator": "cpu",
        "devices": 1,
        "precision": "32-true",
        "max_epochs": 1,
        "gradient_clip_val": 1.0,
        "accumulate_grad_batches": 1,
    },
    "gpu": {
        "accelerator": "gpu",
        "devices": 1,
        "precision": "bf16-mixed",
        "max_epochs": 1,
        "gradient_clip_val": 1.0,
        "accumulate_grad_batches": 1,
    },
    "ddp": {
        "accelerator": "gpu",
        "devices": -1,
        "strategy": "ddp",
        "precision": "bf16-mixed",
        "max_epochs": 1,
        "gradient_clip_val": 1.0,
        "accumulate_grad_batches": 1,
    },
    "deepspeed": {
        "accelerator": "gpu",
        "devices": -1,
        "strategy": "deepspeed_stage_2",
        "precision": "bf16-mixed",
        "max_epochs": 1,
        "gradient_clip_val": 1.0,
        "accumulate_grad_batches": 1,
    },
    "debug": {
        "accelerator": "cpu",
        "devices": 1,
        "precision": "32-true",
        "max_epochs": 1,
        "fast_dev_run": True,
    },
    # the base itself
    "default": {"accelerator": "cpu", "devices": 1, "precision": "32-true", "max_epochs": 1},
}
_INTERNVL2 = {
    "path": "???",
    "image_size": 448,
    "max_seq_length": 4096,
    "dtype": "bfloat16",
    "lora": {"r": 16, "alpha": 32, "dropout": 0.05},
    "freeze_vision": True,
    "freeze_projector": True,
    "gradient_checkpointing": True,
    "trust_remote_code": True,
}
MODEL_VALUES = {
    "internvl2_1b": {"name": "InternVL2-1B", "size": "1B", "template": "Hermes-2", **_INTERNVL2},
    "internvl2_2b": {
        "name": "InternVL2-2B",
        "size": "2B",
        "template": "internlm2-chat",
        **_INTERNVL2,
    },
    "internvl2_4b": {"name": "InternVL2-4B", "size": "4B", "template": "phi3-chat", **_INTERNVL2},
    "internvl2_26b": {
        "name": "InternVL2-26B",
        "size": "26B",
        "template": "internlm2-chat",
        **_INTERNVL2,
    },
}


@pytest.fixture(scope="module")
def compose():
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from djsandbox.config import register_configs
    from djsandbox.context import register_resolver

    register_configs()
    register_resolver()
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        yield lambda overrides: hydra_compose("sandbox", overrides=overrides)
    GlobalHydra.instance().clear()


def test_every_option_is_covered():
    assert set(TRAINER_VALUES) == set(TRAINERS)
    assert {"demo", "demo_hpo", "text_pools", "internvl_coco"} <= set(PIPELINES)
    assert {"none", "csv", "tensorboard", "wandb"} <= set(TRACKERS)


# Each pipeline with each trainer option (tracker none) and each tracker option (trainer cpu).
MATRIX = [(p, t, "none") for p in PIPELINES for t in TRAINERS] + [
    (p, "cpu", k) for p in PIPELINES for k in TRACKERS if k != "none"
]


@pytest.mark.parametrize("pipeline, trainer, tracker", MATRIX)
def test_pipeline_validates_with_each_trainer_and_tracker(
    compose, pipeline, trainer, tracker, tmp_path, monkeypatch
):
    from djsandbox import resource_problems
    from djsandbox.check import check_run
    from djsandbox.cli_support import split_config

    # The config is what is checked here, not this machine: a GPU preset on a machine without
    # one is a missing resource (test_reference_format.py).
    monkeypatch.setattr(resource_problems, "gpu_visible", lambda: True)
    # auto_prompt needs an OpenAI-compatible endpoint; validation checks one is configured
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "placeholder")

    lightning_before = "lightning" in sys.modules  # other test modules may have imported it
    work = tmp_path / "run"
    cfg = compose(
        [f"+pipeline={pipeline}", f"trainer={trainer}", f"tracker={tracker}", f"work_dir={work}"]
    )
    plain = split_config(cfg)
    assert plain["trainer"] == TRAINER_VALUES[trainer]
    assert plain["tracker"]["type"] == tracker
    out = check_run(plain, [tmp_path])  # the validation a run does first, then the plan
    assert out.startswith("check: the config is valid")
    for name in plain["pipelines"]:
        assert f"pipeline '{name}'" in out
    assert not work.exists(), "a check must not create the run folder"
    assert lightning_before or "lightning" not in sys.modules, "validation imported lightning"


@pytest.mark.parametrize("name", sorted(TRAINER_VALUES))
def test_trainer_presets_compose_to_their_values(compose, name):
    from omegaconf import OmegaConf

    cfg = compose([f"trainer={name}"])
    assert OmegaConf.to_container(cfg.trainer) == TRAINER_VALUES[name]


@pytest.mark.parametrize("name", sorted(MODEL_VALUES))
def test_internvl2_sizes_compose_to_their_values(compose, name):
    from omegaconf import OmegaConf

    cfg = compose(["+pipeline=internvl_coco", f"model={name}"])
    assert OmegaConf.to_container(cfg.model) == MODEL_VALUES[name]


def test_groups_are_chosen_without_plus_and_pipelines_choose_theirs(compose):
    demo = compose(["+pipeline=demo"])
    assert demo.trainer.accelerator == "cpu" and demo.model is None and demo.dataset is None
    caption = compose(["+pipeline=internvl_coco"])
    assert (caption.model.name, caption.dataset.name) == ("internvl_tiny", "clipart_subset")
    assert caption.vars.scaling_model.name == "internvl_tiny_large"
    chosen = compose(
        [
            "+pipeline=internvl_coco",
            "model=tiny_captioner_large",
            "trainer=debug",
            "dataset=clipart_full",
            "dataset.root=/data",
        ]
    )
    assert chosen.model.name == "internvl_tiny_large" and chosen.trainer.fast_dev_run
    assert chosen.dataset.train == "/data/captions.jsonl"
    for pipeline in PIPELINES:  # the sweeper settings compose with any pipeline
        assert compose([f"+pipeline={pipeline}", "hpo=optuna"]).pipelines


def test_a_misspelt_trainer_key_is_named_before_the_run(compose, tmp_path):
    from djsandbox.check import check_run
    from djsandbox.cli_support import split_config
    from djsandbox.errors import ConfigError

    cfg = compose(["+pipeline=text_pools", "+trainer.max_epoch=2", f"work_dir={tmp_path / 'r'}"])
    with pytest.raises(ConfigError) as err:
        check_run(split_config(cfg), [tmp_path])
    message = (
        "extra_configs.trainer.max_epoch: not a setting of lightning.Trainer "
        "(did you mean 'max_epochs'?)"
    )
    # both training jobs name it, although their dataset_path is fed by `input`
    assert str(err.value).count(message) == 2
