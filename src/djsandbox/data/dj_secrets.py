"""Secrets inside a Data-Juicer recipe (an S3 key in `dataset.configs`, an op's `api_key`):
handed to Data-Juicer in memory only, and masked in what Data-Juicer writes.

The recipe file we write for Data-Juicer holds placeholders (`***secret-1***`) where the
secrets were; `init_configs` parses that file, and `restore_secrets` puts the real values back
into the parsed namespace, so Data-Juicer runs with them but no file holds them. The values
are remembered (`redact.remember_secrets`), so that everything that masks text masks them:
a loguru patcher installed here (every loguru sink: Data-Juicer's log file, stderr and
whatever captures it, e.g. wandb's console capture), our logging handlers' `SecretLogFilter`,
and Data-Juicer's event log (`events_*.jsonl`, which it writes with `open()`, not loguru, and
which holds the dataset config: `mask_dj_events` masks each event before it is written).
"""

from __future__ import annotations

import contextlib
import copy
import inspect
from typing import Any, Iterator

from djsandbox.redact import holds_secret, mask_text, remember_secrets, scrub

PLACEHOLDER = "***secret-{}***"


def op_field_keys(process: Any) -> set[str]:
    """The `*_key` arguments of the recipe's Data-Juicer ops (`query_key`, `entity_key`...):
    field names by Data-Juicer's own signatures, so not taken for secrets in this recipe."""
    from data_juicer.ops import OPERATORS

    keys: set[str] = set()
    for item in process if isinstance(process, list) else []:
        for name in item if isinstance(item, dict) else ():
            op = OPERATORS.modules.get(name)
            with contextlib.suppress(TypeError, ValueError):
                params = inspect.signature(op.__init__).parameters if op is not None else {}
                keys |= {p for p in params if p.endswith("_key")}
    return {k for k in keys if not holds_secret(k, {})}  # `api_key` stays a secret


def split_secrets(recipe: Any, known_fields: set[str]) -> tuple[Any, dict[str, str]]:
    """(a copy of `recipe` with every secret string replaced by a placeholder, {placeholder:
    secret}). Every string under a secret key is one (a whole mapping under `credentials`)."""
    table: dict[str, str] = {}

    def hide(value: Any) -> Any:
        if isinstance(value, str) and value:
            placeholder = PLACEHOLDER.format(len(table) + 1)
            table[placeholder] = value
            return placeholder
        if isinstance(value, dict):
            return {k: hide(v) for k, v in value.items()}
        if isinstance(value, list):
            return [hide(v) for v in value]
        return value

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: hide(v) if holds_secret(k, v, known_fields) else walk(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [walk(v) for v in value]
        return value

    return walk(copy.deepcopy(recipe)), table


def restore_secrets(node: Any, table: dict[str, str]) -> Any:
    """Put the secrets back in place of their placeholders, in place, anywhere inside a parsed
    Data-Juicer config (jsonargparse Namespace, dicts, lists); returns `node` (or the string)."""
    if not table:
        return node
    if isinstance(node, str):
        for placeholder, secret in table.items():
            node = node.replace(placeholder, secret)
        return node
    if isinstance(node, list):
        for i, v in enumerate(node):
            node[i] = restore_secrets(v, table)
    elif isinstance(node, dict):
        for k, v in node.items():
            node[k] = restore_secrets(v, table)
    elif hasattr(node, "items") and hasattr(node, "__setitem__"):  # a jsonargparse Namespace
        for k, v in list(node.items()):
            new = restore_secrets(v, table)
            if new is not v:
                node[k] = new
    return node


def hide_in_recipe(recipe: dict[str, Any], known_fields: set[str]) -> tuple[dict, dict]:
    """`split_secrets`, the secrets remembered for masking and Data-Juicer's loguru masked."""
    written, table = split_secrets(recipe, known_fields)
    remember_secrets(table.values())
    install_loguru_mask()
    return written, table


_installed = False


def install_loguru_mask() -> None:
    """Mask secret shapes and remembered secrets in every loguru message, before any sink sees
    it (a core patcher, chained after one already configured). Installed once per process."""
    global _installed
    if _installed:
        return
    from loguru import logger

    previous = getattr(getattr(logger, "_core", None), "patcher", None)

    def patcher(record: dict[str, Any]) -> None:
        if previous is not None:
            previous(record)
        message = record["message"]
        masked = mask_text(message)
        if masked != message:
            record["message"] = masked

    logger.configure(patcher=patcher)
    _installed = True


@contextlib.contextmanager
def mask_dj_events() -> Iterator[None]:
    """While it lasts, Data-Juicer's EventLogger writes (and logs) each event with secrets
    masked: the job-start event holds the whole dataset config, op events their arguments."""
    try:
        from data_juicer.core.executor.event_logging_mixin import EventLogger
    except ImportError:  # another Data-Juicer layout: nothing of this kind to mask
        yield
        return
    original = EventLogger.log_event

    def log_event(self: Any, event: Any) -> Any:
        for name, value in list(vars(event).items()):
            if isinstance(value, (str, dict, list)):
                setattr(event, name, scrub(value))
        return original(self, event)

    EventLogger.log_event = log_event
    try:
        yield
    finally:
        EventLogger.log_event = original
