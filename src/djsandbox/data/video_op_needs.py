"""What Data-Juicer's video ops need from this machine, found at validation, before any job runs.

Data-Juicer fetches what an op lacks when the op first runs: a package through its LazyLoader
(``uv pip install``), weights from the Hugging Face hub or its model links, and it shells out to
an ``ffmpeg`` binary for the ``ffmpeg`` video backend. Here every run is offline with runtime
installs forbidden (`dj_runtime`), so each would fail deep inside a job after the earlier jobs
ran. This reports each as a missing resource (`resource_problems.Resource`) naming the op, the
recipe key and what to fetch or set; a recipe whose only problems are these is valid (exit 4).

Checked for ops named ``video_*`` (the ops the text-to-video flows use): the op's own lazily
imported packages (read by Data-Juicer's ``analyze_lazy_loaded_requirements_for_code_file``, so
the list follows its version), its ``hf_*`` weights (a local folder, Data-Juicer's external
models home, or the Hugging Face cache), the fixed weights of the few video ops that are not on
the hub, and ``video_backend: ffmpeg`` without an ``ffmpeg`` program. Data-Juicer is imported
here only when a recipe holds a video op (validation of such a recipe imports it anyway).
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
import shutil
from pathlib import Path
from typing import Any

from ..resource_problems import Resource

__all__ = ["video_op_needs"]

# Distribution name -> import name where they differ (Data-Juicer names the distribution; any
# build that provides the module will do, e.g. opencv-python-headless for opencv-contrib-python).
_MODULE_OF = {
    "opencv-contrib-python": "cv2",
    "opencv-python": "cv2",
    "opencv-python-headless": "cv2",
    "scikit-image": "skimage",
    "scikit-learn": "sklearn",
    "pillow": "PIL",
}
# `hf_*` parameters whose empty default stands for a model the op picks itself.
_EMPTY_DEFAULT = {
    ("video_aesthetics_filter", "hf_scorer_model"): (
        "shunk031/aesthetics-predictor-v2-sac-logos-ava1-l14-linearMSE"
    ),
}


def _torch_hub_file(name: str) -> Path:
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "torch"
    )
    return Path(home) / "hub" / "checkpoints" / name


def _dj_models_file(name: str) -> Path:
    from .dj_runtime import default_cache_dir

    home = os.environ.get("DATA_JUICER_MODELS_CACHE") or str(default_cache_dir() / "models")
    return Path(home) / name


# Weights of video ops that are not Hugging Face models: op -> (what, where it must be).
_FIXED_WEIGHTS = {
    "video_motion_score_raft_filter": (
        "torchvision's RAFT-large optical-flow weights",
        lambda: _torch_hub_file("raft_large_C_T_SKHT_V2-ff5fadd5.pth"),
    ),
    "video_tagging_from_frames_filter": (
        "the Recognize Anything (RAM++) tagger",
        lambda: _dj_models_file("ram_plus_swin_large_14m.pth"),
    ),
    "video_tagging_from_frames_mapper": (
        "the Recognize Anything (RAM++) tagger",
        lambda: _dj_models_file("ram_plus_swin_large_14m.pth"),
    ),
    "video_ocr_area_ratio_filter": (
        "EasyOCR's CRAFT text detector",
        lambda: Path(os.path.expanduser("~/.EasyOCR/model/craft_mlt_25k.pth")),
    ),
}


def _module_name(requirement: str) -> str:
    name = re.split(r"[<>=!~\[@; ]", requirement.strip(), maxsplit=1)[0]
    return _MODULE_OF.get(name.lower(), name).split(".")[0].replace("-", "_")


def _hf_available(name: str) -> bool:
    """Whether Data-Juicer finds the model offline: a local folder, Data-Juicer's external models
    home (DATA_JUICER_EXTERNAL_MODELS_HOME), or a snapshot in the Hugging Face cache."""
    if os.path.isdir(os.path.expanduser(name)):
        return True
    external = os.environ.get("DATA_JUICER_EXTERNAL_MODELS_HOME")
    if external and any(
        os.path.exists(os.path.join(p.strip(), name)) for p in external.split(os.pathsep) if p
    ):
        return True
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(name, "config.json"), str)
    except Exception:  # a name that is no repo id (a missing local path): not available
        return False


def _settings(cls: Any, args: dict[str, Any]) -> dict[str, Any]:
    params = inspect.signature(cls.__init__).parameters.values()
    defaults = {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}
    return {**defaults, **args}


def _needs_of(index: int, op: str, cls: Any, args: dict[str, Any]) -> list[Resource]:
    from data_juicer.ops.op_env import analyze_lazy_loaded_requirements_for_code_file

    where = f"dj_configs.process[{index}].{op}"
    needs: list[Resource] = []
    missing: dict[str, str] = {}  # module -> what to install (torchvision.models: torchvision)
    for requirement in analyze_lazy_loaded_requirements_for_code_file(inspect.getfile(cls)):
        module = _module_name(requirement)
        if importlib.util.find_spec(module) is None:
            missing.setdefault(module, requirement.split(".")[0])
    for module, package in missing.items():
        needs.append(
            Resource(
                f"{where}: needs the package {package!r} (module {module!r}), which is not "
                "installed; Data-Juicer would pip-install it at run time, which djsandbox "
                "does not allow",
                fix=f"install it into this environment (pip install {package}), or drop {op} "
                "from the recipe",
                kind="package",
            )
        )
    settings = _settings(cls, args)
    for key, value in settings.items():
        if not key.startswith("hf_") or not isinstance(value, str):
            continue
        model = value or _EMPTY_DEFAULT.get((op, key))
        if model and not _hf_available(model):
            fix = (
                f"put the model folder at {model!r}, or set {key} to where it is"
                if model.startswith(("/", ".", "~"))
                else f"download them once (huggingface-cli download {model}) into the Hugging "
                f"Face cache, or set {key} to a local folder holding them"
            )
            needs.append(
                Resource(
                    f"{where}.{key}: needs the weights {model!r}, which are not on this machine "
                    "(runs are offline)",
                    fix=fix,
                    kind="weights",
                )
            )
    if op in _FIXED_WEIGHTS:
        what, where_file = _FIXED_WEIGHTS[op]
        path = where_file()
        if not path.is_file():
            needs.append(
                Resource(
                    f"{where}: needs {what}, which is not on this machine (runs are offline)",
                    fix=f"put the weights file at {str(path)!r}",
                    kind="weights",
                )
            )
    if settings.get("video_backend") == "ffmpeg" and shutil.which("ffmpeg") is None:
        needs.append(
            Resource(
                f"{where}.video_backend: 'ffmpeg' (its default) runs the ffmpeg program, which "
                "is not on PATH",
                fix=f"set {where}.video_backend: av (PyAV, installed with djsandbox), or "
                "install FFmpeg",
                kind="program",
            )
        )
    return needs


def video_op_needs(process: Any) -> list[Resource]:
    """Missing packages, weights and programs of the recipe's ``video_*`` ops (the recipe's
    shape and op names are checked before, by `dj_runtime.check_process`)."""
    items = [
        (i, *next(iter(item.items())))
        for i, item in enumerate(process if isinstance(process, list) else [])
        if isinstance(item, dict) and len(item) == 1 and str(next(iter(item))).startswith("video_")
    ]
    if not items:
        return []
    from data_juicer.ops import OPERATORS

    needs: list[Resource] = []
    for index, op, args in items:
        cls = OPERATORS.modules.get(op)
        if cls is not None:
            needs += _needs_of(index, op, cls, args if isinstance(args, dict) else {})
    return needs
