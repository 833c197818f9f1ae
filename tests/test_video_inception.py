"""video_inception_evaluator end to end on the packaged clipart clips, with the motion
classifier trained here (once per test session, in the session's cache): FVD tells real clips
from noise and from static clips, and motion accuracy of the real test clips is high.
Also the I3D call convention (a TorchScript stand-in that checks how it is called), nested
datasets, bootstrap runs and the cache.

Tests that need the trained detector are slow-marked: training costs about 40 s of CPU on the
360 packaged clips (several minutes of wall time on a shared, loaded machine)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from djsandbox.data.video_io import read_frames, write_mp4
from djsandbox.errors import ConfigError
from djsandbox.evaluation.video.evaluator import RESULT_FILE, run_video_inception
from djsandbox.evaluation.video.motion_detector import packaged_clips

CLIPS = packaged_clips()


@pytest.fixture(autouse=True)
def _own_job_cache() -> None:
    """Overrides conftest's per-test cache folder: this module keeps the session's, so that
    the motion detector is trained once for the module (nothing here depends on the job cache being empty)."""


def _dj_rows(rows: list[dict]) -> list[dict]:
    """Data-Juicer-format rows of clipart clips (absolute paths, caption in `text`)."""
    return [
        {
            "videos": [str(CLIPS.parent / r["video"])],
            "text": f"<__dj__video> {r['caption']} <|__dj__eoc|>",
            "id": r["id"],
        }
        for r in rows
    ]


def _write(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Real halves (train split, random), the test split, and noise / static clip folders."""
    root = tmp_path_factory.mktemp("video_inception")
    rows = [json.loads(line) for line in CLIPS.read_text(encoding="utf-8").splitlines()]
    rng = np.random.default_rng(0)
    train = [r for r in rows if r["split"] == "train"]
    train = [train[i] for i in rng.permutation(len(train))]  # random halves, every motion
    test = [r for r in rows if r["split"] == "test"]
    (root / "noise").mkdir()
    (root / "static").mkdir()
    for i, r in enumerate(test):
        first = read_frames(CLIPS.parent / r["video"], max_frames=1)[0]
        write_mp4(root / "static" / f"{i} {r['caption']}-0.mp4", np.repeat(first[None], 16, 0))
        noise = rng.integers(0, 256, size=(16, 64, 64, 3), dtype=np.uint8)
        write_mp4(root / "noise" / f"noise {i}-0.mp4", noise)
    return {
        "real_a": _write(root / "real_a.jsonl", _dj_rows(train[0::2])),
        "real_b": _write(root / "real_b.jsonl", _dj_rows(train[1::2])),
        "test": _write(root / "test.jsonl", _dj_rows(test)),
        "noise": str(root / "noise"),
        "static": str(root / "static"),
    }


@pytest.mark.slow
def test_fvd_separates_real_from_noise_and_static(data, tmp_path: Path) -> None:
    cfg = {
        "fake_data_path": {k: data[k] for k in ("real_a", "noise", "static")},
        "real_data_path": data["real_b"],
        "detector_path": "motion",
        "metric": ["FVD", "KVD"],
    }
    res = run_video_inception(cfg, tmp_path)
    fvd = {k: v["fvd"] for k, v in res.items()}
    kvd = {k: v["kvd"] for k, v in res.items()}
    print(f"\nFVD (motion detector, packaged subset, vs real half B): {fvd}\nKVD: {kvd}")
    assert fvd["real_a"] * 10 < fvd["noise"]
    assert fvd["real_a"] * 10 < fvd["static"]
    assert kvd["real_a"] * 10 < min(kvd["noise"], kvd["static"])
    assert res["real_a"]["rows"] == 180 and res["real_a"]["detector"] == "motion"
    saved = json.loads((tmp_path / RESULT_FILE).read_text(encoding="utf-8"))
    assert saved["results"]["noise"]["fvd"] == fvd["noise"]
    assert saved["detector"]["settings"]["split"] == "train"  # never the test clips


@pytest.mark.slow
def test_motion_accuracy_of_real_test_clips_is_high(data, tmp_path: Path) -> None:
    res = run_video_inception({"fake_data_path": data["test"], "metric": "IS"}, tmp_path)
    print(f"\nmotion accuracy of the 60 real test clips: {res['motion_accuracy']:.3f}")
    assert res["motion_accuracy"] >= 0.8
    assert 2.0 < res["is"] <= 6.0  # spread over the six motions, fairly confident


