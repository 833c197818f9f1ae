"""The `api` ModelInferExecutor: any OpenAI-compatible chat endpoint, through the `openai` client.

Rows are sent `concurrency` at a time; a transient failure (HTTP 5xx, 408, 429, a timeout or a
dropped connection) is retried `max_retries` times with exponential backoff
(`retry_backoff * 2**attempt` seconds). A row that still fails is *recorded*, not fatal: it gets
`infer_res_key: null` and the reason under `<infer_res_key>_error`, so one bad request does not
throw away a long run. Output order is input order.

Returns two results: the export path(s) (shaped like `dataset_path`) and the totals
`{"rows", "ok", "failed"}` over all datasets, so a pipeline can check how much failed.
`base_url` and `api_key` come from the config or from OPENAI_BASE_URL / OPENAI_API_KEY; the key
is never logged. The client is imported lazily; the helpers used by validation are stdlib only.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..redact import show
from ..registry import ComponentSpec
from ..resource_problems import Resource
from .messages import Messages
from .rows import ALIASES, COMMON_KEYS, RowSpec, canonical, run_datasets

log = logging.getLogger(__name__)

KEYS = (
    "model",
    "base_url",
    "api_endpoint",
    "api_key",
    "concurrency",
    "max_retries",
    "max_retry_num",
    "retry_backoff",
    "request_timeout",
)

SPECS = (
    ComponentSpec(
        "ModelInferExecutor",
        "api",
        f"{__name__}:run",
        "any OpenAI-compatible endpoint, concurrent, retried, failed rows "
        "recorded; returns (export path(s), {rows, ok, failed})",
        results=2,
        keys=COMMON_KEYS + KEYS,
        required=("dataset_path",),
        check="djsandbox.inference.checks:check_api",
    ),
)
API_ALIASES = {**ALIASES, "max_retry_num": "max_retries", "api_endpoint": "base_url"}
ENV = {"base_url": "OPENAI_BASE_URL", "api_key": "OPENAI_API_KEY"}
TRANSIENT_STATUS = (408, 409, 429)


class RequestFailed(Exception):
    """A row's request that failed for good (its message is stored in the row)."""


def missing_credentials(cfg: Mapping[str, Any], environ: Mapping[str, str]) -> list[str]:
    """'key: problem' for base_url / api_key set neither in the config nor the environment:
    an endpoint this machine lacks (resource_problems.py), not a mistake in the config."""
    return [
        Resource(
            f"{key}: missing; set extra_configs.{key} or the {env} environment variable",
            fix=f"export {env}=... (any OpenAI-compatible server) or set extra_configs.{key}",
            kind="endpoint",
        )
        for key, env in ENV.items()
        if not cfg.get(key) and not environ.get(env)
    ]


def normalize_base_url(url: str) -> str:
    """The reference's `api_endpoint` is the full chat URL; the client wants the API root."""
    url = url.rstrip("/")
    suffix = "/chat/completions"
    return url[: -len(suffix)] if url.endswith(suffix) else url


@dataclass(frozen=True)
class ApiSettings:
    base_url: str
    api_key: str
    model: str
    concurrency: int = 4
    max_retries: int = 3
    retry_backoff: float = 1.0
    request_timeout: float = 60.0
    generation: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def from_cfg(cls, cfg: Mapping[str, Any], environ: Mapping[str, str]) -> ApiSettings:
        problems = missing_credentials(cfg, environ)
        if not cfg.get("model"):
            problems.append("model: missing; expected the model name the server serves")
        if problems:
            raise ValueError("; ".join(problems))
        generation = cfg.get("generation") or {}
        if not isinstance(generation, Mapping):
            raise ValueError(
                f"generation: expected a mapping of chat.completions arguments "
                f"(max_tokens, temperature, ...), got {type(generation).__name__}"
            )
        return cls(
            base_url=normalize_base_url(str(cfg.get("base_url") or environ[ENV["base_url"]])),
            api_key=str(cfg.get("api_key") or environ[ENV["api_key"]]),
            model=str(cfg["model"]),
            concurrency=_number(cfg, "concurrency", 4, int, 1),
            max_retries=_number(cfg, "max_retries", 3, int, 0),
            retry_backoff=_number(cfg, "retry_backoff", 1.0, float, 0),
            request_timeout=_number(cfg, "request_timeout", 60.0, float, 0.001),
            generation=tuple(dict(generation).items()),
        )

    def __repr__(self) -> str:  # never show the key
        return f"ApiSettings(base_url={self.base_url!r}, model={self.model!r}, api_key=***)"


def _number(cfg: Mapping[str, Any], key: str, default: Any, kind: type, low: float) -> Any:
    value = cfg.get(key, default)
    ok = not isinstance(value, bool) and isinstance(value, (int, float) if kind is float else int)
    if not ok or value < low:
        what = "an integer" if kind is int else "a number"
        raise ValueError(f"{key}: expected {what} >= {low}, got {show(key, value)}")
    return kind(value)


def run(cfg: dict[str, Any], out_dir: Path) -> tuple[Any, dict[str, int]]:
    """Answer every row through the endpoint: (export path(s), {"rows", "ok", "failed"})."""
    cfg = canonical(cfg, API_ALIASES)
    spec = RowSpec.from_cfg(cfg)
    settings = ApiSettings.from_cfg(cfg, os.environ)
    import openai

    client = openai.OpenAI(
        base_url=settings.base_url,
        api_key=settings.api_key,
        timeout=settings.request_timeout,
        max_retries=0,
    )  # we retry ourselves
    log.info(
        "api inference: model %r at %s, %d concurrent requests",
        settings.model,
        settings.base_url,
        settings.concurrency,
    )

    def generate(requests: list[Messages]) -> list[str | BaseException]:
        with ThreadPoolExecutor(max_workers=settings.concurrency) as pool:
            return list(pool.map(lambda m: ask(client, settings, m), requests))

    try:
        paths, totals = run_datasets(cfg, out_dir, generate, spec)
    finally:
        client.close()
    log.info(
        "api inference summary: %d rows, %d ok, %d failed",
        totals["rows"],
        totals["ok"],
        totals["failed"],
    )
    return paths, totals


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: server errors, rate limits, timeouts, dropped connections."""
    import openai

    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500 or exc.status_code in TRANSIENT_STATUS
    return False


_sleep = time.sleep  # module attribute so tests can observe the backoff without waiting


def ask(client: Any, settings: ApiSettings, messages: Messages) -> str | BaseException:
    """The reply text, or a RequestFailed saying why (after retries when transient)."""
    import openai

    attempt = 0
    while True:
        try:
            reply = client.chat.completions.create(
                model=settings.model, messages=messages, **dict(settings.generation)
            )
            return reply.choices[0].message.content or ""
        except (IndexError, AttributeError, TypeError) as exc:
            return RequestFailed(f"unexpected response shape ({exc})")
        except openai.OpenAIError as exc:
            transient = is_transient(exc)
            if not transient or attempt >= settings.max_retries:
                return RequestFailed(f"{_reason(exc)} (after {attempt + 1} attempt(s))")
            delay = settings.retry_backoff * 2**attempt
            log.warning(
                "api request failed (%s); retry %d/%d in %.2fs",
                _reason(exc),
                attempt + 1,
                settings.max_retries,
                delay,
            )
            _sleep(delay)
            attempt += 1


def _reason(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    text = str(getattr(exc, "message", "") or exc).splitlines()[0][:300]
    return f"HTTP {status}: {text}" if status else f"{type(exc).__name__}: {text}"
