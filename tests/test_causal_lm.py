"""The `huggingface` trainer: full and LoRA fine-tuning of a tiny causal LM on real review text,
with the checkpoint loading plainly in the `huggingface` inference executor."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from conftest import FINE_FOODS

from djsandbox.catalog import FACTORIES
from djsandbox.inference import huggingface
from djsandbox.models import causal_lm, checks
from djsandbox.models.tiny_lm import build_tiny_lm, save_tiny_lm

TINY = {
    "vocab_size": 300,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "max_position_embeddings": 128,
}


def review_texts(n: int) -> list[str]:
    lines = (FINE_FOODS / "train.jsonl").read_text().splitlines()[:n]
    return [json.loads(line)["text"][:240] for line in lines]


@pytest.fixture(scope="module")
def reviews(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("data") / "reviews.jsonl"
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in review_texts(72)))
    return str(path)


def logged(out_dir: Path) -> list[str]:
    (metrics,) = (out_dir / "logs").rglob("metrics.csv")
    with open(metrics) as fh:
        return list(csv.DictReader(fh).fieldnames or [])


def test_full_fine_tuning_of_a_tiny_model_learns_and_reloads(reviews: str, tmp_path: Path):
    cfg = {
        "dataset_path": reviews,
        "tiny_model": TINY,
        "batch_size": 8,
        "max_seq_length": 48,
        "lr": 3e-3,
        "warmup_ratio": 0.1,
        "val_ratio": 0.1,
        "seed": 1,
        "trainer": {"max_epochs": 3},
    }
    ckpt, metrics = causal_lm.run(cfg, tmp_path / "full")
    assert metrics["train_rows"] == 65 and metrics["val_rows"] == 7 and metrics["tiny_model"]
    assert metrics["steps"] == 27
    assert metrics["last_train_loss"] < metrics["first_train_loss"] - 0.5, metrics
    assert metrics["val_loss"] < metrics["val_loss_before"] - 0.5
    assert {"train/loss_step", "val/loss", "lr"} <= set(logged(tmp_path / "full"))
    saved = json.loads((Path(ckpt) / "djsandbox_training.json").read_text())
    assert saved["val_loss"] == pytest.approx(metrics["val_loss"])
    data = tmp_path / "ask.jsonl"
    data.write_text(json.dumps({"prompt": "This coffee is"}) + "\n")
    out = huggingface.run(
        {"model_path": ckpt, "dataset_path": str(data), "generation": {"max_new_tokens": 4}},
        tmp_path / "infer",
    )
    assert isinstance(json.loads(Path(out).read_text())["response"], str)


def test_lora_on_a_saved_model_merges_into_a_plain_checkpoint(reviews: str, tmp_path: Path):
    import torch
    from transformers import AutoModelForCausalLM

    base = save_tiny_lm(review_texts(200), tmp_path / "base", TINY, seed=3)
    cfg = {
        "dataset_path": reviews,
        "model_path": str(base),
        "batch_size": 8,
        "max_seq_length": 48,
        "lr": 5e-2,
        "val_ratio": 0.1,
        "trainer": {"max_epochs": 2},
        "lora": {
            "r": 8,
            "alpha": 16,
            "dropout": 0.0,
            "target_modules": [
                "q_proj",
                "k_proj",
                "v_proj",
                "o_proj",
                "gate_proj",
                "up_proj",
                "down_proj",
            ],
        },
    }
    ckpt, metrics = causal_lm.run(cfg, tmp_path / "lora")
    assert metrics["lora"] and not metrics["tiny_model"] and metrics["steps"] == 18
    # adapters on a random base learn slowly (the unigram prior sits in the frozen head)
    assert metrics["last_train_loss"] < metrics["first_train_loss"]
    assert metrics["val_loss"] < metrics["val_loss_before"] - 0.02, metrics
    assert (tmp_path / "lora" / "adapter" / "adapter_config.json").is_file()
    assert not (Path(ckpt) / "adapter_config.json").exists()  # merged: loads without peft
    merged = AutoModelForCausalLM.from_pretrained(ckpt)
    original = AutoModelForCausalLM.from_pretrained(base)
    name = "model.layers.0.self_attn.q_proj.weight"
    assert not torch.equal(merged.state_dict()[name], original.state_dict()[name])
    data = tmp_path / "ask.jsonl"
    data.write_text(json.dumps({"text": "Great snack"}) + "\n")
    out = huggingface.run(
        {"model_path": ckpt, "dataset_path": str(data), "generation": {"max_new_tokens": 3}},
        tmp_path / "infer",
    )
    assert "response" in json.loads(Path(out).read_text())


def test_prompt_tokens_are_masked_from_the_labels():
    model, tok = build_tiny_lm(review_texts(50), TINY)
    (ex,) = causal_lm.encode(tok, [("Rate it:", "five stars")], 64)
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "Rate it:"}], add_generation_prompt=True, tokenize=False
    )
    n_prompt = len(tok(prompt, add_special_tokens=False)["input_ids"])
    assert ex["labels"][:n_prompt] == [causal_lm.IGNORE] * n_prompt
    assert ex["labels"][n_prompt:] == ex["input_ids"][n_prompt:]
    assert ex["input_ids"][-1] == tok.eos_token_id
    assert "five stars" in tok.decode(ex["input_ids"][n_prompt:])
    (plain,) = causal_lm.encode(tok, [(None, "just text")], 64)
    assert plain["labels"] == plain["input_ids"]
    assert causal_lm.encode(tok, [("a long prompt " * 20, "x")], 8) == []  # nothing to learn


def test_pools_give_one_checkpoint_each_and_prompt_response_rows(tmp_path: Path):
    rows = [{"q": f"Is review {i} good?", "a": "yes" if i % 2 else "no"} for i in range(12)]
    pools = []
    for name in ("low", "high"):
        path = tmp_path / f"{name}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        pools.append(str(path))
    ckpts, metrics = causal_lm.run(
        {
            "dataset_path": {"text_len": pools},
            "tiny_model": TINY,
            "prompt_key": "q",
            "response_key": "a",
            "val_ratio": 0,
            "trainer": {"max_steps": 2},
        },
        tmp_path / "job",
    )
    assert list(ckpts) == ["text_len"] and len(ckpts["text_len"]) == 2
    assert Path(ckpts["text_len"][1]) == tmp_path / "job" / "text_len" / "1" / "checkpoint"
    assert metrics["text_len"][0]["val_loss"] is None and metrics["text_len"][0]["steps"] == 2


def test_clear_errors_and_validation(reviews: str, tmp_path: Path):
    with pytest.raises(ValueError, match="dataset_path: missing"):
        causal_lm.run({}, tmp_path)
    with pytest.raises(ValueError, match="no value under 'body'"):
        causal_lm.run({"dataset_path": reviews, "text_key": "body"}, tmp_path)
    with pytest.raises(ValueError, match="lora: expected true or a mapping"):
        causal_lm.run({"dataset_path": reviews, "tiny_model": TINY, "lora": {"rank": 4}}, tmp_path)
    with pytest.raises(ValueError, match="model_path: cannot load"):
        causal_lm.run({"dataset_path": reviews, "model_path": "nowhere/model"}, tmp_path)
    problems = checks.check_hf_train(
        {
            "dataset_path": reviews,
            "prompt_key": "q",
            "lr": -1,
            "tiny_model": {"hidden_size": 30},
            "lora": {"rank": 4},
        }
    )
    assert [p.split(":")[0] for p in problems] == [
        "prompt_key",
        "tiny_model.hidden_size",
        "lora",
        "lr",
    ]
    entry = FACTORIES["ModelTrainExecutor"].get("huggingface")
    assert entry.results == 2 and {"lora", "tiny_model", "trainer"} <= set(entry.keys)
    assert set(causal_lm.LORA_DEFAULTS) == set(checks.LORA_KEYS)
    assert entry.problems({"dataset_path": reviews, "lora": True}) == []
