"""Data-Juicer's video ops offline: the weightless ones compute their stats here with the
declared packages (OpenCV headless, PyAV) and never reach the auto-installer; ops that need
weights, packages or programs this machine lacks are missing resources at validation (exit 4)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from djsandbox.hooks.data_juicer import recipe_problems
from djsandbox.resource_problems import Resource

ROOT = Path(__file__).resolve().parents[1]
CLIPS = ROOT / "src/djsandbox/resources/clipart_videos"
RECIPE = ROOT / "src/djsandbox/resources/recipes/video_clips.yaml"


def _clips() -> list[dict]:
    return [json.loads(line) for line in (CLIPS / "clips.jsonl").read_text().splitlines()]


def _sample(clip: dict) -> dict:
    return {
        "videos": [str(CLIPS / clip["video"])],
        "text": f"<__dj__video> {clip['caption']} <|__dj__eoc|>",
        "__dj__stats__": {},
    }


@pytest.fixture
def no_installs(monkeypatch):
    """Data-Juicer's LazyLoader may not install anything (it would on a missing module)."""
    from data_juicer.utils.lazy_loader import LazyLoader

    def refuse(cls, package_spec, pip_args=None):
        raise AssertionError(f"Data-Juicer tried to install {package_spec}")

    monkeypatch.setattr(LazyLoader, "_install_package", classmethod(refuse))


def _op(name: str, **args):
    from data_juicer.ops import OPERATORS

    return OPERATORS.modules[name](**args)


def test_shape_ops_measure_the_clips_offline(no_installs) -> None:
    recipe = yaml.safe_load(RECIPE.read_text())
    settings = {next(iter(item)): next(iter(item.values())) for item in recipe["process"]}
    sample = _sample(_clips()[0])
    for name in ("video_resolution_filter", "video_duration_filter", "video_aspect_ratio_filter"):
        sample = _op(name, **settings[name]).compute_stats_single(sample)
    stats = sample["__dj__stats__"]
    assert (list(stats["video_width"]), list(stats["video_height"])) == ([64], [64])
    assert list(stats["video_duration"]) == pytest.approx([2.0])
    assert list(stats["video_aspect_ratios"]) == pytest.approx([1.0])


def test_motion_score_separates_static_clips(no_installs) -> None:
    """Farneback optical flow through the headless cv2 (no opencv-contrib install): the
    `static` defect clips score far below moving ones. A broken op (constant, random, or
    frames not decoded) gives an AUC near 0.5."""
    from sklearn.metrics import roc_auc_score

    settings = next(
        item["video_motion_score_filter"]
        for item in yaml.safe_load(RECIPE.read_text())["process"]
        if "video_motion_score_filter" in item
    )
    op = _op("video_motion_score_filter", **settings)
    train = [c for c in _clips() if c["split"] == "train"]
    static = [c for c in train if c["defect"] == "static"][:6]
    others = [c for c in train if c["defect"] != "static"][:12]
    scores = []
    for clip in static + others:
        stats = op.compute_stats_single(_sample(clip))["__dj__stats__"]
        scores.append(float(stats["video_motion_score"][0]))
    labels = [1] * len(static) + [0] * len(others)
    auc = roc_auc_score(labels, [-s for s in scores])
    assert auc >= 0.95, (auc, scores)
    assert max(scores[: len(static)]) < 0.1 < sorted(scores[len(static) :])[len(others) // 2]


def test_packaged_recipe_needs_nothing_missing() -> None:
    assert recipe_problems(yaml.safe_load(RECIPE.read_text())) == []


def _problems(*ops: dict) -> list[Resource]:
    found = recipe_problems({"dataset_path": "x.jsonl", "process": list(ops)})
    assert all(isinstance(p, Resource) for p in found), found
    return found


def test_weights_ops_are_missing_resources(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    [nsfw] = _problems({"video_nsfw_filter": {}})
    assert nsfw.kind == "weights"
    assert nsfw.startswith("dj_configs.process[0].video_nsfw_filter.hf_nsfw_model:")
    assert "'Falconsai/nsfw_image_detection'" in nsfw
    assert "huggingface-cli download Falconsai/nsfw_image_detection" in nsfw.fix

    missing = str(tmp_path / "clip")
    [clip] = _problems({"video_frames_text_similarity_filter": {"hf_clip": missing}})
    assert clip.kind == "weights" and missing in clip and "put the model folder" in clip.fix
    (tmp_path / "clip").mkdir()  # a local model folder: nothing missing
    assert _problems({"video_frames_text_similarity_filter": {"hf_clip": missing}}) == []


def test_missing_package_and_program(monkeypatch) -> None:
    import importlib.util

    from djsandbox.data import video_op_needs

    if importlib.util.find_spec("easyocr") is None:
        needs = _problems({"video_ocr_area_ratio_filter": {}})
        assert {n.kind for n in needs} == {"package", "weights"}
        assert any("package 'easyocr'" in n and "pip install easyocr" in n.fix for n in needs)
    monkeypatch.setattr(video_op_needs.shutil, "which", lambda name: None)
    [ffmpeg] = _problems({"video_duration_filter": {}})
    assert ffmpeg.kind == "program" and "video_backend: av" in ffmpeg.fix
    assert _problems({"video_duration_filter": {"video_backend": "av"}}) == []


def test_check_exits_4_before_any_job(tmp_path: Path, capsys, monkeypatch) -> None:
    from djsandbox import cli
    from djsandbox.errors import EXIT_RESOURCES

    monkeypatch.chdir(tmp_path)
    config = tmp_path / "sandbox.yaml"
    job = {
        "hook": "ProbeViaAnalyzerHook",
        "meta_name": "analysis",
        "dj_configs": {
            "dataset_path": str(CLIPS / "clips.jsonl"),
            "video_key": "videos",
            "process": [{"video_motion_score_filter": {}}, {"video_nsfw_filter": {}}],
        },
    }
    config.write_text(
        yaml.safe_dump({"work_dir": str(tmp_path / "run"), "probe_job_configs": [job]})
    )
    assert cli.main(["--config", str(config), "--check"]) == EXIT_RESOURCES
    err = capsys.readouterr().err
    assert "missing resources (1;" in err
    assert "[weights]" in err and "video_nsfw_filter.hf_nsfw_model" in err
    assert cli.main(["--config", str(config)]) == EXIT_RESOURCES
    assert not (tmp_path / "run").exists()
