"""Keep secrets (API keys, tokens, passwords) out of saved configs, logs and tracker payloads.

Configs end up in `config_snapshot.json`, every job's `job_config.json`, the tracker's run
config and the logs; any of them may be shared or uploaded. `redact` masks values by the name
of their key (case-insensitive, at any depth) and a few value shapes that are secrets whatever
their key (credentials inside URLs, well-known token prefixes). Matching is by whole words of
the key, so `max_tokens` is left alone while `hf_token` or `apiKey` are not.

A name ending in `_key` (`openai_key`) holding a string is a secret too, unless it is one of
the field-name settings the components declare (`text_key`, `label_key`, ...: every `*_key` in
the `ComponentSpec.keys` of a registered spec, plus `GLOBAL_FIELD_KEYS`). `is_secret_key` is the one
place that decides; messages that echo a value go through `show`, which gives only the type of
a secret. Secret values met at run time (a Data-Juicer recipe's) are remembered with
`remember_secrets`, and `mask_text` masks them in any text (our log records, Data-Juicer's).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterable, Mapping

MASK = "***"

# A key is secret if one of its words is one of these ...
SECRET_WORDS = frozenset(
    {
        "password",
        "passwd",
        "pwd",
        "passphrase",
        "secret",
        "secrets",
        "token",
        "authorization",
        "apikey",
        "credential",
        "credentials",
        "cookie",
        "netrc",
    }
)
# ... or two adjacent words are one of these pairs ...
SECRET_PAIRS = frozenset(
    {
        ("api", "key"),
        ("access", "key"),
        ("private", "key"),
        ("secret", "key"),
        ("wandb", "key"),
        ("client", "secret"),
        ("auth", "key"),
        ("session", "key"),
    }
)
# ... or the whole key is one of these.
SECRET_KEYS = frozenset({"auth", "key_secret"})
# `*_key` names that hold field (column) names, beyond those the catalog's specs declare:
# Data-Juicer's recipe-level keys and the sandbox's own.
GLOBAL_FIELD_KEYS = frozenset(
    {
        "text_key",
        "image_key",
        "image_bytes_key",
        "audio_key",
        "video_key",
        "caption_key",
        "label_key",
        "prompt_key",
        "query_key",
        "response_key",
        "system_key",  # the reference's func_kwargs of its message builders
        "history_key",
        "score_key",
        "stats_key",
        "ranking_key",
        "id_key",
        "meta_key",
        "infer_res_key",
    }
)

_URL_CREDENTIALS = re.compile(
    r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):"
    r"(?P<password>[^@/\s]+)@"
)
_TOKEN_SHAPES = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{16,}|hf_[A-Za-z0-9]{20,}|gh[pousr]_[A-Za-z0-9]"
    r"{20,}|xox[abpr]-[A-Za-z0-9-]{10,}|Bearer\s+[A-Za-z0-9._~+/=-]{12,})"
)


def _words(key: str) -> list[str]:
    """`wandbApiKey` / `WANDB_API_KEY` / `api-key` -> ['wandb', 'api', 'key']."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", key)
    return [w for w in re.split(r"[^a-zA-Z0-9]+", spaced.lower()) if w]


# `*_key` names of field-name settings declared by registered specs (`registry.Registry.add`
# reports every spec's keys here, user plugins' included).
_SPEC_FIELD_KEYS: set[str] = set()


def add_field_keys(keys: Iterable[str]) -> None:
    """Declare these `*_key` settings field names, not secrets (those named like a secret by
    their words, such as `api_key`, stay secrets)."""
    _SPEC_FIELD_KEYS.update(k for k in keys if k.endswith("_key") and not _strong(k))


def field_keys() -> frozenset[str]:
    """`*_key` names known to hold field names: GLOBAL_FIELD_KEYS and every `*_key` among the
    registered specs' keys."""
    return GLOBAL_FIELD_KEYS | _SPEC_FIELD_KEYS


def _strong(key: str) -> bool:
    """Secret by its words alone (SECRET_WORDS, SECRET_PAIRS, SECRET_KEYS)."""
    words = _words(key)
    if "_".join(words) in SECRET_KEYS or any(w in SECRET_WORDS for w in words):
        return True
    return any(pair in SECRET_PAIRS for pair in zip(words, words[1:]))


