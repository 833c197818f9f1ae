"""VBench's 16 dimensions and the files each needs before it can run offline.

The table is read from vbench 0.1.5's own source (`vbench/utils.py: init_submodules`, and the
dimension modules it loads: `aesthetic_quality.py`, `third_party/ViCLIP/simple_tokenizer.py`,
`third_party/tag2Text/tag2text.py`, `third_party/grit_src/...`). VBench fetches a missing file
with `wget` (or `torch.hub`, or `clip.load`) at the start of `evaluate()` and aborts the whole
call when it cannot, so the sandbox checks the files first and names each one with its source.
Update the table when the pinned vbench version changes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

VBENCH_VERSION = "0.1.5"

QUALITY = (
    "subject_consistency",
    "background_consistency",
    "temporal_flickering",
    "motion_smoothness",
    "aesthetic_quality",
    "imaging_quality",
    "dynamic_degree",
)
SEMANTIC = (
    "object_class",
    "multiple_objects",
    "human_action",
    "color",
    "spatial_relationship",
    "scene",
    "appearance_style",
    "temporal_style",
    "overall_consistency",
)
DIMENSIONS = QUALITY + SEMANTIC

# `VBench.check_dimension_requires_extra_info`: these read auxiliary info of VBench's own
# prompt suite, so they run only in the standard mode (VBench's prompts, its full info JSON).
STANDARD_ONLY = (
    "object_class",
    "multiple_objects",
    "scene",
    "appearance_style",
    "color",
    "spatial_relationship",
)
MODES = ("custom_input", "vbench_standard")

_CLIP_B32 = (
    "https://openaipublic.azureedge.net/clip/models/40d365715913c9da98579312b702a82c18be219c"
    "c2a73407c4526f58eba950af/ViT-B-32.pt"
)
_CLIP_L14 = (
    "https://openaipublic.azureedge.net/clip/models/b8cca3fd41ae0c99ba7e8951adf17d267cdb84cd"
    "88be6f7c2e0eca1737a03836/ViT-L-14.pt"
)
_HF_MODELS = "https://huggingface.co/OpenGVLab/VBench_Used_Models/resolve/main/"
_DINO = "https://dl.fbaipublicfiles.com/dino/dino_vitbase16_pretrain/dino_vitbase16_pretrain.pth"
_GRIT = "https://datarelease.blob.core.windows.net/grit/models/grit_b_densecap_objectdet.pth"


@dataclass(frozen=True)
class Need:
    """One file (or folder) a dimension reads. `home`: where it must be: `vbench` (VBench's
    cache, `VBENCH_CACHE_DIR`), `clip` (the `clip` package's cache), `torch_hub`, `hf`
    (the Hugging Face hub cache). `local`: True only with `load_ckpt_from_local: true`, False
    only without it, None in both modes."""

    path: str
    source: str
    home: str = "vbench"
    local: bool | None = None


_B32 = (
    Need("clip_model/ViT-B-32.pt", _CLIP_B32, local=True),
    Need("ViT-B-32.pt", _CLIP_B32, home="clip", local=False),
)
_BERT = Need("models--bert-base-uncased", "https://huggingface.co/bert-base-uncased", home="hf")
_GRIT_NEEDS = (Need("grit_model/grit_b_densecap_objectdet.pth", _GRIT), _BERT)

NEEDS: dict[str, tuple[Need, ...]] = {
    "subject_consistency": (
        Need(
            "dino_model/facebookresearch_dino_main",
            "git clone https://github.com/facebookresearch/dino",
            local=True,
        ),
        Need("dino_model/dino_vitbase16_pretrain.pth", _DINO, local=True),
        Need(
            "facebookresearch_dino_main",
            "torch.hub.load('facebookresearch/dino:main', 'dino_vitb16')",
            home="torch_hub",
            local=False,
        ),
        Need("checkpoints/dino_vitbase16_pretrain.pth", _DINO, home="torch_hub", local=False),
    ),
    "background_consistency": _B32,
    "temporal_flickering": (),
    "motion_smoothness": (
        Need("amt_model/amt-s.pth", "https://huggingface.co/lalala125/AMT/resolve/main/amt-s.pth"),
    ),
    "dynamic_degree": (
        Need(
            "raft_model/models/raft-things.pth",
            "https://dl.dropboxusercontent.com/s/4j4z58wuv8o0mfz/models.zip (unzip into "
            "raft_model/)",
        ),
    ),
    "aesthetic_quality": (
        Need(
            "aesthetic_model/emb_reader/sa_0_4_vit_l_14_linear.pth",
            "https://github.com/LAION-AI/aesthetic-predictor/raw/main/sa_0_4_vit_l_14_linear.pth",
        ),
        Need("clip_model/ViT-L-14.pt", _CLIP_L14, local=True),
        Need("ViT-L-14.pt", _CLIP_L14, home="clip", local=False),
    ),
    "imaging_quality": (
        Need(
            "pyiqa_model/musiq_spaq_ckpt-358bb6af.pth",
            "https://github.com/chaofengc/IQA-PyTorch/releases/download/v0.1-weights/"
            "musiq_spaq_ckpt-358bb6af.pth",
        ),
    ),
    "object_class": _GRIT_NEEDS,
    "multiple_objects": _GRIT_NEEDS,
    "color": _GRIT_NEEDS,
    "spatial_relationship": _GRIT_NEEDS,
    "human_action": (
        Need(
            "umt_model/l16_ptk710_ftk710_ftk400_f16_res224.pth",
            _HF_MODELS + "l16_ptk710_ftk710_ftk400_f16_res224.pth",
        ),
    ),
    "scene": (
        Need(
            "caption_model/tag2text_swin_14m.pth",
            "https://huggingface.co/spaces/xinyu1205/recognize-anything/resolve/main/"
            "tag2text_swin_14m.pth",
        ),
        _BERT,
    ),
    "appearance_style": _B32,
    "temporal_style": (
        Need("ViCLIP/ViClip-InternVid-10M-FLT.pth", _HF_MODELS + "ViClip-InternVid-10M-FLT.pth"),
        Need(
            "ViCLIP/bpe_simple_vocab_16e6.txt.gz",
            "https://raw.githubusercontent.com/openai/CLIP/main/clip/bpe_simple_vocab_16e6.txt.gz",
        ),
    ),
}
NEEDS["overall_consistency"] = NEEDS["temporal_style"]

# Dimensions whose code imports a package vbench does not install (the reference installs it).
EXTRA_PACKAGES = {
    dim: "detectron2 (pip install "
    "'detectron2@git+https://github.com/facebookresearch/detectron2.git')"
    for dim in ("object_class", "multiple_objects", "color", "spatial_relationship")
}


def vbench_cache_dir(configured: object = None) -> Path:
    """`vbench_cache_dir`, else `$VBENCH_CACHE_DIR`, else VBench's default `~/.cache/vbench`."""
    value = configured or os.environ.get("VBENCH_CACHE_DIR") or "~/.cache/vbench"
    return Path(str(value)).expanduser()


def _homes(vbench_cache: Path) -> dict[str, Path]:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser()
    torch_home = Path(os.environ.get("TORCH_HOME") or cache / "torch").expanduser()
    hf_home = Path(os.environ.get("HF_HOME") or cache / "huggingface").expanduser()
    hf_hub = Path(os.environ.get("HF_HUB_CACHE") or hf_home / "hub").expanduser()
    return {
        "vbench": vbench_cache,
        "clip": cache / "clip",
        "torch_hub": torch_home / "hub",
        "hf": hf_hub,
    }


def missing_files(dimension: str, vbench_cache: Path, local: bool) -> list[tuple[Path, str]]:
    """(path, where it comes from) of each file `dimension` needs that is not on this machine."""
    homes = _homes(vbench_cache)
    out = []
    for need in NEEDS.get(dimension, ()):
        if need.local is not None and need.local != local:
            continue
        path = homes[need.home] / need.path
        if not path.exists():
            out.append((path, need.source))
    return out
