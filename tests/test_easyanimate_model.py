"""The tiny EasyAnimate for real on CPU: the base is built once and cached, a LoRA trains with
a falling loss, saves, reloads and generates clips that decode, `trainer=debug` runs one batch.

The model here is smaller than `conf/model/easyanimate_tiny.yaml` and barely pretrained, to
keep the tests in seconds; the shipped sizes are the same classes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from djsandbox.data.video_io import read_frames

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT / "src" / "djsandbox" / "resources" / "clipart_videos" / "clips.jsonl"
TEST_MODEL = {
    "tiny": {"vae_channels": [8, 16, 16, 16], "vae_norm_groups": 4},
    "pretrain": {
        "max_clips": 8,
        "vae_steps": 1,
        "vae_batch_size": 2,
        "transformer_steps": 2,
        "transformer_batch_size": 4,
    },
}


@pytest.fixture(autouse=True)
def _own_job_cache() -> None:
    """Overrides conftest's per-test cache folder: this module keeps the session's, so that
    the tiny base is built once for the module (nothing here depends on the job cache being empty)."""


def _pool(path: Path, rows: list[dict]) -> str:
    """An EasyAnimate-format JSON (what dj_to_easyanimate_video_dataset_conversion writes)."""
    entries = [
        {"file_path": str(CLIPS.parent / r["video"]), "text": r["caption"], "type": "video"}
        for r in rows
    ]
    path.write_text(json.dumps(entries), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def pools(tmp_path_factory) -> tuple[str, str]:
    rows = [json.loads(line) for line in CLIPS.read_text().splitlines()]
    train = [r for r in rows if r["split"] == "train"]
    folder = tmp_path_factory.mktemp("pools")
    return _pool(folder / "a_ea_fmt.json", train[:24]), _pool(
        folder / "b_ea_fmt.json", train[24:36]
    )


@pytest.fixture(scope="module")
def base() -> tuple[Path, bool, float]:
    from djsandbox.models.easyanimate.base import ensure_base
    from djsandbox.models.easyanimate.settings import resolve_model

    started = time.time()
    folder, built = ensure_base(resolve_model(TEST_MODEL))
    return folder, built, time.time() - started


def test_base_is_built_once_and_cached(base) -> None:
    from djsandbox.models.easyanimate.base import base_dir, ensure_base
    from djsandbox.models.easyanimate.settings import resolve_model

    folder, built, _ = base
    assert built and (folder / "model_index.json").is_file()
    info = json.loads((folder / "pretrain.json").read_text())
    assert info["clips"] == 8 and info["vae_steps"] == 1 and info["latent_scaling_factor"] > 0
    started = time.time()
    again, built_again = ensure_base(resolve_model(TEST_MODEL))
    assert (again, built_again) == (folder, False) and time.time() - started < 2
    other = resolve_model({**TEST_MODEL, "pretrain": {**TEST_MODEL["pretrain"], "vae_steps": 2}})
    assert base_dir(other) != folder  # the key follows the settings


def test_lora_trains_saves_reloads_and_generates(base, pools, tmp_path: Path) -> None:
    from djsandbox.models.easyanimate.generate import run_infer
    from djsandbox.models.easyanimate.train import run_train

    folder, metrics = run_train(
        {
            "dataset_path": pools[0],
            "model": TEST_MODEL,
            "max_epochs": 6,
            "batch_size": 4,
            "lr": 0.01,
            "seed": 0,
        },
        tmp_path / "train",
    )
    assert Path(folder, "adapter_model.safetensors").is_file()
    assert metrics["train_rows"] + metrics["val_rows"] == 24 and metrics["val_rows"] == 2
    assert metrics["steps"] == 36 and metrics["base"] == str(base[0])
    assert metrics["last_train_loss"] < 0.9 * metrics["first_train_loss"], metrics
    curves = next((tmp_path / "train").rglob("metrics.csv")).read_text().splitlines()[0]
    assert "train/loss_step" in curves and "lr" in curves and "val/loss" in curves

    cfg = {
        "checkpoint": folder,
        "prompts_path": str(CLIPS),
        "split": "test",
        "max_prompts": 2,
        "video_num_per_prompt": 2,
        "seed": 5,
        "num_inference_steps": 4,
    }
    videos, jsonl = run_infer(cfg, tmp_path / "infer")
    rows = [json.loads(line) for line in Path(jsonl).read_text().splitlines()]
    assert [(r["sample"], r["seed"]) for r in rows] == [(0, 5), (1, 6), (0, 7), (1, 8)]
    for row in rows:
        path = Path(row["videos"][0])
        assert path.parent == Path(videos) and path.name == f"{row['prompt']}-{row['sample']}.mp4"
        assert row["text"] == f"<__dj__video> {row['prompt']} <|__dj__eoc|>"
        assert "defect" not in row and row["motion"] and row["id"].endswith(f"-{row['sample']}")
        assert read_frames(path).shape == (16, 64, 64, 3)

    # the same seed gives the same clip (up to batching's rounding); the base alone another
    one = {**cfg, "max_prompts": 1, "video_num_per_prompt": 1}
    again, _ = run_infer(one, tmp_path / "again")
    plain, _ = run_infer({**one, "checkpoint": None, "model": TEST_MODEL}, tmp_path / "plain")
    name = f"{rows[0]['prompt']}-0.mp4"
    first = read_frames(Path(videos) / name)
    assert abs(read_frames(Path(again) / name).astype(float) - first).mean() < 0.5
    assert abs(read_frames(Path(plain) / name).astype(float) - first).mean() > 2


def test_debug_trainer_runs_one_batch_per_pool(base, pools, tmp_path: Path) -> None:
    from djsandbox.models.easyanimate.train import run_train

    folders, metrics = run_train(
        {
            "dataset_path": {"motion_score": list(pools)},
            "model": TEST_MODEL,
            "trainer": {"fast_dev_run": True},
        },
        tmp_path,
    )
    assert [m["steps"] for m in metrics["motion_score"]] == [1, 1]
    assert [Path(f).parent.parent.name for f in folders["motion_score"]] == ["motion_score"] * 2
    assert len(set(folders["motion_score"])) == 2


def test_checkpoint_of_another_base_is_refused(base, pools, tmp_path: Path) -> None:
    from djsandbox.models.easyanimate.generate import run_infer

    other = {**TEST_MODEL, "tiny": {**TEST_MODEL["tiny"], "seed": 1}}
    fake = tmp_path / "lora"
    fake.mkdir()
    (fake / "adapter_model.safetensors").write_bytes(b"")
    (fake / "lora.json").write_text(json.dumps({"base_key": "nope", "model_settings": other}))
    with pytest.raises(ValueError, match="trained on another base model"):
        run_infer({"checkpoint": str(fake), "prompts_path": str(CLIPS)}, tmp_path / "out")
    with pytest.raises(ValueError, match="not an EasyAnimate LoRA folder"):
        run_infer({"checkpoint": str(tmp_path), "prompts_path": str(CLIPS)}, tmp_path / "o2")


def test_a_lora_trained_while_its_base_is_built_equals_one_over_the_cached_base(
    pools, tmp_path: Path, monkeypatch
) -> None:
    """Building the tiny base reseeds torch's global RNG: a cold cache must not change the
    LoRA (study 9's first pool once trained differently when its run built the base)."""
    from safetensors.torch import load_file

    from djsandbox.models.easyanimate.train import run_train

    monkeypatch.setenv("DJSANDBOX_CACHE_DIR", str(tmp_path / "cold_cache"))
    cfg = {"dataset_path": pools[1], "model": TEST_MODEL, "max_epochs": 1, "batch_size": 4}
    cold_folder, cold = run_train({**cfg, "seed": 3}, tmp_path / "cold")
    warm_folder, warm = run_train({**cfg, "seed": 3}, tmp_path / "warm")
    assert cold["base"] == warm["base"] and cold["steps"] == warm["steps"] > 1
    weights = [
        load_file(str(Path(f, "adapter_model.safetensors"))) for f in (cold_folder, warm_folder)
    ]
    assert weights[0].keys() == weights[1].keys()
    assert all((weights[0][k] == weights[1][k]).all() for k in weights[0])
    assert cold["first_train_loss"] == warm["first_train_loss"]
