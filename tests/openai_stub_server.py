"""A small OpenAI-compatible chat server for tests: a tiny local causal LM behind
`POST /v1/chat/completions`, on 127.0.0.1, in a background thread.

It really runs the model (chat template, greedy decoding of `max_tokens` tokens), written here
with transformers directly rather than through the executor under test. Faults are injected by
markers in the prompt: `FAIL500` answers HTTP 500 every time; `FLAKY503` answers 503 the first
time a given prompt is seen, then the real reply. It also counts requests per prompt and the
most requests in flight at once (`delay` holds each request open that long, so concurrency shows).
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections import Counter
from typing import Any

# Module level: FastAPI reads the endpoint's (string) annotations from this module's globals.
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse


class StubServer:
    """`with StubServer(model_path, api_key="k") as server: server.base_url ...`"""

    def __init__(self, model_path: str, api_key: str | None = None, delay: float = 0.0) -> None:
        self.model_path, self.api_key, self.delay = model_path, api_key, delay
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
                text = self.reply(messages, int(body.get("max_tokens") or 16))
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
