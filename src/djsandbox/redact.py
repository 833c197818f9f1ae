"""Keep secrets (API keys, tokens, passwords) out of saved configs, logs and tracker payloads.

Configs end up in `config_snapshot.json`, every job's `job_config.json`, the tracker's run
config and the logs; any of them may be shared or uploaded. `redact` masks values by the name
of their key (case-insensitive, at any depth) and a few value shapes that are secrets whatever
their key (credentials inside URLs, well-known token prefixes). Matching is by whole words of
the key, so `max_tokens` or `text_key` are left alone while `hf_token` or `apiKey` are not.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Iterable

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


def is_secret_key(key: Any) -> bool:
    """Whether a mapping key names a secret (by its words; see the module doc)."""
    if not isinstance(key, str):
        return False
    words = _words(key)
    if "_".join(words) in SECRET_KEYS or any(w in SECRET_WORDS for w in words):
        return True
    return any(pair in SECRET_PAIRS for pair in zip(words, words[1:]))


def redact_text(text: str) -> str:
    """Mask secrets recognisable by their shape alone: URL passwords and known token forms."""
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _TOKEN_SHAPES.sub(MASK, text)


def redact(value: Any) -> Any:
    """A copy of `value` with every secret masked as '***' (dicts, lists and tuples, nested).

    Values of secret-looking keys are replaced whole (even a nested mapping); an empty or
    null secret stays as it is, so a reader can tell a key was not set.
    """
    if isinstance(value, dict):
        return {
            k: (MASK if is_secret_key(k) and v not in (None, "") else redact(v))
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
            if is_secret_key(k) and isinstance(v, (str, int)) and not isinstance(v, bool):
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
        masked = redact_text(message)
        for secret in self.secrets:
            masked = masked.replace(secret, MASK)
        if masked != message:
            record.msg, record.args = masked, None
        return True
