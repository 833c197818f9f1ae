"""The `internvl_coco_caption` trainer and evaluator: tiny InternVL on CPU, real metrics.

Data: tests/data/clipart_sample.jsonl (30 rows) and its 30 PNGs in tests/data/clipart_images,
converted to InternVL rows and a meta file by the project's own converter.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from djsandbox.data.converters.coco_caption_meta import run_coco_caption_meta
from djsandbox.data.converters.common import DEFAULT_CAPTION_PROMPT
from djsandbox.models.captioning.checks import check_evaluate, check_train
from djsandbox.models.captioning.settings import DEFAULT_TEMPLATES, resolve_model
from djsandbox.models.captioning.templates import INTERNVL2_SYSTEM_MESSAGE, get_template

DATA = Path(__file__).parent / "data"
IMAGES = DATA / "clipart_images"
METRIC_KEYS = {
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
FAST = {"batch_size": 8, "val_ratio": 0.2}


@pytest.fixture(scope="module", autouse=True)
def _meteor_warm() -> None:
    """METEOR's Java start (15-30 s) overlaps the training tests instead of adding to them."""
    from djsandbox.models.captioning.metrics import start_meteor

    start_meteor()


@pytest.fixture(scope="module")
def internvl_jsonl(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """InternVL conversation rows, one per caption, images relative to IMAGES."""
    path = tmp_path_factory.mktemp("captions") / "clipart_internvl.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for line in (DATA / "clipart_sample.jsonl").read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            for i, caption in enumerate(row["captions"]):
                fh.write(
                    json.dumps(
                        {
                            "id": f"{row['id']}_{i}",
                            "image": Path(row["image"]).name,
                            "conversations": [
                                {"from": "human", "value": DEFAULT_CAPTION_PROMPT},
                                {"from": "gpt", "value": caption},
                            ],
                        }
                    )
                    + "\n"
                )
    return path


@pytest.fixture(scope="module")
def meta(internvl_jsonl: Path) -> str:
    out = internvl_jsonl.parent / "meta"
    return run_coco_caption_meta({"dataset_path": str(internvl_jsonl), "root": str(IMAGES)}, out)[0]


@pytest.fixture(scope="module")
def trained(meta: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict]:
    from djsandbox.models.captioning.train import run_train

    out = tmp_path_factory.mktemp("train")
    return run_train({"meta_path": meta, "max_epochs": 12, "lr": 3e-3, **FAST}, out)


def test_images_of_the_sample_are_present() -> None:
    rows = [json.loads(x) for x in (DATA / "clipart_sample.jsonl").read_text().splitlines()]
    assert all((IMAGES / Path(r["image"]).name).is_file() for r in rows)


def test_tiny_captioner_learns_saves_and_scores(
    trained: tuple[str, dict], internvl_jsonl: Path, tmp_path: Path
) -> None:
    from djsandbox.models.captioning.evaluate import run_evaluate

    checkpoint, metrics = trained
    assert (Path(checkpoint) / "config.json").is_file()
    assert (Path(checkpoint) / "djsandbox_caption.json").is_file()
    assert metrics["steps"] > 20 and metrics["train_rows"] > metrics["val_rows"] > 0
    assert metrics["last_train_loss"] < metrics["first_train_loss"] - 0.5
    assert metrics["val_loss"] is not None and math.isfinite(metrics["val_loss"])

    result = run_evaluate(
        {
            "checkpoint": checkpoint,
            "dataset_path": str(internvl_jsonl),
            "image_root": str(IMAGES),
            "max_new_tokens": 12,
        },
        tmp_path,
    )
    assert set(result) >= METRIC_KEYS
    assert result["rows"] == 30  # one item per image, all its captions as references
    assert result["tokenizer"] == "ptb" and "SPICE" in result["note"]
    for key in METRIC_KEYS - {"CIDEr", "avg_score"}:
        assert 0.0 <= result[key] <= 1.0, key
    seven = [
        result[k] for k in ("BLEU_1", "BLEU_2", "BLEU_3", "BLEU_4", "METEOR", "ROUGE_L", "CIDEr")
    ]
    assert result["avg_score"] == pytest.approx(sum(seven) / 7)
    assert result["caption_score"] == pytest.approx(
        (result["BLEU_4"] + result["METEOR"] + result["ROUGE_L"] + result["CIDEr"] / 10) / 4
    )
    # On its own training images the model must beat zero overlap.
    assert result["BLEU_1"] > 0 and result["ROUGE_L"] > 0
    rows = [json.loads(x) for x in Path(result["predictions_path"]).read_text().splitlines()]
    assert len(rows) == 30 and all(r["prediction"] and r["references"] for r in rows)


def test_metrics_on_known_captions() -> None:
    from djsandbox.models.captioning.metrics import score_captions

    refs = [["a red apple on a table", "an apple"], ["a black cat", "cat sleeping"]]
    perfect = score_captions(refs, ["a red apple on a table", "a black cat"])
    wrong = score_captions(refs, ["a blue car", "the ocean at night"])
    assert perfect["BLEU_1"] == pytest.approx(1.0) and perfect["ROUGE_L"] == pytest.approx(1.0)
    assert perfect["METEOR"] > wrong["METEOR"] and perfect["CIDEr"] > wrong["CIDEr"]
    assert perfect["caption_score"] > wrong["caption_score"]


def test_hf_format_folder_loads_through_model_path(internvl_jsonl: Path, tmp_path: Path) -> None:
    """A plain save_pretrained folder (no djsandbox json) trains via model.path on a JSONL
    with image_root; the `debug` trainer group's fast_dev_run works."""
    from djsandbox.models.captioning.loaders import build_tiny
    from djsandbox.models.captioning.train import run_train

    adapter = build_tiny(resolve_model(None), ["a red apple", DEFAULT_CAPTION_PROMPT])
    folder = tmp_path / "hf_tiny"
    adapter.model.save_pretrained(str(folder))
    adapter.tokenizer.save_pretrained(str(folder))
    checkpoint, metrics = run_train(
        {
            "dataset_path": str(internvl_jsonl),
            "image_root": str(IMAGES),
            "model": {"path": str(folder)},
            "trainer": {"fast_dev_run": True},
            **FAST,
        },
        tmp_path / "run",
    )
    assert metrics["steps"] == 1
    saved = json.loads((Path(checkpoint) / "djsandbox_caption.json").read_text())
    assert saved["kind"] == "hf" and saved["template"] == "plain"
    assert saved["num_image_token"] == adapter.num_image_token == 16


def test_lora_trains_only_the_language_model(meta: str, tmp_path: Path) -> None:
    from djsandbox.models.captioning.loaders import build_tiny, prepare_for_training
    from djsandbox.models.captioning.train import run_train

    settings = resolve_model({"lora": {"r": 4}, "freeze_vision": True, "freeze_projector": True})
    adapter = prepare_for_training(build_tiny(settings, ["a red apple"]))
    trainable = [n for n, p in adapter.model.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n and "language_model" in n for n in trainable)

    model = {"lora": {"r": 4, "alpha": 8}, "freeze_vision": True, "freeze_projector": True}
    checkpoint, metrics = run_train(
        {"meta_path": meta, "model": model, "max_steps": 2, **FAST}, tmp_path
    )
    assert metrics["steps"] == 2 and 0 < metrics["trainable_params"] < 50_000
    assert (Path(checkpoint) / "lora_adapter" / "adapter_config.json").is_file()
    config = json.loads((Path(checkpoint) / "config.json").read_text())
    assert config["model_type"] == "internvl"  # merged: a plain model the evaluator loads


def test_structures_of_meta_paths_keep_their_shape(
    meta: str, internvl_jsonl: Path, tmp_path: Path
) -> None:
    from djsandbox.models.captioning.evaluate import run_evaluate
    from djsandbox.models.captioning.train import run_train

    checkpoints, metrics = run_train(
        {"meta_path": {"text_len": [meta, meta]}, "max_steps": 1, **FAST}, tmp_path / "train"
    )
    assert set(checkpoints) == {"text_len"} and len(checkpoints["text_len"]) == 2
    assert checkpoints["text_len"][0] != checkpoints["text_len"][1]
    assert metrics["text_len"][1]["steps"] == 1
    scores = run_evaluate(
        {
            "checkpoint": checkpoints,
            "dataset_path": str(internvl_jsonl),
            "image_root": str(IMAGES),
            "max_rows": 4,
            "max_new_tokens": 4,
        },
        tmp_path / "eval",
    )
    assert [s["rows"] for s in scores["text_len"]] == [4, 4]
    assert set(scores["text_len"][0]) >= METRIC_KEYS


# ------------------------------------------------------- remote-code (InternVL2) side, no weights


@pytest.mark.parametrize(
    "size,name,stop",
    [
        ("1B", "Hermes-2", "<|im_end|>"),
        ("2B", "internlm2-chat", "<|im_end|>"),
        ("4B", "phi3-chat", "<|end|>"),
        ("26B", "internlm2-chat", "<|im_end|>"),
    ],
)
def test_templates_per_size(size: str, name: str, stop: str) -> None:
    from djsandbox.models.captioning.loaders import choose_template

    settings = resolve_model({"size": size, "path": "/weights"})
    assert DEFAULT_TEMPLATES[size] == name
    assert choose_template(settings, {}, tokenizer=None) == name
    assert settings["lora"]["r"] == 16 and settings["freeze_vision"] and settings["freeze_llm"]
    assert settings["image_size"] == 448 and settings["max_seq_length"] == 4096
    template = get_template(name)
    prompt = template.prompt("<image>\nCaption it.")
    assert prompt.startswith(("<|im_start|>system\n", "<|system|>\n"))
    assert INTERNVL2_SYSTEM_MESSAGE in prompt and prompt.endswith(template.assistant_role)
    assert template.answer("a cat", "</s>") == f"a cat{stop}" and template.stop == stop


def test_plain_template_and_explicit_choice() -> None:
    from djsandbox.models.captioning.loaders import choose_template

    plain = get_template("plain")
    assert plain.prompt("Q") == "Q\n" and plain.answer("a cat", "</s>") == "a cat</s>"
    # the user's template wins over a saved one and over the size's default
    assert (
        choose_template({"template": "phi3-chat", "size": "2B"}, {"template": "plain"}, None)
        == "phi3-chat"
    )
    assert choose_template({"size": "tiny"}, {"template": "Hermes-2"}, None) == "Hermes-2"


def test_chat_template_masks_everything_but_the_caption() -> None:
    from djsandbox.models.captioning.adapter import IGNORE_INDEX, CaptionAdapter
    from djsandbox.models.captioning.tokenizer import train_word_tokenizer

    tokenizer = train_word_tokenizer(["a red apple", "caption it", "system user assistant"])
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|im_start|>", "<|im_end|>"]})
    adapter = CaptionAdapter(
        None,
        tokenizer,
        get_template("internlm2-chat"),
        "remote",
        {"max_seq_length": 256, "system_message": "system"},
        4,
    )
    batch = adapter.encode(["<image>\ncaption it", "caption it"], ["a red apple", "apple"])
    ids, labels = batch["input_ids"], batch["labels"]
    prompt = adapter.prompt_ids("caption it")
    assert (labels[0, : len(prompt)] == IGNORE_INDEX).all()
    assert tokenizer.decode(labels[0][labels[0] != IGNORE_INDEX]) == "a red apple <|im_end|>"
    assert tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>") in ids[0].tolist()
    assert ids[0].tolist().count(tokenizer.convert_tokens_to_ids("<IMG_CONTEXT>")) == 4
    assert adapter.stop_ids() == sorted(
        {tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("<|im_end|>")}
    )
    short = CaptionAdapter(
        None,
        tokenizer,
        get_template("internlm2-chat"),
        "remote",
        {"max_seq_length": len(prompt) + 1, "system_message": "system"},
        4,
    )
    assert (short.encode(["caption it"], ["a red apple"])["labels"] != IGNORE_INDEX).sum() == 1
    with pytest.raises(ValueError, match="max_seq_length"):
        CaptionAdapter(
            None,
            tokenizer,
            get_template("internlm2-chat"),
            "remote",
            {"max_seq_length": 3, "system_message": None},
            4,
        ).encode(["q"], ["a"])


def test_model_path_errors_are_clear(tmp_path: Path, meta: str) -> None:
    from djsandbox.models.captioning.loaders import model_kind
    from djsandbox.models.captioning.train import run_train

    with pytest.raises(ValueError, match=r"model\.path: folder .* does not exist"):
        model_kind(tmp_path / "missing")
    with pytest.raises(ValueError, match="no config.json"):
        model_kind(tmp_path)
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "model_type": "internvl_chat",
                "auto_map": {"AutoModel": "modeling_internvl_chat.InternVLChatModel"},
            }
        )
    )
    with pytest.raises(ValueError, match="modeling_internvl_chat.py is missing"):
        model_kind(tmp_path)
    (tmp_path / "modeling_internvl_chat.py").write_text("# remote code\n")
    assert model_kind(tmp_path) == "remote"
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "llama"}))
    with pytest.raises(ValueError, match="expected an InternVL model"):
        model_kind(tmp_path)
    with pytest.raises(ValueError, match=r"model\.path: folder .* does not exist"):
        run_train(
            {"meta_path": meta, "model": {"size": "2B", "path": str(tmp_path / "nope")}},
            tmp_path / "run",
        )


