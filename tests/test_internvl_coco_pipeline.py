"""`+pipeline=internvl_coco` in its tiny profile, through the real runner: baseline, single-op,
multi-op and scaling pipelines with the tiny captioner, real Data-Juicer and pycocoevalcap."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import subprocess_env

METRICS = {
    "BLEU_1",
    "BLEU_2",
    "BLEU_3",
    "BLEU_4",
    "METEOR",
    "ROUGE_L",
    "CIDEr",
    "avg_score",
    "caption_score",
}
TINY_PROFILE = [
    "trainer=debug",
    "dataset.max_train_images=45",
    "dataset.max_test_images=8",
    "vars.stats=[text_len,image_sizes]",
    "vars.top_n=2",
    "vars.min_pool_rows=1",
    "vars.max_new_tokens=4",
]


def rows(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def is_scores(value: object) -> bool:
    return (
        isinstance(value, dict)
        and set(value) >= METRICS
        and all(0 <= value[k] <= 10 for k in METRICS)
    )


def hidden_size(checkpoint: str) -> int:
    return json.loads((Path(checkpoint) / "config.json").read_text())["text_config"]["hidden_size"]


@pytest.mark.slow  # about 30-50 s on 2 cores: CI runs it with -m slow
def test_tiny_profile_runs_every_pipeline(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "djsandbox", "+pipeline=internvl_coco", *TINY_PROFILE],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**subprocess_env(), "UV_OFFLINE": "1", "PIP_NO_INDEX": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    state = next((tmp_path / "outputs" / "internvl_coco").glob("*/*/sandbox_state.json"))
    ctx = json.loads(state.read_text())["context"]["iterations"][0]
    base, single, multi, scaling = (
        ctx[p] for p in ("baseline", "single_op", "multi_op", "scaling")
    )

    # baseline: 45 train / 8 test images, one conversation per caption, absolute image paths
    train_rows = rows(base["train_data"]["res_1"])
    assert len({r["image_id"] for r in train_rows}) == 45
    assert len({r["image_id"] for r in rows(base["test_data"]["res_1"])}) == 8
    assert all(Path(r["image"]).is_file() for r in train_rows)
    assert len(rows(base["dj_data"]["res_1"])) == len(train_rows)
    meta = json.loads(Path(base["meta"]["res_1"]).read_text())
    assert list(meta.values())[0]["length"] == len(train_rows)
    assert Path(base["train"]["checkpoints"], "config.json").is_file()
    assert base["train"]["train_metrics"]["train_rows"] + base["train"]["train_metrics"][
        "val_rows"
    ] == len(train_rows)
    assert is_scores(base["test"]["res_1"]) and base["test"]["res_1"]["rows"] == 8

    # single_op: low/mid/high pools per stat, one captioner and one score per pool
    pools = single["pools"]["res_1"]
    assert list(pools) == ["text_len", "image_sizes"] and all(len(v) == 3 for v in pools.values())
    for stat in pools:
        ids = [r["id"] for p in pools[stat] for r in rows(p)]
        assert sorted(ids) == sorted(r["id"] for r in train_rows)  # a partition of the data
        assert [len(rows(p)) for p in single["internvl_pools"]["res_1"][stat]] == [
            len(rows(p)) for p in pools[stat]
        ]
        assert len(single["meta"]["res_1"][stat]) == 3
        assert all(Path(c, "config.json").is_file() for c in single["train"]["checkpoints"][stat])
        assert all(is_scores(m) for m in single["test"]["res_1"][stat])

    # multi_op: the top 2 pools by caption_score, their intersections downsampled to equal size
    scored = [
        (m["caption_score"], p)
        for stat in pools
        for p, m in zip(pools[stat], single["test"]["res_1"][stat])
    ]
    best = [p for _, p in sorted(scored, key=lambda x: -x[0])][:2]
    assert sorted(multi["ranking"]["res_1"]) == sorted(best)
    sizes = {len(rows(p)) for p in multi["downsample"]["res_1"]}
    assert len(sizes) == 1 and len(multi["downsample"]["res_1"]) == len(multi["combine"]["res_1"])
    assert (
        len(multi["test"]["res_1"])
        == len(multi["train"]["checkpoints"])
        == len(multi["combine"]["res_1"])
    )
    assert all(is_scores(m) for m in multi["test"]["res_1"])

    # scaling: the best multi-op pool, trained with the larger model set through `local`
    top = max(
        zip(multi["meta"]["res_1"], multi["test"]["res_1"]), key=lambda x: x[1]["caption_score"]
    )[0]
    assert scaling["best"]["res_1"] == top  # a one-item list is recorded as its item
    checkpoint = scaling["train"]["checkpoints"]  # one meta file in, one checkpoint out
    assert hidden_size(checkpoint) == 256 and hidden_size(base["train"]["checkpoints"]) == 128
    assert is_scores(scaling["test"]["res_1"])
    assert (state.parent / "report" / "report.md").is_file()


def test_real_model_settings_are_checked_before_any_job(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "djsandbox",
            "+pipeline=internvl_coco",
            "model=internvl2_1b",
            "trainer=gpu",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=subprocess_env(),
    )
    # Weights not set (and a GPU trainer): what this machine lacks, not a config error.
    assert proc.returncode == 4, proc.stderr[-2000:]
    assert (
        "[weights] pipeline 'baseline', execution_job_configs[4] (meta_name 'train'): "
        "extra_configs.model.path: not set" in proc.stderr
    )
    assert not (tmp_path / "outputs").exists() or not list(
        (tmp_path / "outputs").rglob("job_config.json")
    )
