"""Bases that differ only in their transformer share one pretrained VAE: the second base does
not pretrain a VAE, holds the first one's VAE weights, and equals a base built from scratch;
a changed VAE setting trains a new VAE; a base built before the VAE cache hands its VAE over."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

SMALL = {
    "tiny": {"vae_channels": [8, 16, 16, 16], "vae_norm_groups": 4, "heads": 2, "layers": 1},
    "pretrain": {
        "max_clips": 6,
        "vae_steps": 2,
        "vae_batch_size": 2,
        "transformer_steps": 3,
        "transformer_batch_size": 4,
    },
}
LARGE = {**SMALL, "tiny": {**SMALL["tiny"], "heads": 4, "layers": 2, "mmdit_layers": 2}}


def _build(model: dict) -> tuple[Path, dict]:
    from djsandbox.models.easyanimate.base import ensure_base
    from djsandbox.models.easyanimate.settings import resolve_model

    folder, _ = ensure_base(resolve_model(model))
    return folder, json.loads((folder / "pretrain.json").read_text())


def _weights(folder: Path, part: str) -> dict:
    from safetensors.torch import load_file

    return load_file(str(next((folder / part).glob("*.safetensors"))))


def _same(a: dict, b: dict) -> bool:
    import torch

    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _vae_dir(model: dict) -> Path:
    from djsandbox.models.easyanimate.settings import resolve_model
    from djsandbox.models.easyanimate.vae_cache import vae_dir

    return vae_dir(resolve_model(model))


def test_larger_base_reuses_the_vae_and_equals_a_full_build(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DJSANDBOX_CACHE_DIR", str(tmp_path / "scratch"))
    scratch, info = _build(LARGE)  # no cached VAE: pretrains its own
    assert info["vae_reused"] is False
    monkeypatch.setenv("DJSANDBOX_CACHE_DIR", str(tmp_path / "shared"))
    small, small_info = _build(SMALL)
    assert small_info["vae_reused"] is False and _vae_dir(SMALL) == _vae_dir(LARGE)
    large, large_info = _build(LARGE)
    assert large_info["vae_reused"] is True and large.name == scratch.name
    assert _same(_weights(large, "vae"), _weights(small, "vae"))
    assert _same(_weights(large, "vae"), _weights(scratch, "vae"))
    # the transformer saw the same generator draws as in the build that trained the VAE
    assert _same(_weights(large, "transformer"), _weights(scratch, "transformer"))
    assert large_info["latent_scaling_factor"] == info["latent_scaling_factor"]


def test_changed_vae_setting_trains_a_new_vae(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DJSANDBOX_CACHE_DIR", str(tmp_path))
    small, _ = _build(SMALL)
    other = {**LARGE, "pretrain": {**LARGE["pretrain"], "vae_lr": 0.01}}
    assert _vae_dir(other) != _vae_dir(SMALL)
    folder, info = _build(other)
    assert info["vae_reused"] is False
    assert not _same(_weights(folder, "vae"), _weights(small, "vae"))


def test_a_base_built_before_the_vae_cache_hands_its_vae_over(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DJSANDBOX_CACHE_DIR", str(tmp_path))
    small, _ = _build(SMALL)
    shutil.rmtree(_vae_dir(SMALL))  # as if built by the code before the VAE cache
    again, _ = _build(SMALL)  # already built: only hands its VAE over
    assert again == small and (_vae_dir(SMALL) / "config.json").is_file()
    large, info = _build(LARGE)
    assert info["vae_reused"] is True
    assert _same(_weights(large, "vae"), _weights(small, "vae"))