# ------------------------------------------------------------------------ checks and catalog


def test_checks_name_the_bad_keys() -> None:
    problems = check_train(
        {
            "meta_path": ["a.json", ""],
            "batch_size": 0,
            "lr": "fast",
            "val_ratio": 1.5,
            "trainer": "cpu",
            "max_steps": 0,
            "model": {
                "size": "3B",
                "bogus": 1,
                "lora": {"r": -1},
                "tiny": {"text_layers": 0},
                "template": "chatgpt",
            },
        }
    )
    keys = {p.split(":", 1)[0] for p in problems}
    assert {
        "meta_path",
        "batch_size",
        "lr",
        "val_ratio",
        "trainer",
        "max_steps",
        "model.size",
        "model.bogus",
        "model.lora.r",
        "model.tiny.text_layers",
        "model.template",
    } <= keys
    assert check_train({"meta_path": "${ctx:p.meta.res_1}", "model": {"size": "tiny"}}) == []
    assert any(p.startswith("model.path:") for p in check_train({"model": {"size": "1B"}}))
    assert any(
        p.startswith("model.path:") and "does not exist" in p
        for p in check_train({"model": {"size": "1B", "path": "/no/such/weights"}})
    )
    assert (
        check_evaluate({"checkpoint": "ckpt", "dataset_path": "t.jsonl", "model": {"size": "2B"}})
        == []
    )  # the evaluator loads the checkpoint
    assert any(
        p.startswith("dataset_path:")
        for p in check_train({"meta_path": "m.json", "dataset_path": "d.jsonl"})
    )
    problems = check_evaluate(
        {
            "checkpoint": {"a": [""]},
            "dataset_path": ["x", "y"],
            "max_new_tokens": 0,
            "num_beams": 1.5,
        }
    )
    assert {p.split(":", 1)[0] for p in problems} == {
        "checkpoint",
        "dataset_path",
        "max_new_tokens",
        "num_beams",
    }


