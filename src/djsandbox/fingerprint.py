"""What a finished job ran with, to tell on resume whether its results still hold.

A job's *fingerprint* is a short hash per top-level key of its configs as written (files loaded,
`local` and `iter_updater` values applied, global interpolations resolved), with every value
read from the context (`input`, `${ctx:...}`) replaced by a marker naming its source. Values
that come from earlier jobs are not hashed: they change whenever those jobs rerun, and a job
that reads them reruns with them (`dependencies`). Secrets are hashed redacted: a new API key
does not invalidate results.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .context import Context
from .deferred import deferred
from .jobs import CONFIG_KEYS, resolve_job
from .plan import JobSpec
from .redact import redact


class SourceRecorder(Context):
    """A context that answers every lookup with a marker and remembers the sources asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []

    def lookup(self, source: str, *, iteration: int | None = None, where: str = "input") -> Any:
        self.sources.append(str(source))
        return deferred(f"ctx {source}")


def _hash(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str, allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def fingerprint(
    spec: JobSpec,
    globals_: dict[str, Any],
    base_dirs: list[Path],
    extra_local: dict[str, Any] | None,
) -> tuple[dict[str, str], list[str]]:
    """({"extra_configs.key": hash, ...}, the context sources the job reads).

    Raises what `resolve_job` raises (a config file that does not exist yet, ...)."""
    recorder = SourceRecorder()
    resolved = resolve_job(spec, globals_, recorder, base_dirs, extra_local)
    digest = {"hook": _hash(spec.hook), "output": _hash(spec.body.get("output"))}
    for key in CONFIG_KEYS:
        value = redact(getattr(resolved, key))
        if isinstance(value, dict):
            digest.update({f"{key}.{k}": _hash(v) for k, v in value.items()})
        elif value is not None:
            digest[key] = _hash(value)
    return digest, recorder.sources


def changed_keys(before: dict[str, str], now: dict[str, str]) -> list[str]:
    return sorted(k for k in set(before) | set(now) if before.get(k) != now.get(k))


def producers(sources: list[str], jobs: list[JobSpec], position: int) -> set[str]:
    """Keys of the jobs (of the same iteration) whose results these sources read; `-1` is the
    job before in run order."""
    by_name = {(j.pipeline, j.context_name): j.key for j in jobs}
    found: set[str] = set()
    for source in sources:
        parts = source.split(".")
        if parts[0] == "-1":
            if position > 0:
                found.add(jobs[position - 1].key)
        elif len(parts) >= 2 and (parts[0], parts[1]) in by_name:
            found.add(by_name[(parts[0], parts[1])])
    return found
