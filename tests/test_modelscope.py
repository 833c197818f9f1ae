"""ModelScope trainer and inference evaluator: clear refusals without ModelScope, and the parts
that need no ModelScope (key remapping, config overrides, pipeline calls over rows)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from djsandbox.catalog import FACTORIES
from djsandbox.evaluation import modelscope_eval
from djsandbox.hooks.generic import TrainModelHook
from djsandbox.models import checks
from djsandbox.models import modelscope_train as mst

no_modelscope = pytest.mark.skipif(
    mst.missing_modelscope() is None, reason="modelscope is installed here"
)
INSTALL_HINT = "pip install 'djsandbox[modelscope]'"


@no_modelscope
def test_trainer_refuses_clearly_without_modelscope(tmp_path: Path):
    cfg = {"model_name": "damo/nlp_structbert", "trainer_name": "nlp-base-trainer"}
    assert checks.check_modelscope_train(cfg) == [f"type: {mst.INSTALL}"]
    assert INSTALL_HINT in mst.INSTALL
    problems = TrainModelHook().check(
        {"hook": "TrainModelHook", "extra_configs": {"type": "modelscope", **cfg}}
    )
    assert problems == [f"extra_configs.type: {mst.INSTALL}"]
    with pytest.raises(RuntimeError, match=r"pip install 'djsandbox\[modelscope\]'"):
        mst.run(cfg, tmp_path)


@no_modelscope
def test_evaluator_refuses_clearly_without_modelscope(tmp_path: Path):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"text": "hi"}) + "\n")
    cfg = {"model_name": "m", "task": "text-classification", "dataset_path": str(data)}
    assert modelscope_eval.check_modelscope_eval(cfg) == [f"type: {mst.INSTALL}"]
    with pytest.raises(RuntimeError, match=r"djsandbox\[modelscope\]"):
        modelscope_eval.run(cfg, tmp_path)
    entry = FACTORIES["ModelInferEvaluator"].get("modelscope")
    assert entry.required == ("dataset_path", "task")
    assert "model_name: missing" in " ".join(modelscope_eval.check_modelscope_eval({"task": "t"}))


def test_key_remapping_of_rows():
    rows = [{"text": "a", "label": 1}, {"sentence": "b"}]
    assert mst.remap_rows(rows, {"text": "sentence"}) == [
        {"sentence": "a", "label": 1},
        {"sentence": "b"},
    ]
    assert rows[0] == {"text": "a", "label": 1}  # input untouched
    with pytest.raises(ValueError, match="key_remapping: train row 0 has both 'text' and 'label'"):
        mst.remap_rows(rows, {"text": "label"}, "train")


def test_local_jsonl_dataset_is_loaded_and_remapped(tmp_path: Path):
    data = tmp_path / "train.jsonl"
    data.write_text(
        "".join(json.dumps({"text": t, "label": i}) + "\n" for i, t in enumerate(["good", "bad"]))
    )
    ds = mst.load_dataset(str(data), "train", {"text": "sentence"})
    assert ds.column_names == ["sentence", "label"] and ds[1]["sentence"] == "bad"


def test_trainer_args_merge_other_keys_as_config_overrides(tmp_path: Path):
    cfg = {
        "model_name": "damo/model",
        "trainer_name": "nlp-base-trainer",
        "train_dataset": "train.jsonl",
        "eval_dataset": "val.jsonl",
        "key_remapping": {"text": "sentence"},
        "train.max_epochs": 2,
        "train": {"optimizer": {"lr": 1e-4}},
    }
    loaded = []
    args = mst.trainer_args(cfg, tmp_path, lambda ds, split: loaded.append((ds, split)) or ds)
    assert loaded == [("train.jsonl", "train"), ("val.jsonl", "validation")]
    assert args["model"] == "damo/model" and args["work_dir"] == str(tmp_path)
    assert mst.config_overrides(cfg) == {
        "train.max_epochs": 2,
        "train": {"optimizer": {"lr": 1e-4}},
    }

    class FakeConfig:
        merged: dict = {}

        def merge_from_dict(self, values: dict) -> None:
            self.merged = dict(values)

    config = FakeConfig()
    assert args["cfg_modify_fn"](config) is config
    assert config.merged == mst.config_overrides(cfg)
    assert mst.trainer_args({**cfg, "work_dir": "/w"}, tmp_path, lambda d, s: d)["work_dir"] == "/w"
    with pytest.raises(ValueError, match="trainer_name: missing"):
        mst.trainer_args({"model_name": "m"}, tmp_path, lambda d, s: d)
    entry = FACTORIES["ModelTrainExecutor"].get("modelscope")
    assert entry.keys is None and entry.required == ("model_name", "trainer_name")


def test_pipeline_outputs_are_stored_per_row_as_json(tmp_path: Path):
    import numpy as np

    def fake_pipeline(text: str) -> dict:
        return {
            "scores": np.array([0.25, 0.75]),
            "labels": ("neg", "pos"),
            "len": np.int64(len(text)),
        }

    rows = [{"id": 1, "text": "good"}, {"id": 2, "text": "meh"}]
    out = modelscope_eval.infer_rows(fake_pipeline, rows, "text", "prediction")
    assert out[1] == {
        "id": 2,
        "text": "meh",
        "prediction": {"scores": [0.25, 0.75], "labels": ["neg", "pos"], "len": 3},
    }
    json.dumps(out)
    with pytest.raises(ValueError, match="text_key: dataset row 0 has no key 'body'"):
        modelscope_eval.infer_rows(fake_pipeline, rows, "body", "prediction")
    src = tmp_path / "pool.jsonl"
    assert modelscope_eval.export_target({}, src, tmp_path) == tmp_path / "pool_inference.jsonl"
    assert modelscope_eval.export_target({"export_path": "x/out.jsonl"}, src, tmp_path) == Path(
        "x/out.jsonl"
    )