def test_bad_input_files_fail_with_the_file_named(tmp_path: Path) -> None:
    from djsandbox.models.captioning.data import samples_from_jsonl, samples_from_meta

    with pytest.raises(ValueError, match="meta_path: file .* does not exist"):
        samples_from_meta(tmp_path / "nope.json")
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"image": "missing.png", "captions": ["x"]}) + "\n")
    with pytest.raises(ValueError, match=r"bad.jsonl:1: image .* does not exist"):
        samples_from_jsonl(bad, tmp_path)
    bad.write_text(json.dumps({"image": "x.png", "text": "x"}) + "\n")
    with pytest.raises(ValueError, match="no 'conversations' and no 'captions'"):
        samples_from_jsonl(bad, tmp_path)


def test_catalog_publishes_both_components() -> None:
    from djsandbox.catalog import FACTORIES

    train = FACTORIES["ModelTrainExecutor"].get("internvl_coco_caption")
    evaluate = FACTORIES["ModelEvaluator"].get("internvl_coco_caption")
    assert train.unavailable is None and evaluate.unavailable is None
    assert train.results == 2 and evaluate.results == 1
    assert callable(train.load()) and callable(evaluate.load())
    assert train.problems({"batch_size": -1}) == ["batch_size: got -1; expected a positive integer"]


