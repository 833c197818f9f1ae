"""The parts of video_inception_evaluator that need no trained detector: the distances, the
metric names, where clips come from, and the checks before a run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from djsandbox import cli
from djsandbox.errors import EXIT_RESOURCES, ConfigError
from djsandbox.evaluation.video.checks import check_video_inception
from djsandbox.evaluation.video.clips import resolve_clips
from djsandbox.evaluation.video.distances import fvd, inception_score, kvd
from djsandbox.evaluation.video.metric_names import parse_metrics
from djsandbox.resource_problems import Resource


def test_fvd_small_for_one_distribution_large_for_a_shift() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 8)), rng.normal(size=(400, 8))
    same, shifted = fvd(a, b), fvd(a, b + 1.0)
    assert same < 0.5
    d = a.mean(0) - b.mean(0)  # a shift changes only the means' term
    assert shifted == pytest.approx(same - d @ d + (d - 1) @ (d - 1), rel=1e-9)
    assert shifted > 7


def test_fvd_matches_scipy_when_well_conditioned_and_stays_finite_when_singular() -> None:
    import scipy.linalg

    from djsandbox.evaluation.video.distances import gaussian_fit

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(300, 5)), rng.normal(size=(300, 5)) * 2 + 0.3
    (m1, s1), (m2, s2) = gaussian_fit(a), gaussian_fit(b)
    root = np.real(scipy.linalg.sqrtm(s1 @ s2))
    expected = np.square(m1 - m2).sum() + np.trace(s1 + s2 - 2 * root)
    assert fvd(a, b) == pytest.approx(expected, rel=1e-6)
    few = fvd(rng.normal(size=(10, 64)), rng.normal(size=(12, 64)))  # rank-deficient fits
    assert np.isfinite(few) and few > 0


def test_kvd_near_zero_for_one_distribution_and_positive_for_two() -> None:
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(200, 16)), rng.normal(size=(150, 16))
    assert abs(kvd(a, b)) < 0.05
    assert kvd(a, b + 1.0) > 1.0


def test_inception_score_bounds() -> None:
    confident = np.eye(6)[np.arange(60) % 6]
    assert inception_score(confident) == pytest.approx(6.0, rel=1e-6)
    assert inception_score(np.tile(np.eye(6)[:1], (60, 1))) == pytest.approx(1.0)
    assert inception_score(np.full((10, 6), 1 / 6)) == pytest.approx(1.0)


def test_metric_names() -> None:
    specs = parse_metrics(["FVD", "kvd2048_16f", "fvd2048_128f_subsample8f", "is"])
    assert [(s.key, s.kind, s.frames, s.spacing, s.max_items) for s in specs] == [
        ("fvd", "fvd", None, 1, None),
        ("kvd2048_16f", "kvd", 16, 1, 2048),
        ("fvd2048_128f_subsample8f", "fvd", 16, 8, 2048),
        ("is", "is", None, 1, None),
    ]
    assert [s.key for s in parse_metrics(None)] == ["fvd", "kvd", "is"]
    for bad, words in (
        ("isv2048_ucf", "C3D"),
        ("fid50k_full", "single frames"),
        ("fvdd", "unknown metric"),
        (["fvd", "FVD"], "more than once"),
    ):
        with pytest.raises(ValueError, match=words):
            parse_metrics(bad)


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_clips_from_jsonl_and_folder(tmp_path: Path) -> None:
    (tmp_path / "v").mkdir()
    for name in ("a cat, the camera pans left-0.mp4", "a cat, the camera pans left-1.mp4"):
        (tmp_path / "v" / name).write_bytes(b"x")
    folder = resolve_clips(tmp_path / "v", "fake_data_path")
    assert [c.text for c in folder] == ["a cat, the camera pans left"] * 2
    rows = [
        {
            "videos": ["v/a cat, the camera pans left-0.mp4"],
            "text": "<__dj__video> t",
            "split": "x",
        },
        {"video": str(tmp_path / "v" / "a cat, the camera pans left-1.mp4"), "caption": "c"},
        {"videos": ["v/a cat, the camera pans left-0.mp4"], "prompt": "p", "split": "y"},
    ]
    src = _write(tmp_path / "d.jsonl", rows)
    assert [c.text for c in resolve_clips(src, "k")] == ["<__dj__video> t", "c", "p"]
    assert [c.text for c in resolve_clips(src, "k", split="y")] == ["c", "p"]  # no split: kept
    with pytest.raises(ConfigError, match="real_data_path: 1 of 1 videos .* do not exist"):
        resolve_clips(_write(tmp_path / "e.jsonl", [{"videos": ["nope.mp4"]}]), "real_data_path")
    with pytest.raises(ConfigError, match=r"k: .*:1: no video path; expected key 'videos'"):
        resolve_clips(_write(tmp_path / "f.jsonl", [{"text": "x"}]), "k")
    with pytest.raises(ConfigError, match="fake_data_path: .* does not exist"):
        resolve_clips(tmp_path / "missing", "fake_data_path")


def test_checks_before_the_run() -> None:
    ok = {"fake_data_path": "f.jsonl", "real_data_path": "r.jsonl"}
    assert check_video_inception(ok) == []
    assert check_video_inception({**ok, "detector_path": "motion", "metric": "fvd2048_16f"}) == []
    problems = check_video_inception(
        {"fake_data_path": {"a": ["x.jsonl"]}, "metric": "FVD", "num_runs": 0, "verbose": "yes"}
    )
    assert problems == [
        "real_data_path: missing; fvd compare the fake clips with real ones",
        "num_runs: got 0; expected an integer in [1, 1000]",
        "verbose: got 'yes'; expected true or false",
    ]
    assert check_video_inception({"fake_data_path": "f", "metric": "IS"}) == []
    [need] = check_video_inception({**ok, "detector_path": "/no/i3d_torchscript.pt"})
    assert isinstance(need, Resource) and need.kind == "weights"
    assert "i3d_torchscript.pt" in need.fix and "stylegan-v" in need.fix


def test_missing_i3d_is_a_missing_resource_at_check(tmp_path: Path, capsys) -> None:
    config = tmp_path / "sandbox.yaml"
    job = {
        "hook": "EvaluateDataHook",
        "meta_name": "fvd",
        "extra_configs": {
            "type": "video_inception_evaluator",
            "fake_data_path": "gen/generated.jsonl",
            "real_data_path": "real.jsonl",
            "detector_path": str(tmp_path / "i3d_torchscript.pt"),
            "metric": "fvd2048_16f",
        },
    }
    config.write_text(yaml.safe_dump({"evaluation_job_configs": [job]}), encoding="utf-8")
    assert cli.main(["--config", str(config), "--check"]) == EXIT_RESOURCES
    err = capsys.readouterr().err
    assert "[weights]" in err and "i3d_torchscript.pt" in err and "detector_path" in err
    assert "invalid sandbox config" not in err
