"""The job cache: a finished job's results and files, stored by what decides them.

A job's key is its hook, component type, resolved configs (secrets masked, output paths left
out, every input file replaced by the digest of its bytes, a row file's
including the bytes of the clips and images it names), what it reads from the context
directly, and the djsandbox version (`keys.py`). A later job with the same key gets the stored
results and private copies of the stored files, each checked against its digest
(`entries.py`), instead of running. Which jobs are cached by default is `policy.py`; the glue
the runner calls is `job.py`; `python -m djsandbox.cache ls|prune` lists and trims it.
"""

from __future__ import annotations

from pathlib import Path

from ..paths import cache_base


def cache_root() -> Path:
    """`$DJSANDBOX_CACHE_DIR/jobs` (default `~/.cache/djsandbox/jobs`)."""
    return cache_base() / "jobs"