def test_reference_keys_run_the_lightning_path(
    meta: str, internvl_jsonl: Path, tmp_path: Path
) -> None:
    """The reference's keys without internvl_home: meta_paths, batch_size_per_device and
    work_dir (outputs named <meta>_<model> there, as InternVL's scripts name them), ckpt_paths."""
    from djsandbox.models.captioning.evaluate import run_evaluate
    from djsandbox.models.captioning.train import run_train

    cfg = {"meta_paths": [meta], "batch_size_per_device": 8, "work_dir": str(tmp_path / "w")}
    [checkpoint], [metrics] = run_train({**cfg, "max_steps": 1, "val_ratio": 0.2}, tmp_path / "j")
    expected = tmp_path / "w" / f"{Path(meta).stem}_internvl_tiny" / "checkpoint"
    assert checkpoint == str(expected) and metrics["steps"] == 1
    [scores] = run_evaluate(
        {
            "ckpt_paths": [checkpoint],
            "dataset_path": str(internvl_jsonl),
            "image_root": str(IMAGES),
            "max_rows": 2,
            "max_new_tokens": 4,
        },
        tmp_path / "e",
    )
    assert scores["rows"] == 2 and set(scores) >= METRIC_KEYS
    with pytest.raises(ValueError, match="num_gpus: 2 GPU"):
        run_train({**cfg, "num_gpus": 2}, tmp_path / "j2")  # this machine has no GPU
