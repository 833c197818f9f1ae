"""ModelScope trainer and inference evaluator: end to end on a tiny model built here from a
config (no hub: a local folder, `snapshot_download` made to fail), the pure parts (key
remapping, config overrides, pipeline calls over rows), and a clear refusal when the package
is missing from an incomplete environment."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

from djsandbox.catalog import FACTORIES
from djsandbox.evaluation import modelscope_eval
from djsandbox.hooks.generic import TrainModelHook
from djsandbox.models import checks
from djsandbox.models import modelscope_train as mst

WORDS = [
    "good",
    "great",
    "tasty",
    "lovely",
    "bad",
    "awful",
    "bland",
    "stale",
    "food",
    "movie",
    "the",
    "was",
]
ROWS = [
    ("good food", "positive"),
    ("awful food", "negative"),
    ("great movie", "positive"),
    ("bland movie", "negative"),
    ("the food was tasty", "positive"),
    ("the movie was stale", "negative"),
    ("lovely food", "positive"),
    ("bad movie", "negative"),
]


def _without_modelscope(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "modelscope" else real(name, *a),
    )


def test_modelscope_is_installed_with_the_project() -> None:
    assert mst.missing_modelscope() is None
    assert FACTORIES["ModelTrainExecutor"].get("modelscope").unavailable is None


def test_trainer_refuses_clearly_without_modelscope(tmp_path: Path, monkeypatch):
    _without_modelscope(monkeypatch)
    cfg = {"model_name": "damo/nlp_structbert", "trainer_name": "nlp-base-trainer"}
    assert checks.check_modelscope_train(cfg) == [f"type: {mst.INSTALL}"]
    assert "pip install modelscope" in mst.INSTALL
    problems = TrainModelHook().check(
        {"hook": "TrainModelHook", "extra_configs": {"type": "modelscope", **cfg}}
    )
    assert problems == [f"extra_configs.type: {mst.INSTALL}"]
    with pytest.raises(RuntimeError, match="pip install modelscope"):
        mst.run(cfg, tmp_path)


def test_evaluator_refuses_clearly_without_modelscope(tmp_path: Path, monkeypatch):
    _without_modelscope(monkeypatch)
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"text": "hi"}) + "\n")
    cfg = {"model_name": "m", "task": "text-classification", "dataset_path": str(data)}
    assert modelscope_eval.check_modelscope_eval(cfg) == [f"type: {mst.INSTALL}"]
    with pytest.raises(RuntimeError, match="pip install modelscope"):
        modelscope_eval.run(cfg, tmp_path)
    entry = FACTORIES["ModelInferEvaluator"].get("modelscope")
    assert entry.required == ("dataset_path", "task")
    assert "model_name: missing" in " ".join(modelscope_eval.check_modelscope_eval({"task": "t"}))


def _tiny_model(folder: Path) -> Path:
    """A 1-layer ERNIE (BERT layout; not one of ModelScope's own NLP models, which import
    `transformers.onnx`, gone in transformers 5) behind ModelScope's text-classification
    model: config.json, vocab, configuration.json with a training recipe, and weights saved
    from ModelScope's own model class so that every key matches."""
    import torch
    from transformers import BertTokenizer, ErnieConfig

    folder.mkdir(parents=True)
    (folder / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS])
    )
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(str(folder))
    labels = {"negative": 0, "positive": 1}
    ErnieConfig(
        vocab_size=len(WORDS) + 5,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        label2id=labels,
        id2label={i: name for name, i in labels.items()},
    ).save_pretrained(str(folder))
    loader = {"batch_size_per_gpu": 4, "workers_per_gpu": 0}
    configuration = {
        "framework": "pytorch",
        "task": "text-classification",
        "model": {"type": "text-classification"},
        "pipeline": {"type": "text-classification"},
        "preprocessor": {"type": "sen-cls-tokenizer", "first_sequence": "text", "label": "label"},
        "train": {
            "max_epochs": 1,
            "dataloader": loader,
            "optimizer": {"type": "AdamW", "lr": 1e-3},
            "lr_scheduler": {"type": "ConstantLR", "factor": 1.0, "options": {"by_epoch": False}},
            "hooks": [
                {"type": "CheckpointHook", "interval": 1},
                {"type": "TextLoggerHook", "interval": 1},
                {"type": "IterTimerHook"},
            ],
        },
        "evaluation": {"dataloader": loader, "metrics": ["seq-cls-metric"]},
    }
    (folder / "configuration.json").write_text(json.dumps(configuration))
    from modelscope.models.nlp.task_models.text_classification import ModelForTextClassification

    model = ModelForTextClassification(str(folder), num_labels=2)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    return folder


@pytest.fixture()
def offline_modelscope(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """ModelScope imported with its hub unreachable and every `snapshot_download` failing."""
    monkeypatch.setenv("MODELSCOPE_ENDPOINT", "http://127.0.0.1:9")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import modelscope.pipelines  # noqa: F401
    import modelscope.trainers  # noqa: F401

    calls: list[str] = []

    def no_hub(model_id, *args, **kwargs):
        calls.append(str(model_id))
        raise AssertionError(f"snapshot_download({model_id!r}) called for a local model")

    for name, module in list(sys.modules.items()):
        if name.startswith("modelscope") and hasattr(module, "snapshot_download"):
            monkeypatch.setattr(module, "snapshot_download", no_hub, raising=False)
    return calls


@pytest.mark.slow  # about 30-50 s on 2 cores: CI runs it with -m slow
def test_modelscope_trains_and_infers_a_local_tiny_model(tmp_path: Path, offline_modelscope):
    model = _tiny_model(tmp_path / "tiny_ernie")
    train = tmp_path / "train.jsonl"
    train.write_text("".join(json.dumps({"review": t, "label": y}) + "\n" for t, y in ROWS))
    work = tmp_path / "work"
    cfg = {
        "model_name": str(model),
        "trainer_name": "nlp-base-trainer",
        "train_dataset": str(train),
        "eval_dataset": str(train),
        "key_remapping": {"review": "text"},
        "train.max_epochs": 2,  # a trainer-config override over configuration.json's 1
        "work_dir": str(work),
    }
    assert checks.check_modelscope_train(cfg) == []
    assert mst.run(cfg, tmp_path / "job") == str(work)
    [log] = work.glob("*.log.json")
    steps = [json.loads(line) for line in log.read_text().splitlines()]
    train_steps = [s for s in steps if s.get("mode") == "train"]
    assert len(train_steps) == 4 and {s["epoch"] for s in train_steps} == {1, 2}  # 8 rows / 4
    assert all(isinstance(s["loss"], float) for s in train_steps)
    assert (work / "epoch_2.pth").is_file()
    trained = work / "output"
    assert json.loads((trained / "configuration.json").read_text())["train"]["max_epochs"] == 2

    test = tmp_path / "test.jsonl"
    test.write_text(
        "".join(json.dumps({"id": i, "text": t}) + "\n" for i, (t, _) in enumerate(ROWS[:3]))
    )
    out = modelscope_eval.run(
        {"model_path": str(trained), "task": "text-classification", "dataset_path": str(test)},
        tmp_path / "eval",
    )
    rows = [json.loads(line) for line in Path(out).read_text().splitlines()]
    assert [r["id"] for r in rows] == [0, 1, 2]
    for row in rows:
        assert sorted(row["prediction"]["labels"]) == ["negative", "positive"]
        assert sum(row["prediction"]["scores"]) == pytest.approx(1.0, abs=1e-5)
    assert offline_modelscope == []
    assert os.environ["MODELSCOPE_ENDPOINT"] == "http://127.0.0.1:9"


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
