"""A small OpenAI-compatible chat server for tests: `POST /v1/chat/completions` on 127.0.0.1,
in a background thread, answered by a tiny local causal LM or by a deterministic `responder`.

With a model it really runs it (chat template, greedy decoding of `max_tokens` tokens), written
here with transformers directly rather than through the executor under test. With a responder
(`messages -> reply text`, e.g. `PromptGrader`) no model is loaded. Faults are injected by
markers in the prompt: `FAIL500` answers HTTP 500 every time; `FLAKY503` answers 503 the first
time a given prompt is seen, then the real reply. It also counts requests per prompt and the
most requests in flight at once (`delay` holds each request open that long, so concurrency shows),
and keeps the Authorization header of every request (`auth_headers`).
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
import uuid
from collections import Counter
from typing import Any, Callable

# Module level: FastAPI reads the endpoint's (string) annotations from this module's globals.
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class StubServer:
    """`with StubServer(model_path, api_key="k") as server: server.base_url ...`"""

    def __init__(
        self,
        model_path: str | None = None,
        api_key: str | None = None,
        delay: float = 0.0,
        responder: Callable[[list[dict[str, str]]], str] | None = None,
    ) -> None:
        if (model_path is None) == (responder is None):
            raise ValueError("give a model_path or a responder")
        self.model_path, self.api_key, self.delay = model_path, api_key, delay
        self.responder = responder
        self.auth_headers: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()  # last user message -> times requested
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()  # one generate() at a time; counters
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def _load(self) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(self.model_path)
        self.model = AutoModelForCausalLM.from_pretrained(self.model_path).eval()

    def reply(self, messages: list[dict[str, str]], max_tokens: int) -> str:
        import torch

        text = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )
        ids = self.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        with self._lock, torch.no_grad():
            out = self.model.generate(
                **ids,
                max_new_tokens=max_tokens,
                do_sample=False,
                pad_token_id=self.tokenizer.pad_token_id,
            )
        return self.tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)

    def app(self) -> Any:
        app = FastAPI()

        def error(status: int, message: str) -> JSONResponse:
            return JSONResponse({"error": {"message": message, "type": "server_error"}}, status)

        @app.post("/v1/chat/completions")
        def chat(body: dict[str, Any], request: Request) -> Any:
            with self._lock:
                self.auth_headers[request.headers.get("authorization") or ""] += 1
            if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
                return error(401, "bad api key")
            messages = body["messages"]
            prompt = messages[-1]["content"]
            with self._lock:
                self.requests[prompt] += 1
                seen = self.requests[prompt]
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                time.sleep(self.delay)
                if "FAIL500" in prompt:
                    return error(500, "injected failure")
                if "FLAKY503" in prompt and seen == 1:
                    return error(503, "injected transient failure")
                text = (
                    self.responder(messages)
                    if self.responder is not None
                    else self.reply(messages, int(body.get("max_tokens") or 16))
                )
            finally:
                with self._lock:
                    self.in_flight -= 1
            return {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "tiny"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "length",
                        "message": {"role": "assistant", "content": text},
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            }

        return app

    def __enter__(self) -> StubServer:
        import uvicorn

        if self.model_path is not None:
            self._load()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))  # a free port, held until uvicorn takes it over
        port = sock.getsockname()[1]
        self._server = uvicorn.Server(uvicorn.Config(self.app(), log_level="warning"))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the stub OpenAI server did not start")
            time.sleep(0.02)
        self.base_url = f"http://127.0.0.1:{port}/v1"
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)


class PromptGrader:
    """A deterministic stand-in for the two models of prompt optimisation, so that optimising
    really improves the score and the expected numbers can be computed.

    *Prompt generation* (a request in Data-Juicer's `optimize_prompt_mapper` format: examples
    after `【提示词】`): the reply is the best example (most of `KEYWORDS`, then the text) with
    the first keyword it lacks added, so each generated prompt is one keyword better.
    *Grading* (system = the candidate prompt, user = a review): with k keywords in the prompt,
    the grade is right for a review whose bucket (a hash of its text, 0..5) is below k, and
    wrong otherwise; a prompt without the word "number" is answered in words ("great" /
    "other"), which a numeric evaluator counts as format errors.
    """

    KEYWORDS = ("praise", "stars", "delighted", "recommend", "flavor", "value")
    MARK = "【提示词】"  # the mapper's default prompt template: MARK, newline, the prompt
    EXAMPLE = "\n如下是一条示例数据：\n"  # the mapper's default example template, before each

    def __init__(self, truth: dict[str, int]) -> None:
        self.truth = truth  # review text -> 1 (great) or 0
        self.generation_requests = 0
        self._lock = threading.Lock()

    @classmethod
    def keywords(cls, prompt: str) -> int:
        return sum(word in prompt.lower() for word in cls.KEYWORDS)

    @classmethod
    def bucket(cls, text: str) -> int:
        return hashlib.sha256(text.encode()).digest()[0] % len(cls.KEYWORDS)

    def improve(self, examples: list[str]) -> str:
        best = max(examples, key=lambda p: (self.keywords(p), p))
        lacking = [w for w in self.KEYWORDS if w not in best.lower()]
        return f"{best} Mind the {lacking[0]}." if lacking else f"{best} Answer carefully."

    def grade(self, prompt: str, review: str) -> str:
        truth = self.truth[review]
        value = truth if self.bucket(review) < self.keywords(prompt) else 1 - truth
        if "number" not in prompt.lower():
            return "great" if value else "other"
        return str(value)

    def expected(self, prompt: str, reviews: list[str]) -> tuple[float | None, int]:
        """(mse, format errors) of this prompt's grades, as the evaluator should find them."""
        grades = [self.grade(prompt, r) for r in reviews]
        errors = [(int(g) - self.truth[r]) ** 2 for g, r in zip(grades, reviews) if g.isdigit()]
        return (sum(errors) / len(errors) if errors else None), len(reviews) - len(errors)

    def __call__(self, messages: list[dict[str, str]]) -> str:
        user = messages[-1]["content"]
        if self.MARK in user:
            with self._lock:
                self.generation_requests += 1
            parts = [p.strip() for p in user.split(self.EXAMPLE)]
            examples = [p.removeprefix(self.MARK).strip() for p in parts if p]
            return f"{self.MARK}\n{self.improve(examples)}\n"
        system = next((m["content"] for m in messages if m["role"] == "system"), "")
        return self.grade(system, user)