def _generic(key: str, known_fields: Iterable[str] = ()) -> bool:
    """A `*_key` name (the last part of a dotted path) that is not a known field-name key."""
    leaf = re.split(r"[.\[\]]+", key.strip(".[]"))[-1]
    words = _words(leaf)
    if len(words) < 2 or words[-1] != "key":
        return False
    name = "_".join(words)
    return name not in GLOBAL_FIELD_KEYS | _SPEC_FIELD_KEYS and name not in set(known_fields)


def is_secret_key(key: Any, known_fields: Iterable[str] = ()) -> bool:
    """Whether a mapping key (or a dotted path such as `model.api_key`) names a secret: by its
    words, or as a `*_key` name that is no known field-name key (see the module doc).
    `known_fields` adds field-name keys known in a context (a Data-Juicer op's arguments)."""
    if not isinstance(key, str):
        return False
    return _strong(key) or _generic(key, known_fields)


def holds_secret(key: Any, value: Any, known_fields: Iterable[str] = ()) -> bool:
    """Whether `value` under `key` is a secret: a secret-word key's value whatever it is, a
    generic `*_key`'s value when it is a string (a mapping under `sort_key` is config)."""
    if not isinstance(key, str):
        return False
    return _strong(key) or (isinstance(value, str) and _generic(key, known_fields))


def show(key: Any, value: Any) -> str:
    """`value` as a message may echo it: its repr, or only its type for a secret-looking key
    (`api_key: got <list, hidden>`); secret shapes and remembered secrets masked either way."""
    unset = value is None or (isinstance(value, str) and not value)
    if isinstance(key, str) and not unset and is_secret_key(key):
        return f"<{type(value).__name__}, hidden>"
    return mask_text(repr(value))


def redact_text(text: str) -> str:
    """Mask secrets recognisable by their shape alone: URL passwords and known token forms."""
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _TOKEN_SHAPES.sub(MASK, text)


# Secret values met at run time (e.g. inside a Data-Juicer recipe), masked by `mask_text`.
_REMEMBERED: set[str] = set()


def remember_secrets(values: Iterable[str]) -> None:
    """Mask these values (6 characters or more) in every text `mask_text` sees from now on."""
    _REMEMBERED.update(v for v in values if isinstance(v, str) and len(v) >= 6)


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """`redact_text`, and every remembered secret value and every one of `secrets` masked."""
    text = redact_text(text)
    for secret in sorted(_REMEMBERED.union(secrets), key=len, reverse=True):
        if secret and secret in text:
            text = text.replace(secret, MASK)
    return text


def scrub(value: Any, secrets: Iterable[str] = ()) -> Any:
    """`redact`, with remembered secrets (and `secrets`) also masked inside every string."""
    secrets = tuple(secrets)
    value = redact(value)
    if isinstance(value, Mapping):
        return {k: scrub(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub(v, secrets) for v in value)
    return mask_text(value, secrets) if isinstance(value, str) else value


def redact(value: Any) -> Any:
    """A copy of `value` with every secret masked as '***' (dicts, lists and tuples, nested).

    Values of secret-looking keys are replaced whole (even a nested mapping); an empty or
    null secret stays as it is, so a reader can tell a key was not set.
    """
    if isinstance(value, dict):
        return {
            k: (MASK if holds_secret(k, v) and v not in (None, "") else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return type(value)(redact(v) for v in value)
    if isinstance(value, str):
        return redact_text(value)
    return value


def secret_values(value: Any, min_length: int = 6) -> set[str]:
    """The string values of secret keys inside `value`, to mask wherever they appear later."""
    found: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            if holds_secret(k, v) and isinstance(v, (str, int)) and not isinstance(v, bool):
                if len(str(v)) >= min_length:
                    found.add(str(v))
            else:
                found |= secret_values(v, min_length)
    elif isinstance(value, (list, tuple)):
        for v in value:
            found |= secret_values(v, min_length)
    return found


class SecretLogFilter(logging.Filter):
    """Masks known secret values (and secret shapes) in log records before any handler writes.

    Attached to handlers (not loggers) so that records propagated from any library are masked.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__("djsandbox.redact")
        self.secrets = sorted({s for s in secrets if s}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the logging module's business, not ours
            return True
        masked = mask_text(message, self.secrets)
        if masked != message:
            record.msg, record.args = masked, None
        return True