@pytest.mark.slow
def test_bootstrap_runs_give_mean_and_spread(data, tmp_path: Path) -> None:
    res = run_video_inception(
        {
            "fake_data_path": data["test"],
            "real_data_path": data["real_b"],
            "metric": "fvd2048_16f",
            "num_runs": 3,
            "seed": 7,
            "result_path": "scores.json",
        },
        tmp_path,
    )
    runs = res["fvd2048_16f_seeds"]
    assert len(runs) == 3 and len(set(runs)) == 3
    assert res["fvd2048_16f"] == pytest.approx(np.mean(runs))
    assert res["fvd2048_16f_std"] > 0
    assert (tmp_path / "scores.json").is_file()
    with pytest.raises(ConfigError, match="result_path: .* already exists"):
        run_video_inception(
            {"fake_data_path": data["test"], "result_path": "scores.json", "metric": "IS"}, tmp_path
        )


@pytest.mark.slow
def test_detector_is_cached_and_reused(data) -> None:
    from djsandbox.evaluation.video.motion_detector import MotionDetector, MotionSettings

    settings = MotionSettings.from_config({})
    first = MotionDetector(settings)
    weights = first.folder / "detector.pt"
    stamp = weights.stat().st_mtime_ns
    again = MotionDetector(settings)
    assert weights.stat().st_mtime_ns == stamp and again.meta == first.meta
    assert first.meta["train_clips"] == 360  # the train split only
    other = MotionSettings.from_config({"detector_options": {"epochs": 1}})
    assert other.key() != settings.key()
    with pytest.raises(ConfigError, match="detector_options: unknown key"):
        MotionSettings.from_config({"detector_options": {"epoch": 1}})


def _fake_i3d(path: Path) -> None:
    """A TorchScript module with the I3D's signature that refuses any other call convention."""
    import torch

    class FakeI3D(torch.nn.Module):
        def forward(
            self, x: torch.Tensor, rescale: bool, resize: bool, return_features: bool
        ) -> torch.Tensor:
            if x.dtype != torch.uint8 or x.dim() != 5 or x.shape[1] != 3:
                raise RuntimeError("expected uint8 (N, 3, T, H, W)")
            if not (rescale and resize and return_features):
                raise RuntimeError("expected rescale=True, resize=True, return_features=True")
            v = x.float() / 127.5 - 1
            return torch.cat(
                [
                    v.mean(dim=(2, 3, 4)),
                    v.std(dim=(2, 3, 4)),
                    v.diff(dim=2).abs().mean(dim=(2, 3, 4)),
                ],
                1,
            )

    torch.jit.script(FakeI3D()).save(str(path))


def test_i3d_is_loaded_and_called_as_stylegan_v_does(data, tmp_path: Path) -> None:
    _fake_i3d(tmp_path / "i3d_torchscript.pt")
    res = run_video_inception(
        {
            "fake_data_path": data["noise"],
            "real_data_path": data["test"],
            "detector_path": str(tmp_path / "i3d_torchscript.pt"),
            "metric": ["fvd2048_16f", "is"],
            "height": 32,
            "width": 48,
        },
        tmp_path,
    )
    assert res["detector"] == "i3d" and res["fvd2048_16f"] > 0 and res["is"] >= 1.0
    assert "motion_accuracy" not in res  # Kinetics classes are not camera motions
    (tmp_path / "bad.pt").write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="not a TorchScript model"):
        run_video_inception(
            {
                "fake_data_path": data["noise"],
                "detector_path": str(tmp_path / "bad.pt"),
                "metric": "IS",
            },
            tmp_path / "b",
        )


def test_scores_per_pool_reach_the_summary(data, run_cfg, tmp_path: Path) -> None:
    """Through the engine: one dict of metrics per fake dataset, read back as one summary row
    per item (the shape the report draws per pool)."""
    from djsandbox.reporting.summary import item_rows

    _fake_i3d(tmp_path / "i3d_torchscript.pt")
    job = {
        "hook": "EvaluateDataHook",
        "meta_name": "fvd",
        "extra_configs": {
            "type": "video_inception_evaluator",
            "fake_data_path": {"noise": [data["noise"]], "static": [data["static"]]},
            "real_data_path": data["test"],
            "detector_path": str(tmp_path / "i3d_torchscript.pt"),
            "metric": ["FVD", "IS"],
        },
    }
    outcome = run_cfg({"evaluation_job_configs": [job]})
    rows = item_rows(outcome.state)
    assert [r["item"] for r in rows] == ["noise[0]", "static[0]"]
    assert all(r["fvd"] > 0 and r["is"] >= 1 and r["rows"] == 60 for r in rows)
    assert rows[0]["fvd"] > rows[1]["fvd"]  # noise is further from real clips than stills
