"""Inference executors: message functions, huggingface on a tiny local model, vllm's clear
refusal here, and the OpenAI-compatible `api` executor against a real local server."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from conftest import FINE_FOODS
from openai_stub_server import StubServer

from djsandbox.inference import api, checks, huggingface, messages
from djsandbox.inference import vllm as vllm_executor

KEY = "sk-test-secret-0123456789"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> str:
    from djsandbox.models.tiny_lm import save_tiny_lm

    texts = [
        json.loads(line)["text"]
        for line in (FINE_FOODS / "train.jsonl").read_text().splitlines()[:200]
    ]
    return str(
        save_tiny_lm(
            texts,
            tmp_path_factory.mktemp("tiny") / "model",
            {"vocab_size": 400, "hidden_size": 32, "intermediate_size": 64},
        )
    )


def write_rows(path: Path, rows: list[dict]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def read_rows(path: str) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines()]


# ---------------------------------------------------------------- message functions


def test_build_input_uses_configured_key_and_system_prompt():
    row = {"text": "t", "query": "q", "system": "row system"}
    assert messages.build_input(row) == [
        {"role": "system", "content": "row system"},
        {"role": "user", "content": "q"},
    ]
    assert messages.build_input(row, text_key="text", system_prompt="be brief") == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "t"},
    ]
    assert messages.resolve("build_messages", "build_messages_fn") is messages.build_input
    with pytest.raises(ValueError, match="prompt_key: row has no key 'nope'"):
        messages.build_input(row, prompt_key="nope")


def test_math_qa_messages_and_boxed_parser():
    msgs = messages.build_messages_for_math_qa({"question": "What is 2+3?"})
    assert msgs[0]["role"] == "system" and "\\boxed{}" in msgs[0]["content"]
    assert "step by step" in msgs[0]["content"]
    assert msgs[1] == {"role": "user", "content": "What is 2+3?"}
    assert messages.parse_output("  five \n", {}) == "five"
    parse = messages.resolve("extract_boxed_answer", "parse_output_fn")
    assert parse("so \\boxed{1} then \\boxed{\\frac{1}{2}}.", {}) == "\\frac{1}{2}"
    assert parse("no box", {}) is None


def test_unknown_function_names_list_the_valid_ones():
    with pytest.raises(ValueError) as err:
        messages.resolve("build_chat", "build_messages_fn")
    text = str(err.value)
    assert "build_messages_fn: unknown function 'build_chat'" in text
    assert "build_input" in text and "build_messages_for_math_qa" in text
    problems = checks.check_huggingface(
        {"model_path": "m", "parse_output_fn": "nope", "dataset_path": "d.jsonl"}
    )
    assert any(p.startswith("parse_output_fn: unknown function 'nope'") for p in problems)
    # ... and through the hook, before any job runs
    from djsandbox.hooks.generic import InferModelHook

    problems = InferModelHook().check(
        {
            "hook": "InferModelHook",
            "extra_configs": {
                "type": "huggingface",
                "model_path": "m",
                "dataset_path": "d.jsonl",
                "build_messages_func": "bild_input",
            },
        }
    )
    assert any(
        "extra_configs.build_messages_fn: unknown function 'bild_input'" in p for p in problems
    ), problems


def test_user_registered_and_dotted_functions(tmp_path: Path):
    @messages.register_build_messages("test_shout")
    def shout(row, **settings):
        return [{"role": "user", "content": row["text"].upper()}]

    assert messages.resolve("test_shout", "build_messages_fn") is shout
    with pytest.raises(ValueError, match="already registered"):
        messages.register_build_messages("test_shout")(lambda row: [])
    fn = messages.resolve("djsandbox.inference.messages:parse_output", "parse_output_fn")
    assert fn is messages.parse_output
    assert "cannot be found" in messages.name_problem("no_such_pkg.x:fn", "parse_output_fn")


# ---------------------------------------------------------------- huggingface


def test_huggingface_infer_on_tiny_model(tiny_model: str, tmp_path: Path):
    rows = [{"id": i, "prompt": f"Review {i}: tasty snacks"} for i in range(5)]
    data = write_rows(tmp_path / "prompts.jsonl", rows)
    out = huggingface.run(
        {
            "model_path": tiny_model,
            "dataset_path": data,
            "max_rows": 4,
            "generation": {"max_new_tokens": 6},
            "batch_size": 3,
            "infer_res_key": "answer",
        },
        tmp_path / "job",
    )
    assert out == str(tmp_path / "job" / "prompts_inference.jsonl")
    got = read_rows(out)
    assert [r["id"] for r in got] == [0, 1, 2, 3]
    assert all(isinstance(r["answer"], str) and r["answer"] for r in got)
    # batching and left padding do not change greedy answers
    single = huggingface.run(
        {
            "model_path": tiny_model,
            "dataset_path": data,
            "max_rows": 4,
            "generation": {"max_new_tokens": 6},
            "batch_size": 1,
            "infer_res_key": "answer",
            "export_path": str(tmp_path / "one.jsonl"),
        },
        tmp_path / "job2",
    )
    assert [r["answer"] for r in read_rows(single)] == [r["answer"] for r in got]
    assert not list((tmp_path / "job").glob(".*tmp"))  # atomic write left no temp file


def test_huggingface_several_questions_per_row_and_plain_prompt(tiny_model: str, tmp_path: Path):
    @messages.register_build_messages("test_two_questions")
    def two(row, **settings):
        return [
            [{"role": "user", "content": row["text"]}],
            [{"role": "user", "content": row["text"] + "?"}],
        ]

    data = write_rows(tmp_path / "d.jsonl", [{"text": "good"}, {"text": "bad"}])
    out = huggingface.run(
        {
            "model_path": tiny_model,
            "dataset_path": [data],
            "build_messages_fn": "test_two_questions",
            "generation": {"max_tokens": 3},
        },
        tmp_path / "job",
    )
    assert isinstance(out, list) and len(out) == 1
    assert all(len(r["response"]) == 2 for r in read_rows(out[0]))
    model, tokenizer = huggingface.load_causal_lm(tiny_model)
    tokenizer.chat_template = None
    assert (
        huggingface.prompt_text(
            tokenizer, [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
        )
        == "s\nu\n"
    )


def test_huggingface_clear_errors(tmp_path: Path, tiny_model: str):
    data = write_rows(tmp_path / "d.jsonl", [{"text": "x"}])
    with pytest.raises(ValueError, match="model_path: missing"):
        huggingface.run({"dataset_path": data}, tmp_path)
    with pytest.raises(ValueError, match="model_path: .*no config.json"):
        huggingface.run({"dataset_path": data, "model_path": str(tmp_path)}, tmp_path)
    with pytest.raises(ValueError, match="model_path: cannot load 'no/such-model'"):
        huggingface.run({"dataset_path": data, "model_path": "no/such-model"}, tmp_path)
    with pytest.raises(ValueError, match="dataset_path: file .* does not exist"):
        huggingface.run(
            {"dataset_path": str(tmp_path / "missing.jsonl"), "model_path": tiny_model}, tmp_path
        )
    with pytest.raises(ValueError, match="model: same setting as model_path"):
        huggingface.run({"dataset_path": data, "model": "a", "model_path": "b"}, tmp_path)
    assert "model_path: missing" in " ".join(checks.check_huggingface({"dataset_path": data}))
    assert (
        checks.check_huggingface(
            {"model": tiny_model, "dataset_path": data, "sampling_params": {"max_new_tokens": 2}}
        )
        == []
    )


# ---------------------------------------------------------------- vllm


@pytest.mark.skipif(vllm_executor.missing_vllm() is None, reason="vllm is installed here")
def test_vllm_refuses_clearly_without_vllm(tmp_path: Path):
    cfg = {"model_path": "m", "dataset_path": write_rows(tmp_path / "d.jsonl", [{"text": "x"}])}
    problems = checks.check_vllm(cfg)
    assert any(p.startswith("type: vllm needs the `vllm` extra and a CUDA GPU") for p in problems)
    with pytest.raises(RuntimeError, match="vllm needs the `vllm` extra and a CUDA GPU"):
        vllm_executor.run(cfg, tmp_path)


# ---------------------------------------------------------------- api


@pytest.fixture(scope="module")
def server(tiny_model: str):
    with StubServer(tiny_model, api_key=KEY, delay=0.05) as srv:
        yield srv


def api_cfg(server: StubServer, data: str, **extra) -> dict:
    return {
        "base_url": server.base_url,
        "api_key": KEY,
        "model": "tiny",
        "dataset_path": data,
        "generation": {"max_tokens": 6, "temperature": 0},
        "retry_backoff": 0.01,
        "request_timeout": 30,
        **extra,
    }


def test_api_records_failed_rows_and_keeps_order(
    server: StubServer, tiny_model: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    rows = [
        {"id": i, "text": f"row {i} FAIL500" if i in (2, 5) else f"row {i} is crunchy"}
        for i in range(8)
    ]
    data = write_rows(tmp_path / "d.jsonl", rows)
    with caplog.at_level(logging.INFO):
        out, summary = api.run(
            api_cfg(server, data, concurrency=4, max_retries=1), tmp_path / "job"
        )
    assert summary == {"rows": 8, "ok": 6, "failed": 2}
    got = read_rows(out)
    assert [r["id"] for r in got] == list(range(8))
    for r in got:
        if r["id"] in (2, 5):
            assert r["response"] is None and "HTTP 500" in r["response_error"]
            assert server.requests[r["text"]] == 2  # one retry of a 5xx
        else:
            assert r["response"] and "response_error" not in r
    assert 2 <= server.max_in_flight <= 4  # concurrent, and the limit holds
    assert "8 rows, 6 ok, 2 failed" in caplog.text
    assert KEY not in caplog.text
    # the server ran the model: same greedy answers as the local executor
    ok_rows = write_rows(tmp_path / "ok.jsonl", [r for r in rows if r["id"] not in (2, 5)])
    local = huggingface.run(
        {
            "model_path": tiny_model,
            "dataset_path": ok_rows,
            "batch_size": 1,
            "generation": {"max_new_tokens": 6},
        },
        tmp_path / "local",
    )
    assert [r["response"] for r in read_rows(local)] == [
        r["response"] for r in got if r["id"] not in (2, 5)
    ]


def test_api_retries_transient_errors_with_backoff(
    server: StubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    delays: list[float] = []
    monkeypatch.setattr(api, "_sleep", delays.append)
    data = write_rows(tmp_path / "d.jsonl", [{"text": "first FLAKY503 A"}, {"text": "fine"}])
    out, summary = api.run(api_cfg(server, data, retry_backoff=0.5, concurrency=1), tmp_path / "a")
    assert summary["ok"] == 2 and read_rows(out)[0]["response"]
    assert server.requests["first FLAKY503 A"] == 2 and delays == [0.5]
    # exponential: 0.5, 1, 2 ... then recorded as failed
    delays.clear()
    data = write_rows(tmp_path / "e.jsonl", [{"text": "always FAIL500"}])
    out, summary = api.run(
        api_cfg(server, data, retry_backoff=0.5, max_retry_num=3), tmp_path / "b"
    )
    assert delays == [0.5, 1.0, 2.0] and summary["failed"] == 1
    assert "after 4 attempt(s)" in read_rows(out)[0]["response_error"]
    # without retries a transient error is recorded at once
    data = write_rows(tmp_path / "f.jsonl", [{"text": "second FLAKY503 B"}])
    out, summary = api.run(api_cfg(server, data, max_retries=0), tmp_path / "c")
    assert summary["failed"] == 1 and "HTTP 503" in read_rows(out)[0]["response_error"]


def test_api_credentials_and_settings(
    server: StubServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    data = write_rows(tmp_path / "d.jsonl", [{"text": "hello"}])
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ValueError) as err:
        api.run({"model": "tiny", "dataset_path": data}, tmp_path)
    assert "base_url: missing" in str(err.value) and "OPENAI_API_KEY" in str(err.value)
    assert checks.check_api(
        {"model": "tiny", "dataset_path": data, "api_key": "x"}, environ={}
    ) == [
        "base_url: missing; set extra_configs.base_url or the OPENAI_BASE_URL environment variable"
    ]
    # from the environment; the reference's full endpoint URL is accepted too
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    out, summary = api.run(
        {
            "model": "tiny",
            "dataset_path": data,
            "api_endpoint": server.base_url + "/chat/completions",
            "generation": {"max_tokens": 2},
        },
        tmp_path / "env",
    )
    assert summary["ok"] == 1
    # a wrong key is not transient: recorded, no retry
    out, summary = api.run({**api_cfg(server, data), "api_key": "wrong"}, tmp_path / "bad")
    assert summary["failed"] == 1 and "HTTP 401" in read_rows(out)[0]["response_error"]
    assert "concurrency: expected an integer >= 1" in str(
        pytest.raises(ValueError, api.run, api_cfg(server, data, concurrency=0), tmp_path).value
    )
    assert KEY not in repr(api.ApiSettings.from_cfg(api_cfg(server, data), {}))
